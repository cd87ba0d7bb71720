// Package sqlstore holds what Herald's two SQL stores do alike. The SQLite
// store (internal/store/sqlite) and the PostgreSQL store
// (internal/store/postgres) keep the same schema for apps, channel
// credentials, callbacks, segments and deliveries, and most of their
// queries on those tables differ only in how parameters are written (? or
// $1) and in how a write transaction is run. Queries implements those
// methods of store.Store once, over a Dialect that says what differs; each
// store embeds a *Queries and keeps to itself what really differs (the
// delivery hot path, audiences, bulk writes, migrations' SQL).
//
// It also holds the column encodings both stores use: times are unix
// milliseconds (NULL for "never"), and empty credentials are NULL so that
// UNIQUE indexes ignore them.
//
// Limits: queries here are written for both engines, so they use only
// what both understand (no FILTER, no arrays, no RETURNING of defaults
// SQLite lacks); parameters are rewritten for PostgreSQL by Rebind, which
// skips quoted text but knows nothing else of SQL.
package sqlstore
