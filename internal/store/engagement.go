package store

import (
	"context"
	"time"
)

// EngagementKind is what a device reported about a message.
type EngagementKind string

// The reports a service worker (or app) sends.
const (
	EngagementReceived EngagementKind = "received" // the push arrived and was shown or handed to the page
	EngagementClicked  EngagementKind = "clicked"  // the user clicked the notification
)

// Engagements records device reports, each counted once.
type Engagements interface {
	// RecordEngagement records that the device registrationID reported kind
	// for message id of appID. Only the first report of each (message,
	// registration, kind) counts: it adds one to the message's Received or
	// Clicked counter and, when the app still has that subscriber, moves its
	// LastActiveAt (and, for clicked, LastClickedAt) forward to at (never
	// back). A click also counts as received when no received report came
	// first, so that Clicked never exceeds Received. A repeat changes
	// nothing and returns counted false; concurrent repeats count once.
	// ErrNotFound if appID has no message id (another app's message
	// included), and then nothing is recorded. The caller vouches that the
	// message was sent to registrationID (internal/tracking checks a
	// signature); the store does not look at deliveries.
	RecordEngagement(ctx context.Context, appID string, id int64, registrationID string, kind EngagementKind, at time.Time) (counted bool, err error)
}
