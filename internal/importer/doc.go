// Package importer moves an app's subscribers in and out of Herald in bulk:
// `herald import` reads another system's export (or Herald's own), and
// `herald export` writes Herald's subscribers in a form import reads back.
//
// Switching push gateways changes tokens (the backend's FCM/APNs tokens are
// not the ones a hosted service keeps), so a migration starts from the old
// service's export. Four formats are read:
//
//   - csv: Herald's plain CSV, header token,platform,tags,alias,language
//     (RFC 4180; tags separated by "|"; platform webpush, fcm or apns; a
//     Web Push row carries the PushSubscription JSON in token). An optional
//     timezone column is read too.
//   - jsonl: one JSON object a line, shaped like POST /v1/subscribers
//     ({"type"|"platform", "token" | "subscription":{endpoint,keys}, "tags",
//     "alias", "language", "timezone"}).
//   - azure: Azure Notification Hubs' bulk registration export, one XML
//     registration description a line (see azure.go for the fields).
//   - onesignal: OneSignal's subscriber CSV export (see onesignal.go).
//
// Export writes csv or jsonl, in subscriber id order, so that importing an
// export changes nothing.
//
// Rows are validated one by one with the registry's rules (the same as the
// API's, including the outbound allow-list for Web Push endpoints). A bad
// row is reported with its line number and reason and the import goes on;
// good rows are written in batches, one transaction each, by a goroutine
// that writes one batch while the next is read, validated and judged. The file is
// streamed: memory grows with the app's subscriber count (a small index of
// what is stored, about 60 bytes a subscriber, used to leave unchanged rows
// alone), never with the file's size.
//
// Re-running an import is a no-op: a row whose token is already stored with
// the same values is counted as unchanged and not written. As in the API, an
// empty value never erases a stored one: an empty alias, language or time
// zone keeps the stored value, and an empty tags cell keeps the stored tags
// (JSON lines clear them with "tags":[]). Registration ids are not carried:
// a new row gets a fresh one, an existing row keeps its own.
//
// An Importer is safe for concurrent use, but two imports into one app at
// once each judge "unchanged" against what they saw at their start.
package importer
