// Package tracking lets browsers and apps report what happened to a
// notification (received, clicked) without holding any secret, and derives
// the keys that make such open endpoints safe.
//
// Two keys are derived with HKDF-SHA256 from Herald's master key (Keys):
//
//   - the event key signs each Web Push payload for its recipient: the
//     delivery engine adds "rid" (the registration id) and "sig" =
//     base64url(HMAC-SHA256(event key, app id|message id|registration id))
//     truncated to 128 bits. The service worker sends both back with its
//     report, so a report is accepted only for a message Herald actually
//     pushed to that registration of that app: nobody can inflate another
//     app's stats, or count a message for a device it was not sent to.
//   - the device key authenticates a browser's later calls about its own
//     registration (internal/sdk): device_key = base64url(HMAC-SHA256(device
//     key, app id|registration id)), handed out once at registration.
//
// Handler serves POST /sdk/v1/events: it checks the signature before it
// looks anything up (a wrong signature is 403 whether or not the message
// exists, so the endpoint is no oracle for message ids), then records the
// report once per (message, registration, kind) through the store.
//
// Limits: the keys change if the master key does, which voids every
// outstanding signature and device key. Reports are not rate-limited here.
// Keys and Handler are safe for concurrent use.
package tracking
