package sqlite

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestWrites(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT 1":                            false,
		"  select * FROM apps":                false,
		"-- name: JobList :many\nSELECT id":   false,
		"/* TEMPLATE */ SELECT 1":             false,
		"-- name: JobGetAvailable\nUPDATE x":  true,
		"INSERT INTO apps VALUES (1)":         true,
		"WITH x AS (SELECT 1) DELETE FROM y":  true,
		"PRAGMA optimize":                     true,
		"-- only a comment":                   true,
		"SELEC":                               true,
		"/* unterminated":                     true,
		"\n\t/* a */ -- b\n  SELECT count(*)": false,
	} {
		if got := writes(q); got != want {
			t.Errorf("writes(%q) = %v, want %v", q, got, want)
		}
	}
}

// Writers outside the store's own transactions (River's job queries:
// UPDATE … RETURNING on the pool, and transactions of their own) queue
// on the write gate instead of meeting SQLite's busy handler: with a
// busy timeout of 1 ms, any of them that found the lock taken would fail
// with SQLITE_BUSY.
func TestWriteGateQueuesWriters(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "gate.db"), Options{BusyTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := s.DB()
	if _, err := db.ExecContext(ctx, "CREATE TABLE jobs (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO jobs (id, n) VALUES (1, 0), (2, 0)"); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 6, 150
	errs := make(chan error, 2*workers*rounds)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range rounds {
				if w%2 == 0 {
					rows, err := db.QueryContext(ctx, "-- name: Take\nUPDATE jobs SET n = n + 1 WHERE id = 1 RETURNING n")
					if err != nil {
						errs <- err
						continue
					}
					for rows.Next() {
					}
					errs <- rows.Err()
					rows.Close()
					continue
				}
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					errs <- err
					continue
				}
				if _, err := tx.ExecContext(ctx, "UPDATE jobs SET n = n + 1 WHERE id = 2"); err != nil {
					tx.Rollback()
					errs <- err
					continue
				}
				errs <- tx.Commit()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a writer failed: %v", err)
		}
	}
	var total int
	if err := db.QueryRowContext(ctx, "SELECT sum(n) FROM jobs").Scan(&total); err != nil || total != workers*rounds {
		t.Fatalf("sum of counters = %d, %v; want %d", total, err, workers*rounds)
	}
}
