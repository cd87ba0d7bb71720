package sqlite

import (
	"context"
	sqldriver "database/sql/driver"
	"strings"
)

// One writer at a time, queued in Go.
//
// SQLite lets one connection write at a time. A connection that finds the
// write lock taken sleeps in SQLite's busy handler, in growing steps (1,
// 2, 5, 10, 15, 20, 25 … 100 ms), and tries again: under a steady stream
// of writes a waiter sleeps long past the moment the lock came free. The
// store queued its own transactions on a Go mutex for that reason
// (Store.writeMu), but River's job queries (fetching, completing and
// inserting jobs) run on the same pool outside it and met the busy
// handler: during a big send a one-recipient message's job fetch or
// completion could sleep tens of milliseconds.
//
// So every connection of the pool passes one writeGate, shared by the
// Store's connections, before it writes: a transaction holds it from
// BEGIN (every BEGIN is IMMEDIATE, see dsn) to COMMIT or ROLLBACK, a
// write statement outside a transaction for its run (a query's until its
// rows are closed: an UPDATE … RETURNING holds SQLite's lock that long).
// Waiters take the gate the moment it is free, and give up when their
// context ends. Reads outside a transaction (a statement that starts
// with SELECT) pass freely: WAL readers never wait for the writer.
// SQLite's busy timeout stays as the guard against other processes.

// writeGate is a lock whose waiters give up with their context.
type writeGate chan struct{}

func newWriteGate() writeGate { return make(writeGate, 1) }

func (g writeGate) lock(ctx context.Context) error {
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g writeGate) unlock() { <-g }

// writes says whether a statement outside a transaction may write: any
// but a SELECT (after leading blanks and comments, which River's queries
// start with). A read that is taken for a write only waits its turn.
func writes(query string) bool {
	q := query
	for {
		q = strings.TrimLeft(q, " \t\r\n")
		switch {
		case strings.HasPrefix(q, "--"):
			i := strings.IndexByte(q, '\n')
			if i < 0 {
				return true
			}
			q = q[i+1:]
		case strings.HasPrefix(q, "/*"):
			i := strings.Index(q, "*/")
			if i < 0 {
				return true
			}
			q = q[i+2:]
		default:
			return len(q) < 6 || !strings.EqualFold(q[:6], "SELECT")
		}
	}
}

// gatedTx releases the gate when the transaction ends.
type gatedTx struct {
	sqldriver.Tx
	c *cachingConn
}

func (t gatedTx) Commit() error {
	defer t.c.endTx()
	return t.Tx.Commit()
}

func (t gatedTx) Rollback() error {
	defer t.c.endTx()
	return t.Tx.Rollback()
}

// BeginTx takes the gate, then begins (IMMEDIATE: SQLite's write lock
// is free, since every writer of this pool passed the gate).
func (c *cachingConn) BeginTx(ctx context.Context, opts sqldriver.TxOptions) (sqldriver.Tx, error) {
	if err := c.gate.lock(ctx); err != nil {
		return nil, err
	}
	tx, err := c.sqliteConn.BeginTx(ctx, opts)
	if err != nil {
		c.gate.unlock()
		return nil, err
	}
	c.inTx = true
	return gatedTx{Tx: tx, c: c}, nil
}

// Begin is BeginTx without a context (database/sql calls BeginTx).
func (c *cachingConn) Begin() (sqldriver.Tx, error) {
	return c.BeginTx(context.Background(), sqldriver.TxOptions{})
}

func (c *cachingConn) endTx() {
	if c.inTx {
		c.inTx = false
		c.gate.unlock()
	}
}

// gateStmt takes the gate for a statement outside a transaction that may
// write; the returned release is nil when it was not needed.
func (c *cachingConn) gateStmt(ctx context.Context, query string) (release func(), err error) {
	if c.inTx || !writes(query) {
		return nil, nil
	}
	if err := c.gate.lock(ctx); err != nil {
		return nil, err
	}
	return c.gate.unlock, nil
}
