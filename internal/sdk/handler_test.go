package sdk_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/store"
)

func TestAssets(t *testing.T) {
	e := newEnv(t, false)
	var conf struct {
		Files map[string]string `json:"files"`
	}
	e.do(t, http.MethodGet, "/sdk/config?app="+e.a.ID, nil, nil).json(t, &conf)
	for _, tc := range []struct{ name, cache string }{
		{"herald.js", "public, max-age=300"},
		{"herald-sw.js", "no-cache"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(t, http.MethodGet, "/sdk/"+tc.name, nil, nil)
			if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/javascript") || len(a.body) < 1000 {
				t.Fatalf("GET /sdk/%s: %d %s, %d bytes", tc.name, a.status, a.header.Get("Content-Type"), len(a.body))
			}
			if got := a.header.Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
			if a.header.Get("Access-Control-Allow-Origin") != "*" || a.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers %v: want CORS for any origin and nosniff", a.header)
			}
			etag := a.header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			if again := e.do(t, http.MethodGet, "/sdk/"+tc.name, nil, map[string]string{"If-None-Match": etag}); again.status != http.StatusNotModified {
				t.Errorf("If-None-Match %s: %d, want 304", etag, again.status)
			}
			hashed := conf.Files[tc.name]
			if hashed == "" || hashed == "/sdk/"+tc.name || !strings.Contains(hashed, strings.Trim(etag, `"`)) {
				t.Fatalf("config names %q for %s (ETag %s): want a content-hashed name", hashed, tc.name, etag)
			}
			h := e.do(t, http.MethodGet, hashed, nil, nil)
			if h.status != http.StatusOK || !bytes.Equal(h.body, a.body) || !strings.Contains(h.header.Get("Cache-Control"), "immutable") {
				t.Fatalf("GET %s: %d, Cache-Control %q, same bytes %v", hashed, h.status, h.header.Get("Cache-Control"), bytes.Equal(h.body, a.body))
			}
		})
	}
}

func TestConfig(t *testing.T) {
	e := newEnv(t, false)
	a := e.do(t, http.MethodGet, "/sdk/config?app="+e.a.ID, nil, nil)
	var conf struct {
		App            string          `json:"app"`
		VAPIDPublicKey string          `json:"vapid_public_key"`
		Channels       map[string]bool `json:"channels"`
	}
	a.json(t, &conf)
	if a.status != http.StatusOK || conf.App != e.a.ID || conf.VAPIDPublicKey != e.a.VAPIDPublicKey {
		t.Fatalf("GET /sdk/config: %d %s; want the app's VAPID key %s", a.status, a.body, e.a.VAPIDPublicKey)
	}
	if !conf.Channels["webpush"] || conf.Channels["fcm"] || conf.Channels["apns"] {
		t.Errorf("channels %v: want webpush only (the app has no FCM or APNs credentials)", conf.Channels)
	}
	if a.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("no CORS header")
	}
	var other struct {
		VAPIDPublicKey string `json:"vapid_public_key"`
	}
	e.do(t, http.MethodGet, "/sdk/config", nil, map[string]string{"X-Herald-App": e.b.ID}).json(t, &other)
	if other.VAPIDPublicKey != e.b.VAPIDPublicKey {
		t.Errorf("X-Herald-App %s: key %s, want app b's %s", e.b.ID, other.VAPIDPublicKey, e.b.VAPIDPublicKey)
	}
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/sdk/config", http.StatusBadRequest},
		{"/sdk/config?app=app_nope", http.StatusNotFound},
	} {
		a := e.do(t, http.MethodGet, tc.path, nil, nil)
		if a.status != tc.status || a.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s: %d %s; want %d with CORS", tc.path, a.status, a.body, tc.status)
		}
	}
	def := newEnv(t, true)
	if a := def.do(t, http.MethodGet, "/sdk/config", nil, nil); a.status != http.StatusOK {
		t.Errorf("GET /sdk/config with a default app: %d %s", a.status, a.body)
	}
}

func TestPreflight(t *testing.T) {
	e := newEnv(t, false)
	for _, path := range []string{"/sdk/config", "/sdk/v1/subscribers", "/sdk/v1/subscribers/r_x", "/sdk/v1/events"} {
		a := e.do(t, http.MethodOptions, path, nil, map[string]string{
			"Access-Control-Request-Method":  "PATCH",
			"Access-Control-Request-Headers": "content-type, x-herald-device-key",
		})
		h := a.header
		if a.status != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "PATCH") ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "X-Herald-Device-Key") ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") {
			t.Errorf("OPTIONS %s: %d %v", path, a.status, h)
		}
		if h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("OPTIONS %s allows credentials; the open endpoints take none", path)
		}
	}
}

func TestRegister(t *testing.T) {
	e := newEnv(t, false)
	sub := subscription(t)
	a := e.do(t, http.MethodPost, "/sdk/v1/subscribers?app="+e.a.ID, map[string]any{
		"subscription": sub, "tags": []string{"news", "b"}, "alias": "user-1", "language": "fa-IR", "timezone": "Asia/Tehran",
	}, nil)
	if a.status != http.StatusCreated || a.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("register: %d %s", a.status, a.body)
	}
	var r registered
	a.json(t, &r)
	if !e.keys.CheckDeviceKey(e.a.ID, r.RegistrationID, r.DeviceKey) || !r.Created {
		t.Fatalf("answer %s: want a new registration and its device key", a.body)
	}
	s, err := e.reg.Get(t.Context(), e.a.ID, r.RegistrationID)
	if err != nil || s.Channel != store.ChannelWebPush || s.Alias != "user-1" || s.Language != "fa-IR" || s.Timezone != "Asia/Tehran" || strings.Join(s.Tags, ",") != "b,news" {
		t.Fatalf("stored %+v, %v", s, err)
	}
	again := e.register(t, e.a.ID, map[string]any{"type": "webpush", "subscription": sub})
	if again.RegistrationID != r.RegistrationID || again.DeviceKey != r.DeviceKey || again.Created {
		t.Fatalf("registering the same subscription again: %+v, want %s unchanged", again, r.RegistrationID)
	}
	if s, _ := e.reg.Get(t.Context(), e.a.ID, r.RegistrationID); s.Alias != "user-1" || len(s.Tags) != 2 {
		t.Errorf("a bare re-registration changed alias or tags: %+v", s)
	}
	if _, err := e.reg.Get(t.Context(), e.b.ID, r.RegistrationID); err == nil {
		t.Error("app a's registration is visible in app b")
	}
}

func TestRegisterRefuses(t *testing.T) {
	e := newEnv(t, false)
	good := subscription(t)
	badKey := subscription(t)
	badKey["keys"] = map[string]string{"p256dh": "AAAA", "auth": good["keys"].(map[string]string)["auth"]}
	offList := subscription(t)
	offList["endpoint"] = "https://evil.example/push"
	appA := "?app=" + e.a.ID
	tests := []struct {
		name   string
		query  string
		body   any
		status int
		code   string
	}{
		{"empty body", appA, "", 400, "empty_body"},
		{"malformed JSON", appA, `{"subscription":`, 400, "bad_json"},
		{"unknown field", appA, map[string]any{"subscription": good, "colour": "red"}, 400, "unknown_field"},
		{"wrong type", appA, map[string]any{"subscription": good, "tags": "news"}, 400, "wrong_type"},
		{"no subscription for webpush", appA, map[string]any{"type": "webpush"}, 400, "invalid_field"},
		{"neither type nor subscription", appA, map[string]any{"tags": []string{"a"}}, 400, "invalid_field"},
		{"token on webpush", appA, map[string]any{"subscription": good, "token": "x"}, 400, "invalid_field"},
		{"subscription on fcm", appA, map[string]any{"type": "fcm", "subscription": good}, 400, "invalid_field"},
		{"unknown type", appA, map[string]any{"type": "sms", "token": "x"}, 400, "invalid_field"},
		{"endpoint off the allow-list", appA, map[string]any{"subscription": offList}, 400, "invalid_field"},
		{"bad p256dh", appA, map[string]any{"subscription": badKey}, 400, "invalid_field"},
		{"bad language", appA, map[string]any{"subscription": good, "language": "not a language"}, 400, "invalid_field"},
		{"bad time zone", appA, map[string]any{"subscription": good, "timezone": "Mars/Olympus"}, 400, "invalid_field"},
		{"empty tag", appA, map[string]any{"subscription": good, "tags": []string{""}}, 400, "invalid_field"},
		{"no app", "", map[string]any{"subscription": good}, 400, "invalid_field"},
		{"unknown app", "?app=app_nope", map[string]any{"subscription": good}, 404, "not_found"},
		{"fcm not enabled", appA, map[string]any{"type": "fcm", "token": "fcm-token-1"}, 403, "push_not_enabled"},
		{"apns not enabled", appA, map[string]any{"type": "apns", "token": strings.Repeat("ab", 32)}, 403, "push_not_enabled"},
		{"replaces without an id", appA, map[string]any{"subscription": good, "replaces": map[string]string{}}, 400, "invalid_field"},
		{"replaces with a wrong key", appA, map[string]any{"subscription": good, "replaces": map[string]string{"registration_id": "r_x", "device_key": "nope"}}, 403, "forbidden"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(t, http.MethodPost, "/sdk/v1/subscribers"+tc.query, tc.body, nil)
			if a.status != tc.status || a.errCode() != tc.code {
				t.Fatalf("%d %s; want %d with code %s", a.status, a.body, tc.status, tc.code)
			}
			if a.header.Get("Access-Control-Allow-Origin") != "*" {
				t.Error("an error without CORS: the page cannot read it")
			}
		})
	}
	if n, err := e.reg.Count(t.Context(), e.a.ID, store.SubscriberFilter{}); err != nil || n != 0 {
		t.Fatalf("refused registrations stored %d devices (%v)", n, err)
	}
}

func TestDeviceKey(t *testing.T) {
	e := newEnv(t, false)
	mine := e.register(t, e.a.ID, map[string]any{"subscription": subscription(t)})
	theirs := e.register(t, e.a.ID, map[string]any{"subscription": subscription(t), "tags": []string{"keep"}})
	path := func(app, id string) string { return "/sdk/v1/subscribers/" + id + "?app=" + app }
	key := func(k string) map[string]string { return map[string]string{"X-Herald-Device-Key": k} }

	a := e.do(t, http.MethodPatch, path(e.a.ID, mine.RegistrationID), map[string]any{
		"tags": []string{"x", "y"}, "alias": "u1", "language": "en-GB", "timezone": "Europe/London",
	}, key(mine.DeviceKey))
	var dev struct {
		Tags     []string `json:"tags"`
		Alias    string   `json:"alias"`
		Language string   `json:"language"`
		Timezone string   `json:"timezone"`
	}
	a.json(t, &dev)
	if a.status != http.StatusOK || strings.Join(dev.Tags, ",") != "x,y" || dev.Alias != "u1" || dev.Language != "en-GB" || dev.Timezone != "Europe/London" {
		t.Fatalf("PATCH with its own key: %d %s", a.status, a.body)
	}
	e.do(t, http.MethodPatch, path(e.a.ID, mine.RegistrationID), map[string]any{"tags_add": []string{"z"}, "tags_remove": []string{"x"}}, key(mine.DeviceKey)).json(t, &dev)
	if strings.Join(dev.Tags, ",") != "y,z" {
		t.Fatalf("tags_add/tags_remove: tags %v, want [y z]", dev.Tags)
	}

	tests := []struct {
		name, method, path string
		header             map[string]string
		status             int
		code               string
	}{
		{"no key", http.MethodPatch, path(e.a.ID, theirs.RegistrationID), nil, 401, "unauthorized"},
		{"another registration's key", http.MethodPatch, path(e.a.ID, theirs.RegistrationID), key(mine.DeviceKey), 403, "forbidden"},
		{"a key in the wrong app", http.MethodPatch, path(e.b.ID, mine.RegistrationID), key(mine.DeviceKey), 403, "forbidden"},
		{"a made-up key", http.MethodPatch, path(e.a.ID, theirs.RegistrationID), key(strings.Repeat("A", 22)), 403, "forbidden"},
		{"delete with another's key", http.MethodDelete, path(e.a.ID, theirs.RegistrationID), key(mine.DeviceKey), 403, "forbidden"},
		{"unknown app", http.MethodPatch, path("app_nope", mine.RegistrationID), key(mine.DeviceKey), 404, "not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(t, tc.method, tc.path, map[string]any{"tags": []string{"hijacked"}}, tc.header)
			if a.status != tc.status || a.errCode() != tc.code {
				t.Fatalf("%d %s; want %d %s", a.status, a.body, tc.status, tc.code)
			}
		})
	}
	if s, err := e.reg.Get(t.Context(), e.a.ID, theirs.RegistrationID); err != nil || strings.Join(s.Tags, ",") != "keep" {
		t.Fatalf("the other registration changed: %+v, %v", s, err)
	}

	if a := e.do(t, http.MethodDelete, path(e.a.ID, mine.RegistrationID), nil, key(mine.DeviceKey)); a.status != http.StatusNoContent {
		t.Fatalf("DELETE with its own key: %d %s", a.status, a.body)
	}
	if a := e.do(t, http.MethodPatch, path(e.a.ID, mine.RegistrationID), map[string]any{"alias": "x"}, key(mine.DeviceKey)); a.status != http.StatusNotFound {
		t.Fatalf("PATCH after DELETE: %d %s, want 404", a.status, a.body)
	}
}

func TestReplaces(t *testing.T) {
	e := newEnv(t, false)
	old := e.register(t, e.a.ID, map[string]any{"subscription": subscription(t), "tags": []string{"t1", "t2"}, "alias": "u7", "language": "de", "timezone": "Europe/Berlin"})
	a := e.do(t, http.MethodPost, "/sdk/v1/subscribers?app="+e.a.ID, map[string]any{
		"subscription": subscription(t), "timezone": "Europe/Paris",
		"replaces": map[string]string{"registration_id": old.RegistrationID, "device_key": old.DeviceKey},
	}, nil)
	var r registered
	a.json(t, &r)
	if a.status != http.StatusCreated || r.Replaced != old.RegistrationID || r.RegistrationID == old.RegistrationID {
		t.Fatalf("replacing: %d %s", a.status, a.body)
	}
	s, err := e.reg.Get(t.Context(), e.a.ID, r.RegistrationID)
	if err != nil || strings.Join(s.Tags, ",") != "t1,t2" || s.Alias != "u7" || s.Language != "de" || s.Timezone != "Europe/Paris" {
		t.Fatalf("the new registration %+v (%v): want the old one's tags, alias and language, and its own time zone", s, err)
	}
	if _, err := e.reg.Get(t.Context(), e.a.ID, old.RegistrationID); err == nil {
		t.Fatal("the replaced registration is still there")
	}
	// Replacing one that is gone already (pruned, say) just registers.
	b := e.do(t, http.MethodPost, "/sdk/v1/subscribers?app="+e.a.ID, map[string]any{
		"subscription": subscription(t), "replaces": map[string]string{"registration_id": old.RegistrationID, "device_key": old.DeviceKey},
	}, nil)
	if b.status != http.StatusCreated || strings.Contains(string(b.body), "replaced") {
		t.Fatalf("replacing a deleted registration: %d %s", b.status, b.body)
	}
}
