package sqlite

import (
	"container/list"
	"context"
	sqldriver "database/sql/driver"
	"errors"

	"modernc.org/sqlite"
)

// A statement cache per connection.
//
// database/sql prepares and finalizes a statement for every query or exec
// on the pool (db.QueryContext, tx.ExecContext …) unless the caller
// prepared it; River's SQLite driver never does, so every job fetch, job
// insert and job completion parsed its SQL afresh, and parsing cost more
// CPU than running it (a flood of one-recipient messages spent half its
// CPU in sqlite3Prepare, see docs/performance.md). cachingConn keeps each
// connection's recently used statements by their text and runs a query
// or exec on the cached one: SQLite's prepared statements are reusable
// after a reset, which closing the rows (or the end of an exec) does.
//
// A cached statement serves one query at a time: while its rows are open
// (a transaction may interleave two reads of the same text) a second use
// gets a statement of its own, finalized after use as before. At most
// stmtCacheSize statements are kept per connection, least recently used
// out first, so statements whose text changes with their arguments (IN
// lists, compiled audiences) cannot grow it without bound. Schema changes
// (migrations) are safe: SQLite re-prepares a statement whose schema
// changed on its next step.

// stmtCacheSize is how many statements one connection keeps prepared.
const stmtCacheSize = 96

// cachingConnector opens connections through modernc's connector and
// wraps them in cachingConn, all behind one writeGate (writegate.go).
type cachingConnector struct {
	base sqldriver.Connector
	gate writeGate
}

func newCachingConnector(dsn string) (sqldriver.Connector, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return cachingConnector{base: base, gate: newWriteGate()}, nil
}

func (c cachingConnector) Connect(ctx context.Context) (sqldriver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newCachingConn(conn, c.gate)
}

func (c cachingConnector) Driver() sqldriver.Driver { return c.base.Driver() }

// sqliteConn is what every connection modernc opens implements.
type sqliteConn interface {
	sqldriver.Conn
	sqldriver.ConnBeginTx
	sqldriver.ConnPrepareContext
	sqldriver.ExecerContext
	sqldriver.QueryerContext
	sqldriver.Pinger
	sqldriver.SessionResetter
	sqldriver.Validator
}

// cachingConn is one connection with its statement cache. database/sql
// uses a connection from one goroutine at a time (rows included), so it
// needs no lock.
type cachingConn struct {
	sqliteConn
	lru   *list.List // of *cachedStmt, most recently used first
	bySQL map[string]*list.Element
	gate  writeGate
	inTx  bool // holds the gate from BeginTx to the end of the transaction
}

type cachedStmt struct {
	query string
	stmt  stmtContext
	busy  bool // its rows are open
}

// stmtContext is what modernc's prepared statements implement.
type stmtContext interface {
	sqldriver.Stmt
	sqldriver.StmtExecContext
	sqldriver.StmtQueryContext
}

func newCachingConn(c sqldriver.Conn, gate writeGate) (sqldriver.Conn, error) {
	sc, ok := c.(sqliteConn)
	if !ok {
		c.Close()
		return nil, errors.New("sqlite: driver connection lacks the context interfaces")
	}
	return &cachingConn{sqliteConn: sc, lru: list.New(), bySQL: map[string]*list.Element{}, gate: gate}, nil
}

// Unwrap is the connection modernc opened (sqlite.Limit looks for it).
func (c *cachingConn) Unwrap() sqldriver.Conn { return c.sqliteConn }

// get returns the cached statement for query, preparing and caching it
// if needed, or nil when it is busy (the caller then runs query uncached).
func (c *cachingConn) get(ctx context.Context, query string) (*cachedStmt, error) {
	if e, ok := c.bySQL[query]; ok {
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		c.lru.MoveToFront(e)
		return cs, nil
	}
	st, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	sc, ok := st.(stmtContext)
	if !ok {
		st.Close()
		return nil, nil
	}
	cs := &cachedStmt{query: query, stmt: sc}
	c.bySQL[query] = c.lru.PushFront(cs)
	for c.lru.Len() > stmtCacheSize {
		old := c.lru.Back()
		ocs := old.Value.(*cachedStmt)
		if ocs.busy {
			break // in use: trimmed by a later get
		}
		c.lru.Remove(old)
		delete(c.bySQL, ocs.query)
		_ = ocs.stmt.Close() // finalizing only frees memory
	}
	return cs, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []sqldriver.NamedValue) (sqldriver.Result, error) {
	release, err := c.gateStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if release != nil {
		defer release()
	}
	cs, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return cs.stmt.ExecContext(ctx, args)
}

// QueryContext runs query on its cached statement; a query that may
// write holds the gate until its rows are closed.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []sqldriver.NamedValue) (_ sqldriver.Rows, err error) {
	release, err := c.gateStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && release != nil {
			release()
		}
	}()
	cs, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	var rows sqldriver.Rows
	if cs == nil {
		rows, err = c.sqliteConn.QueryContext(ctx, query, args)
	} else {
		rows, err = cs.stmt.QueryContext(ctx, args)
	}
	if err != nil {
		return nil, err
	}
	if cs != nil {
		cs.busy = true
	}
	return &cachedRows{Rows: rows, cs: cs, release: release}, nil
}

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	c.endTx()
	for e := c.lru.Front(); e != nil; e = e.Next() {
		_ = e.Value.(*cachedStmt).stmt.Close()
	}
	c.lru.Init()
	clear(c.bySQL)
	return c.sqliteConn.Close()
}

// cachedRows frees its statement (if cached) for the next query, and
// the gate (if held), when closed.
type cachedRows struct {
	sqldriver.Rows
	cs      *cachedStmt
	release func()
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close() // resets the statement
	if r.cs != nil {
		r.cs.busy = false
	}
	if r.release != nil {
		r.release()
		r.release = nil
	}
	return err
}
