package sqlite

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// TestTimelineSeconds checks that outcomes recorded at different times
// land in the seconds they were recorded in.
func TestTimelineSeconds(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 1, 10, 0, 0, 250e6, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	s := openTest(t, Options{Now: clock})
	ctx := t.Context()
	if err := s.CreateApp(ctx, store.App{ID: "a", Name: "A", CreatedAt: clock()}); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range 5 {
		res, err := s.UpsertSubscriber(ctx, store.Subscriber{AppID: "a", Channel: store.ChannelFCM, Token: fmt.Sprintf("tok-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Subscriber.ID)
	}
	m, _, err := s.CreateMessage(ctx, store.Message{AppID: "a", State: store.StateQueued, Content: []byte(`{}`), TTL: time.Hour, SendAt: clock(), CreatedAt: clock()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(outs ...store.Outcome) {
		t.Helper()
		if _, err := s.RecordOutcomes(ctx, "a", m.ID, outs, nil); err != nil {
			t.Fatal(err)
		}
	}
	rec(store.Outcome{SubscriberID: ids[0], Result: store.ResultSent}, store.Outcome{SubscriberID: ids[1], Result: store.ResultFailed, Reason: "x"})
	set(700 * time.Millisecond) // 10:00:00.950, the same second
	rec(store.Outcome{SubscriberID: ids[2], Result: store.ResultSent})
	set(2 * time.Second) // 10:00:02.950: a second with nothing is skipped
	rec(store.Outcome{SubscriberID: ids[3], Result: store.ResultPruned}, store.Outcome{SubscriberID: ids[4], Result: store.ResultExpired})

	tl, err := s.MessageTimeline(ctx, "a", m.ID)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	want := []store.TimelinePoint{
		{At: t0, Sent: 2, Failed: 1},
		{At: t0.Add(2 * time.Second), Pruned: 1, Expired: 1},
	}
	if len(tl) != len(want) {
		t.Fatalf("timeline = %+v, want %+v", tl, want)
	}
	for i := range want {
		if !tl[i].At.Equal(want[i].At) || tl[i].Sent != want[i].Sent || tl[i].Failed != want[i].Failed ||
			tl[i].Pruned != want[i].Pruned || tl[i].Expired != want[i].Expired {
			t.Errorf("point %d = %+v, want %+v", i, tl[i], want[i])
		}
	}
}
