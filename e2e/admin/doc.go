// Package admin is the end-to-end test of Herald's admin UI: a real
// headless Chromium, driven by Playwright, logs in, creates an app, looks
// its subscribers up, composes a message to a tag with the live audience
// count, and watches the message's counters and chart fill in as
// internal/testpush answers the pushes. Herald runs in-process
// (internal/cli), with the operator password set by `herald admin
// set-password`; subscribers are registered through /v1 from the Go side
// with the API key the UI showed.
//
// The browser is Debian's chromium (/usr/bin/chromium, or $HERALD_CHROMIUM)
// and the driver is the npm package playwright-core pinned in
// package.json, installed by scripts/install-test-deps (npm ci, never a
// browser download). Without either the test fails rather than skips.
// scripts/test runs it in a network namespace with loopback only.
//
// Every page is photographed on the way; `go test ./e2e/admin
// -update-screenshots` writes the pictures to docs/screenshots, which the
// README shows. Otherwise they go to a temporary directory and are only
// checked to be PNG images.
package admin
