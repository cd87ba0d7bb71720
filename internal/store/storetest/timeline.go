package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// testTimeline checks MessageTimeline: per-second counts of final outcomes
// that add up to the counters, retrying left out, in time order, and
// nothing of another app's message.
func testTimeline(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	newApp(t, s, "a")
	newApp(t, s, "b")
	var subs []store.Subscriber
	for i := range 6 {
		subs = append(subs, mustUpsert(t, s, webpush("a", i, "t")))
	}
	m := mustCreate(t, s, newMessage("a"))
	ctx := t.Context()

	empty, err := s.MessageTimeline(ctx, "a", m.ID)
	if err != nil || len(empty) != 0 {
		t.Fatalf("timeline before any outcome = %v, %v; want empty", empty, err)
	}

	before := time.Now().Truncate(time.Second)
	advance(t, s, "a", m.ID, subs[5].ID, 6, true)
	out := func(i int, r store.Result, reason string) store.Outcome {
		return store.Outcome{SubscriberID: subs[i].ID, Result: r, Reason: reason}
	}
	record(t, s, "a", m.ID, out(0, store.ResultSent, ""), out(1, store.ResultSent, ""), out(2, store.ResultRetrying, "http 503"))
	got := record(t, s, "a", m.ID, out(3, store.ResultFailed, "http 400"), out(4, store.ResultPruned, "http 410"), out(5, store.ResultExpired, ""))
	after := time.Now()

	tl, err := s.MessageTimeline(ctx, "a", m.ID)
	if err != nil {
		t.Fatalf("MessageTimeline: %v", err)
	}
	var sum store.TimelinePoint
	for i, p := range tl {
		if !p.At.Equal(p.At.Truncate(time.Second)) || p.At.Location() != time.UTC {
			t.Errorf("point %d at %v: want the start of a second, in UTC", i, p.At)
		}
		if p.At.Before(before) || p.At.After(after) {
			t.Errorf("point %d at %v: outside the test's run, %v to %v", i, p.At, before, after)
		}
		if i > 0 && !tl[i-1].At.Before(p.At) {
			t.Errorf("points %d and %d out of order: %v, %v", i-1, i, tl[i-1].At, p.At)
		}
		if p.Total() == 0 {
			t.Errorf("point %d is empty; seconds without outcomes are left out", i)
		}
		sum.Sent, sum.Failed, sum.Pruned, sum.Expired = sum.Sent+p.Sent, sum.Failed+p.Failed, sum.Pruned+p.Pruned, sum.Expired+p.Expired
	}
	if sum.Sent != got.Sent || sum.Failed != got.Failed || sum.Pruned != got.Pruned || sum.Expired != got.Expired {
		t.Errorf("timeline adds up to %d/%d/%d/%d sent/failed/pruned/expired, counters say %d/%d/%d/%d",
			sum.Sent, sum.Failed, sum.Pruned, sum.Expired, got.Sent, got.Failed, got.Pruned, got.Expired)
	}
	if sum.Total() != 5 {
		t.Errorf("timeline counts %d outcomes, want 5 (the retrying one left out)", sum.Total())
	}

	// The retrying recipient's final outcome joins the timeline once.
	record(t, s, "a", m.ID, out(2, store.ResultSent, ""), out(2, store.ResultSent, ""))
	tl, err = s.MessageTimeline(ctx, "a", m.ID)
	if err != nil {
		t.Fatal(err)
	}
	var total, sent int64
	for _, p := range tl {
		total, sent = total+p.Total(), sent+p.Sent
	}
	if total != 6 || sent != 3 {
		t.Errorf("after the retry: %d outcomes, %d sent; want 6 and 3", total, sent)
	}

	for _, c := range []struct {
		name  string
		appID string
		id    int64
	}{{"other app", "b", m.ID}, {"no such message", "a", m.ID + 1000}, {"no such app", "nope", m.ID}} {
		if _, err := s.MessageTimeline(ctx, c.appID, c.id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: MessageTimeline = %v, want ErrNotFound", c.name, err)
		}
	}
}
