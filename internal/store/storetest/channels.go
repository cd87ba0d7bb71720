package storetest

import (
	"errors"
	"testing"

	"github.com/heraldpush/herald/internal/store"
)

// testChannelCounts covers ChannelCounts: final outcomes split by the
// channel recorded with each.
func testChannelCounts(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	newApp(t, s, "a")
	newApp(t, s, "b")
	var subs []store.Subscriber
	for i := range 5 {
		subs = append(subs, mustUpsert(t, s, webpush("a", i, "t")))
	}
	m := mustCreate(t, s, newMessage("a"))
	ctx := t.Context()
	advance(t, s, "a", m.ID, subs[4].ID, 5, true)
	out := func(i int, ch store.Channel, r store.Result) store.Outcome {
		return store.Outcome{SubscriberID: subs[i].ID, Channel: ch, Result: r}
	}
	record(t, s, "a", m.ID, out(0, store.ChannelWebPush, store.ResultSent), out(1, store.ChannelFCM, store.ResultSent),
		out(2, store.ChannelFCM, store.ResultPruned), out(3, store.ChannelAPNs, store.ResultRetrying))
	got, err := s.ChannelCounts(ctx, "a", m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got[store.ChannelWebPush].Sent != 1 || got[store.ChannelFCM].Sent != 1 || got[store.ChannelFCM].Pruned != 1 {
		t.Errorf("counts %+v", got)
	}
	if _, ok := got[store.ChannelAPNs]; ok {
		t.Errorf("a retrying recipient was counted: %+v", got)
	}
	if _, err := s.ChannelCounts(ctx, "b", m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("app b reading app a's counts: %v", err)
	}
}
