// Package sdk serves Herald's browser SDK and the open endpoints it calls.
//
// The JavaScript is two hand-written files embedded in the binary:
// herald.js (the page's SDK: subscribe with the guide's six steps, tags,
// alias, language and time zone setters, getNotificationToken and
// executeWhenAppReady with a native-app bridge), kept as parts by
// responsibility in herald/ (1-helpers.js: constants, errors and pure
// helpers; 2-sdk.js: the Herald object) and served concatenated in name
// order, and herald-sw.js (the
// service worker: show, hand data messages to pages, report received and
// clicked, resubscribe). Each is served at /sdk/<name> (revalidated with an
// ETag) and at a content-hashed name /sdk/<name-without-.js>.<hash>.js
// (cached for a year). docs/sdk.md documents both.
//
// The endpoints need no secret, because browsers cannot keep one; the app
// id (public) names the app:
//
//	GET    /sdk/config?app=ID              the app's VAPID key and channels
//	POST   /sdk/v1/subscribers?app=ID      register; answers registration_id and device_key
//	PATCH  /sdk/v1/subscribers/{id}?app=ID change tags, alias, language, time zone
//	DELETE /sdk/v1/subscribers/{id}?app=ID unsubscribe
//
// PATCH and DELETE take the device key (header X-Herald-Device-Key), an
// HMAC of the registration id under a key derived from the master key
// (internal/tracking), so a browser can change its own registration and no
// other. Every endpoint answers CORS for any origin, since the site's
// origin is not Herald's; no cookies are involved.
//
// Limits: registration is open to anyone who knows the app id, as with the
// guide's /api/subscription; an alias set from a browser is whatever the
// page says (sites that need it vouched for set it with the API key, PATCH
// /v1/subscribers/{id}). Nothing here is rate-limited. A Handler is safe
// for concurrent use.
package sdk
