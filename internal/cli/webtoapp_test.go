package cli_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// wtaURL is the webtoapp send endpoint with key in the query string.
func wtaURL(srv *server, key string) string {
	return srv.URL + "/api/webtoapp/v1/send?api_key=" + url.QueryEscape(key)
}

// TestWebtoappSend sends by token through testpush: only the tokens'
// devices get the push, stale tokens are listed back, and the key in the
// query string never reaches the log.
func TestWebtoappSend(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	srv := startServer(t, data)
	tp := pushService(t)
	subs, ids := subscribe(t, srv, a.APIKey, tp, 3)
	// Inside an app wrapper getNotificationToken() gives the native token.
	const native = "native-fcm-token-0123456789"
	if r := do(t, http.DefaultClient, "POST", srv.URL+"/v1/subscribers", bearer(a.APIKey), map[string]any{"type": "fcm", "token": native}); r.Status != http.StatusCreated {
		t.Fatalf("register fcm: %d %s", r.Status, r.Body)
	}
	body := map[string]any{"tokens": []string{ids[0], ids[1], "stale-token", ids[0], subs[1].Endpoint, native},
		"title": "Hi John", "body": "Your order shipped", "url": "https://shop.test/o/1",
		"icon": "https://shop.test/i.png", "image": "https://shop.test/big.png", "data": map[string]any{"order": 1}}
	r := do(t, http.DefaultClient, "POST", wtaURL(srv, a.Webtoapp.APIKey), "", body)
	var got struct {
		ID            string   `json:"id"`
		Count         int      `json:"count"`
		UnknownTokens []string `json:"unknown_tokens"`
	}
	if err := json.Unmarshal(r.Body, &got); r.Status != 200 || err != nil || got.Count != 3 || fmt.Sprint(got.UnknownTokens) != "[stale-token]" {
		t.Fatalf("send: %d %s", r.Status, r.Body)
	}
	if m := waitDone(t, srv, a.APIKey, got.ID, 30*time.Second); m.Targeted != 3 || m.Sent != 2 {
		t.Fatalf("counters %+v", m) // the FCM device is targeted; the app has no FCM credentials to reach it
	}
	for i, want := range []int{1, 1, 0} {
		if n := len(tp.Received(subs[i].ID)); n != want {
			t.Errorf("device %d got %d pushes, want %d", i, n, want)
		}
	}
	var p map[string]any
	json.Unmarshal(tp.Received(subs[0].ID)[0].Payload, &p)
	if p["title"] != "Hi John" || p["body"] != "Your order shipped" || p["url"] != "https://shop.test/o/1" || p["icon"] != "https://shop.test/i.png" ||
		p["image"] != "https://shop.test/big.png" || fmt.Sprint(p["data"]) != "map[order:1]" || p["id"] != got.ID {
		t.Errorf("payload %v", p)
	}
	if strings.Contains(srv.Logs.String(), a.Webtoapp.APIKey) || !strings.Contains(srv.Logs.String(), "/api/webtoapp/v1/send") {
		t.Errorf("the request log holds the key, or no request line:\n%s", srv.Logs.String())
	}
}

// TestWebtoappBadInput checks the exact status, code, field and message of
// bad sends, and that none made a message.
func TestWebtoappBadInput(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	b := createApp(t, data, "B")
	srv := startServer(t, data)
	tp := pushService(t)
	_, ids := subscribe(t, srv, a.APIKey, tp, 1)
	_, bIDs := subscribe(t, srv, b.APIKey, tp, 2)
	ok := wtaURL(srv, a.Webtoapp.APIKey)
	tokens := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf("t%d", i)
		}
		return s
	}
	tests := []struct {
		name, method, url string
		body              any
		status            int
		code, field, msg  string
	}{
		{"GET", "GET", ok, nil, 405, "method_not_allowed", "", "only POST is supported on /api/webtoapp/v1/send, got GET"},
		{"no key", "POST", srv.URL + "/api/webtoapp/v1/send", map[string]any{"tokens": ids, "title": "x"}, 401, "unauthorized", "api_key", "api_key: is missing; pass the app's webtoapp API key as ?api_key=<key>"},
		{"wrong key", "POST", wtaURL(srv, "wta_nope"), map[string]any{"tokens": ids, "title": "x"}, 401, "unauthorized", "api_key", "api_key: matches no app"},
		{"Herald API key", "POST", wtaURL(srv, a.APIKey), map[string]any{"tokens": ids, "title": "x"}, 401, "unauthorized", "api_key", "api_key: matches no app"},
		{"empty body", "POST", ok, "", 400, "empty_body", "", "request body is empty; a JSON object is required"},
		{"bad JSON", "POST", ok, `{"tokens":`, 400, "bad_json", "", "malformed JSON: the body ends before the value does"},
		{"unknown field", "POST", ok, map[string]any{"tokens": ids, "title": "x", "sound": "ding"}, 400, "unknown_field", "sound", "sound: unknown field"},
		{"tokens a string", "POST", ok, map[string]any{"tokens": ids[0], "title": "x"}, 400, "wrong_type", "tokens", "tokens: must be an array, got string"},
		{"no tokens", "POST", ok, map[string]any{"title": "x"}, 400, "invalid_field", "tokens", "tokens: is required: the tokens getNotificationToken() gave the app instances to notify"},
		{"1001 tokens", "POST", ok, map[string]any{"tokens": tokens(1001), "title": "x"}, 400, "invalid_field", "tokens", "tokens: has 1001 tokens, at most 1000 are allowed"},
		{"empty token", "POST", ok, map[string]any{"tokens": []string{ids[0], " "}, "title": "x"}, 400, "invalid_field", "tokens[1]", "tokens[1]: must not be empty"},
		{"nothing to show", "POST", ok, map[string]any{"tokens": ids}, 400, "invalid_field", "title", "title: a notification needs a title or a body, or the send needs data"},
		{"data not an object", "POST", ok, map[string]any{"tokens": ids, "data": []int{1}}, 400, "wrong_type", "data", "data: must be an object"},
		{"bad url", "POST", ok, map[string]any{"tokens": ids, "title": "x", "url": "no url"}, 400, "invalid_field", "url", "url: must be an absolute URL or a path starting with /"},
		{"too large", "POST", ok, map[string]any{"tokens": ids, "body": strings.Repeat("x", 4000)}, 400, "invalid_field", "body", "body: makes a 4038-byte payload; at most 3993 bytes fit in a push"},
		{"another app's tokens", "POST", ok, map[string]any{"tokens": bIDs, "title": "x"}, 404, "not_found", "tokens", "tokens: none of the 2 tokens is a device of this app; tokens go stale when the app is reinstalled or its data cleared"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, http.DefaultClient, tc.method, tc.url, "", tc.body)
			e := errorOf(t, r)
			if r.Status != tc.status || e.Code != tc.code || e.Field != tc.field || e.Message != tc.msg {
				t.Errorf("got %d %+v\nwant %d {Code:%s Message:%s Field:%s}", r.Status, e, tc.status, tc.code, tc.msg, tc.field)
			}
		})
	}
	r := do(t, http.DefaultClient, "GET", srv.URL+"/v1/messages", bearer(a.APIKey), nil)
	if msgs := r.json(t)["messages"].([]any); len(msgs) != 0 {
		t.Errorf("bad sends made %d messages", len(msgs))
	}
}
