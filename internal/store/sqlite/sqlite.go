package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlstore"
)

// Defaults used when the matching Options field is zero.
const (
	// DefaultBusyTimeout is how long a connection waits for SQLite's single
	// write lock before giving up with SQLITE_BUSY. Writes here are short
	// (a batch of 500 upserts takes a few milliseconds), so ten seconds only
	// runs out when something holds the lock far too long.
	DefaultBusyTimeout = 10 * time.Second
	// DefaultMaxOpenConns bounds the pool. Readers run in parallel under
	// WAL; writers queue on the write lock, so more connections than a few
	// per core only add memory (each has its own page cache).
	DefaultMaxOpenConns = 8
)

// Options tunes Open. The zero value is ready to use.
type Options struct {
	// BusyTimeout is how long a statement waits for the write lock.
	// Zero means DefaultBusyTimeout.
	BusyTimeout time.Duration
	// MaxOpenConns bounds the connection pool. Zero means
	// DefaultMaxOpenConns. 1 serialises every reader behind every writer.
	MaxOpenConns int
	// Now is the clock for created_at / updated_at stamps. Nil means
	// time.Now.
	Now func() time.Time
	// Logger receives one line per applied migration. Nil discards.
	Logger *slog.Logger
	// BulkCacheMiB, when positive, gives bulk writes (UpsertSubscribers)
	// a connection of their own, taken from the pool for the Store's life,
	// with a page cache of this many MiB and automatic checkpoints every
	// 20,000 WAL pages instead of 1,000 (see openBulkConn). herald import
	// sets it; a server leaves it zero, as the cache stays allocated.
	// Ignored when MaxOpenConns is 1.
	BulkCacheMiB int
}

// Store is the SQLite implementation of store.Store. It is safe for
// concurrent use.
type Store struct {
	// Queries are the methods whose SQL is the same on both stores.
	*sqlstore.Queries
	db    *sql.DB
	now   func() time.Time
	log   *slog.Logger
	stmts upsertStmts
	bulk  bulkStmts     // multi-row statements of UpsertSubscribers, by shape
	hot   deliveryStmts // the delivery engine's statements (hotpath.go)
	// bulkConn, if not nil, is the connection UpsertSubscribers writes on
	// (Options.BulkCacheMiB).
	bulkConn *sql.Conn
	// gc runs UpsertSubscriber's group commits (groupcommit.go).
	gc        committer
	closeOnce sync.Once
	// writeMu queues the store's own write transactions in Go. SQLite has
	// one writer; left to itself, a writer that finds the lock taken
	// sleeps in growing steps (up to 100 ms) before trying again, so under
	// contention the lock sits idle while waiters sleep. Queued here, the
	// next writer starts the moment the last one commits; only writers
	// from outside the store (River's job queries) still meet SQLite's
	// busy handler.
	writeMu sync.Mutex
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it and its directory if needed) the database at path,
// configures every connection (WAL, busy_timeout, foreign keys,
// synchronous=NORMAL, BEGIN IMMEDIATE for transactions) and applies any
// pending migrations before returning.
func Open(ctx context.Context, path string, o Options) (*Store, error) {
	if path == "" || strings.ContainsRune(path, '?') || strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: open %q: want a plain file path", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = DefaultBusyTimeout
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

	connector, err := newCachingConnector(dsn(path, o.BusyTimeout))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db := sql.OpenDB(connector) // every connection caches its statements (stmtcache.go)
	db.SetMaxOpenConns(o.MaxOpenConns)
	// Keep every connection: opening one re-runs the pragmas and throws
	// away its page cache and prepared statements.
	db.SetMaxIdleConns(o.MaxOpenConns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)

	s := &Store{db: db, now: o.Now, log: o.Logger, bulk: bulkStmts{db: db}}
	s.Queries = sqlstore.New(db, dialect(), s.now, s.inTx)
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if o.BulkCacheMiB > 0 && o.MaxOpenConns > 1 {
		if s.bulkConn, err = openBulkConn(ctx, db, o.BulkCacheMiB); err != nil {
			s.stmts.close()
			db.Close()
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
	}
	s.startCommitter()
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return err
	}
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, want wal", mode)
	}
	ms, err := sqlstore.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		return err
	}
	if _, err := migrate(ctx, s.db, ms, s.now, s.log); err != nil {
		return err
	}
	if err := s.hot.prepare(ctx, s.db); err != nil {
		return err
	}
	return s.stmts.prepare(ctx, s.db)
}

// dsn builds the driver name. Every setting is per connection, so it goes in
// the DSN, which the driver applies to each connection the pool opens.
//
// _txlock=immediate makes every BEGIN a BEGIN IMMEDIATE: a transaction takes
// the write lock when it starts, waiting under busy_timeout if another writer
// holds it. A deferred transaction would read first and upgrade later, and
// the upgrade fails with SQLITE_BUSY at once (the busy handler cannot help,
// since waiting could deadlock) whenever another writer committed in
// between. The store only opens transactions to write; reads are single
// statements, which never hold the write lock.
func dsn(path string, busy time.Duration) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	// Statement journals and sorts in memory rather than temp files, and a
	// 64 MiB page cache per connection: bulk upserts spend a third less CPU
	// (measured by the importer's 1M-row benchmark).
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "cache_size(-65536)")
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}

// DB returns the connection pool, configured as Open describes, so that
// another component (River's SQLite driver for delivery jobs) can share the
// same file and the same single writer. Transactions begun on it are
// BEGIN IMMEDIATE. The Store still owns the pool: do not close it.
func (s *Store) DB() *sql.DB { return s.db }

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close stops the group committer (its running transaction finishes),
// runs PRAGMA optimize (cheap; keeps the planner's statistics useful)
// and closes every connection.
func (s *Store) Close() error {
	s.stopCommitter()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, optErr := s.db.ExecContext(ctx, "PRAGMA optimize")
	s.stmts.close()
	s.bulk.close()
	if s.bulkConn != nil {
		_ = s.bulkConn.Close() // back to the pool, which closes just below
	}
	s.hot.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	if optErr != nil {
		return fmt.Errorf("sqlite: close: optimize: %w", optErr)
	}
	return nil
}

// classify maps SQLite constraint failures to the store's sentinels: a
// UNIQUE or PRIMARY KEY clash is store.ErrConflict, and a FOREIGN KEY
// failure (a subscriber for an app that does not exist) is
// store.ErrNotFound. The original error stays in the chain.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", store.ErrNotFound, err)
		}
	}
	return err
}

// inTx runs fn in one write transaction and commits it, or rolls it back if
// fn fails.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
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
