package sqlite

import (
	"context"
	"sync"
	"testing"

	"github.com/heraldpush/herald/internal/store"
)

// TestBulkConnection writes batches on the bulk connection
// (Options.BulkCacheMiB) while single registrations go through the pool
// and the group committer, and checks that both kinds of write land and
// that the bulk connection has the cache and checkpoint interval asked for.
func TestBulkConnection(t *testing.T) {
	s := openTest(t, Options{BulkCacheMiB: 32, MaxOpenConns: 3})
	ctx := context.Background()
	if err := s.CreateApp(ctx, store.App{ID: "a", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	var cache, every int
	if err := s.bulkConn.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&cache); err != nil {
		t.Fatal(err)
	}
	if err := s.bulkConn.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&every); err != nil {
		t.Fatal(err)
	}
	if cache != -32*1024 || every != bulkCheckpointPages {
		t.Errorf("bulk connection: cache_size %d, wal_autocheckpoint %d; want %d, %d", cache, every, -32*1024, bulkCheckpointPages)
	}

	const batches, per, singles = 4, 250, 40
	errs := make([]error, batches+singles)
	var wg sync.WaitGroup
	for b := range batches {
		wg.Go(func() {
			subs := make([]store.Subscriber, per)
			for i := range subs {
				subs[i] = benchSub("a", b*per+i)
			}
			_, _, errs[b] = s.UpsertSubscribers(ctx, subs)
		})
	}
	for i := range singles {
		wg.Go(func() {
			_, errs[batches+i] = s.UpsertSubscriber(ctx, benchSub("a", 1_000_000+i))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	if n, err := s.CountSubscribers(ctx, "a", store.SubscriberFilter{}); err != nil || n != batches*per+singles {
		t.Errorf("CountSubscribers = %d, %v; want %d", n, err, batches*per+singles)
	}
	if n, err := s.CountSubscribers(ctx, "a", store.SubscriberFilter{Tag: "group-3"}); err != nil || n != (batches*per+singles)/10 {
		t.Errorf("CountSubscribers(tag group-3) = %d, %v; want %d", n, err, (batches*per+singles)/10)
	}
}

// TestBulkConnectionNeedsTwoConnections: with a pool of one, a bulk
// connection would leave nothing for anything else, so there is none.
func TestBulkConnectionNeedsTwoConnections(t *testing.T) {
	s := openTest(t, Options{BulkCacheMiB: 32, MaxOpenConns: 1})
	if s.bulkConn != nil {
		t.Fatal("a bulk connection was taken from a pool of one")
	}
	if err := s.CreateApp(context.Background(), store.App{ID: "a", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UpsertSubscribers(context.Background(), []store.Subscriber{benchSub("a", 1)}); err != nil {
		t.Fatal(err)
	}
}
