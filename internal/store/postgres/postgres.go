package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlstore"
)

// DefaultMaxOpenConns bounds the pool when Options.MaxOpenConns is zero.
// The store and River's job client share it; PostgreSQL's default
// max_connections (100) then allows several nodes.
const DefaultMaxOpenConns = 16

// Options tunes Open. The zero value is ready to use.
type Options struct {
	// MaxOpenConns bounds the connection pool (DefaultMaxOpenConns).
	MaxOpenConns int
	// Now is the clock for created_at / updated_at stamps. Nil means
	// time.Now.
	Now func() time.Time
	// Logger receives one line per applied migration. Nil discards.
	Logger *slog.Logger
}

// Store is the PostgreSQL implementation of store.Store. It is safe for
// concurrent use.
type Store struct {
	// Queries are the methods whose SQL is the same on both stores.
	*sqlstore.Queries
	db  *sql.DB
	now func() time.Time
	log *slog.Logger
	// hints skip a dense tags OR list's probe on later audience pages.
	hints denseHints
}

var _ store.Store = (*Store)(nil)

// IsURL reports whether s names a PostgreSQL database (postgres:// or
// postgresql://), as the --store flag takes it.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database dsn names (a postgres:// URL; pgx's
// parameters such as sslmode and search_path apply) and applies any
// pending migrations before returning.
func Open(ctx context.Context, dsn string, o Options) (*Store, error) {
	if !IsURL(dsn) {
		return nil, errors.New("postgres: open: want a postgres:// URL")
	}
	if o.MaxOpenConns <= 0 {
		o.MaxOpenConns = DefaultMaxOpenConns
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// pgx redacts the password from its own parse errors; Herald's errors
	// never repeat the URL.
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(o.MaxOpenConns)
	db.SetMaxIdleConns(o.MaxOpenConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{db: db, now: o.Now, log: o.Logger}
	s.Queries = sqlstore.New(db, dialect(), s.now, s.inTx)
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	ms, err := sqlstore.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		return err
	}
	_, err = migrate(ctx, s.db, ms, s.now, s.log)
	return err
}

// DB returns the connection pool, so that River's database/sql driver can
// share it (and its transactions). The Store still owns it: do not close
// it.
func (s *Store) DB() *sql.DB { return s.db }

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes every connection.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("postgres: close: %w", err)
	}
	return nil
}

// PostgreSQL's SQLSTATE codes the store maps to its sentinels.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeSerialization       = "40001"
	codeDeadlock            = "40P01"
)

// classify maps constraint failures to the store's sentinels: a UNIQUE or
// PRIMARY KEY clash is store.ErrConflict, a FOREIGN KEY failure (a row for
// an app that does not exist) store.ErrNotFound, no rows store.ErrNotFound.
// The original error stays in the chain.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeUniqueViolation:
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		case codeForeignKeyViolation:
			return fmt.Errorf("%w: %w", store.ErrNotFound, err)
		}
	}
	return err
}

// retryable reports whether a transaction failed only because it met
// another one (a deadlock or a serialization failure) and may be run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeDeadlock || pe.Code == codeSerialization)
}

// inTx runs fn in one transaction (READ COMMITTED) and commits it, or rolls
// it back if fn fails. A transaction PostgreSQL aborted as a deadlock
// victim is run again, a few times: the other side has then finished.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil || attempt >= 4 || !retryable(err) {
			return err
		}
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // the error from fn is the one that matters
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
