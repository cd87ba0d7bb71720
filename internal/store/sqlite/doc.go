// Package sqlite is Herald's embedded store: store.Store on one SQLite file,
// through the pure-Go driver modernc.org/sqlite, so that `herald serve`
// needs nothing installed.
//
// # Job
//
// Open creates the file (and its directory), sets every connection to WAL
// journaling, synchronous=NORMAL, foreign keys on and a busy timeout, then
// applies the embedded migrations (migrations/NNNN_*.sql) that
// schema_migrations does not yet record, each in its own transaction.
// Apps, subscribers and tags live in tables keyed by app id; every query
// names the app, and the tag table's foreign key (app_id, subscriber_id)
// means a tag can only point at a subscriber of the same app.
//
// Audiences (audience.go) are resolved by SQL for a subscriber's own
// columns and by Go for the tag part, against subscribers.tags, a JSON
// copy of the subscriber's tag set that the store rewrites in the same
// transaction as every tag change (subscriber_tags stays the source of
// truth). A page reads a narrow covering index, subscribers_audience
// (every column an expression looks at, last_clicked_at included since
// migration 0009), from the cursor; or the tag table's key when every
// member must carry one tag (two tags_and merged when both are common),
// each member then looked up by rowid; or, when a scan finds a tags OR
// list sparse,
// the union of the list's tags merged in id order from the tag table; or
// the registration-id or alias index when the expression names them.
// Streaming the whole audience of any EngageLab-shaped expression over a
// million subscribers reads the index at most once (BenchmarkAudience).
// Saved segments copied into an audience (AnyOf, NoneOf) are split like
// the top level (audience_nested.go): SQL turns each one's column
// conditions into a bit of a per-row mask, and Go combines the bits with
// each one's tag part, checked by the same tag matcher, in the same scan.
// Each page's recipients carry their time zone, read from the same index
// (local-time delivery). docs/performance.md has the figures.
//
// # Limits
//
// SQLite has one writer at a time. Writes queue on the database's write
// lock (for up to Options.BusyTimeout) while readers go on in parallel
// from the WAL snapshot they started with. Write throughput is therefore
// one core's: batch writes (UpsertSubscribers, 100 rows a statement)
// rather than many small transactions. Concurrent UpsertSubscriber calls
// are batched for the caller: a committer goroutine writes the calls that
// arrive while a transaction commits together in the next one, and answers
// each only after its commit (groupcommit.go). synchronous=NORMAL in WAL mode keeps the database
// consistent after a crash or power loss but may lose the last
// transactions committed before a power loss (not a process crash).
// Times are stored as unix milliseconds, so sub-millisecond precision is
// dropped. The file must be on a local disk: WAL needs shared memory, so
// network file systems are not supported, and only processes on one
// machine may open it.
//
// # Concurrency
//
// A Store is safe for concurrent use. It keeps a pool of connections
// (Options.MaxOpenConns). Every transaction on the pool begins with
// BEGIN IMMEDIATE (the _txlock DSN setting), taking the write lock up
// front: two deferred transactions that both read and then try to write
// cannot both upgrade, and SQLite fails one at once with SQLITE_BUSY,
// whatever the busy timeout. Taking the lock first turns that into a
// wait. Reads are single statements outside transactions and never block
// or are blocked by writers. DB exposes the same pool so that the
// delivery engine's job queue (River's SQLite driver) shares the file and
// the lock discipline.
package sqlite
