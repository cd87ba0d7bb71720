package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/heraldpush/herald/internal/store"
)

// testConcurrency runs writers from many goroutines at once. Goroutines
// only record what happened; the test goroutine asserts.
func testConcurrency(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("SameTokenLeavesOneRow", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		const n = 24
		results := make([]store.UpsertResult, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				sub := webpush("a", 7, fmt.Sprintf("g%02d", i)) // same token, own reg id
				results[i], errs[i] = s.UpsertSubscriber(t.Context(), sub)
			})
		}
		close(start)
		wg.Wait()
		created := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("goroutine %d: UpsertSubscriber: %v", i, errs[i])
			}
			if results[i].Created {
				created++
			}
			if results[i].Subscriber.ID != results[0].Subscriber.ID ||
				results[i].Subscriber.RegistrationID != results[0].Subscriber.RegistrationID {
				t.Errorf("goroutine %d got row %d/%s, goroutine 0 got %d/%s", i,
					results[i].Subscriber.ID, results[i].Subscriber.RegistrationID,
					results[0].Subscriber.ID, results[0].Subscriber.RegistrationID)
			}
		}
		if created != 1 {
			t.Errorf("%d upserts report Created, want exactly 1", created)
		}
		if c := mustCount(t, s, "a", store.SubscriberFilter{}); c != 1 {
			t.Fatalf("CountSubscribers = %d, want 1", c)
		}
		// The tags are one goroutine's whole set, never a mix.
		got := mustList(t, s, "a", store.SubscriberFilter{})[0]
		if len(got.Tags) != 1 {
			t.Errorf("Tags = %q, want exactly one goroutine's tag", got.Tags)
		}
	})

	t.Run("ManyWriters", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		const writers, each = 8, 20
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				errs[w] = write(t, s, w, each)
			})
		}
		wg.Wait()
		for w, err := range errs {
			if err != nil {
				t.Errorf("writer %d: %v", w, err)
			}
		}
		// Each writer leaves each-1 single rows (one deleted) and a batch of 10.
		want := int64(writers * (each - 1 + 10))
		if c := mustCount(t, s, "a", store.SubscriberFilter{}); c != want {
			t.Errorf("CountSubscribers = %d, want %d", c, want)
		}
		if c := mustCount(t, s, "a", store.SubscriberFilter{Tag: "touched"}); c != writers*(each-1) {
			t.Errorf("CountSubscribers(touched) = %d, want %d", c, writers*(each-1))
		}
	})
}

// write is one ManyWriters goroutine: upserts, updates, a read, a bulk
// upsert and a delete, interleaved with the other goroutines'.
func write(t *testing.T, s store.Store, w, each int) error {
	ctx := t.Context()
	var last store.Subscriber
	for i := range each {
		res, err := s.UpsertSubscriber(ctx, device("a", store.ChannelFCM, fmt.Sprintf("w%d-%d", w, i)))
		if err != nil {
			return fmt.Errorf("upsert %d: %w", i, err)
		}
		last = res.Subscriber
		if _, err := s.UpdateSubscriber(ctx, "a", last.RegistrationID, store.SubscriberUpdate{
			Tags: &store.TagChange{Add: []string{"touched", fmt.Sprintf("w%d", w)}},
		}); err != nil {
			return fmt.Errorf("update %d: %w", i, err)
		}
		if _, err := s.ListSubscribers(ctx, "a", store.SubscriberFilter{Tag: "touched", Limit: 10}); err != nil {
			return fmt.Errorf("list %d: %w", i, err)
		}
	}
	batch := make([]store.Subscriber, 10)
	for i := range batch {
		batch[i] = device("a", store.ChannelAPNs, fmt.Sprintf("w%d-bulk-%d", w, i))
	}
	if _, _, err := s.UpsertSubscribers(ctx, batch); err != nil {
		return fmt.Errorf("bulk: %w", err)
	}
	if err := s.DeleteSubscriber(ctx, "a", last.RegistrationID); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}
