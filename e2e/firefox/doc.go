// Package firefox is Herald's end-to-end browser test: a real headless
// Firefox subscribes to push with an app's VAPID key, the subscription is
// registered with Herald, Herald sends a message through its API, and the
// page's service worker receives, decrypts and shows it.
//
// The push service is internal/testpush on loopback: Firefox's push client
// is pointed at it with the dom.push.serverURL pref (see
// shared/interop/firefox-push.md), so nothing leaves the machine. Herald
// runs in-process (internal/cli), as `herald serve` would.
//
// The package holds only tests. It needs firefox-esr on PATH
// (scripts/install-test-deps installs it) and fails, rather than skips,
// without it. scripts/test runs it in a network namespace with loopback
// only, so Firefox's calls home fail at once; it also passes under a plain
// `go test ./e2e/...` on a machine with no route out. README.md says more.
package firefox
