// Package metrics exposes Herald's Prometheus metrics: pushes by channel
// and outcome, push and end-to-end latency, retries, prunes, job queue
// depth and HTTP requests. It uses its own registry (never the global
// default one), served at /metrics.
//
// Metrics is safe for concurrent use; a nil *Metrics records nothing, so
// packages can take one optionally.
package metrics
