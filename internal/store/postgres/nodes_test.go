package postgres

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/postgres/pgtest"
)

// TestOutcomesFromSeveralNodes records one message's outcomes from several
// stores at once (each its own pool, as several nodes have), with every
// batch written twice by two of them, as when a rescued batch runs again
// beside the first run's last writes. Each recipient must count once, and
// the message must end done.
func TestOutcomesFromSeveralNodes(t *testing.T) {
	const n, batch, nodes = 3000, 100, 4
	ctx := t.Context()
	dsn := pgtest.Schema(t, os.Getenv)
	var stores []*Store
	for range nodes {
		s, err := Open(ctx, dsn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	first := stores[0]
	if err := first.CreateApp(ctx, store.App{ID: "a", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	subs := make([]store.Subscriber, n)
	for i := range subs {
		subs[i] = store.Subscriber{AppID: "a", Channel: store.ChannelFCM, Token: fmt.Sprintf("tok-%d", i)}
	}
	if created, _, err := first.UpsertSubscribers(ctx, subs); err != nil || created != n {
		t.Fatalf("UpsertSubscribers: created %d, %v", created, err)
	}
	m, _, err := first.CreateMessage(ctx, store.Message{AppID: "a", State: store.StateQueued, Content: []byte(`{}`),
		TTL: time.Hour, SendAt: time.Now(), CreatedAt: time.Now()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	page, err := first.AudiencePage(ctx, "a", store.Audience{}, 0, n)
	if err != nil || len(page) != n {
		t.Fatalf("AudiencePage: %d, %v", len(page), err)
	}
	if _, err := first.AdvanceFanout(ctx, "a", m.ID, page[n-1].ID, n, true, nil); err != nil {
		t.Fatal(err)
	}
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for w := range nodes {
		wg.Go(func() {
			// Node w writes batches w and w+1 (mod the batch count): every
			// batch is written by two nodes.
			batches := n / batch
			for b := range batches {
				if b%nodes != w && (b+1)%nodes != w {
					continue
				}
				outs := make([]store.Outcome, 0, batch)
				for _, r := range page[b*batch : (b+1)*batch] {
					res := store.ResultSent
					if r.ID%10 == 0 {
						res = store.ResultFailed
					}
					outs = append(outs, store.Outcome{SubscriberID: r.ID, Channel: r.Channel, Result: res, Reason: "http 400"})
				}
				if _, err := stores[w].RecordOutcomes(context.Background(), "a", m.ID, outs, nil); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", w, err)
		}
	}
	got, err := first.Message(ctx, "a", m.ID)
	if err != nil {
		t.Fatal(err)
	}
	var failed int64
	for _, r := range page {
		if r.ID%10 == 0 {
			failed++
		}
	}
	if got.State != store.StateDone || got.Sent+got.Failed != n || got.Failed != failed || got.FailedReasons["http 400"] != failed {
		t.Errorf("message after every batch twice: state %s, sent %d, failed %d (%v); want done, %d sent, %d failed",
			got.State, got.Sent, got.Failed, got.FailedReasons, n-failed, failed)
	}
}
