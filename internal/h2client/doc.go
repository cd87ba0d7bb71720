// Package h2client is a lean HTTP/2 client for one push-service origin: an
// http.RoundTripper that does what Web Push needs — a POST with a small
// body, an answer with a status, headers and a small body — for a few µs
// of CPU per request.
//
// A Transport keeps one TLS connection (ALPN "h2") to its origin and opens
// another only when the server's MAX_CONCURRENT_STREAMS is reached or a
// connection's stream ids run out, up to Options.MaxConns. Each connection
// has two goroutines:
//
//   - a writer that takes every queued request and writes its HEADERS
//     (and DATA, within the flow-control windows) and only then flushes, so
//     a burst of pushes costs one TLS record and one write(2), not one per
//     request;
//   - a reader that decodes the answers and hands each to its waiting
//     caller, with the body buffered in memory up to
//     Options.MaxResponseBody (the stream is reset past it).
//
// Header compression indexes what repeats between pushes (method, scheme,
// authority, content-type, content-encoding, TTL, urgency and the VAPID
// Authorization value, which is the same for minutes per app) and sends
// :path and content-length as never-indexed literals, so the unique path
// of every subscription does not churn the dynamic table.
//
// Protocol hygiene: client preface and SETTINGS, SETTINGS acks, the
// server's MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE,
// HEADER_TABLE_SIZE and MAX_HEADER_LIST_SIZE, WINDOW_UPDATE for received
// data, stream and connection flow control for request bodies, PING acks,
// GOAWAY, RST_STREAM, CONTINUATION frames, RST_STREAM(CANCEL) when a
// caller's context ends (the connection stays in use, but is sent a PING
// and closed if nothing arrives within Options.PingTimeout: a peer gone
// without a word), idle connections closed after Options.IdleTimeout. A
// connection error (protocol, flow control) closes the connection without
// a GOAWAY.
//
// A request the server provably did not process (refused stream, a stream
// above a GOAWAY's last stream id, a connection lost before the request
// was written) is sent again on another connection, at most twice; if that
// fails too the error wraps ErrUnprocessed. Other errors may mean the
// server got the request.
//
// If the origin does not negotiate h2, the Transport falls back to a
// standard HTTP/1.1 http.Transport for its lifetime.
//
// Limits: https only, no proxies, no server push (disabled in SETTINGS),
// no request trailers, no Expect: 100-continue, no compression; request
// bodies are read into memory before they are sent. Errors name the origin
// but never the request's path, which for Web Push is a subscriber's
// capability.
//
// A Transport is safe for concurrent use.
package h2client
