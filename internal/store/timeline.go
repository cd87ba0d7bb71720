package store

import (
	"context"
	"time"
)

// TimelinePoint is one second of a message's delivery: how many recipients
// got each final outcome in that second.
type TimelinePoint struct {
	At      time.Time // the start of the second, UTC
	Sent    int64
	Failed  int64
	Pruned  int64
	Expired int64
}

// Total is the number of final outcomes in the second.
func (p TimelinePoint) Total() int64 { return p.Sent + p.Failed + p.Pruned + p.Expired }

// Timelines reads a message's delivery over time from the per-recipient
// outcomes the store already keeps; nothing extra is written for it.
type Timelines interface {
	// MessageTimeline returns the message's final outcomes (sent, failed,
	// pruned, expired) counted per second of the time they were recorded,
	// in time order. Seconds without any are left out, and so are
	// recipients still waiting for a retry. The points add up to the
	// message's counters. The cost is one pass over the message's outcome
	// rows, so callers that poll should not do it more than every second
	// or so. ErrNotFound if the app has no such message.
	MessageTimeline(ctx context.Context, appID string, id int64) ([]TimelinePoint, error)
	// ChannelCounts returns the message's final outcomes split by the
	// channel they went through (webpush, fcm, apns), from the same rows.
	// ErrNotFound if the app has no such message.
	ChannelCounts(ctx context.Context, appID string, id int64) (map[Channel]Counters, error)
}
