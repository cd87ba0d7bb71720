// Package registry registers browsers and app installs for an app: Web Push
// subscriptions, FCM tokens and APNs device tokens, with their tags, alias
// (the site's user id: one user, many devices), language, time zone and last
// activity. It validates every field, names the field in its errors, and
// answers each registration with an opaque registration_id.
//
// Registering the same endpoint or token again updates the existing row and
// keeps its registration_id. Every call is scoped to one app: an id of
// another app is simply not found. A Service is safe for concurrent use.
package registry
