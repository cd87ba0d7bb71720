package store

import (
	"context"
	"time"
)

// Callback is an app's callback (webhook) setting: where its events are
// posted and the secret that signs them, sealed with the master key (the
// signature needs the plain secret, so it cannot be hashed).
type Callback struct {
	URL          string
	SecretSealed []byte
	UpdatedAt    time.Time
}

// CallbackEventKind is what a callback event reports.
type CallbackEventKind string

// The callback events. Outcome events (sent, failed, pruned, expired) and
// engagement events (received, clicked) are per recipient; finished is per
// message.
const (
	EventSent     CallbackEventKind = "sent"
	EventFailed   CallbackEventKind = "failed"
	EventPruned   CallbackEventKind = "pruned"
	EventExpired  CallbackEventKind = "expired"
	EventReceived CallbackEventKind = "received"
	EventClicked  CallbackEventKind = "clicked"
	EventFinished CallbackEventKind = "finished"
)

// CallbackEvent is one event in an app's callback outbox.
type CallbackEvent struct {
	ID             int64 // increasing, never reused: the receiver's dedup key
	AppID          string
	Kind           CallbackEventKind
	MessageID      int64
	RegistrationID string  // per-recipient events; "" when the subscriber was already gone
	Channel        Channel // outcome events
	Reason         string  // failed: why
	At             time.Time
	Attempts       int // posts of this event that failed so far

	// From the message, read when the event is taken from the outbox.
	RequestID  string
	CustomArgs []byte // JSON as the sender gave it; nil if none
	// Counters is the message's counters when it finished (finished only).
	Counters *Counters
}

// Callbacks keeps apps' callback settings and the outbox of events waiting
// to be posted.
//
// Events enter the outbox inside the store's own transactions, so an event
// exists exactly when the change it reports was committed: while an app has
// a callback, RecordOutcomes adds one event per recipient whose outcome
// became final (sent, failed with its reason, pruned, expired; never
// retrying, never a repeat), RecordEngagement one per report that counted
// (a click that also counted as received adds both), and the transaction
// that moves a message to done adds one finished event with its counters.
// An app without a callback gets no events.
type Callbacks interface {
	// SetCallback stores (or replaces) the app's callback. ErrNotFound if
	// the app does not exist. Pending events stay and go to the new URL.
	SetCallback(ctx context.Context, appID string, c Callback) error
	// Callback returns the app's callback; ErrNotFound if it has none.
	Callback(ctx context.Context, appID string) (Callback, error)
	// DeleteCallback removes the app's callback and drops its pending
	// events; ErrNotFound if it had none.
	DeleteCallback(ctx context.Context, appID string) error
	// DueCallbackApps lists up to limit apps that have events due (next
	// attempt at or before now).
	DueCallbackApps(ctx context.Context, now time.Time, limit int) ([]string, error)
	// DueCallbackEvents returns up to limit of the app's events due at now,
	// oldest first, with the message's request id and custom args.
	DueCallbackEvents(ctx context.Context, appID string, now time.Time, limit int) ([]CallbackEvent, error)
	// DeleteCallbackEvents removes delivered (or abandoned) events. Ids of
	// other apps are ignored.
	DeleteCallbackEvents(ctx context.Context, appID string, ids []int64) error
	// DeferCallbackEvents counts one more failed attempt for each event and
	// makes it due again at next. Ids of other apps are ignored.
	DeferCallbackEvents(ctx context.Context, appID string, ids []int64, next time.Time) error
}
