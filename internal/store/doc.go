// Package store is Herald's persistence boundary: one interface, Store, that
// every backend implements (store/sqlite now, store/postgres for several
// nodes), and the record types that cross it.
//
// The store knows nothing of HTTP, credentials in clear text or delivery
// policy: it keeps apps, subscribers and their tags, keyed by app everywhere,
// so that no query can reach another app's rows. Secrets arrive already
// hashed or encrypted. Every backend must pass the contract suite in
// store/storetest unchanged.
//
// Implementations are safe for concurrent use. Methods return ErrNotFound
// when a named row does not exist (never a zero value and a nil error) and
// ErrConflict when a unique value is already taken.
package store
