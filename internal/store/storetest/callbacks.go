package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// testCallbacks covers the Callbacks methods: the setting, and the events
// the store adds to the outbox in its own transactions.
func testCallbacks(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("Setting", func(t *testing.T) { testCallbackSetting(t, open(t)) })
	t.Run("OutcomeEvents", func(t *testing.T) { testOutcomeEvents(t, open(t)) })
	t.Run("EngagementEvents", func(t *testing.T) { testEngagementEvents(t, open(t)) })
	t.Run("Outbox", func(t *testing.T) { testCallbackOutbox(t, open(t)) })
}

func testCallbackSetting(t *testing.T, s store.Store) {
	ctx := t.Context()
	newApp(t, s, "a")
	newApp(t, s, "b")
	if _, err := s.Callback(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("none yet: %v", err)
	}
	c := store.Callback{URL: "https://hooks.example/a", SecretSealed: []byte("sealed-1"), UpdatedAt: ms(time.Now())}
	if err := s.SetCallback(ctx, "a", c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Callback(ctx, "a")
	if err != nil || got.URL != c.URL || string(got.SecretSealed) != "sealed-1" || !got.UpdatedAt.Equal(c.UpdatedAt) {
		t.Fatalf("got %+v, %v", got, err)
	}
	c.URL, c.SecretSealed = "https://hooks.example/a2", []byte("sealed-2")
	if err := s.SetCallback(ctx, "a", c); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Callback(ctx, "a"); got.URL != c.URL || string(got.SecretSealed) != "sealed-2" {
		t.Errorf("replaced: %+v", got)
	}
	if _, err := s.Callback(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("app b sees a callback: %v", err)
	}
	if err := s.DeleteCallback(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("b deleting a's callback: %v", err)
	}
	if err := s.SetCallback(ctx, "nope", c); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("callback of an unknown app: %v", err)
	}
	if err := s.DeleteCallback(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCallback(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

// dueEvents returns every event of app due now.
func dueEvents(t *testing.T, s store.Store, appID string) []store.CallbackEvent {
	t.Helper()
	evs, err := s.DueCallbackEvents(t.Context(), appID, time.Now().Add(time.Second), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func eventKinds(evs []store.CallbackEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Kind)+":"+e.RegistrationID)
	}
	return out
}

func setCallback(t *testing.T, s store.Store, appID string) {
	t.Helper()
	if err := s.SetCallback(t.Context(), appID, store.Callback{URL: "https://hooks.example/" + appID, SecretSealed: []byte("x")}); err != nil {
		t.Fatal(err)
	}
}

func testOutcomeEvents(t *testing.T, s store.Store) {
	newApp(t, s, "a")
	newApp(t, s, "quiet") // no callback: no events
	var subs []store.Subscriber
	for i := range 4 {
		subs = append(subs, mustUpsert(t, s, webpush("a", i)))
	}
	q := mustUpsert(t, s, webpush("quiet", 0))
	qm := mustCreate(t, s, newMessage("quiet"))
	advance(t, s, "quiet", qm.ID, q.ID, 1, true)
	record(t, s, "quiet", qm.ID, store.Outcome{SubscriberID: q.ID, Channel: store.ChannelWebPush, Result: store.ResultSent})
	if evs := dueEvents(t, s, "quiet"); len(evs) != 0 {
		t.Fatalf("an app without a callback got events: %v", eventKinds(evs))
	}

	setCallback(t, s, "a")
	m := mustCreate(t, s, newMessage("a"))
	advance(t, s, "a", m.ID, subs[3].ID, 4, true)
	out := func(i int, r store.Result, reason string) store.Outcome {
		return store.Outcome{SubscriberID: subs[i].ID, Channel: store.ChannelWebPush, Result: r, Reason: reason}
	}
	record(t, s, "a", m.ID, out(0, store.ResultSent, ""), out(1, store.ResultFailed, "bad request"),
		out(2, store.ResultPruned, ""), out(3, store.ResultRetrying, "429"))
	// The same outcomes again (a batch run twice) add nothing.
	record(t, s, "a", m.ID, out(0, store.ResultSent, ""), out(1, store.ResultFailed, "bad request"))
	evs := dueEvents(t, s, "a")
	want := []string{"sent:" + subs[0].RegistrationID, "failed:" + subs[1].RegistrationID, "pruned:" + subs[2].RegistrationID}
	if got := eventKinds(evs); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for _, e := range evs {
		if e.AppID != "a" || e.MessageID != m.ID || e.Channel != store.ChannelWebPush || e.RequestID != "req-a" ||
			string(e.CustomArgs) != `{"campaign":"c1"}` || e.At.IsZero() || e.Attempts != 0 || e.Counters != nil {
			t.Errorf("event %+v", e)
		}
	}
	if evs[1].Reason != "bad request" {
		t.Errorf("failed event reason %q", evs[1].Reason)
	}
	if !(evs[0].ID < evs[1].ID && evs[1].ID < evs[2].ID) {
		t.Errorf("event ids not increasing: %d %d %d", evs[0].ID, evs[1].ID, evs[2].ID)
	}
	// The retried recipient's final outcome finishes the message: its
	// event, then finished with the counters.
	if got := record(t, s, "a", m.ID, out(3, store.ResultSent, "")); got.State != store.StateDone {
		t.Fatalf("message %s, want done", got.State)
	}
	evs = dueEvents(t, s, "a")[3:]
	if got := eventKinds(evs); !slices.Equal(got, []string{"sent:" + subs[3].RegistrationID, "finished:"}) {
		t.Fatalf("events %v, want sent then finished", got)
	}
	c := evs[1].Counters
	if c == nil || c.Targeted != 4 || c.Sent != 2 || c.Failed != 1 || c.Pruned != 1 || c.FailedReasons["bad request"] != 1 || evs[1].RequestID != "req-a" {
		t.Errorf("finished event %+v counters %+v", evs[1], c)
	}
	// An empty audience finishes at once, with its finished event.
	e := mustCreate(t, s, newMessage("a"))
	advance(t, s, "a", e.ID, 0, 0, true)
	last := dueEvents(t, s, "a")
	if l := last[len(last)-1]; l.Kind != store.EventFinished || l.MessageID != e.ID || l.Counters == nil || l.Counters.Targeted != 0 {
		t.Errorf("empty audience: last event %+v", l)
	}
}

func testEngagementEvents(t *testing.T, s store.Store) {
	ctx := t.Context()
	newApp(t, s, "a")
	setCallback(t, s, "a")
	m := mustCreate(t, s, newMessage("a"))
	at := ms(time.Now())
	for _, r := range []struct {
		reg  string
		kind store.EngagementKind
	}{{"r1", store.EngagementReceived}, {"r1", store.EngagementReceived}, {"r1", store.EngagementClicked}, {"r2", store.EngagementClicked}, {"r2", store.EngagementClicked}} {
		if _, err := s.RecordEngagement(ctx, "a", m.ID, r.reg, r.kind, at); err != nil {
			t.Fatal(err)
		}
	}
	// Repeats add nothing; a click without a received report adds both.
	want := []string{"received:r1", "clicked:r1", "received:r2", "clicked:r2"}
	evs := dueEvents(t, s, "a")
	if got := eventKinds(evs); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if !evs[0].At.Equal(at) || evs[0].RequestID != "req-a" {
		t.Errorf("event %+v", evs[0])
	}
}

func testCallbackOutbox(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, id := range []string{"a", "b"} {
		newApp(t, s, id)
		setCallback(t, s, id)
		m := mustCreate(t, s, newMessage(id))
		for _, reg := range []string{"r1", "r2", "r3"} {
			if _, err := s.RecordEngagement(ctx, id, m.ID, reg, store.EngagementReceived, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	now := time.Now().Add(time.Second)
	apps, err := s.DueCallbackApps(ctx, now, 10)
	if slices.Sort(apps); err != nil || !slices.Equal(apps, []string{"a", "b"}) {
		t.Fatalf("due apps %v, %v", apps, err)
	}
	if evs, _ := s.DueCallbackEvents(ctx, "a", now, 2); len(evs) != 2 || evs[0].RegistrationID != "r1" {
		t.Fatalf("limit 2: %v", eventKinds(evs))
	}
	a := dueEvents(t, s, "a")
	b := dueEvents(t, s, "b")
	// Another app's ids are ignored.
	if err := s.DeleteCallbackEvents(ctx, "b", []int64{a[0].ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeferCallbackEvents(ctx, "b", []int64{a[1].ID}, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := dueEvents(t, s, "a"); len(got) != 3 || got[1].Attempts != 0 {
		t.Fatalf("b changed a's events: %+v", got)
	}
	if err := s.DeleteCallbackEvents(ctx, "a", []int64{a[0].ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeferCallbackEvents(ctx, "a", []int64{a[1].ID}, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := dueEvents(t, s, "a"); len(got) != 1 || got[0].ID != a[2].ID {
		t.Fatalf("after delete and defer: %v", eventKinds(got))
	}
	later, err := s.DueCallbackEvents(ctx, "a", now.Add(2*time.Hour), 10)
	if err != nil || len(later) != 2 || later[0].ID != a[1].ID || later[0].Attempts != 1 {
		t.Fatalf("deferred event later: %+v, %v", later, err)
	}
	// New events never reuse an id, even once the newest were deleted.
	if err := s.DeleteCallbackEvents(ctx, "b", []int64{b[2].ID}); err != nil {
		t.Fatal(err)
	}
	m := mustCreate(t, s, newMessage("b"))
	if _, err := s.RecordEngagement(ctx, "b", m.ID, "r9", store.EngagementReceived, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := dueEvents(t, s, "b"); got[len(got)-1].ID <= b[2].ID {
		t.Errorf("new event id %d reuses or precedes deleted %d", got[len(got)-1].ID, b[2].ID)
	}
	// Deleting the callback drops the app's pending events.
	if err := s.DeleteCallback(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.DueCallbackEvents(ctx, "a", now.Add(2*time.Hour), 10); len(got) != 0 {
		t.Errorf("events left after the callback was deleted: %v", eventKinds(got))
	}
}
