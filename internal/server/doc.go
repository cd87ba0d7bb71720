// Package server assembles Herald's HTTP surface: it mounts the /v1 API and
// the compat adapters on one mux, adds /healthz and /readyz, wraps
// everything in request logging and panic recovery, and runs the listener
// with timeouts and a graceful shutdown.
//
// It owns no business logic; handlers come in through Routes.
package server
