// Package jsonreq decodes JSON request bodies strictly and explains what is
// wrong with them in terms a caller can act on: which field, what was
// expected, what was found.
//
// It knows nothing about response shapes: Herald's API and each compat
// adapter render a *Problem in their own format. Safe for concurrent use.
package jsonreq
