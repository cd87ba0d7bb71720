// Package engagelab serves EngageLab MTPush's Push API v4 (POST /v4/push)
// and a thin reading of its tag/alias device API (/v4/devices, /v4/tags,
// /v4/aliases), so that a site written against EngageLab switches to
// Herald by changing its base URL and credentials only.
//
// Requests authenticate with HTTP Basic AppKey:MasterSecret (the app's
// EngageLab credentials, apps.Service.ByEngageLab). Answers have
// EngageLab's shapes: {"request_id","msg_id"} on success and
// {"code":N,"message":"…"} on failure, with the codes and HTTP statuses of
// the contract's table (errors.go). The request is decoded strictly: an
// unknown field anywhere is 21015, a wrong type 21016, a missing one 21002.
//
// The adapter only translates. Validation of what Herald itself limits,
// deduplication (options.cid), spreading (big_push_duration), per-language
// content and delivery live in send, registry and delivery. What this
// package adds is EngageLab's own: its field names and codes, the 500
// requests-per-second limit per AppKey (an in-memory token bucket per
// process), and override_msg_id, which names an earlier message by the id
// this API returned: every message sent here is tagged "el-<msg_id>"
// (send.Request.TagPrefix) so that a later one can replace it.
//
// docs/api.md describes every decision this package takes where the
// contract is silent. A Handler is safe for concurrent use.
package engagelab
