package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/storetest"
)

// openTest opens a fresh database in the test's temporary directory and
// closes it when the test ends.
func openTest(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "data", "herald.db"), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t, Options{}) })
}

func TestNotFoundIsWrapped(t *testing.T) {
	s := openTest(t, Options{})
	ctx := t.Context()
	if err := s.CreateApp(ctx, store.App{ID: "a", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	checks := map[string]error{}
	_, checks["App"] = s.App(ctx, "missing")
	_, checks["AppByCredential"] = s.AppByCredential(ctx, store.CredAPIKey, []byte("x"))
	checks["UpdateApp"] = s.UpdateApp(ctx, store.App{ID: "missing"})
	_, checks["Subscriber"] = s.Subscriber(ctx, "a", "missing")
	_, checks["UpdateSubscriber"] = s.UpdateSubscriber(ctx, "a", "missing", store.SubscriberUpdate{})
	checks["DeleteSubscriber"] = s.DeleteSubscriber(ctx, "a", "missing")
	_, checks["UpsertSubscriber(no app)"] = s.UpsertSubscriber(ctx, store.Subscriber{AppID: "missing", Channel: store.ChannelFCM, Token: "t"})
	for name, err := range checks {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: error = %v, want one wrapping store.ErrNotFound", name, err)
			continue
		}
		if err == store.ErrNotFound || len(err.Error()) <= len(store.ErrNotFound.Error()) {
			t.Errorf("%s: error %q is the bare sentinel; want it wrapped with context", name, err)
		}
		if errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: error %q is also ErrConflict", name, err)
		}
	}
}

func TestUnknownCredentialKind(t *testing.T) {
	s := openTest(t, Options{})
	_, err := s.AppByCredential(t.Context(), store.CredentialKind("bogus"), []byte("x"))
	if err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AppByCredential(bogus kind) error = %v, want a plain error", err)
	}
}

func TestOpenRejectsNonFilePaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if s, err := Open(t.Context(), p, Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
}

func TestPragmas(t *testing.T) {
	s := openTest(t, Options{})
	ctx := t.Context()
	// Ask on several connections at once, so that each is checked, not
	// only the first the pool happens to hand out.
	for i := range 3 {
		c, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for pragma, want := range map[string]string{
			"journal_mode": "wal",
			"foreign_keys": "1",
			"synchronous":  "1", // NORMAL
			"busy_timeout": "10000",
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("conn %d: PRAGMA %s: %v", i, pragma, err)
			}
			if got != want {
				t.Errorf("conn %d: PRAGMA %s = %q, want %q", i, pragma, got, want)
			}
		}
	}
}

// TestConcurrentReadThenWriteTransactions runs, from many goroutines at
// once, transactions on DB() that read and then write (the pattern that
// fails at once with SQLITE_BUSY under deferred transactions), store
// upserts, and a reader that keeps a query open throughout. With
// BEGIN IMMEDIATE every writer waits its turn and none fails.
func TestConcurrentReadThenWriteTransactions(t *testing.T) {
	s := openTest(t, Options{})
	ctx := t.Context()
	if err := s.CreateApp(ctx, store.App{ID: "a", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UpsertSubscribers(ctx, []store.Subscriber{benchSub("a", 0), benchSub("a", 1)}); err != nil {
		t.Fatal(err)
	}
	// A long read: rows stay open (holding a WAL snapshot) while the
	// writers run.
	rows, err := s.DB().QueryContext(ctx, "SELECT id FROM subscribers")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatal("no rows")
	}

	const workers, each = 8, 25
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if w%2 == 0 {
					_, err := s.UpsertSubscriber(ctx, benchSub("a", 1000*(w+1)+i))
					if err != nil {
						errs[w] = err
						return
					}
					continue
				}
				if err := readThenWrite(ctx, s.DB(), w, i); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", w, err)
		}
	}
	if n, err := s.CountSubscribers(ctx, "a", store.SubscriberFilter{}); err != nil || n != 2+workers/2*each {
		t.Errorf("CountSubscribers = %d, %v; want %d", n, err, 2+workers/2*each)
	}
}

func readThenWrite(ctx context.Context, db *sql.DB, w, i int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM subscribers").Scan(&n); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE apps SET name = ? WHERE id = 'a'", fmt.Sprintf("w%d-%d-%d", w, i, n)); err != nil {
		return err
	}
	return tx.Commit()
}
