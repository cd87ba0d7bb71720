// Package fcm sends messages to Android, iOS and web apps through Firebase
// Cloud Messaging's HTTP v1 API.
//
// # Credentials
//
// FCM authenticates a sender with a Google service account: its JSON key
// file ([ParseServiceAccount]) holds the project id, an RSA key and the
// token endpoint. A [Client] signs an RFC 7523 JWT-bearer assertion with
// that key (golang.org/x/oauth2/jwt), trades it at the account's token_uri
// for an access token with the firebase.messaging scope, and caches the
// token until [DefaultTokenEarlyExpiry] before it expires. The cache is
// oauth2.ReuseTokenSource: however many goroutines send at once, one of
// them fetches and the rest wait for its token. When FCM answers 401 the
// token is dropped (once, however many sends saw it refused) and the
// message is sent again with a new one. A failed fetch is remembered for
// a few seconds, so a dead token endpoint is not asked again by every
// queued worker in turn.
//
// A service account is a secret: [ServiceAccount.LogValue], String and
// GoString leave the private key out.
//
// # Sending
//
// One Client per service account (per Firebase project), shared by all
// goroutines:
//
//	sa, err := fcm.ParseServiceAccount(keyFile)
//	c := fcm.NewClient(sa, fcm.Options{})
//	res, err := c.Send(ctx, fcm.Message{
//		Token:       deviceToken,
//		Title:       "Order shipped",
//		Body:        "It will arrive on Tuesday",
//		URL:         "https://shop.example/orders/42",
//		TTL:         time.Hour,
//		Priority:    fcm.PriorityFromUrgency("high"),
//		CollapseKey: "order-42",
//	})
//
// A [Message] with a title, body or image is a notification message; one
// without is data-only, delivered to the app without being shown. TTL,
// priority and collapse key are set for Android and repeated in the APNs
// and Web Push headers FCM forwards to those services.
//
// [Result.Outcome] says what to do next: [Gone] (UNREGISTERED, or FCM's
// NOT_FOUND) means prune the token; [Retry] (QUOTA_EXCEEDED, UNAVAILABLE,
// INTERNAL, other 5xx, no answer) means try later, after
// [Result.RetryAfter] when FCM gave one; [Failed] (INVALID_ARGUMENT,
// SENDER_ID_MISMATCH, THIRD_PARTY_AUTH_ERROR, other 4xx, a refused
// account) means do not retry. [Result.Reason] is a short, stable string
// safe to count by.
//
// [Pusher] serves many Herald apps, each with its own account, found
// through a [Credentials] function: it keeps one Client per app (so one
// token per app), looks the account up again every
// [PusherOptions.CredentialsTTL] and builds a new Client only when it
// changed. [Pusher.PushToken] answers in the delivery engine's terms
// ("sent", "failed", "pruned", "retrying"), without this package
// importing it. [MessageFromPayload] turns the payload Herald builds for
// its service worker into a Message.
//
// # Testing
//
// Package fcmtest is a fake FCM and token endpoint on 127.0.0.1 that
// verifies assertions and access tokens and fails on demand.
//
// # Limits
//
// Only sends to device tokens: no topics, conditions or batch sends
// (FCM removed the batch endpoint). A data-only message for iOS is sent
// without content-available, so iOS delivers it only while the app runs.
// Token fetches are bounded by [Options.Timeout], not by the sender's
// context: oauth2 fetches on a background context, and a fetch serves
// every waiting sender. Token expiry is judged on the real clock.
//
// # Concurrency
//
// ServiceAccount and Message are values. Client and Pusher are safe for
// concurrent use; Pusher bounds requests in flight to FCM with
// [PusherOptions.MaxConcurrent].
package fcm
