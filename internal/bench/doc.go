// Package bench measures Herald end to end in one process, for
// `herald bench`.
//
// [WebPush] starts internal/testpush on 127.0.0.1 (TLS, HTTP/1.1 or
// HTTP/2, recording nothing but counts per endpoint), builds the pieces
// `herald serve` wires — the SQLite store in a temporary data directory,
// apps, the delivery engine with delivery.NewWebPush, send.Service — and
// inserts N testpush subscriptions through store.UpsertSubscribers in
// batches of 1,000. None of that is timed. It then submits one ~200-byte
// notification to all of them through send.Service.Send, the call the
// HTTP API's POST /v1/messages makes once it has parsed the request, and
// measures from the moment Send returns (the message is durable: the API
// would answer 202 now) until testpush has accepted the last push:
// pushes per second, the latency of each push after acceptance (p50, p90,
// p99), the time to the first push, and the process's peak RSS during the
// send. Every push is accounted for at the end: testpush's per-endpoint
// counts must all be exactly 1, it must have decrypted every payload
// (VerifyAll) or one in SampleEvery (VerifySample), and the message's
// counters must say every recipient was sent.
//
// [Crypto] measures the per-recipient floor: encrypting one ~200-byte
// payload with webpush.Encrypt (fresh ephemeral P-256 key, ECDH, HKDF,
// AES-128-GCM) on one goroutine and on one goroutine per CPU. The VAPID
// JWT is cached per origin by the engine, so it is not part of the floor.
//
// # Limits
//
// Herald and testpush share the process and its CPUs, so a rate measured
// here is a lower bound for Herald alone: testpush's TLS, HTTP and
// verification work (a full ES256 verify and a decrypt per push under
// VerifyAll) comes out of the same cores. CPU profiles label each
// goroutine with side=herald, side=testpush or side=bench, so
// `go tool pprof -tagfocus side=herald` shows Herald's share alone. Peak
// RSS is the whole process's VmHWM, reset (through /proc/self/clear_refs)
// after setup, so it covers the send and testpush's counters but not
// the insertion of the subscribers.
//
// The functions here are not meant to run concurrently with each other:
// they read process-wide figures (RSS, CPU profile).
package bench
