// Package webpush sends Web Push messages: it encrypts payloads with the
// aes128gcm content coding (RFC 8291 over RFC 8188), signs VAPID
// authorization headers (RFC 8292) and builds, sends and classifies push
// requests (RFC 8030).
//
// # Sending
//
// A sender makes one [Signer] per VAPID key and shares it across all
// goroutines, then calls [Send] (or [NewRequest] and [Classify] when it
// wants to own the HTTP round trip) once per recipient:
//
//	signer := webpush.NewSigner(key, "mailto:ops@example.com", time.Now)
//	res, err := webpush.Send(ctx, client, sub, webpush.Message{
//		Payload: body,
//		TTL:     time.Hour,
//		Urgency: webpush.UrgencyNormal,
//	}, signer)
//
// [Result.Outcome] says what to do next: [Gone] means the subscription is
// dead and should be pruned, [RateLimited] and [Retry] mean try again
// later (after [Result.RetryAfter] when the push service gave one),
// [TooLarge] and [Failed] mean do not retry this message as it is.
//
// # The push-service side
//
// [Decrypt], [ParseVAPIDHeader], [ParseVAPIDLegacy] and [VerifyVAPIDToken]
// do what a browser and a push service do with a message. Herald uses
// them in tests: fake push services on 127.0.0.1 decrypt every payload
// and verify every token rather than trusting that a request looks right.
// The package's own tests also hold it to RFC 8291's worked example and
// to independent implementations (npm http_ece, web-push and jose, run by
// node from interop/; install them with scripts/install-test-deps).
//
// # Limits
//
// Encryption always produces a single record, as RFC 8291 requires, so a
// body is at most [MaxPayload] (4096) bytes and a payload at most
// [MaxPlaintext] (3993) bytes; a larger one is refused with
// [ErrPayloadTooLarge] before any cryptography runs. [Decrypt] (used by
// tests and fake push services) accepts any number of records.
//
// Only the aes128gcm coding is produced. The legacy aesgcm coding is not
// supported in either direction; [ParseVAPIDLegacy] only reads the
// legacy "WebPush" authorization form.
//
// VAPID tokens are valid for 12 hours ([TokenLifetime]) and are re-signed
// once they are within an hour of expiry ([TokenRefresh]). A [Signer] keeps
// one token per push-service origin, so signing costs nothing per message.
//
// # Concurrency
//
// Every function in this package is safe for concurrent use. A [Signer]
// is built to be shared: its cache takes a read lock on the hot path and
// signs under a write lock only when a token is missing or due for
// refresh. [VAPIDKey], [Keys] and [Subscription] are values that nothing
// here mutates.
package webpush
