package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"log/slog"
	"time"

	"github.com/heraldpush/herald/internal/store/sqlstore"
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

// migrate applies the migrations not yet recorded in schema_migrations, in
// order, each in its own transaction together with its record, and returns
// how many it applied.
func migrate(ctx context.Context, db *sql.DB, ms []sqlstore.Migration, now func() time.Time, log *slog.Logger) (int, error) {
	applied := 0
	for _, m := range ms {
		did, err := applyMigration(ctx, db, m, len(ms), now)
		if err != nil {
			return applied, err
		}
		if did {
			applied++
			log.InfoContext(ctx, "store: applied migration", "version", m.Version, "name", m.Name)
		}
	}
	return applied, nil
}

// applyMigration runs one migration and records it, unless it is recorded
// already. The advisory lock makes a second node wait, then find it done.
func applyMigration(ctx context.Context, db *sql.DB, m sqlstore.Migration, known int, now func() time.Time) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migration %s: begin: %w", m.Name, err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
		return false, fmt.Errorf("migration %s: lock: %w", m.Name, err)
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
	if m.Version <= current {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
		m.Version, m.Name, sqlstore.ToMS(now())); err != nil {
		return false, fmt.Errorf("migration %s: record: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %s: commit: %w", m.Name, err)
	}
	return true, nil
}
