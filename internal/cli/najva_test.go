package cli_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/testpush"
)

// najvaSeed reads one of seed 004's examples (internal/compat/najva/testdata).
func najvaSeed(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../compat/najva/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// najvaCall sends one request with "Authorization: Token …" and returns
// the status, the message id header and the body.
func najvaCall(t *testing.T, method, url, token, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, url, ct)
	}
	return resp.StatusCode, resp.Header.Get("X-Herald-Message-Id"), strings.TrimSpace(string(b))
}

// jsonEqual reports whether two JSON texts are the same value.
func jsonEqual(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

// countMessages is how many messages the app has.
func countMessages(t *testing.T, srv *server, key string) int {
	t.Helper()
	r := do(t, http.DefaultClient, "GET", srv.URL+"/v1/messages", bearer(key), nil)
	return len(r.json(t)["messages"].([]any))
}

// TestNajvaSeedExamples sends seed 004's own example requests through a
// running Herald and gets its own answers: the send to all with segments
// 1 and 22 included and 12 excluded reaches exactly their devices; the
// send to two subscriber tokens answers 201 with count 2 and reaches
// those two; the empty body, a missing token, another app's token and an
// unknown one get the seed's bodies; nothing refused makes a message.
func TestNajvaSeedExamples(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	b := createApp(t, data, "B")
	srv := startServer(t, data)
	tp := pushService(t)
	var subs []testpush.Subscription
	var ids []string
	for _, tags := range [][]string{{"vip"}, {"vip", "blocked"}, {"news"}, nil} {
		s, id := subscribe(t, srv, a.APIKey, tp, 1, tags...)
		subs, ids = append(subs, s...), append(ids, id...)
	}
	otherSubs, otherIDs := subscribe(t, srv, b.APIKey, tp, 1, "vip")

	// Segments 1..22, so that the seed's ids exist: 1 is vip, 12 blocked,
	// 22 news, the others match no one.
	for i := 1; i <= 22; i++ {
		rules := map[string]any{"tags": []string{fmt.Sprintf("none-%d", i)}}
		title := ""
		switch i {
		case 1:
			rules, title = map[string]any{"tags": []string{"vip"}}, "مشترکین ویژه"
		case 12:
			rules = map[string]any{"tags": []string{"blocked"}}
		case 22:
			rules = map[string]any{"tags": []string{"news"}}
		}
		r := do(t, http.DefaultClient, "POST", srv.URL+"/v1/segments", bearer(a.APIKey), map[string]any{"name": fmt.Sprintf("segment%d", i), "title": title, "rules": rules})
		if r.Status != 201 || r.json(t)["id"] != float64(i) {
			t.Fatalf("segment %d: %d %s", i, r.Status, r.Body)
		}
	}
	st, _, body := najvaCall(t, "GET", srv.URL+"/api/v1/websites/"+a.Najva.APIKey+"/segments/", a.Najva.Token, "")
	var segs []map[string]any
	if err := json.Unmarshal([]byte(body), &segs); st != 200 || err != nil || len(segs) != 22 {
		t.Fatalf("segments: %d %s", st, body)
	}
	counts := map[float64]float64{}
	for _, s := range segs {
		counts[s["id"].(float64)] = s["subsriber_count"].(float64)
		if s["subscriber_count"] != s["subsriber_count"] || len(s) != 5 {
			t.Errorf("segment entry %v", s)
		}
		if s["id"] == float64(1) && (s["name"] != "segment1" || s["human_readable_name"] != "مشترکین ویژه") {
			t.Errorf("segment 1: %v", s)
		}
	}
	if counts[1] != 2 || counts[12] != 1 || counts[22] != 1 || counts[2] != 0 {
		t.Errorf("counts %v", counts)
	}

	// The send to all, the seed's request verbatim but its placeholders.
	req := strings.NewReplacer("<YOUR_API_KEY>", `"`+a.Najva.APIKey+`"`, "<YOUR_ACTION>", "open-link").Replace(najvaSeed(t, "seed_notifications_request.json"))
	st, id, body := najvaCall(t, "POST", srv.URL+"/api/v1/notifications/", a.Najva.Token, req)
	if st != 200 || !jsonEqual(body, najvaSeed(t, "seed_notifications_200.json")) || id == "" {
		t.Fatalf("send to all: %d %q %s", st, id, body)
	}
	if m := waitDone(t, srv, a.APIKey, id, 30*time.Second); m.Targeted != 2 || m.Sent != 2 {
		t.Errorf("send to all: %+v", m)
	}
	for i, want := range []int{1, 0, 1, 0} { // vip and news, not blocked
		if n := len(tp.Received(subs[i].ID)); n != want {
			t.Errorf("device %d got %d pushes, want %d", i, n, want)
		}
	}
	_, p := elPayload(t, tp, subs[0], 1)
	if p["title"] != "title" || p["body"] != "body" || p["url"] != "http://example.com" || p["icon"] != "http://example.com/static/icon.png" || p["image"] != "http://example.com/static/img.png" {
		t.Errorf("payload %v", p)
	}

	// The send to tokens: two of A's devices.
	req = strings.NewReplacer("<YOUR_API_KEY>", `"`+a.Najva.APIKey+`"`, "<YOUR_ACTION>", "Open-link",
		"[TOKEN1, TOKEN2, ...]", fmt.Sprintf("[%q, %q, %q]", ids[1], ids[3], otherIDs[0])).Replace(najvaSeed(t, "seed_tokens_request.json"))
	st, id, body = najvaCall(t, "POST", srv.URL+"/notification/api/v1/notifications/", a.Najva.Token, req)
	var created struct {
		Result  string            `json:"result"`
		Count   int               `json:"count"`
		Details map[string]string `json:"details"`
	}
	if err := json.Unmarshal([]byte(body), &created); st != 201 || err != nil || created.Result != "Notification is created successfully." || created.Count != 2 ||
		len(created.Details) != 6 || created.Details["sent_time"] != "2019-01-07T12:00:00" || created.Details["title"] != "title" {
		t.Fatalf("send to tokens: %d %s", st, body)
	}
	if m := waitDone(t, srv, a.APIKey, id, 30*time.Second); m.Targeted != 2 || m.Sent != 2 {
		t.Errorf("send to tokens: %+v", m)
	}
	for i, want := range []int{1, 1, 1, 1} {
		if n := len(tp.Received(subs[i].ID)); n != want {
			t.Errorf("after the token send, device %d has %d pushes, want %d", i, n, want)
		}
	}
	if n := len(tp.Received(otherSubs[0].ID)); n != 0 {
		t.Errorf("B's device got %d pushes through A's token send", n)
	}

	// segments_exclude alone: everyone not excluded (not the blocked device).
	st, id, body = najvaCall(t, "POST", srv.URL+"/api/v1/notifications/", a.Najva.Token,
		`{"api_key":"`+a.Najva.APIKey+`","title":"t","body":"b","url":"/","sent_time":"2019-01-07T12:00:00","one_signal_enabled":false,"segments_include":[],"segments_exclude":[12]}`)
	if st != 200 {
		t.Fatalf("exclude only: %d %s", st, body)
	}
	if m := waitDone(t, srv, a.APIKey, id, 30*time.Second); m.Targeted != 3 || m.Sent != 3 {
		t.Errorf("exclude only: %+v", m)
	}
	for i, want := range []int{2, 1, 2, 2} {
		if n := len(tp.Received(subs[i].ID)); n != want {
			t.Errorf("after the exclude-only send, device %d has %d pushes, want %d", i, n, want)
		}
	}

	// The seed's error answers; none makes a message.
	before := countMessages(t, srv, a.APIKey)
	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		want                            string
	}{
		{"empty body", "POST", "/notification/api/v1/notifications/", a.Najva.Token, "", 400, najvaSeed(t, "seed_tokens_400.json")},
		{"no token", "POST", "/notification/api/v1/notifications/", "", "{}", 403, najvaSeed(t, "seed_tokens_403.json")},
		{"no token, send to all", "POST", "/api/v1/notifications/", "", req, 401, najvaSeed(t, "seed_notifications_401.json")},
		{"B's token, A's api_key", "POST", "/api/v1/notifications/", b.Najva.Token, strings.NewReplacer("<YOUR_API_KEY>", `"`+a.Najva.APIKey+`"`, "<YOUR_ACTION>", "open-link").Replace(najvaSeed(t, "seed_notifications_request.json")), 403, najvaSeed(t, "seed_notifications_403.json")},
		{"unknown token", "POST", "/api/v1/notifications/", "0123456789abcdef", "{}", 404, najvaSeed(t, "seed_notifications_404.json")},
		{"B's token, A's segments", "GET", "/api/v1/websites/" + a.Najva.APIKey + "/segments/", b.Najva.Token, "", 403, najvaSeed(t, "seed_notifications_403.json")},
		{"B's segments by A's ids", "POST", "/api/v1/notifications/", b.Najva.Token, `{"api_key":"` + b.Najva.APIKey + `","title":"t","body":"b","url":"/","sent_time":"2019-01-07T12:00:00","one_signal_enabled":false,"segments_include":[1]}`,
			400, `{"result":"Passed data is invalid.","details":{"segments_include":["Item 0: No segment with id 1."]}}`},
		{"A's api_key rotated away", "GET", "/api/v1/one-signals/", a.Najva.Token + "x", "", 404, najvaSeed(t, "seed_notifications_404.json")},
	} {
		st, id, body := najvaCall(t, tc.method, srv.URL+tc.path, tc.token, tc.body)
		if st != tc.status || !jsonEqual(body, tc.want) || id != "" {
			t.Errorf("%s: %d %q %s\nwant %d %s", tc.name, st, id, body, tc.status, tc.want)
		}
	}
	if after := countMessages(t, srv, a.APIKey); after != before {
		t.Errorf("refused requests made %d messages", after-before)
	}
	if n := countMessages(t, srv, b.APIKey); n != 0 {
		t.Errorf("B has %d messages", n)
	}
	if st, _, body := najvaCall(t, "GET", srv.URL+"/api/v1/one-signals/", a.Najva.Token, ""); st != 200 || body != "[]" {
		t.Errorf("one-signals: %d %s", st, body)
	}

	// A sent_time an hour ahead schedules the message.
	later := time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05")
	st, id, body = najvaCall(t, "POST", srv.URL+"/api/v1/notifications", a.Najva.Token,
		`{"api_key":"`+a.Najva.APIKey+`","title":"later","body":"b","url":"/","sent_time":"`+later+`","one_signal_enabled":true}`)
	if st != 200 {
		t.Fatalf("scheduled: %d %s", st, body)
	}
	r := do(t, http.DefaultClient, "GET", srv.URL+"/v1/messages/"+id, bearer(a.APIKey), nil)
	if m := r.json(t); m["state"] != "scheduled" || !strings.HasPrefix(fmt.Sprint(m["send_at"]), later[:16]) {
		t.Errorf("scheduled message: %s", r.Body)
	}
}
