// Package apnstest is a fake APNs provider API for Herald's tests and
// benchmarks. [Start] serves it on 127.0.0.1 with a fresh self-signed
// certificate over TLS and HTTP/2; [Server.URL] and [Server.TLSConfig]
// (or [Server.CertPool], [Server.Client]) let a real apns.Client talk to it.
//
// # What a request must look like
//
// It checks every request the way APNs does, and a little more strictly,
// and answers refusals as APNs does: a status and {"reason":"..."}.
//
//   - HTTP/2 only: an HTTP/1.x request is answered 505 HTTP2Required (a
//     reason of the fake's own; APNs would not get that far).
//   - POST /3/device/{token}, the token 64 or more hex digits
//     (404 BadPath, 405 MethodNotAllowed, 400 BadDeviceToken).
//   - authorization: bearer <jwt>, an ES256 JWT whose kid is a key given to
//     [Server.RegisterKey] or [Server.NewKey], whose signature verifies with
//     that key, whose iss is the key's team and whose iat is neither in the
//     future nor over an hour old (403 MissingProviderToken,
//     InvalidProviderToken, ExpiredProviderToken). The JWT is verified by
//     hand with crypto/ecdsa, independently of the golang-jwt library the
//     client signs with.
//   - apns-topic one of the team's topics (400 MissingTopic,
//     TopicDisallowed), and the token's topic if [Server.BindToken] gave
//     it one (400 DeviceTokenNotForTopic).
//   - apns-push-type present and known (400 InvalidPushType), apns-priority
//     1, 5 or 10 and not 10 for a background push (400 BadPriority),
//     apns-expiration a Unix time (400 BadExpirationDate), apns-collapse-id
//     at most 64 bytes (400 BadCollapseId), apns-id a UUID (400
//     BadMessageId), no apns header twice (400 DuplicateHeaders).
//   - a body of 1 to 4096 bytes (400 PayloadEmpty, 413 PayloadTooLarge)
//     holding a JSON object with an "aps" object: an alert must show
//     something, a background push must carry content-available 1 and show
//     nothing (400 BadPayload, the fake's own reason).
//
// An accepted notification is answered 200 with an apns-id.
//
// # Provider tokens over time
//
// [Server.ExpireTokensIssuedBefore] makes a key's older tokens expire now,
// to test a client's recovery from ExpiredProviderToken without waiting an
// hour; [Options.Now] lets client and fake share a clock that a test moves.
// [Server.Tokens] counts the distinct tokens a key used, and
// [Options.StrictTokenUpdates] refuses a key that changes tokens within 20
// minutes (429 TooManyProviderTokenUpdates), which catches clients that
// re-sign too often.
//
// # Failure injection
//
// [Server.Fail] makes one device token misbehave and [Server.FailAll]
// every token: [Unregistered] (410 with a timestamp), [BadDeviceToken],
// [TooManyRequests] and [ServiceUnavailable] (with Retry-After),
// [InternalServerError], any [Reject], [Slow], and [FailNext] for the next
// K requests only. Injected failures are applied after the provider token
// and topic are checked, as APNs checks those first.
//
// # Inspection and memory
//
// [Server.Count], [Server.WaitCount] (which blocks on a channel, never
// sleeps) and [Server.Stats] work in every mode. With [Options.Record] each
// accepted notification is kept with its headers, body and protocol for
// [Server.Notifications] and [Server.Received]; without it nothing per
// notification is kept, and with [Options.CacheTokens] each token's
// signature is verified once, for benchmarks.
//
// # Concurrency
//
// A Server and all its methods are safe for concurrent use.
package apnstest
