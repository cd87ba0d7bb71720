package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/heraldpush/herald/internal/store"
)

// testUpsertConcurrentOutcomes runs registrations from many goroutines at
// once, some of which must fail, and checks that each call gets its own
// answer: a backend may write concurrent calls in one transaction (SQLite's
// group commit), and one caller's refused row must neither fail nor undo
// the others. Goroutines only record; the test goroutine asserts.
func testUpsertConcurrentOutcomes(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("ConcurrentCallsGetTheirOwnOutcome", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		taken := mustUpsert(t, s, webpush("a", 0, "first"))
		const n = 60
		subs := make([]store.Subscriber, n)
		for i := range subs {
			subs[i] = webpush("a", i+1, fmt.Sprintf("g%d", i%4))
			switch i % 10 {
			case 3: // a registration id another device has: refused
				subs[i].RegistrationID = taken.RegistrationID
			case 7: // an app that does not exist: refused
				subs[i].AppID = "ghost"
			case 9: // the first device again, no tags given: an update
				subs[i].Token, subs[i].Tags = taken.Token, nil
			}
		}
		results := make([]store.UpsertResult, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				results[i], errs[i] = s.UpsertSubscriber(t.Context(), subs[i])
			})
		}
		close(start)
		wg.Wait()
		stored := int64(1)
		for i := range n {
			switch i % 10 {
			case 3:
				if !errors.Is(errs[i], store.ErrConflict) {
					t.Errorf("call %d (taken registration id): error %v, want ErrConflict", i, errs[i])
				}
			case 7:
				if !errors.Is(errs[i], store.ErrNotFound) {
					t.Errorf("call %d (missing app): error %v, want ErrNotFound", i, errs[i])
				}
			case 9:
				if errs[i] != nil || results[i].Created || results[i].Subscriber.ID != taken.ID {
					t.Errorf("call %d (same token): %+v, %v; want an update of row %d", i, results[i], errs[i], taken.ID)
				}
			default:
				stored++
				if errs[i] != nil || !results[i].Created {
					t.Errorf("call %d: Created %v, error %v; want a new row", i, results[i].Created, errs[i])
					continue
				}
				// Answered means committed: another read sees the row.
				got := mustGet(t, s, "a", subs[i].RegistrationID)
				if got.ID != results[i].Subscriber.ID || !sameTags(got.Tags, subs[i].Tags) {
					t.Errorf("call %d: stored id %d tags %q, answered id %d tags %q", i, got.ID, got.Tags,
						results[i].Subscriber.ID, subs[i].Tags)
				}
			}
		}
		if c := mustCount(t, s, "a", store.SubscriberFilter{}); c != stored {
			t.Errorf("CountSubscribers = %d, want %d", c, stored)
		}
		if c := mustCount(t, s, "a", store.SubscriberFilter{Tag: "first"}); c != 1 {
			t.Errorf("the updated device lost its tags (nil tags keep them): count(first) = %d", c)
		}
	})
}
