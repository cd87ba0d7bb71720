// Package egress decides which push-service URLs Herald may post to.
//
// Endpoints come from browsers, so an attacker can register any URL; without
// a check, Herald would post to intranet hosts on command. By default only
// https URLs on the known push services (Mozilla, Google FCM, Apple,
// Microsoft WNS) pass. The operator may widen the list with exact hosts (a
// name or an IP, optionally with a port); a widened host may use plain http,
// which is how tests reach testpush on 127.0.0.1.
//
// A Policy is immutable and safe for concurrent use.
package egress
