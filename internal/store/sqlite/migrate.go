package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"log/slog"
	"time"

	"github.com/heraldpush/herald/internal/store/sqlstore"
)

// migrationFS holds the schema, one numbered file per change
// (0001_init.sql, 0002_….sql). A file that has shipped is never edited:
// a change is a new file.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migrate applies the migrations not yet recorded in schema_migrations, in
// order, each in its own transaction together with its record, and returns
// how many it applied. The transactions are BEGIN IMMEDIATE (see dsn), so
// two processes opening a fresh file at once do not both apply a step: the
// second waits for the lock and then finds the step recorded.
//
// A migration runs inside a transaction, where PRAGMA foreign_keys cannot
// change; a future step that rebuilds a referenced table must take that
// into account (create the new table, copy, drop, rename, all under the
// constraints).
func migrate(ctx context.Context, db *sql.DB, ms []sqlstore.Migration, now func() time.Time, log *slog.Logger) (int, error) {
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`
	if _, err := db.ExecContext(ctx, create); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int
	if err := db.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if current > len(ms) {
		return 0, fmt.Errorf("database schema version %d is newer than this binary's %d", current, len(ms))
	}
	applied := 0
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		did, err := applyMigration(ctx, db, m, now)
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

// applyMigration runs one migration and records it, unless another process
// recorded it first. It reports whether it ran the migration.
func applyMigration(ctx context.Context, db *sql.DB, m sqlstore.Migration, now func() time.Time) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migration %s: begin: %w", m.Name, err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", m.Version).Scan(&n); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.Version, m.Name, sqlstore.ToMS(now())); err != nil {
		return false, fmt.Errorf("migration %s: record: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %s: commit: %w", m.Name, err)
	}
	return true, nil
}
