package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// migrationFS holds the schema, one numbered file per change. The numbers
// are this store's own: 0001–0008 make the same changes as store/sqlite's
// steps of those numbers, but a step that only tunes one backend (an
// index) has no twin in the other, so later numbers may differ. A file
// that has shipped is never edited.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLock is the advisory lock key every migration transaction
// takes first, so that nodes starting at once apply each step once
// ("herald" in ASCII).
const migrationLock = 0x68_65_72_61_6c_64

// LockMigrations takes the advisory lock the store's own migrations take,
// on a connection of its own, and returns its release. The delivery engine
// holds it while it applies River's migrations
// (delivery.Options.MigrationLock), so that nodes starting together apply
// each one once.
func (s *Store) LockMigrations(ctx context.Context) (unlock func(), err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: migration lock: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLock)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("postgres: migration lock: %w", err)
	}
	return func() {
		// Closing the connection would release the lock too, but the pool
		// keeps it open: unlock explicitly.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", int64(migrationLock))
		conn.Close()
	}, nil
}

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads NNNN_name.sql files from dir in version order.
// Versions must run 1, 2, 3… without gaps or repeats.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", name)
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: version %d, want %d (no gaps or repeats)", m.name, m.version, i+1)
		}
	}
	return ms, nil
}

// migrate applies the migrations not yet recorded in schema_migrations, in
// order, each in its own transaction together with its record, and returns
// how many it applied.
func migrate(ctx context.Context, db *sql.DB, ms []migration, now func() time.Time, log *slog.Logger) (int, error) {
	applied := 0
	for _, m := range ms {
		did, err := applyMigration(ctx, db, m, len(ms), now)
		if err != nil {
			return applied, err
		}
		if did {
			applied++
			log.InfoContext(ctx, "store: applied migration", "version", m.version, "name", m.name)
		}
	}
	return applied, nil
}

// applyMigration runs one migration and records it, unless it is recorded
// already. The advisory lock makes a second node wait, then find it done.
func applyMigration(ctx context.Context, db *sql.DB, m migration, known int, now func() time.Time) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migration %s: begin: %w", m.name, err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
		return false, fmt.Errorf("migration %s: lock: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer NOT NULL PRIMARY KEY,
		name       text    NOT NULL,
		applied_at bigint  NOT NULL
	)`); err != nil {
		return false, fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return false, fmt.Errorf("read schema version: %w", err)
	}
	if current > known {
		return false, fmt.Errorf("database schema version %d is newer than this binary's %d", current, known)
	}
	if m.version <= current {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
		m.version, m.name, toMS(now())); err != nil {
		return false, fmt.Errorf("migration %s: record: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %s: commit: %w", m.name, err)
	}
	return true, nil
}
