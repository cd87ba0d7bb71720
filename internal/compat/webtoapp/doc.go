// Package webtoapp serves a webtoapp.design-style send: the site stores
// the token getNotificationToken() gave each of its users' app instances,
// and later sends to those tokens with the app's API key in the query
// string (seed 000, which names no endpoint or fields; this package's are
// Herald's design, documented in docs/api.md):
//
//	POST /api/webtoapp/v1/send?api_key=<webtoapp api key>
//	{"tokens":["r_…"],"title":"…","body":"…","url":"…","icon":"…","image":"…","data":{…}}
//	→ 200 {"id":"<message id>","count":N,"unknown_tokens":[…]}
//
// A token is the registration id Herald issued the device. Tokens that
// match no device of the app (stale: the app was reinstalled, its data
// cleared) are listed back so that the site can forget them; when none
// matches the answer is 404. Errors have Herald's shape,
// {"error":{"code","message","field"}} (internal/api).
//
// The key travels in the URL as the seed says, so it must never reach a
// log: the server's request log records the path only, and nothing here
// logs the URL. Safe for concurrent use.
package webtoapp
