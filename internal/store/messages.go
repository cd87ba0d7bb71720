package store

import (
	"context"
	"database/sql"
	"time"
)

// TxFunc runs inside a store transaction. The delivery engine uses it to
// insert its jobs (River) atomically with the rows they act on. Both
// backends run on database/sql, so the transaction is a *sql.Tx.
type TxFunc func(ctx context.Context, tx *sql.Tx) error

// NewMessageFunc runs inside the transaction that creates a message, with
// the message's assigned id.
type NewMessageFunc func(ctx context.Context, tx *sql.Tx, id int64) error

// MessageState is where a message is in its life.
type MessageState string

// The message states.
const (
	StateScheduled MessageState = "scheduled" // waiting for send_at
	StateQueued    MessageState = "queued"    // durable, fanout not started
	StateSending   MessageState = "sending"   // fanout started, outcomes arriving
	StateDone      MessageState = "done"      // every recipient has a final outcome
	StateCancelled MessageState = "cancelled" // cancelled before it was sent
)

// Audience is a target expression. Non-empty parts combine with AND; an
// empty part does not filter, so the zero Audience is every subscriber.
type Audience struct {
	RegistrationIDs []string  `json:"registration_ids,omitempty"` // OR
	Tags            []string  `json:"tags,omitempty"`             // OR
	TagsAnd         []string  `json:"tags_and,omitempty"`         // AND
	TagsNot         []string  `json:"tags_not,omitempty"`         // NOT (any of)
	Aliases         []string  `json:"aliases,omitempty"`          // OR
	Languages       []string  `json:"languages,omitempty"`        // OR
	Timezones       []string  `json:"timezones,omitempty"`        // OR
	Channels        []Channel `json:"channels,omitempty"`         // OR
	ActiveSince     time.Time `json:"active_since,omitzero"`      // last activity at or after
	ClickedSince    time.Time `json:"clicked_since,omitzero"`     // last click at or after
	// AnyOf keeps subscribers in at least one of these expressions, NoneOf
	// those in none of them: saved segments, included and excluded, copied
	// in when a message is sent (SegmentRules.Audience). An expression
	// inside AnyOf or NoneOf has no AnyOf or NoneOf of its own.
	AnyOf  []Audience `json:"any_of,omitempty"`
	NoneOf []Audience `json:"none_of,omitempty"`
}

// Recipient is one audience member as the fanout sees it.
type Recipient struct {
	ID       int64
	Channel  Channel
	Timezone string // the subscriber's IANA time zone, "" if unknown (local-time delivery)
}

// Message is one send: what, to whom, how, and what happened so far.
type Message struct {
	ID       int64
	AppID    string
	State    MessageState
	Audience Audience
	// Content is the payload description, JSON, owned by the delivery
	// engine; the store keeps it opaque.
	Content []byte
	TTL     time.Duration
	Urgency string
	Topic   string
	// SpreadSeconds spreads the send over this long at a constant rate.
	SpreadSeconds int
	// LocalTime, "HH:MM" when set, delivers at that wall-clock time in each
	// recipient's time zone: the first such instant at or after SendAt.
	LocalTime  string
	SendAt     time.Time
	CreatedAt  time.Time
	FinishedAt time.Time // zero until done or cancelled

	DedupID    string
	RequestID  string
	CustomArgs []byte // JSON, echoed in callbacks

	FanoutCursor int64 // last subscriber id the fanout has enqueued
	FanoutDone   bool

	Counters
}

// ExpiresAt is when the message stops being worth delivering.
func (m Message) ExpiresAt() time.Time { return m.SendAt.Add(m.TTL) }

// Counters are a message's outcome counts.
type Counters struct {
	Targeted      int64
	Sent          int64
	Failed        int64
	Pruned        int64
	Expired       int64
	Received      int64
	Clicked       int64
	FailedReasons map[string]int64 // reason → count; sums to Failed
}

// Result is one recipient's delivery outcome.
type Result string

// The outcomes. Retrying is not final: the recipient waits in a retry job.
const (
	ResultSent     Result = "sent"
	ResultFailed   Result = "failed"
	ResultPruned   Result = "pruned"
	ResultExpired  Result = "expired"
	ResultRetrying Result = "retrying"
)

// Outcome is what happened to one recipient of a message.
type Outcome struct {
	SubscriberID int64
	Channel      Channel // the channel it went through, for per-channel stats
	Result       Result
	Reason       string // for failed (and retrying): why, short and stable
}

// Messages keeps sends and their per-recipient outcomes.
//
// Every method names the app: a message of another app is ErrNotFound,
// exactly as a message that does not exist, and no callback runs for it.
// The callbacks (enqueue) run inside the store's write transaction; what
// they write through tx commits or rolls back with the store's own rows.
type Messages interface {
	// CreateMessage inserts m, assigning its ID, and runs enqueue in the same
	// transaction, before it commits: if enqueue fails, the message is not
	// kept. When m.DedupID is set and the app already has a message with it,
	// nothing is written, enqueue does not run, and the existing message is
	// returned with created false; this holds for concurrent calls too (one
	// creates, the others get its message). Dedup ids are per app.
	// When m.FanoutDone is set, the caller has resolved the whole audience
	// itself and enqueues its batches in enqueue: the message is stored
	// sending, with its fanout complete, m.FanoutCursor and m.Targeted
	// (at least 1) as given, and becomes done as its outcomes arrive.
	CreateMessage(ctx context.Context, m Message, enqueue NewMessageFunc) (msg Message, created bool, err error)
	// Message returns one of the app's messages.
	Message(ctx context.Context, appID string, id int64) (Message, error)
	// ListMessages returns the app's messages, newest first, with ids below
	// beforeID (0: from the newest), at most limit of them.
	ListMessages(ctx context.Context, appID string, beforeID int64, limit int) ([]Message, error)
	// SetMessageState moves a message to state `to` if it is in one of
	// `from`; ErrConflict if it is not (it was already sent, say), and then
	// the message comes back as it is, with the error, so the caller can say
	// why. Moving to done or cancelled stamps FinishedAt. enqueue, if not
	// nil, runs in the same transaction, and only when the move is made.
	SetMessageState(ctx context.Context, appID string, id int64, from []MessageState, to MessageState, enqueue TxFunc) (Message, error)
	// AudiencePage returns up to limit members of a in id order after
	// afterID. A short page (fewer than limit) is the last. Pages are cheap
	// whatever the audience's size, so that the fanout can stream it.
	AudiencePage(ctx context.Context, appID string, a Audience, afterID int64, limit int) ([]Recipient, error)
	// CountAudience counts the members of a.
	CountAudience(ctx context.Context, appID string, a Audience) (int64, error)
	// AdvanceFanout records that the fanout enqueued recipients up to cursor
	// (adding targeted to the count) and runs enqueue in the same
	// transaction; done marks the fanout complete. The message moves from
	// queued or scheduled to sending, or to done once the fanout is done and
	// every targeted recipient is final (at once for an empty audience); a
	// cancelled message stays cancelled. The cursor never moves back.
	AdvanceFanout(ctx context.Context, appID string, id, cursor, targeted int64, done bool, enqueue TxFunc) (Message, error)
	// PendingRecipients returns the subscribers among ids that still need
	// this message: with no outcome yet, or, when retry is true, with the
	// outcome retrying. Subscribers deleted since, and ids of other apps,
	// are left out. The result is in id order.
	PendingRecipients(ctx context.Context, appID string, id int64, ids []int64, retry bool) ([]Subscriber, error)
	// RecordOutcomes stores outcomes in one transaction: final outcomes
	// count once each in the message's counters (a recipient already final is
	// left alone), pruned subscribers are deleted, and the message becomes
	// done when every targeted recipient is final and the fanout is done.
	// A retrying outcome counts nothing and may later be replaced by a final
	// one. enqueue runs in the same transaction (retry jobs).
	RecordOutcomes(ctx context.Context, appID string, id int64, outs []Outcome, enqueue TxFunc) (Message, error)
	// AddEngagement adds received / clicked counts reported by devices.
	AddEngagement(ctx context.Context, appID string, id int64, received, clicked int64) error
}
