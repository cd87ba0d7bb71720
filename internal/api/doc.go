// Package api serves Herald's own REST API under /v1: an app's subscribers,
// tags and aliases (and, as later packages land, its messages, segments and
// stats). Every request carries the app's API key as a Bearer token and acts
// on that app's data only.
//
// Errors are JSON, {"error":{"code","message","field"}}, with codes from the
// catalogue in errors.go; a 5xx is logged with its cause and the client sees
// only its code. Handlers are safe for concurrent use.
package api
