package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/testpush"
)

// pushService starts a testpush that records and decrypts every push.
func pushService(t *testing.T) *testpush.Server {
	t.Helper()
	tp, err := testpush.Start(testpush.Options{Record: true, Verify: testpush.VerifyAll})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tp.Close() })
	return tp
}

// subscribe registers n testpush subscriptions with Herald and returns them
// with their registration ids.
func subscribe(t *testing.T, srv *server, key string, tp *testpush.Server, n int, tags ...string) ([]testpush.Subscription, []string) {
	t.Helper()
	subs := make([]testpush.Subscription, n)
	ids := make([]string, n)
	for i := range subs {
		s, err := tp.NewSubscription()
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = s
		body := map[string]any{"type": "webpush", "subscription": s, "tags": tags, "language": "en"}
		r := do(t, http.DefaultClient, "POST", srv.URL+"/v1/subscribers", bearer(key), body)
		if r.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		ids[i] = r.json(t)["registration_id"].(string)
	}
	return subs, ids
}

type messageState struct {
	ID            string           `json:"id"`
	State         string           `json:"state"`
	Targeted      int              `json:"targeted"`
	Sent          int              `json:"sent"`
	Failed        int              `json:"failed"`
	Pruned        int              `json:"pruned"`
	Expired       int              `json:"expired"`
	FailedReasons map[string]int64 `json:"failed_reasons"`
}

// sendMessage posts to /v1/messages and returns the message id.
func sendMessage(t *testing.T, srv *server, key string, body any) string {
	t.Helper()
	r := do(t, http.DefaultClient, "POST", srv.URL+"/v1/messages", bearer(key), body)
	if r.Status != http.StatusAccepted {
		t.Fatalf("send: %d %s", r.Status, r.Body)
	}
	return r.json(t)["id"].(string)
}

// waitDone polls the message until it is done and returns its state.
func waitDone(t *testing.T, srv *server, key, id string, within time.Duration) messageState {
	t.Helper()
	deadline := time.Now().Add(within)
	var m messageState
	for {
		r := do(t, http.DefaultClient, "GET", srv.URL+"/v1/messages/"+id, bearer(key), nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET message: %d %s", r.Status, r.Body)
		}
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatal(err)
		}
		if m.State == "done" {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s not done after %v: %s", id, within, r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSendReachesEverySubscriber sends one message to 1,000 subscribers
// through testpush, which verifies every VAPID JWT and decrypts every
// payload.
func TestSendReachesEverySubscriber(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	srv := startServer(t, data)
	tp := pushService(t)
	subs, _ := subscribe(t, srv, a.APIKey, tp, 1000, "news")
	id := sendMessage(t, srv, a.APIKey, map[string]any{"to": "all",
		"content": map[string]any{"title": "Hello", "body": "World", "url": "https://example.test/x"}, "ttl": 3600, "urgency": "high"})
	m := waitDone(t, srv, a.APIKey, id, 60*time.Second)
	if m.Targeted != 1000 || m.Sent != 1000 || m.Failed+m.Pruned+m.Expired != 0 {
		t.Fatalf("counters %+v", m)
	}
	for _, s := range subs {
		got := tp.Received(s.ID)
		if len(got) != 1 {
			t.Fatalf("subscriber %s got %d pushes", s.ID, len(got))
		}
		var p map[string]any
		if !got[0].Decrypted || json.Unmarshal(got[0].Payload, &p) != nil {
			t.Fatalf("payload not decrypted: %+v", got[0])
		}
		if p["title"] != "Hello" || p["body"] != "World" || p["url"] != "https://example.test/x" || p["id"] != id {
			t.Fatalf("payload %v", p)
		}
		if got[0].Urgency != "high" || got[0].TTL <= 0 || got[0].TTL > 3600 {
			t.Fatalf("headers: urgency %q ttl %d", got[0].Urgency, got[0].TTL)
		}
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var metrics bytes.Buffer
	metrics.ReadFrom(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`herald_pushes_total{channel="webpush",outcome="sent"} 1000`,
		`herald_delivery_delay_seconds_count{channel="webpush"} 1000`,
		`herald_http_requests_total{code="202",route="POST /v1/messages"} 1`,
		`herald_http_requests_total{code="201",route="POST /v1/subscribers"} 1000`,
	} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestSendOutcomes checks pruning on 404/410, retries on 5xx and 429
// (honouring Retry-After), a hard failure, and TTL expiry while retrying.
func TestSendOutcomes(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	srv := startServer(t, data)
	tp := pushService(t)
	subs, ids := subscribe(t, srv, a.APIKey, tp, 10)
	tp.Fail(subs[0].ID, testpush.Respond(410))
	tp.Fail(subs[1].ID, testpush.Respond(404))
	tp.Fail(subs[2].ID, testpush.FailNext(2, 500))
	tp.Fail(subs[4].ID, testpush.Respond(400))
	// subs[3] answers 429 once, then recovers.
	tp.Fail(subs[3].ID, testpush.Behavior{Status: 429, RetryAfter: time.Second, Times: 1})

	start := time.Now()
	id := sendMessage(t, srv, a.APIKey, map[string]any{"to": "all", "content": map[string]any{"title": "t"}})
	m := waitDone(t, srv, a.APIKey, id, 60*time.Second)
	if m.Targeted != 10 || m.Sent != 7 || m.Pruned != 2 || m.Failed != 1 || m.Expired != 0 {
		t.Fatalf("counters %+v", m)
	}
	if m.FailedReasons["http 400"] != 1 {
		t.Errorf("failed reasons %v", m.FailedReasons)
	}
	if tp.Deliveries(subs[3].ID) != 1 || time.Since(start) < time.Second {
		t.Errorf("429 subscriber: %d deliveries after %v", tp.Deliveries(subs[3].ID), time.Since(start))
	}
	for i, want := range []int{404, 404, 200, 200, 200} {
		r := do(t, http.DefaultClient, "GET", srv.URL+"/v1/subscribers/"+ids[i], bearer(a.APIKey), nil)
		if r.Status != want {
			t.Errorf("subscriber %d after send: %d, want %d (pruned on 404/410 only)", i, r.Status, want)
		}
	}

	// A subscriber that keeps failing with 503 outlives a 2-second TTL: the
	// message is counted expired, never sent late.
	tp.Fail(subs[5].ID, testpush.Unavailable(0))
	id = sendMessage(t, srv, a.APIKey, map[string]any{"to": map[string]any{"registration_ids": []string{ids[5]}},
		"content": map[string]any{"title": "short-lived"}, "ttl": 2})
	m = waitDone(t, srv, a.APIKey, id, 30*time.Second)
	if m.Targeted != 1 || m.Expired != 1 || m.Sent != 0 {
		t.Fatalf("ttl counters %+v", m)
	}
}

// TestGuidePush checks the guide's /api/push: the key is required, the
// answer is exact, and the body is pushed as it is.
func TestGuidePush(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	srv := startServer(t, data)
	tp := pushService(t)
	subs, _ := subscribe(t, srv, a.APIKey, tp, 3)
	r := do(t, http.DefaultClient, "POST", srv.URL+"/api/push", "", `{"title":"x"}`)
	if r.Status != 401 || string(bytes.TrimSpace(r.Body)) != `{"error":{"id":"unauthorized","message":"Send the app's API key as Authorization: Bearer <api_key>"}}` {
		t.Errorf("no key: %d %s", r.Status, r.Body)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/api/push", bytes.NewReader([]byte(`{"title":"From the guide","body":"b"}`)))
	req.Header.Set("Authorization", bearer(a.APIKey))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(bytes.TrimSpace(body.Bytes())) != `{"data":{"success":true}}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("push: %d %s", resp.StatusCode, body.String())
	}
	id := resp.Header.Get("X-Herald-Message-Id")
	if _, err := strconv.Atoi(id); err != nil {
		t.Fatalf("X-Herald-Message-Id %q", id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tp.WaitCount(ctx, 3); err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		got := tp.Received(s.ID)
		if len(got) != 1 || string(got[0].Payload) != `{"title":"From the guide","body":"b"}` {
			t.Fatalf("%s received %s", s.ID, fmt.Sprint(got))
		}
	}
	if m := waitDone(t, srv, a.APIKey, id, 30*time.Second); m.Sent != 3 {
		t.Errorf("counters %+v", m)
	}
}
