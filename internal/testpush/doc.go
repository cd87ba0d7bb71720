// Package testpush is a real RFC 8030 push service for Herald's tests and
// benchmarks. It runs on loopback, hands out subscriptions, receives
// Herald's push requests and checks them the way a production push service
// would, and more strictly: it never fakes success. Every push it answers
// with 201 Created has had its VAPID JWT verified (RFC 8292) and, per
// [VerifyMode], its aes128gcm payload decrypted (RFC 8291).
//
// # Two kinds of subscription
//
// [Server.NewSubscription] plays the browser itself: testpush generates the
// receiver's ECDH key pair and auth secret, keeps the private half, and
// decrypts every payload posted to the endpoint, so a test can read back
// what Herald sent with [Server.Received]. [Server.NewSubscriptions] makes
// many at once for benchmarks; they share one key pair and auth secret
// (generating a million P-256 keys would take longer than the benchmark),
// but each has its own endpoint and its own delivery counter.
//
// A real Firefox can also use testpush as its push service: point the
// dom.push.serverURL pref at ws://127.0.0.1:PORT/ (see
// shared/interop/firefox-push.md). testpush then speaks Mozilla's push
// protocol on "/" (WebSocket subprotocol "push-notification"): hello,
// register, unregister, ack, ping. A browser subscription's private key
// lives in Firefox, so testpush cannot decrypt its payloads; it still checks
// every header and the VAPID JWT, checks the body's aes128gcm framing, and
// forwards the raw body to the browser, which decrypts it. Pushes that
// arrive while the browser is offline are queued (bounded by
// [Options.QueueLimit]) and delivered when it says hello again, until it
// acks them; a message whose TTL has run out is dropped, as RFC 8030 says.
// firefox_test.go (build tag "firefox") drives a real headless Firefox
// through subscribe, two pushes, and a push sent while it was closed.
//
// # What a push must look like
//
// POST /wpush/{id} must carry a TTL header (400 without it),
// Content-Encoding: aes128gcm (415 otherwise), a body of at most 4096 bytes
// (413), a valid Urgency and Topic if present (400), and an Authorization
// header "vapid t=<jwt>, k=<key>" whose ES256 JWT verifies against k, whose
// aud is exactly this server's origin (scheme://host:port of its base URL),
// whose exp is in the future and at most 24 hours ahead, and whose sub is a
// mailto: or https: URI. A missing or invalid token is 401; a valid token
// whose k differs from the application server key the subscription was
// created with is 403, as FCM and autopush answer. An unknown subscription
// is 404, a removed or unregistered one is 410. Every rejection has a JSON
// body {"error":{"code":...,"message":...}} whose code names the reason,
// and is counted under that code in [Stats.Rejected].
//
// The JWT is checked with github.com/golang-jwt/jwt/v5 on purpose: an
// implementation independent of the signer in internal/webpush, so a bug
// there cannot verify itself.
//
// # Failure injection
//
// [Server.Fail] makes one endpoint misbehave and [Server.FailAll] makes all
// of them do so: answer a given status (404, 410, 413, 429 or 503 with
// Retry-After, 500, ...), answer slowly, or fail the next K requests and
// then recover. [Options.FailRate] fails a deterministic fraction of all
// pushes, for benchmarks of retry paths. Injected failures are applied
// before the subscription is even looked up, like a load balancer in front
// of a real service, and are counted as "injected".
//
// # Benchmarks and memory
//
// With [Options.Record] false, nothing per message is kept: only counters
// and one 32-bit delivery count per subscription, so duplicates are still
// visible through [Server.Deliveries] after a million pushes. With
// [VerifySample], headers and the JWT are still checked on every push but
// only one payload in [Options.SampleEvery] is decrypted, and an
// Authorization header that verified once (same token, same key) is
// remembered until its token expires rather than parsed and verified
// again: a sender reuses one token for hours, and verifying ES256 on every
// push would make testpush the bottleneck. The subscription's key and the
// expiry are still checked on every push. The cache holds at most a few
// thousand headers and is emptied when full.
//
// # Inspection
//
// GET /_testpush/stats answers [Stats] as JSON, including how many browser
// sockets said hello (a test page should wait for that before calling
// subscribe(), or Firefox drops the request). GET /_testpush/received/{id}
// answers one subscription's delivery count and recorded messages. Both
// allow any origin, so a test page served elsewhere can poll them.
//
// # Serving
//
// [Start] listens on 127.0.0.1:0 (or [Options.Addr], which must be a
// loopback address) and serves HTTP/1.1 and HTTP/2: cleartext HTTP/2 with
// prior knowledge (h2c) by default, or TLS with a fresh self-signed
// certificate when [Options.TLS] is set ([Server.CertPool] trusts it).
// [Server.Client] and [Server.HTTP1Client] return clients for either
// protocol.
//
// HTTP/2 (h2 after ALPN, or h2c with prior knowledge) is served by
// testpush's own lean server unless [Options.StdHTTP2] asks for net/http's:
// one goroutine per connection reads frames (golang.org/x/net/http2's
// Framer and hpack), answers each POST /wpush/{id} inline as soon as its
// body is complete, and flushes the answers once no further frame is
// buffered, so a burst of pushes costs one TLS record and one write. It
// costs 1.5–3 µs of CPU per push under VerifySample where net/http's
// server costs 17–22 (BenchmarkH2Push; herald bench webpush), and in a
// benchmark that CPU is taken from Herald. Pushes and everything
// else go through the same push core, so they are checked, counted,
// failed on demand and sampled alike: a push held by an injected delay is
// answered on a goroutine of its own, and any other method or path is
// handed to the same http.ServeMux (with its body read first, at most
// 1 MiB). It speaks the protocol strictly (SETTINGS, flow control both
// ways, PING, RST_STREAM, CONTINUATION, PROTOCOL_ERROR and
// FRAME_SIZE_ERROR on malformed input) but has no server push, no
// priorities and no idle timeout. Close sends each connection a GOAWAY and
// answers the requests already taken before closing it. To mount the handler elsewhere, use [New] with
// [Options.BaseURL] set to where it will be served, e.g. with an unstarted
// httptest.Server:
//
//	ts := httptest.NewUnstartedServer(nil)
//	srv := testpush.New(testpush.Options{BaseURL: "http://" + ts.Listener.Addr().String()})
//	ts.Config.Handler = srv.Handler()
//	ts.Start()
//
// # Limits
//
// One Server holds at most [MaxSubscriptions] subscriptions. With
// [Options.Record] set, every accepted message is kept until the Server is
// garbage: record only in tests. Messages are not deleted through their
// Location URL and receipts (RFC 8030 section 5.1) are not offered. Only
// aes128gcm is accepted; the legacy aesgcm coding is refused.
//
// # Concurrency
//
// A Server and all its methods are safe for concurrent use. The push path
// takes no server-wide lock: subscriptions live in a lock-free table
// indexed by their numeric id, counters are atomic, the JWT cache is a
// sync.Map, and recording takes only the subscription's own lock. Browser
// sockets take one lock per browser; a lean HTTP/2 connection takes its
// own write lock. [Server.WaitCount] blocks on a channel,
// not a poll.
package testpush
