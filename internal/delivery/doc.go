// Package delivery turns a durable message into pushes: it stores the
// message with its fanout job in one transaction, streams the audience from
// the store in id order into batch jobs per channel, sends each batch
// through the channel's Pusher with bounded concurrency, retries transient
// failures with exponential backoff and jitter (never sooner than a push
// service's Retry-After, never after the message's TTL), prunes
// subscriptions the push service says are gone, and records every
// recipient's outcome in batches.
//
// Jobs run on River (riverqueue.com) over the same database as the store,
// so enqueueing is transactional with the rows it acts on, scheduled sends
// survive restarts, and a crash resumes from the store: a batch that was
// running runs again and skips every recipient that already has an
// outcome, so at most the sends in flight at the crash are repeated.
// After each commit that enqueues jobs the engine wakes River's producers
// of those queues itself (wake.go), so a job starts without waiting for a
// poll.
//
// A message sent now to a few listed registration ids or aliases skips
// the fanout job: Submit resolves its audience and stores it with its
// batch jobs in one transaction. Batches of messages whose whole audience
// fits in one page run on an express queue with workers of their own, so
// a transactional message never waits behind a blast's batches; in the
// channels' queues a message's first batch goes before later ones
// (express.go).
//
// Limits: a batch holds at most Options.BatchSize recipients; outcomes are
// flushed every Options.FlushEvery results, which bounds what a crash can
// repeat. The Engine is safe for concurrent use.
package delivery
