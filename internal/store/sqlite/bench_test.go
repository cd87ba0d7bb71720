package sqlite

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/heraldpush/herald/internal/store"
)

// benchSub is a Web Push registration as the SDK sends it: keys, two tags,
// a language.
func benchSub(appID string, n int) store.Subscriber {
	return store.Subscriber{
		AppID:          appID,
		RegistrationID: fmt.Sprintf("r_bench_%09d", n),
		Channel:        store.ChannelWebPush,
		Token:          fmt.Sprintf("https://fcm.googleapis.com/fcm/send/bench-%09d", n),
		P256DH:         make([]byte, 65),
		Auth:           make([]byte, 16),
		Tags:           []string{"all", fmt.Sprintf("group-%d", n%10)},
		Language:       "en",
	}
}

func benchStore(b *testing.B) *Store {
	b.Helper()
	s := openTest(b, Options{})
	if err := s.CreateApp(context.Background(), store.App{ID: "bench", Name: "Bench"}); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkUpsertSubscribers measures bulk registration (imports, batch
// API): 500 rows per transaction, reported as rows/s. "new" inserts fresh
// tokens each time; "existing" re-registers the same 500 tokens.
func BenchmarkUpsertSubscribers(b *testing.B) {
	const batch = 500
	for _, mode := range []string{"new", "existing"} {
		b.Run(mode, func(b *testing.B) {
			s := benchStore(b)
			ctx := context.Background()
			subs := make([]store.Subscriber, batch)
			next, rows := 0, 0
			for b.Loop() {
				for i := range subs {
					subs[i] = benchSub("bench", next+i)
				}
				if mode == "new" {
					next += batch
				}
				if _, _, err := s.UpsertSubscribers(ctx, subs); err != nil {
					b.Fatal(err)
				}
				rows += batch
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkUpsertSubscriber measures single registrations, one row per
// transaction: "serial" from one goroutine, "parallel" from GOMAXPROCS×4
// goroutines contending for the single write lock.
func BenchmarkUpsertSubscriber(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		s := benchStore(b)
		ctx := context.Background()
		n := 0
		for b.Loop() {
			if _, err := s.UpsertSubscriber(ctx, benchSub("bench", n)); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("parallel", func(b *testing.B) {
		s := benchStore(b)
		ctx := context.Background()
		b.SetParallelism(4)
		var (
			worker   atomic.Int64
			firstErr atomic.Pointer[error]
		)
		b.RunParallel(func(pb *testing.PB) {
			base := int(worker.Add(1)) * 1_000_000_000
			for i := 0; pb.Next(); i++ {
				if _, err := s.UpsertSubscriber(ctx, benchSub("bench", base+i)); err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
			}
		})
		if err := firstErr.Load(); err != nil {
			b.Fatal(*err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
