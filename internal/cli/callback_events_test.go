package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/callback"
	"github.com/heraldpush/herald/internal/testpush"
)

// TestCallbackEventsEchoSenderIDs sends to a tag with request_id and
// custom_args: the receiver gets a signed sent, failed or pruned event per
// recipient and a finished event with the counters, all carrying the
// sender's ids; then received and clicked events once the service worker
// reports.
func TestCallbackEventsEchoSenderIDs(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	srv := startServer(t, data, "--callback-retry", "200ms")
	hook := newHookReceiver(t)
	setHook(t, srv, a.APIKey, hook)
	tp := pushService(t)
	subs, regs := subscribe(t, srv, a.APIKey, tp, 6, "news")
	subscribe(t, srv, a.APIKey, tp, 2, "sports")
	tp.Fail(subs[4].ID, testpush.Respond(http.StatusGone))                  // pruned
	tp.Fail(subs[5].ID, testpush.Respond(http.StatusRequestEntityTooLarge)) // failed
	id := sendMessage(t, srv, a.APIKey, map[string]any{"to": map[string]any{"tags": []string{"news"}},
		"content": map[string]any{"title": "Hi", "body": "there"}, "request_id": "req-42", "custom_args": map[string]any{"campaign": "c7", "n": 3}})
	waitDone(t, srv, a.APIKey, id, 30*time.Second)

	byType := func() map[string][]callback.Event {
		evs, _, _ := hook.snapshot()
		m := map[string][]callback.Event{}
		for _, e := range evs {
			m[e.Type] = append(m[e.Type], e)
		}
		return m
	}
	waitFor(t, 20*time.Second, "sent and finished events", func() bool {
		m := byType()
		return len(m["sent"]) >= 4 && len(m["pruned"]) >= 1 && len(m["failed"]) >= 1 && len(m["finished"]) >= 1
	})
	m := byType()
	want := map[string]bool{}
	for _, r := range regs {
		want[r] = true
	}
	for _, e := range append(append(m["sent"], m["finished"]...), append(m["pruned"], m["failed"]...)...) {
		if e.MessageID != id || e.RequestID != "req-42" || string(e.CustomArgs) != `{"campaign":"c7","n":3}` || !strings.HasPrefix(e.ID, "evt_") || e.At.IsZero() {
			t.Errorf("event does not echo the send: %+v (custom_args %s)", e, e.CustomArgs)
		}
	}
	for _, e := range append(m["sent"], append(m["pruned"], m["failed"]...)...) {
		if !want[e.RegistrationID] || e.Channel != "webpush" {
			t.Errorf("%s event for %q on %q, not one of the tag's subscribers", e.Type, e.RegistrationID, e.Channel)
		}
		delete(want, e.RegistrationID)
	}
	if len(want) > 0 || len(m["sent"]) != 4 || len(m["pruned"]) != 1 || len(m["failed"]) != 1 {
		t.Errorf("%d sent, %d pruned, %d failed events; %d recipients without one", len(m["sent"]), len(m["pruned"]), len(m["failed"]), len(want))
	}
	if p := m["pruned"][0]; p.RegistrationID != regs[4] {
		t.Errorf("pruned event for %s, want %s (its registration id read before it was deleted)", p.RegistrationID, regs[4])
	}
	if f := m["failed"][0]; f.RegistrationID != regs[5] || f.Reason == "" {
		t.Errorf("failed event %+v: want %s with a reason", f, regs[5])
	}
	if c := m["finished"][0].Counters; c == nil || c.Targeted != 6 || c.Sent != 4 || c.Pruned != 1 || c.Failed != 1 || c.FailedReasons[m["failed"][0].Reason] != 1 {
		t.Errorf("finished counters %+v", c)
	}

	// The service worker reports received for one device and clicked for
	// another (a click counts as received too).
	report := func(sub int, kind string) {
		msgs := tp.Received(subs[sub].ID)
		if len(msgs) != 1 {
			t.Fatalf("subscriber %d got %d pushes", sub, len(msgs))
		}
		var p struct{ ID, RID, Sig string }
		if err := json.Unmarshal(msgs[0].Payload, &p); err != nil || p.RID != regs[sub] {
			t.Fatalf("payload %s: %v", msgs[0].Payload, err)
		}
		r := do(t, http.DefaultClient, "POST", srv.URL+"/sdk/v1/events", "",
			map[string]any{"type": kind, "message_id": p.ID, "rid": p.RID, "sig": p.Sig, "app": a.ID})
		if r.Status/100 != 2 {
			t.Fatalf("report %s: %d %s", kind, r.Status, r.Body)
		}
	}
	report(0, "received")
	report(1, "clicked")
	waitFor(t, 20*time.Second, "received and clicked events", func() bool {
		m := byType()
		return len(m["received"]) >= 2 && len(m["clicked"]) >= 1
	})
	m = byType()
	got := map[string]string{}
	for _, e := range append(m["received"], m["clicked"]...) {
		got[e.Type+":"+e.RegistrationID] = e.RequestID
	}
	for _, k := range []string{"received:" + regs[0], "received:" + regs[1], "clicked:" + regs[1]} {
		if got[k] != "req-42" {
			t.Errorf("no %s event echoing req-42: %v", k, got)
		}
	}
	if _, _, bad := hook.snapshot(); len(bad) > 0 {
		t.Errorf("receiver refused signatures: %v", bad)
	}
}

// TestDeadCallbackDoesNotSlowDelivery: while the receiver hangs (a
// callback request is stuck in it), a send to every subscriber is
// delivered and finishes; the receiver then fails with 500s, and once it
// recovers every event arrives, each id at least once.
func TestDeadCallbackDoesNotSlowDelivery(t *testing.T) {
	const n = 300
	data := t.TempDir()
	a := createApp(t, data, "A")
	srv := startServer(t, data, "--callback-timeout", "300ms", "--callback-retry", "200ms")
	hook := newHookReceiver(t)
	setHook(t, srv, a.APIKey, hook)
	hook.setMode("hang")
	tp := pushService(t)
	subscribe(t, srv, a.APIKey, tp, n)
	send := func(req string) string {
		return sendMessage(t, srv, a.APIKey, map[string]any{"to": "all", "content": map[string]any{"title": "T"}, "request_id": req})
	}
	first := send("r-first")
	waitFor(t, 30*time.Second, "a callback request hanging", func() bool { _, r, _ := hook.snapshot(); return r["hang"] > 0 })
	second := send("r-second")
	for _, id := range []string{first, second} {
		if st := waitDone(t, srv, a.APIKey, id, 60*time.Second); st.Sent != n {
			t.Fatalf("message %s: sent %d of %d with the receiver hanging", id, st.Sent, n)
		}
	}
	evs, req, _ := hook.snapshot()
	if tp.Count() != 2*n || len(evs) != 0 {
		t.Fatalf("with the receiver hanging: push service got %d of %d, receiver accepted %d events", tp.Count(), 2*n, len(evs))
	}
	t.Logf("both messages done with the receiver hanging (%d requests hung)", req["hang"])

	// Then it fails fast, and Herald keeps trying.
	hook.setMode("fail")
	waitFor(t, 30*time.Second, "a request while failing", func() bool { _, r, _ := hook.snapshot(); return r["fail"] > 0 })
	hook.setMode("ok")

	ids := map[string]string{first: "r-first", second: "r-second"}
	waitFor(t, 60*time.Second, "every event after recovery", func() bool {
		evs, _, _ := hook.snapshot()
		sent, finished := map[string]bool{}, map[string]bool{}
		for _, e := range evs {
			if e.Type == "sent" {
				sent[e.MessageID+"/"+e.RegistrationID] = true
			}
			if e.Type == "finished" {
				finished[e.MessageID] = true
			}
		}
		return len(sent) >= 2*n && len(finished) == 2
	})
	evs, req, bad := hook.snapshot()
	if len(bad) > 0 {
		t.Errorf("receiver refused signatures: %v", bad)
	}
	seen := map[string]int{}
	for _, e := range hook.recorded() {
		seen[e.ID]++
		if ids[e.MessageID] != e.RequestID {
			t.Errorf("event %+v does not echo its message's request id", e)
		}
	}
	accepted := map[string]bool{}
	for _, e := range evs {
		accepted[e.ID] = true
	}
	dups := 0
	for _, c := range seen {
		dups += c - 1
	}
	if len(accepted) != 2*n+2 || len(seen) != 2*n+2 {
		t.Errorf("%d distinct event ids accepted, %d recorded, want %d sent + 2 finished", len(accepted), len(seen), 2*n)
	}
	t.Logf("%d distinct events, %d duplicates (events the receiver recorded but answered 500 to, sent again); requests by receiver mode: %v", len(seen), dups, req)
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`herald_callback_batches_total{result="failed",retry="false"}`, `herald_callback_batches_total{result="delivered",retry="true"}`, `herald_callback_events_total{result="deferred"}`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestCallbackEventsSurviveRestart: events recorded while the receiver is
// down stay in the store across a restart and are posted by the next
// herald serve once the receiver answers.
func TestCallbackEventsSurviveRestart(t *testing.T) {
	const n = 50
	data := t.TempDir()
	a := createApp(t, data, "A")
	srv := startServer(t, data, "--callback-timeout", "200ms", "--callback-retry", "100ms")
	hook := newHookReceiver(t)
	setHook(t, srv, a.APIKey, hook)
	hook.setMode("fail")
	tp := pushService(t)
	subscribe(t, srv, a.APIKey, tp, n)
	id := sendMessage(t, srv, a.APIKey, map[string]any{"to": "all", "content": map[string]any{"title": "T"}, "request_id": "r-restart"})
	waitDone(t, srv, a.APIKey, id, 60*time.Second)
	srv.Stop()
	if evs, _, _ := hook.snapshot(); len(evs) != 0 {
		t.Fatalf("a failing receiver accepted %d events", len(evs))
	}

	hook.setMode("ok")
	startServer(t, data, "--callback-retry", "100ms")
	waitFor(t, 60*time.Second, "every event after the restart", func() bool {
		evs, _, _ := hook.snapshot()
		ids := map[string]bool{}
		for _, e := range evs {
			if e.MessageID == id && e.RequestID == "r-restart" {
				ids[e.ID] = true
			}
		}
		return len(ids) == n+1
	})
}
