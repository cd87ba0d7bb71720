// Package postgres is the PostgreSQL implementation of store.Store, for
// several `herald serve` processes sharing one database (see
// docs/scaling.md). It passes the same contract suite as store/sqlite
// (store/storetest) and keeps the same data model; where PostgreSQL does
// a job better it is used:
//
//   - upserts are INSERT … ON CONFLICT DO UPDATE, and whether a row was
//     created is read from the row itself (xmax = 0), so concurrent
//     registrations of one token need no lock of Herald's own;
//   - a subscriber's tags live in the join table subscriber_tags, keyed
//     (app_id, tag, subscriber_id), and in a text[] copy on the row, so an
//     audience's tag part (OR, AND, NOT) is evaluated by SQL with the
//     array operators &&, @> (in the "C" collation), while the join table
//     drives pages of a sparse tag, reads the union of a sparse OR
//     list (audience.go) and drops the members of a long NOT list by an
//     anti-join within a page's id range (audience_not.go); audience
//     rows are read from pgx's raw values;
//   - bulk writes (UpsertSubscribers, RecordOutcomes) send whole batches
//     as arrays (unnest), one statement per batch, not one per row.
//
// The store talks to PostgreSQL through pgx's database/sql adapter
// (pgx/v5/stdlib), so that a store.TxFunc still gets a *sql.Tx and the
// delivery engine enqueues its River jobs (riverdatabasesql) in the
// store's own transactions.
//
// Times are stored as bigint unix milliseconds, as in SQLite, so both
// backends keep the same precision. Migrations are embedded
// (migrations/NNNN_*.sql), applied in order, one transaction each, under
// an advisory lock so that nodes starting together apply each step once.
//
// A Store is safe for concurrent use, by many goroutines and many
// processes.
package postgres
