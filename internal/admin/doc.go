// Package admin is Herald's web UI for the operator, at /admin: apps and
// their credentials, subscribers, composing and sending messages, and each
// message's delivery as it happens.
//
// Pages are rendered on the server with html/template; the CSS and a few
// lines of JavaScript (the live audience count and the live message
// counters) are embedded and served under content-hashed names. Every page
// works without JavaScript except those two live updates. The delivery
// chart is an SVG drawn on the server from the store's per-second
// timeline.
//
// # Security
//
// There is one operator, with one password. Its argon2id hash comes from
// the file `herald admin set-password` writes into the data directory
// (re-read at each login, so a change takes effect without a restart), or
// from a password given at start-up (--admin-password and its environment
// variables), hashed in memory. With neither, the UI is locked and says
// how to set one.
//
// A login starts a session: a 256-bit random id in an HttpOnly,
// SameSite=Lax cookie scoped to /admin, Secure when the request came over
// TLS (directly or, by X-Forwarded-Proto, through a proxy). Sessions end
// after an idle period, after a maximum lifetime, on logout, and when the
// password changes. Every POST carries the session's CSRF token (the login
// form a double-submit token of its own) and cross-origin POSTs are refused
// outright (net/http's CrossOriginProtection). Failed logins are limited
// per client address and in total, and password checks run at most two at
// a time, so guessing is slow and cannot exhaust memory. Pages are sent
// with a strict Content-Security-Policy and are never cached; credentials
// are shown once, in the answer to the request that made them.
//
// # Limits
//
// Sessions live in the process's memory: a restart logs the operator out,
// and several `herald serve` behind one load balancer need sticky sessions.
// Behind a reverse proxy every client has the proxy's address, so the
// per-address login limit becomes a shared one. The operator sees and acts
// on every app; there are no per-app operators.
//
// # Concurrency
//
// A UI is safe for concurrent use once built by New.
package admin
