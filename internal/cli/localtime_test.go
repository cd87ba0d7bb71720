package cli_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/testpush"
)

// TestLocalTimeDelivery sends at the next minute's wall-clock time, as
// local time: subscribers in UTC (or without a zone) get it at that
// minute, not before; those whose zone has that time an hour from now, or
// past already (next day), wait — across a restart of the server. A
// message to the near ones only ends done; the message to all stays
// sending with the right counts until it is cancelled.
func TestLocalTimeDelivery(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	srv := startServer(t, data)
	tp := pushService(t)
	register := func(zone, tag string) testpush.Subscription {
		s, err := tp.NewSubscription()
		if err != nil {
			t.Fatal(err)
		}
		r := do(t, http.DefaultClient, "POST", srv.URL+"/v1/subscribers", bearer(a.APIKey),
			map[string]any{"type": "webpush", "subscription": s, "tags": []string{tag}, "timezone": zone})
		if r.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		return s
	}
	near := []testpush.Subscription{register("UTC", "near"), register("UTC", "near"), register("", "near")}
	far := []testpush.Subscription{
		register("Etc/GMT+1", "far"),   // UTC-1: that wall-clock time comes an hour later
		register("Asia/Tehran", "far"), // UTC+3:30: it has passed there; tomorrow
	}

	// The minute boundary at least 15 s away, so that "not before" means
	// something.
	if s := time.Now().UTC().Second(); s >= 45 {
		time.Sleep(time.Duration(61-s) * time.Second)
	}
	at := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	local := at.Format("15:04")
	content := map[string]any{"title": "Good morning"}
	nearID := sendMessage(t, srv, a.APIKey, map[string]any{"to": map[string]any{"tags": []string{"near"}}, "content": content, "local_time": local, "ttl": 600})
	allID := sendMessage(t, srv, a.APIKey, map[string]any{"to": "all", "content": content, "local_time": local, "ttl": 600})
	// Once the fanout has scheduled every zone's batches, restart: the
	// batches are durable jobs and go out at their time all the same.
	for deadline := time.Now().Add(10 * time.Second); ; {
		r := do(t, http.DefaultClient, "GET", srv.URL+"/v1/messages/"+allID, bearer(a.APIKey), nil)
		if m := r.json(t); m["targeted"] == 5.0 && m["state"] == "sending" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the fanout did not finish: %s", r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.Stop()
	if n := tp.Count(); n != 0 && time.Now().Before(at) {
		t.Fatalf("%d pushes before %s", n, local)
	}
	srv = startServer(t, data)

	m := waitDone(t, srv, a.APIKey, nearID, time.Until(at)+60*time.Second)
	if m.Targeted != 3 || m.Sent != 3 {
		t.Errorf("near message %+v, want 3 targeted and sent", m)
	}
	for _, s := range near {
		got := tp.Received(s.ID)
		if len(got) != 2 {
			t.Errorf("%s (near) got %d pushes, want 2 (both messages)", s.ID, len(got))
			continue
		}
		for _, p := range got {
			if p.Received.Before(at) {
				t.Errorf("%s got a push at %s, before %s", s.ID, p.Received.Format(time.RFC3339Nano), at.Format(time.RFC3339))
			}
		}
	}
	for _, s := range far {
		if n := len(tp.Received(s.ID)); n != 0 {
			t.Errorf("%s (far) got %d pushes before its local %s", s.ID, n, local)
		}
	}

	// The message to all: the near three sent, the far two waiting.
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := do(t, http.DefaultClient, "GET", srv.URL+"/v1/messages/"+allID, bearer(a.APIKey), nil)
		var all struct {
			messageState
			LocalTime string `json:"local_time"`
		}
		if err := json.Unmarshal(r.Body, &all); err != nil {
			t.Fatal(err)
		}
		if all.Sent == 3 {
			if all.State != "sending" || all.Targeted != 5 || all.LocalTime != local {
				t.Errorf("message to all: %s; want sending, 5 targeted, local_time %s", r.Body, local)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("message to all: %s", r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A local-time message can be cancelled while zones still wait; the
	// near ones keep their outcome. A message already done cannot.
	r := do(t, http.DefaultClient, "DELETE", srv.URL+"/v1/messages/"+allID, bearer(a.APIKey), nil)
	if m := r.json(t); r.Status != 200 || m["state"] != "cancelled" || m["sent"] != 3.0 {
		t.Errorf("cancel the message to all: %d %s", r.Status, r.Body)
	}
	if r := do(t, http.DefaultClient, "DELETE", srv.URL+"/v1/messages/"+nearID, bearer(a.APIKey), nil); r.Status != 409 {
		t.Errorf("cancel a done local-time message: %d %s", r.Status, r.Body)
	}
}
