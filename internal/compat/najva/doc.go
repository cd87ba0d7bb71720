// Package najva serves Najva's server-side API (seed 004) so that a site
// written against app.najva.com switches to Herald by changing its base URL
// and credentials only:
//
//	POST /api/v1/notifications/                  send to the app's subscribers, segments included/excluded
//	POST /notification/api/v1/notifications/     send to given subscriber tokens
//	GET  /api/v1/websites/<api_key>/segments/    the app's saved segments
//	GET  /api/v1/one-signals/                    linked OneSignal accounts (always none)
//
// Every call carries "Authorization: Token <token>", the app's Najva token
// (apps.Service.ByNajvaToken); the app's Najva api_key (a uuid) goes in the
// body of both sends and in the path of the segments call, and must be the
// token's app's own.
//
// Answers have Najva's shapes: {"detail":"…"} for the listed 200, 401, 403
// and 404 answers, {"result","count","details"} for the token send's 201,
// and {"result":"Passed data is invalid.","details":{"<field>":["…"]}}
// for bad bodies, one entry per bad field, all of them at once (Najva is a
// Django REST framework service; the missing-field message is the seed's
// own Persian text). docs/api.md lists every decision taken where the seed
// is silent: the statuses of the token send's auth failures, what a past
// sent_time does, how onclick_action kinds become click targets, and what
// one_signal_enabled and one_signal_accounts do in a self-hosted Herald.
//
// The adapter only translates: validation of what Herald itself limits
// (URLs, payload size, scheduling range), targeting and delivery live in
// send, registry and delivery. A Handler is safe for concurrent use.
package najva
