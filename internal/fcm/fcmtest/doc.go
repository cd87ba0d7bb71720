// Package fcmtest is a fake Firebase Cloud Messaging for Herald's tests
// and benchmarks: the HTTP v1 send endpoint and the OAuth 2.0 token
// endpoint that service accounts use, served on 127.0.0.1 by [Start].
//
// # What it checks
//
// The token endpoint ([TokenPath]) takes the RFC 7523 JWT-bearer grant. It
// verifies the assertion with github.com/golang-jwt/jwt/v5, independently
// of the golang.org/x/oauth2 code that signs it: the RS256 signature
// against the public key of the account the Server made, iss (the
// account's client_email), kid when present, aud exactly the token_uri,
// the firebase.messaging scope, and iat and exp (present, current within
// 30 seconds, at most an hour apart). It refuses anything else with 400
// and an RFC 6749 error ("invalid_grant", "unsupported_grant_type"), and
// otherwise issues an opaque access token that expires after
// [Options.TokenLifetime].
//
// POST /v1/projects/{project}/messages:send checks the bearer token on
// every request (401 UNAUTHENTICATED when missing, unknown, expired or
// expired early with [Server.ExpireTokens]), that the project is the
// token's account's (403 PERMISSION_DENIED), the Content-Type, and the
// body: decoded strictly (an unknown field is 400 INVALID_ARGUMENT, as at
// FCM), exactly one target, which must be a token, no reserved data keys,
// at most [MaxPayload] bytes of data and notification, a valid Android
// priority and ttl (at most 28 days), valid Web Push headers and an https
// fcm_options.link, valid APNs headers. Accepted messages are answered
// 200 {"name":"projects/P/messages/0:N"}. Errors carry Google's error body
// with FCM's error code in details, as FCM sends them.
//
// # Failure injection
//
// [Server.Fail] makes one device token's sends fail ([Unregistered],
// [InvalidArgument], [SenderIDMismatch], [ThirdPartyAuthError],
// [QuotaExceeded] and [Unavailable] with Retry-After, [Internal]), answer
// slowly ([Slow]), or fail only the next K ([FailNext]). [Server.FailAll]
// applies a behaviour to every send before its token is checked, like a
// load balancer; [Server.FailTokenEndpoint] does it to the token endpoint.
// A [Behavior.Gate] holds requests until the test closes it, so a test
// can have many in flight at once without sleeping; [Server.WaitRequests],
// [Server.WaitTokenRequests] and [Server.WaitCount] block until a count is
// reached.
//
// # Benchmarks and memory
//
// Without [Options.Record] nothing per message is kept but one counter
// per device token ([Server.Deliveries]), so a benchmark can send millions
// of messages. With it, [Server.Messages] and [Server.Received] return
// every accepted message, decoded and raw.
//
// # Limits
//
// Sends to topics and conditions are refused. Only the message fields
// Herald uses and their common neighbours are known; a real but unknown
// field is refused as FCM refuses an unknown one. Payload size is
// approximated by the bytes of data and notification fields. No TLS:
// HTTP/1.1 and cleartext HTTP/2 ([Server.Client]).
//
// # Concurrency
//
// A Server and all its methods are safe for concurrent use. The send path
// takes no server-wide lock unless Record is on.
package fcmtest
