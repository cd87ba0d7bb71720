// Package apns delivers notifications to Apple devices through the APNs
// provider API: HTTP/2 over TLS to api.push.apple.com (or the sandbox),
// authenticated with a provider token, an ES256 JWT signed with the team's
// .p8 key.
//
// # Sending
//
// [ParseKey] reads the .p8 file; [Credentials] hold it with the key id,
// team id, topic (bundle id) and environment. A [Client] sends for one set
// of credentials:
//
//	key, err := apns.ParseKey(p8)
//	c, err := apns.NewClient(apns.Credentials{
//		KeyID: "ABC123DEFG", TeamID: "DEF123GHIJ", Topic: "com.example.app",
//		Key: key, Production: true,
//	}, apns.Options{})
//	res, err := c.Send(ctx, apns.Notification{
//		Token: deviceToken, Title: "Hi", Body: "There", TTL: time.Hour,
//	})
//
// [Result.Outcome] says what to do next: [Gone] means prune the token (410
// Unregistered, or 400 BadDeviceToken or DeviceTokenNotForTopic), [Retry]
// means try later (429, 5xx, unreachable; after [Result.RetryAfter] when
// APNs gave one), [Failed] means this notification will not go as it is
// ([Result.Reason] is Apple's reason: BadTopic, InvalidProviderToken,
// PayloadTooLarge, ...). Notifications APNs would refuse (a body over
// [MaxPayload], a collapse id over 64 bytes, a token that is not hex) are
// refused before anything is sent.
//
// A notification with a title or body is an alert (apns-push-type alert,
// priority 10 unless [Notification.Priority] says 5). One with neither is
// a background push: aps {"content-available":1}, priority 5. TTL becomes
// apns-expiration; a zero TTL is "now or never".
//
// [Pusher] is the delivery engine's side: it serves many Herald apps,
// finds each app's credentials through a [CredentialsFunc], keeps one
// Client per app (rebuilt when the credentials change), bounds each app's
// concurrency and answers in the engine's words (sent, failed, pruned,
// retrying) without importing it.
//
// # Provider tokens
//
// A Client signs one token and shares it with every goroutine; it signs a
// new one when the current one is [TokenRefresh] (50 minutes) old. Apple
// refuses tokens over an hour old and throttles providers that change
// tokens more often than every 20 minutes. When APNs answers 403
// ExpiredProviderToken, the Client drops that token, signs one new token
// however many sends saw the answer, and sends the notification once more;
// a token under a minute old is not re-signed, since then the clocks
// disagree and a new token would not help. Token ages are measured on the
// wall clock, so a machine that slept does not keep a stale token.
//
// Tokens are signed with github.com/golang-jwt/jwt/v5. The fake in
// [github.com/heraldpush/herald/internal/apns/apnstest] verifies them by
// hand with crypto/ecdsa, so the two do not share a mistake.
//
// # Limits
//
// Only token-based authentication is supported, not certificates; only
// alert and background pushes, not VoIP, complication, Live Activity or
// location pushes. Badges, subtitles, thread ids, interruption levels and
// localized alert keys are not sent. Pruning on BadDeviceToken trusts the
// configured environment: an app whose Production flag is wrong gets
// BadDeviceToken for every device, and would lose them all.
//
// # Concurrency
//
// [Client] and [Pusher] are safe for concurrent use and meant to be shared.
// The token cache is read with one atomic load; signing is serialised, so
// each token is signed once. [Notification] and [Credentials] are values
// nothing here mutates.
package apns
