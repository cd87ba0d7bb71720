// Package storetest is the contract every store.Store backend passes.
//
// Run exercises the whole interface against a backend through nothing but
// the interface: apps and their credential lookups, subscriber upserts
// (single, bulk and concurrent), updates, tags, aliases, filtered listing
// with the id cursor, counting, deletion, and app isolation (one app can
// never read or change another's rows); then messages: creation with its
// enqueue callback and dedup ids, listing, state changes, audience
// resolution (every Audience part, their combinations, and random
// populations checked against a brute-force evaluation in Go), fanout
// progress, pending recipients, outcomes and their counters, engagement,
// and the same app isolation for every message method. A backend's own test calls Run
// with a function that opens an empty store; the suite then runs
// unchanged against SQLite and PostgreSQL.
//
// Where store.Store leaves a behaviour open the suite pins the choice
// every backend must make, so that the registry sees the same behaviour
// on both:
//
//   - UpsertSubscriber issues a random RegistrationID when the caller
//     leaves it empty, and stamps zero CreatedAt, UpdatedAt and
//     LastActiveAt with the store's clock (non-zero ones are kept).
//   - When an upsert updates an existing row, empty strings and byte
//     slices keep the stored value (a re-registration without an alias
//     does not unbind it); LastActiveAt and LastClickedAt never move back.
//   - UpdateSubscriber applies TagChange.Remove before Add, so a tag named
//     in both ends up set.
//   - A subscriber for an app that does not exist is store.ErrNotFound; a
//     RegistrationID already used (by any app) is store.ErrConflict.
//   - DeleteTag and UnbindAlias of a value nobody has return 0, not an
//     error.
//   - Empty credentials are "none": they never clash and never match.
//     CredEngageLabSecret is no lookup key: AppByCredential refuses it
//     with an error that is not ErrNotFound.
//   - SubscriberUpdate sets LastActiveAt and LastClickedAt as given (they
//     may move back); a zero LastClickedAt is "never".
//   - Messages: see store.Messages; the suite pins that a message of
//     another app is ErrNotFound for every method and runs no callback,
//     that outcomes already final are never counted again, and that a
//     refused SetMessageState returns the message as it is.
//
// To show that a callback's *sql.Tx is the store's own transaction, the
// suite writes marks to a scratch table, storetest_probe, from inside
// callbacks, with SQL that SQLite and PostgreSQL both accept, and counts
// the committed marks from a later callback.
//
// Times are compared at millisecond precision, the precision the backends
// store. The suite uses the real clock only to check that stamps are set.
//
// The package is only for tests; it imports testing.
package storetest
