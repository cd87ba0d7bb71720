package cli_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// TestRegisterBadInput drives POST /v1/subscribers with bad bodies and checks
// the exact status, code, field and message, and that nothing was stored.
func TestRegisterBadInput(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	srv := startServer(t, data)
	c := http.DefaultClient
	good := browserSubscription("http://127.0.0.1:1/wpush/x")
	keys := good["keys"].(map[string]string)
	sub := func(endpoint, p256dh, auth string) map[string]any {
		return map[string]any{"endpoint": endpoint, "keys": map[string]string{"p256dh": p256dh, "auth": auth}}
	}
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
		msg    string
	}{
		{"empty body", "", 400, "empty_body", "", "request body is empty; a JSON object is required"},
		{"malformed", `{"type":`, 400, "bad_json", "", "malformed JSON: the body ends before the value does"},
		{"syntax", `{"type" "webpush"}`, 400, "bad_json", "", "malformed JSON at line 1, column 9: invalid character '\"' after object key"},
		{"unknown field", map[string]any{"type": "fcm", "token": "t", "colour": "red"}, 400, "unknown_field", "colour", "colour: unknown field"},
		{"wrong type", map[string]any{"type": "fcm", "token": "t", "tags": "a"}, 400, "wrong_type", "tags", "tags: must be an array, got string"},
		{"nested wrong type", map[string]any{"type": "webpush", "subscription": map[string]any{"endpoint": 5}}, 400, "wrong_type", "subscription.endpoint", "subscription.endpoint: must be a string, got number"},
		{"no type", map[string]any{"token": "t"}, 400, "invalid_field", "type", "type: is required: webpush, fcm or apns"},
		{"bad type", map[string]any{"type": "sms", "token": "t"}, 400, "invalid_field", "type", `type: must be webpush, fcm or apns, got "sms"`},
		{"no subscription", map[string]any{"type": "webpush"}, 400, "invalid_field", "subscription", "subscription: is required for type webpush"},
		{"no endpoint", map[string]any{"type": "webpush", "subscription": sub("", keys["p256dh"], keys["auth"])}, 400, "invalid_field", "subscription.endpoint", "subscription.endpoint: is required"},
		{"relative endpoint", map[string]any{"type": "webpush", "subscription": sub("/wpush/1", keys["p256dh"], keys["auth"])}, 400, "invalid_field", "subscription.endpoint", "subscription.endpoint: not an absolute URL"},
		{"unknown push service", map[string]any{"type": "webpush", "subscription": sub("https://evil.example/x", keys["p256dh"], keys["auth"])}, 400, "invalid_field", "subscription.endpoint", "subscription.endpoint: host evil.example is not a known push service; the operator can allow it with --allow-endpoint"},
		{"http to a public service", map[string]any{"type": "webpush", "subscription": sub("http://fcm.googleapis.com/fcm/send/x", keys["p256dh"], keys["auth"])}, 400, "invalid_field", "subscription.endpoint", "subscription.endpoint: must be an https URL"},
		{"p256dh not a point", map[string]any{"type": "webpush", "subscription": sub("http://127.0.0.1:1/w/1", "BAAA"+keys["p256dh"][4:], keys["auth"])}, 400, "invalid_field", "subscription.keys.p256dh", "subscription.keys.p256dh: not a P-256 point"},
		{"p256dh short", map[string]any{"type": "webpush", "subscription": sub("http://127.0.0.1:1/w/1", keys["auth"], keys["auth"])}, 400, "invalid_field", "subscription.keys.p256dh", "subscription.keys.p256dh: not a P-256 point"},
		{"p256dh not base64", map[string]any{"type": "webpush", "subscription": sub("http://127.0.0.1:1/w/1", "!!!", keys["auth"])}, 400, "invalid_field", "subscription.keys.p256dh", "subscription.keys.p256dh: is not base64url"},
		{"no auth", map[string]any{"type": "webpush", "subscription": sub("http://127.0.0.1:1/w/1", keys["p256dh"], "")}, 400, "invalid_field", "subscription.keys.auth", "subscription.keys.auth: is required"},
		{"auth wrong length", map[string]any{"type": "webpush", "subscription": sub("http://127.0.0.1:1/w/1", keys["p256dh"], "AAAA")}, 400, "invalid_field", "subscription.keys.auth", "subscription.keys.auth: must be 16 bytes, got 3"},
		{"no token", map[string]any{"type": "fcm"}, 400, "invalid_field", "token", "token: is required"},
		{"token with spaces", map[string]any{"type": "fcm", "token": "a b"}, 400, "invalid_field", "token", "token: must not contain spaces or control characters"},
		{"apns not hex", map[string]any{"type": "apns", "token": strings.Repeat("z", 64)}, 400, "invalid_field", "token", "token: an APNs device token is 64 to 200 hex digits"},
		{"subscription on fcm", map[string]any{"type": "fcm", "token": "t", "subscription": good}, 400, "invalid_field", "subscription", "subscription: is for type webpush; fcm and apns carry token"},
		{"empty tag", map[string]any{"type": "fcm", "token": "t", "tags": []string{"a", ""}}, 400, "invalid_field", "tags[1]", "tags[1]: must not be empty"},
		{"too many tags", map[string]any{"type": "fcm", "token": "t", "tags": manyTags(101)}, 400, "invalid_field", "tags", "tags: has 101 tags, at most 100 are allowed"},
		{"tag too long", map[string]any{"type": "fcm", "token": "t", "tags": []string{strings.Repeat("x", 129)}}, 400, "invalid_field", "tags[0]", "tags[0]: is longer than 128 bytes"},
		{"alias too long", map[string]any{"type": "fcm", "token": "t", "alias": strings.Repeat("x", 129)}, 400, "invalid_field", "alias", "alias: is longer than 128 bytes"},
		{"bad language", map[string]any{"type": "fcm", "token": "t", "language": "english!"}, 400, "invalid_field", "language", `language: "english!" is not a language tag such as en, fa or zh-Hans`},
		{"bad time zone", map[string]any{"type": "fcm", "token": "t", "timezone": "Mars/Olympus"}, 400, "invalid_field", "timezone", `timezone: "Mars/Olympus" is not an IANA time zone such as Asia/Tehran`},
		{"too large", `{"type":"fcm","token":"` + strings.Repeat("x", 300<<10) + `"}`, 413, "body_too_large", "", "request body is larger than 262144 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, c, "POST", srv.URL+"/v1/subscribers", bearer(a.APIKey), tc.body)
			e := errorOf(t, r)
			if r.Status != tc.status || e.Code != tc.code || e.Field != tc.field || e.Message != tc.msg {
				t.Errorf("got %d %+v\nwant %d {Code:%s Message:%s Field:%s}", r.Status, e, tc.status, tc.code, tc.msg, tc.field)
			}
		})
	}
	for _, auth := range []struct{ header, msg string }{
		{"", "Authorization header is missing; send Authorization: Bearer <api_key>"},
		{"Basic abc", "Authorization header must be Bearer <api_key>"},
		{"Bearer " + a.Webtoapp.APIKey, "API key matches no app"}, // another credential kind is not an API key
	} {
		r := do(t, c, "POST", srv.URL+"/v1/subscribers", auth.header, map[string]any{"type": "fcm", "token": "t"})
		if e := errorOf(t, r); r.Status != 401 || e.Code != "unauthorized" || e.Message != auth.msg {
			t.Errorf("auth %q: %d %s", auth.header, r.Status, r.Body)
		}
	}
	if got := listAll(t, c, srv.URL+"/v1/subscribers", a.APIKey); len(got) != 0 {
		t.Errorf("bad requests stored %d subscribers", len(got))
	}
	r := do(t, c, "GET", srv.URL+"/v1/nothing-here", bearer(a.APIKey), nil)
	if e := errorOf(t, r); r.Status != 404 || e.Code != "not_found" {
		t.Errorf("unknown path: %d %s", r.Status, r.Body)
	}
}

// TestUpdateSubscriber covers tags add/remove/replace, alias bind/unbind and
// device deletion through PATCH and DELETE.
func TestUpdateSubscriber(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	srv := startServer(t, data)
	c := http.DefaultClient
	r := do(t, c, "POST", srv.URL+"/v1/subscribers", bearer(a.APIKey), map[string]any{"type": "fcm", "token": "tok-1", "tags": []string{"b", "a"}})
	id := r.json(t)["registration_id"].(string)
	path := srv.URL + "/v1/subscribers/" + id
	steps := []struct {
		body  any
		tags  string
		alias string
	}{
		{map[string]any{"tags_add": []string{"c", "a"}}, "a,b,c", ""},
		{map[string]any{"tags_remove": []string{"b"}, "alias": "u1"}, "a,c", "u1"},
		{map[string]any{"tags": []string{"z"}}, "z", "u1"},
		{map[string]any{"alias": ""}, "z", ""},
		{map[string]any{"tags": []string{}}, "", ""},
	}
	for i, s := range steps {
		r := do(t, c, "PATCH", path, bearer(a.APIKey), s.body)
		if r.Status != 200 {
			t.Fatalf("step %d: %d %s", i, r.Status, r.Body)
		}
		m := r.json(t)
		var tags []string
		for _, x := range m["tags"].([]any) {
			tags = append(tags, x.(string))
		}
		if strings.Join(tags, ",") != s.tags || m["alias"] != s.alias {
			t.Errorf("step %d: tags %v alias %v, want %s / %s", i, tags, m["alias"], s.tags, s.alias)
		}
	}
	r = do(t, c, "PATCH", path, bearer(a.APIKey), map[string]any{"tags": []string{"x"}, "tags_add": []string{"y"}})
	if e := errorOf(t, r); r.Status != 400 || e.Field != "tags" {
		t.Errorf("tags with tags_add: %d %s", r.Status, r.Body)
	}
	if r := do(t, c, "DELETE", path, bearer(a.APIKey), nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := do(t, c, "GET", path, bearer(a.APIKey), nil); r.Status != 404 {
		t.Errorf("get after delete: %d", r.Status)
	}
}

// TestGuideSubscriptionAnswers checks the guide's exact answers and how the
// app is chosen.
func TestGuideSubscriptionAnswers(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	srv := startServer(t, data)
	c := http.DefaultClient
	noEndpoint := `{"error":{"id":"no-endpoint","message":"Subscription must have an endpoint"}}`
	success := `{"data":{"success":true}}`
	tests := []struct {
		name, url string
		body      any
		status    int
		want      string
	}{
		{"no body", srv.URL + "/api/subscription?app=" + a.ID, "", 400, noEndpoint},
		{"no endpoint", srv.URL + "/api/subscription?app=" + a.ID, `{"keys":{}}`, 400, noEndpoint},
		{"not json", srv.URL + "/api/subscription?app=" + a.ID, `endpoint=x`, 400, noEndpoint},
		{"stored", srv.URL + "/api/subscription?app=" + a.ID, browserSubscription("http://127.0.0.1:1/g/1"), 200, success},
		{"no app", srv.URL + "/api/subscription", browserSubscription("http://127.0.0.1:1/g/2"), 400,
			`{"error":{"id":"unknown-app","message":"No app named: pass ?app=<app id> or the header X-Herald-App, or start herald serve with --default-app"}}`},
		{"unknown app", srv.URL + "/api/subscription?app=app_nope", browserSubscription("http://127.0.0.1:1/g/3"), 400,
			`{"error":{"id":"unknown-app","message":"No app with id app_nope"}}`},
		{"bad key", srv.URL + "/api/subscription?app=" + a.ID, map[string]any{"endpoint": "http://127.0.0.1:1/g/4", "keys": map[string]string{"p256dh": "AAAA", "auth": "AAAA"}}, 400,
			`{"error":{"id":"invalid-subscription","message":"keys.p256dh: not a P-256 point"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, c, "POST", tc.url, "", tc.body)
			if r.Status != tc.status || string(bytes.TrimSpace(r.Body)) != tc.want {
				t.Errorf("got %d %s\nwant %d %s", r.Status, r.Body, tc.status, tc.want)
			}
		})
	}
	// With --default-app, a request that names no app uses it.
	defData := t.TempDir()
	d := createApp(t, defData, "Default")
	def := startServer(t, defData, "--default-app", d.ID)
	r := do(t, c, "POST", def.URL+"/api/subscription", "", browserSubscription("http://127.0.0.1:1/g/5"))
	if r.Status != 200 || string(bytes.TrimSpace(r.Body)) != success {
		t.Fatalf("default app: %d %s", r.Status, r.Body)
	}
	if got := listAll(t, c, def.URL+"/v1/subscribers", d.APIKey); len(got) != 1 {
		t.Errorf("default app has %d subscribers, want 1", len(got))
	}
}

func manyTags(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "t" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	return out
}
