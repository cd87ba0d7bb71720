package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"
)

// Dialect is what differs between the SQL stores for the queries here.
type Dialect struct {
	// Name prefixes errors: "sqlite", "postgres".
	Name string
	// Numbered says parameters are written $1, $2, … (PostgreSQL) rather
	// than ? (SQLite).
	Numbered bool
	// InsertOrder is the column that orders a table's rows by insertion,
	// to break ties of created_at: SQLite's rowid, PostgreSQL's seq.
	InsertOrder string
	// Greatest is the SQL function of the larger of two values: SQLite's
	// max(), PostgreSQL's greatest().
	Greatest string
	// Classify maps a driver's error to store.ErrNotFound (no rows, a
	// foreign key) or store.ErrConflict (a unique key), wrapping it.
	Classify func(error) error
}

// Queries runs the shared queries on one store's database.
type Queries struct {
	db    *sql.DB
	d     Dialect
	now   func() time.Time
	write func(ctx context.Context, fn func(*sql.Tx) error) error
}

// New returns the shared queries over db. write runs fn in one write
// transaction and commits it (the SQLite store queues its writers there;
// the PostgreSQL store retries serialization failures).
func New(db *sql.DB, d Dialect, now func() time.Time, write func(ctx context.Context, fn func(*sql.Tx) error) error) *Queries {
	return &Queries{db: db, d: d, now: now, write: write}
}

// q returns query with its parameters written for the dialect.
func (q *Queries) q(query string) string { return q.d.Q(query) }

// Q returns query with its parameters written for the dialect.
func (d Dialect) Q(query string) string {
	if !d.Numbered {
		return query
	}
	return Rebind(query)
}

// Rebind rewrites each ? outside quoted text as $1, $2, … in order.
func Rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Placeholders returns n comma-separated ? parameters.
func Placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

// ToMS stores a time as unix milliseconds.
func ToMS(t time.Time) int64 { return t.UnixMilli() }

// FromMS reads a stored unix-millisecond time back, in UTC.
func FromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// NullMS stores the zero time as NULL ("never").
func NullMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// FromNullMS reads a nullable time; NULL is the zero time.
func FromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return FromMS(v.Int64)
}

// NullBytes stores an empty byte string as NULL, so UNIQUE ignores it.
func NullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// NullText stores an empty string as NULL, so UNIQUE ignores it.
func NullText(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// Scanner is the part of *sql.Row and *sql.Rows a row decoder needs.
type Scanner interface {
	Scan(dest ...any) error
}

// queried is a query's answer, for collect.
type queried struct {
	rows *sql.Rows
	err  error
}

// rowsOf wraps QueryContext's two results, for collect.
func rowsOf(rows *sql.Rows, err error) queried { return queried{rows, err} }

// collect decodes every row with scan; never nil, so an empty list
// encodes as [].
func collect[T any](r queried, scan func(Scanner) (T, error)) ([]T, error) {
	if r.err != nil {
		return nil, r.err
	}
	defer r.rows.Close()
	out := []T{}
	for r.rows.Next() {
		v, err := scan(r.rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, r.rows.Err()
}
