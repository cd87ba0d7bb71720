package cli_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/testpush"
)

// elAuth is the Basic header EngageLab's /v4/push takes.
func elAuth(c apps.Credentials) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.EngageLab.AppKey+":"+c.EngageLab.MasterSecret))
}

// elError is EngageLab's error body.
type elError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// elErrorOf decodes an error answer, refusing any other key.
func elErrorOf(t *testing.T, r response) elError {
	t.Helper()
	var e elError
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %q: %v", r.Body, err)
	}
	return e
}

// elPush posts to /v4/push and returns the msg_id of a 200 answer.
func elPush(t *testing.T, srv *server, c apps.Credentials, body any) string {
	t.Helper()
	r := do(t, http.DefaultClient, "POST", srv.URL+"/v4/push", elAuth(c), body)
	if r.Status != http.StatusOK {
		t.Fatalf("/v4/push: %d %s", r.Status, r.Body)
	}
	id, _ := r.json(t)["msg_id"].(string)
	if !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(id) {
		t.Fatalf("msg_id %q in %s", id, r.Body)
	}
	return id
}

// webNote is a body with a web notification, for target tests.
func webNote(alert string) map[string]any {
	return map[string]any{"platform": "web", "notification": map[string]any{"web": map[string]any{"alert": alert, "url": "https://example.test/"}}}
}

// TestEngageLabSeedExample sends seed 003's own example request and gets
// the documented answer's shape; the seed's own Authorization header,
// whose credentials are not Herald's, is refused with 21004.
func TestEngageLabSeedExample(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	srv := startServer(t, data)
	body, err := os.ReadFile("../compat/engagelab/testdata/seed_request.json")
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, http.DefaultClient, "POST", srv.URL+"/v4/push", elAuth(a), string(body))
	var got map[string]string
	if err := json.Unmarshal(r.Body, &got); r.Status != 200 || err != nil || len(got) != 2 || got["request_id"] != "12345678" ||
		!regexp.MustCompile(`^[0-9]+$`).MatchString(got["msg_id"]) {
		t.Fatalf("seed example: %d %s", r.Status, r.Body)
	}
	const seedHeader = "Basic N2Q0MzFlNDJkZmE2YTZkNjkzYWMyZDA0OjVlOTg3YWM2ZDJlMDRkOTVhOWQ4ZjBkMQ=="
	r = do(t, http.DefaultClient, "POST", srv.URL+"/v4/push", seedHeader, string(body))
	if e := elErrorOf(t, r); r.Status != 401 || e.Code != 21004 || e.Message != "authentication failed: AppKey and MasterSecret match no app" {
		t.Errorf("seed credentials: %d %s", r.Status, r.Body)
	}
	// Without request_id the answer is msg_id alone.
	r = do(t, http.DefaultClient, "POST", srv.URL+"/v4/push", elAuth(a), map[string]any{"to": "all", "body": webNote("x")})
	if r.Status != 200 || !regexp.MustCompile(`^\{"msg_id":"[0-9]+"\}$`).Match(bytes.TrimSpace(r.Body)) {
		t.Errorf("no request_id: %d %s", r.Status, r.Body)
	}
}

// TestEngageLabBadInput drives /v4/push with bad requests and checks the
// exact status, code and message, and that nothing was sent.
func TestEngageLabBadInput(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	b := createApp(t, data, "B")
	srv := startServer(t, data)
	tp := pushService(t)
	_, bIDs := subscribe(t, srv, b.APIKey, tp, 2)
	subscribe(t, srv, a.APIKey, tp, 1, "news")
	ok := elAuth(a)
	note := func(to any) map[string]any { return map[string]any{"to": to, "body": webNote("hi")} }
	withOpts := func(opts map[string]any) map[string]any {
		body := webNote("hi")
		body["options"] = opts
		return map[string]any{"to": "all", "body": body}
	}
	list := func(n int, f string) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf(f, i)
		}
		return s
	}
	tests := []struct {
		name   string
		method string
		auth   string
		body   any
		status int
		code   int
		msg    string
	}{
		{"GET", "GET", ok, nil, 405, 21001, "only POST is supported on /v4/push, got GET"},
		{"no credentials", "POST", "", note("all"), 401, 27001, "authentication info is empty: send Authorization: Basic base64(AppKey:MasterSecret)"},
		{"wrong secret", "POST", "Basic " + base64.StdEncoding.EncodeToString([]byte(a.EngageLab.AppKey+":"+b.EngageLab.MasterSecret)), note("all"), 401, 21004, "authentication failed: AppKey and MasterSecret match no app"},
		{"Herald API key", "POST", bearer(a.APIKey), note("all"), 401, 21004, "authentication failed: Authorization must be Basic base64(AppKey:MasterSecret)"},
		{"AppKey with a space", "POST", "Basic " + base64.StdEncoding.EncodeToString([]byte(a.EngageLab.AppKey+" :"+a.EngageLab.MasterSecret)), note("all"), 400, 21008, "app_key: is not an AppKey (24 hex digits); check it against the app's credentials and for stray spaces"},
		{"empty body", "POST", ok, "", 400, 21002, "request body is empty; a JSON object is required"},
		{"bad JSON", "POST", ok, `{"to":"all",`, 400, 21003, "request body: malformed JSON: the body ends before the value does"},
		{"unknown field", "POST", ok, map[string]any{"to": "all", "body": webNote("x"), "audience": "all"}, 400, 21015, "audience: unexpected parameter"},
		{"wrong type", "POST", ok, map[string]any{"to": map[string]any{"tag": "news"}, "body": webNote("x")}, 400, 21016, "to.tag: must be an array of strings"},
		{"missing to", "POST", ok, map[string]any{"body": webNote("x")}, 400, 21002, "to: missing required parameter"},
		{"missing url", "POST", ok, map[string]any{"to": "all", "body": map[string]any{"platform": "web", "notification": map[string]any{"web": map[string]any{"alert": "x"}}}}, 400, 21002, "body.notification.web.url: missing required parameter"},
		{"bad url", "POST", ok, map[string]any{"to": "all", "body": map[string]any{"platform": "web", "notification": map[string]any{"web": map[string]any{"alert": "x", "url": "not a url"}}}}, 400, 21003, "body.notification.web.url: must be an absolute URL or a path starting with /"},
		{"not web", "POST", ok, map[string]any{"to": "all", "body": map[string]any{"platform": []string{"android"}, "notification": webNote("x")["notification"]}}, 400, 21003, `body.platform: only "web" is supported, got "android"`},
		{"registration_id 1001", "POST", ok, note(map[string]any{"registration_id": list(1001, "r_%d")}), 400, 21016, "to.registration_id: has 1001 entries, at most 1000 are allowed"},
		{"tag_and 21", "POST", ok, note(map[string]any{"tag_and": list(21, "t%d")}), 400, 21016, "to.tag_and: has 21 entries, at most 20 are allowed"},
		{"tag_not 21", "POST", ok, note(map[string]any{"tag": []string{"news"}, "tag_not": list(21, "t%d")}), 400, 21016, "to.tag_not: has 21 entries, at most 20 are allowed"},
		{"tag_not alone", "POST", ok, note(map[string]any{"tag_not": []string{"news"}}), 400, 21003, "to.tag_not: cannot be used alone: combine it with registration_id, tag, tag_and or alias"},
		{"not a registration id", "POST", ok, note(map[string]any{"registration_id": []string{"4312kjklfds2"}}), 400, 20101, `to.registration_id[0]: "4312kjklfds2" is not a registration id Herald issued (they start with r_)`},
		{"another app's registration ids", "POST", ok, note(map[string]any{"registration_id": bIDs}), 400, 21011, "to: no device of this app matches the target"},
		{"no such tag", "POST", ok, note(map[string]any{"tag": []string{"sport"}}), 400, 21011, "to: no device of this app matches the target"},
		{"cid 65", "POST", ok, withOpts(map[string]any{"cid": strings.Repeat("c", 65)}), 400, 21016, "body.options.cid: is 65 characters long, at most 64 are allowed"},
		{"big_push_duration 1441", "POST", ok, withOpts(map[string]any{"big_push_duration": 1441}), 400, 23006, "body.options.big_push_duration: must be at most 1440 minutes, got 1441"},
		{"distribution empty", "POST", ok, withOpts(map[string]any{"third_party_channel": map[string]any{"w3push": map[string]any{"distribution": ""}}}), 401, 27009, `body.options.third_party_channel: must be {"w3push":{"distribution":"<non-empty string>"}}`},
		{"notification over 4000 bytes", "POST", ok, map[string]any{"to": "all", "body": webNote(strings.Repeat("x", 3960))}, 400, 21005, "body: notification and message are 4010 bytes together, at most 4000 are allowed"},
		{"payload over one push", "POST", ok, map[string]any{"to": "all", "body": webNote(strings.Repeat("x", 3940))}, 400, 21005, "body: makes a 4039-byte payload; at most 3993 bytes fit in a push"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, http.DefaultClient, tc.method, srv.URL+"/v4/push", tc.auth, tc.body)
			e := elErrorOf(t, r)
			if r.Status != tc.status || e.Code != tc.code || e.Message != tc.msg {
				t.Errorf("got %d %+v\nwant %d {Code:%d Message:%s}", r.Status, e, tc.status, tc.code, tc.msg)
			}
		})
	}
	r := do(t, http.DefaultClient, "GET", srv.URL+"/v1/messages", bearer(a.APIKey), nil)
	if msgs := r.json(t)["messages"].([]any); len(msgs) != 0 {
		t.Errorf("bad requests made %d messages", len(msgs))
	}
}

// elPayload returns the one push subscription s received last, decoded.
func elPayload(t *testing.T, tp *testpush.Server, s testpush.Subscription, n int) (testpush.Message, map[string]any) {
	t.Helper()
	got := tp.Received(s.ID)
	if len(got) != n {
		t.Fatalf("subscription %s got %d pushes, want %d", s.ID, len(got), n)
	}
	var p map[string]any
	if !got[n-1].Decrypted || json.Unmarshal(got[n-1].Payload, &p) != nil {
		t.Fatalf("payload not decrypted: %+v", got[n-1])
	}
	return got[n-1], p
}

// TestEngageLabDelivery sends through /v4/push to testpush: the payload
// carries title, alert and url; a repeated cid sends nothing and answers
// the first msg_id; override_msg_id reuses the earlier message's tag and
// Topic; body.message arrives as data; multi_language follows the
// device's language.
func TestEngageLabDelivery(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	srv := startServer(t, data)
	tp := pushService(t)
	subs, ids := subscribe(t, srv, a.APIKey, tp, 3, "news")
	if r := do(t, http.DefaultClient, "PATCH", srv.URL+"/v1/subscribers/"+ids[2], bearer(a.APIKey), map[string]any{"language": "fr-FR"}); r.Status != 200 {
		t.Fatalf("set language: %d %s", r.Status, r.Body)
	}

	first := map[string]any{"from": "push", "to": map[string]any{"registration_id": ids[:2]},
		"body": map[string]any{"platform": "web", "notification": map[string]any{"web": map[string]any{
			"alert": "Your order shipped", "title": "Shop", "url": "https://shop.test/o/1", "icon": "https://shop.test/i.png",
			"extras": map[string]any{"news_id": 134, "my_key": "a value"}}},
			"options": map[string]any{"cid": "order-1", "time_to_live": "600"}},
		"request_id": "r1", "custom_args": map[string]any{"k": "v"}}
	id := elPush(t, srv, a, first)
	if m := waitDone(t, srv, a.APIKey, id, 30*time.Second); m.Targeted != 2 || m.Sent != 2 {
		t.Fatalf("counters %+v", m)
	}
	push, p := elPayload(t, tp, subs[0], 1)
	if p["title"] != "Shop" || p["body"] != "Your order shipped" || p["url"] != "https://shop.test/o/1" || p["icon"] != "https://shop.test/i.png" ||
		p["tag"] != "el-"+id || p["id"] != id || fmt.Sprint(p["extras"]) != "map[my_key:a value news_id:134]" {
		t.Errorf("payload %v", p)
	}
	if push.TTL <= 0 || push.TTL > 600 {
		t.Errorf("TTL %d, want at most 600", push.TTL)
	}

	// The same cid again: the first msg_id, and no message at all.
	if again := elPush(t, srv, a, first); again != id {
		t.Errorf("repeated cid answered %s, want %s", again, id)
	}
	// Replace the first notification; the device's earlier notification is
	// tagged el-<id>, and the replacement takes that tag and Topic.
	over := elPush(t, srv, a, map[string]any{"to": map[string]any{"registration_id": ids[:1]},
		"body": map[string]any{"platform": "web", "notification": map[string]any{"web": map[string]any{"alert": "Delivered", "url": "/o/1"}},
			"options": map[string]any{"override_msg_id": id}}})
	waitDone(t, srv, a.APIKey, over, 30*time.Second)
	push, p = elPayload(t, tp, subs[0], 2) // the first and the override: the repeat sent nothing
	if p["tag"] != "el-"+id || p["body"] != "Delivered" || push.Topic != "el-"+id {
		t.Errorf("override: topic %q payload %v", push.Topic, p)
	}
	r := do(t, http.DefaultClient, "GET", srv.URL+"/v1/messages", bearer(a.APIKey), nil)
	if msgs := r.json(t)["messages"].([]any); len(msgs) != 2 {
		t.Errorf("%d messages, want 2 (the repeated cid made none)", len(msgs))
	}

	// A custom message, in the device's language where there is one.
	msg := elPush(t, srv, a, map[string]any{"to": map[string]any{"tag": []string{"news"}},
		"body": map[string]any{"platform": []string{"web"}, "message": map[string]any{"msg_content": "Hello", "title": "Hi", "content_type": "text", "extras": map[string]any{"k": 1}},
			"options": map[string]any{"multi_language": map[string]any{"fr": map[string]any{"content": "Bonjour", "title": "Salut"}}}}})
	waitDone(t, srv, a.APIKey, msg, 30*time.Second)
	_, p = elPayload(t, tp, subs[1], 2)
	if p["title"] != nil || p["body"] != nil || fmt.Sprint(p["data"]) != "map[content_type:text extras:map[k:1] msg_content:Hello title:Hi]" {
		t.Errorf("data message: %v", p)
	}
	_, p = elPayload(t, tp, subs[2], 1)
	if fmt.Sprint(p["data"]) != "map[content_type:text extras:map[k:1] msg_content:Bonjour title:Salut]" {
		t.Errorf("fr data message: %v", p)
	}
}

// TestEngageLabDevices checks the tag/alias device API and that sends
// target what it sets; another app's credentials see none of it.
func TestEngageLabDevices(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	b := createApp(t, data, "B")
	srv := startServer(t, data)
	tp := pushService(t)
	subs, ids := subscribe(t, srv, a.APIKey, tp, 2)
	c := http.DefaultClient
	dev := srv.URL + "/v4/devices/" + ids[0]

	r := do(t, c, "POST", dev, elAuth(a), map[string]any{"tags": map[string]any{"add": []string{"vip", "news"}}, "alias": "user-1"})
	if r.Status != 200 || string(bytes.TrimSpace(r.Body)) != `{"tags":["news","vip"],"alias":"user-1"}` {
		t.Fatalf("set: %d %s", r.Status, r.Body)
	}
	if r = do(t, c, "GET", dev, elAuth(a), nil); string(bytes.TrimSpace(r.Body)) != `{"tags":["news","vip"],"alias":"user-1"}` {
		t.Errorf("get: %d %s", r.Status, r.Body)
	}
	if r = do(t, c, "GET", srv.URL+"/v4/tags", elAuth(a), nil); string(bytes.TrimSpace(r.Body)) != `{"tags":["news","vip"]}` {
		t.Errorf("tags: %d %s", r.Status, r.Body)
	}
	if r = do(t, c, "GET", srv.URL+"/v4/aliases/user-1", elAuth(a), nil); string(bytes.TrimSpace(r.Body)) != `{"registration_ids":["`+ids[0]+`"]}` {
		t.Errorf("alias: %d %s", r.Status, r.Body)
	}

	id := elPush(t, srv, a, map[string]any{"to": map[string]any{"alias": []string{"user-1"}, "tag_not": []string{"sport"}}, "body": webNote("for user-1")})
	waitDone(t, srv, a.APIKey, id, 30*time.Second)
	if len(tp.Received(subs[0].ID)) != 1 || len(tp.Received(subs[1].ID)) != 0 {
		t.Errorf("alias send reached %d and %d", len(tp.Received(subs[0].ID)), len(tp.Received(subs[1].ID)))
	}
	r = do(t, c, "POST", srv.URL+"/v4/push", elAuth(a), map[string]any{"to": map[string]any{"tag": []string{"vip"}, "tag_not": []string{"news"}}, "body": webNote("x")})
	if e := elErrorOf(t, r); r.Status != 400 || e.Code != 21011 {
		t.Errorf("vip and not news: %d %s", r.Status, r.Body)
	}

	for _, tc := range []struct {
		method, url, auth string
		body              any
		status            int
		want              string
	}{
		{"POST", dev, elAuth(a), map[string]any{"tags": map[string]any{"remove": []string{"vip"}}}, 200, `{"tags":["news"],"alias":"user-1"}`},
		{"POST", dev, elAuth(a), map[string]any{"tags": ""}, 200, `{"tags":[],"alias":"user-1"}`},
		{"DELETE", srv.URL + "/v4/aliases/user-1", elAuth(a), nil, 200, `{}`},
		{"GET", dev, elAuth(a), nil, 200, `{"tags":[],"alias":""}`},
		{"GET", srv.URL + "/v4/aliases/user-1", elAuth(a), nil, 200, `{"registration_ids":[]}`},
		{"GET", dev, elAuth(b), nil, 400, `{"code":20101,"message":"registration_id: \"` + ids[0] + `\" is not a device of this app"}`},
		{"POST", dev, elAuth(b), map[string]any{"alias": "x"}, 400, `{"code":20101,"message":"registration_id: \"` + ids[0] + `\" is not a device of this app"}`},
		{"POST", dev, elAuth(a), map[string]any{"tags": "vip"}, 400, `{"code":21003,"message":"tags: must be \"\" (remove every tag) or {\"add\":[…],\"remove\":[…]}"}`},
		{"POST", dev, elAuth(a), map[string]any{"mobile": "1"}, 400, `{"code":21015,"message":"mobile: unexpected parameter"}`},
		{"POST", dev, elAuth(a), map[string]any{}, 400, `{"code":21002,"message":"request body: missing required parameter: give tags or alias"}`},
		{"POST", dev, elAuth(a), map[string]any{"alias": strings.Repeat("a", 129)}, 400, `{"code":21003,"message":"alias: is longer than 128 bytes"}`},
		{"PUT", dev, elAuth(a), nil, 405, `{"code":21001,"message":"only GET and POST are supported on /v4/devices/` + ids[0] + `, got PUT"}`},
		{"GET", srv.URL + "/v4/tags", "", nil, 401, `{"code":27001,"message":"authentication info is empty: send Authorization: Basic base64(AppKey:MasterSecret)"}`},
	} {
		r := do(t, c, tc.method, tc.url, tc.auth, tc.body)
		if r.Status != tc.status || string(bytes.TrimSpace(r.Body)) != tc.want {
			t.Errorf("%s %s %v: %d %s\nwant %d %s", tc.method, tc.url, tc.body, r.Status, r.Body, tc.status, tc.want)
		}
	}
}
