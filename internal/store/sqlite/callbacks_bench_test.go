package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// BenchmarkRecordOutcomesCallback measures what callbacks add to the
// delivery engine's outcome writes: RecordOutcomes of 100 sent outcomes
// (the engine's flush size), without a callback and with one (100 outbox
// events in the same transaction). Reported as outcomes/s.
func BenchmarkRecordOutcomesCallback(b *testing.B) {
	const flush = 100
	for _, mode := range []string{"none", "callback"} {
		b.Run(mode, func(b *testing.B) {
			s := benchStore(b)
			ctx := context.Background()
			if mode == "callback" {
				if err := s.SetCallback(ctx, "bench", store.Callback{URL: "https://hooks.example/", SecretSealed: []byte("x")}); err != nil {
					b.Fatal(err)
				}
			}
			next, outcomes := 0, 0
			for b.Loop() {
				b.StopTimer()
				subs := make([]store.Subscriber, flush)
				for i := range subs {
					subs[i] = benchSub("bench", next+i)
				}
				next += flush
				if _, _, err := s.UpsertSubscribers(ctx, subs); err != nil {
					b.Fatal(err)
				}
				m, _, err := s.CreateMessage(ctx, store.Message{AppID: "bench", State: store.StateQueued, Content: []byte("{}"),
					SendAt: time.Now(), CreatedAt: time.Now(), RequestID: "r"}, nil)
				if err != nil {
					b.Fatal(err)
				}
				page, err := s.AudiencePage(ctx, "bench", store.Audience{}, int64(next-flush-1), 1<<20)
				if err != nil {
					b.Fatal(err)
				}
				outs := make([]store.Outcome, 0, flush)
				for _, r := range page[len(page)-flush:] {
					outs = append(outs, store.Outcome{SubscriberID: r.ID, Channel: store.ChannelWebPush, Result: store.ResultSent})
				}
				b.StartTimer()
				if _, err := s.RecordOutcomes(ctx, "bench", m.ID, outs, nil); err != nil {
					b.Fatal(err)
				}
				outcomes += flush
			}
			b.ReportMetric(float64(outcomes)/b.Elapsed().Seconds(), "outcomes/s")
		})
	}
}
