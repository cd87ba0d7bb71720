package delivery

import (
	"context"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// Push is one message for one recipient, ready to send.
type Push struct {
	AppID   string
	Payload []byte
	TTL     time.Duration // what is left of the message's TTL
	Urgency string
	Topic   string
}

// Attempt is what one try at a push came to.
type Attempt struct {
	// Result is sent, failed, pruned or retrying (never expired: that is
	// decided before trying).
	Result store.Result
	// Reason is a short, stable cause for failed and retrying ("http 400",
	// "unreachable"); counted per reason, so it must not carry ids.
	Reason string
	// RetryAfter is the push service's requested wait, 0 if none.
	RetryAfter time.Duration
}

// Pusher delivers to one channel (Web Push, FCM, APNs). Implementations
// are safe for concurrent use, bound their own per-origin concurrency, and
// give every call a deadline.
type Pusher interface {
	Push(ctx context.Context, sub store.Subscriber, p Push) Attempt
}

// Observer is told about every attempt, for metrics. *metrics.Metrics
// implements it; it must be safe for concurrent use.
type Observer interface {
	Push(channel, outcome string, took time.Duration)
	Delivered(channel string, delay time.Duration)
	Retry(channel, reason string)
	// Message counts a submitted message; duplicate when its dedup id
	// matched an earlier message and nothing new was stored.
	Message(duplicate bool)
}

type noObserver struct{}

func (noObserver) Push(string, string, time.Duration) {}
func (noObserver) Delivered(string, time.Duration)    {}
func (noObserver) Retry(string, string)               {}
func (noObserver) Message(bool)                       {}
