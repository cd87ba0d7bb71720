package cli_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestScheduledSurvivesRestart schedules a message, stops the server
// before it is due, starts it again, and checks that it is delivered on
// time after the restart.
func TestScheduledSurvivesRestart(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "sched")
	srv := startServer(t, data)
	tp := pushService(t)
	subs, _ := subscribe(t, srv, a.APIKey, tp, 5)
	at := time.Now().Add(4 * time.Second).UTC()
	id := sendMessage(t, srv, a.APIKey, map[string]any{"to": "all", "content": map[string]any{"title": "later"}, "send_at": at.Format(time.RFC3339Nano)})
	r := do(t, http.DefaultClient, "GET", srv.URL+"/v1/messages/"+id, bearer(a.APIKey), nil)
	if st := r.json(t)["state"]; st != "scheduled" {
		t.Fatalf("state %v, want scheduled", st)
	}
	srv.Stop()
	if tp.Count() != 0 {
		t.Fatal("pushed before send_at")
	}
	srv = startServer(t, data)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tp.WaitCount(ctx, len(subs)); err != nil {
		t.Fatalf("after restart: %v (%d pushes)", err, tp.Count())
	}
	for _, s := range subs {
		got := tp.Received(s.ID)
		if len(got) != 1 || got[0].Received.Before(at) {
			t.Fatalf("%s: %d pushes, first at %v (send_at %v)", s.ID, len(got), got[0].Received, at)
		}
	}
	if m := waitDone(t, srv, a.APIKey, id, 10*time.Second); m.Sent != len(subs) {
		t.Errorf("counters %+v", m)
	}
}

// TestCancelScheduled cancels a scheduled message; it never goes out, and
// a message that already went cannot be cancelled.
func TestCancelScheduled(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "cancel")
	srv := startServer(t, data)
	tp := pushService(t)
	subscribe(t, srv, a.APIKey, tp, 2)
	at := time.Now().Add(2 * time.Second).UTC()
	id := sendMessage(t, srv, a.APIKey, map[string]any{"to": "all", "content": map[string]any{"title": "never"}, "send_at": at.Format(time.RFC3339Nano)})
	r := do(t, http.DefaultClient, "DELETE", srv.URL+"/v1/messages/"+id, bearer(a.APIKey), nil)
	if r.Status != 200 || r.json(t)["state"] != "cancelled" {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	now := sendMessage(t, srv, a.APIKey, map[string]any{"to": "all", "content": map[string]any{"title": "now"}})
	waitDone(t, srv, a.APIKey, now, 10*time.Second)
	time.Sleep(time.Until(at) + 6*time.Second) // past send_at and River's scheduling tick
	if got := tp.Count(); got != 2 {
		t.Errorf("%d pushes, want 2 (only the uncancelled message)", got)
	}
	r = do(t, http.DefaultClient, "DELETE", srv.URL+"/v1/messages/"+now, bearer(a.APIKey), nil)
	if e := errorOf(t, r); r.Status != 409 || e.Code != "conflict" {
		t.Errorf("cancel a sent message: %d %s", r.Status, r.Body)
	}
}

// TestDedupSendsOnce repeats a dedup_id: the second send answers the first
// message's id and pushes nothing.
func TestDedupSendsOnce(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "dedup")
	b := createApp(t, data, "other")
	srv := startServer(t, data)
	tp := pushService(t)
	subscribe(t, srv, a.APIKey, tp, 3)
	body := map[string]any{"to": "all", "content": map[string]any{"title": "once"}, "dedup_id": "promo-1"}
	first := do(t, http.DefaultClient, "POST", srv.URL+"/v1/messages", bearer(a.APIKey), body)
	second := do(t, http.DefaultClient, "POST", srv.URL+"/v1/messages", bearer(a.APIKey), body)
	if first.Status != 202 || second.Status != 202 {
		t.Fatalf("sends: %d %s / %d %s", first.Status, first.Body, second.Status, second.Body)
	}
	f, s := first.json(t), second.json(t)
	if f["id"] != s["id"] || s["duplicate"] != true || f["duplicate"] != nil {
		t.Fatalf("first %v, second %v", f, s)
	}
	waitDone(t, srv, a.APIKey, f["id"].(string), 10*time.Second)
	// The same dedup id in another app is another message.
	other := do(t, http.DefaultClient, "POST", srv.URL+"/v1/messages", bearer(b.APIKey), body)
	if other.Status != 202 || other.json(t)["duplicate"] != nil {
		t.Errorf("other app: %d %s", other.Status, other.Body)
	}
	// The duplicate made no message, so once the first is done nothing
	// more can arrive for app A.
	if got := tp.Count(); got != 3 {
		t.Errorf("%d pushes, want 3", got)
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metrics := string(raw)
	for _, want := range []string{`herald_messages_total{kind="new"} 2`, `herald_messages_total{kind="duplicate"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
