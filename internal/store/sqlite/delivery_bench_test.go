package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// BenchmarkDeliveryBatch measures the store's share of one delivery batch
// as the engine runs it: PendingRecipients of 500 ids, then five
// RecordOutcomes flushes of 100 sent outcomes. Reported per recipient
// (ns/recipient, and cpu-ns/recipient: the process's CPU time, which a
// busy machine skews less than the wall clock); the audience has 20,000
// subscribers.
func BenchmarkDeliveryBatch(b *testing.B) {
	const (
		audience = 20_000
		batch    = 500
		flush    = 100
	)
	s := benchStore(b)
	ctx := context.Background()
	subs := make([]store.Subscriber, 0, 1000)
	for i := 0; i < audience; i += cap(subs) {
		subs = subs[:0]
		for j := range cap(subs) {
			subs = append(subs, benchSub("bench", i+j))
		}
		if _, _, err := s.UpsertSubscribers(ctx, subs); err != nil {
			b.Fatal(err)
		}
	}
	page, err := s.AudiencePage(ctx, "bench", store.Audience{}, 0, audience)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]int64, len(page))
	for i, r := range page {
		ids[i] = r.ID
	}
	newMessage := func() int64 {
		m, _, err := s.CreateMessage(ctx, store.Message{AppID: "bench", State: store.StateQueued, Content: []byte("{}"),
			SendAt: time.Now(), CreatedAt: time.Now(), RequestID: "r"}, nil)
		if err != nil {
			b.Fatal(err)
		}
		return m.ID
	}
	msg, next, recipients := newMessage(), 0, 0
	outs := make([]store.Outcome, 0, flush)
	cpu0 := cpuTime()
	for b.Loop() {
		if next+batch > len(ids) {
			msg, next = newMessage(), 0
		}
		got, err := s.PendingRecipients(ctx, "bench", msg, ids[next:next+batch], false)
		if err != nil || len(got) != batch {
			b.Fatalf("%d pending, %v", len(got), err)
		}
		next += batch
		for i := 0; i < batch; i += flush {
			outs = outs[:0]
			for _, sub := range got[i : i+flush] {
				outs = append(outs, store.Outcome{SubscriberID: sub.ID, Channel: store.ChannelWebPush, Result: store.ResultSent})
			}
			if _, err := s.RecordOutcomes(ctx, "bench", msg, outs, nil); err != nil {
				b.Fatal(err)
			}
		}
		recipients += batch
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(recipients), "ns/recipient")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(recipients), "cpu-ns/recipient")
}
