package callback

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// Batch is the body of one callback request.
type Batch struct {
	AppID  string  `json:"app_id"`
	Events []Event `json:"events"`
}

// Event is one event as the receiver sees it.
type Event struct {
	// ID is unique and never reused: a receiver that gets an event twice
	// (delivery is at least once) skips it by this id.
	ID             string          `json:"id"`
	Type           string          `json:"type"` // sent, failed, pruned, expired, received, clicked, finished
	MessageID      string          `json:"message_id"`
	RegistrationID string          `json:"registration_id,omitempty"`
	Channel        string          `json:"channel,omitempty"`
	Reason         string          `json:"reason,omitempty"` // failed: why
	At             time.Time       `json:"at"`
	RequestID      string          `json:"request_id,omitempty"`  // the sender's, from the send
	CustomArgs     json.RawMessage `json:"custom_args,omitempty"` // the sender's, as given
	Counters       *Counters       `json:"counters,omitempty"`    // finished: the message's final counts
}

// Counters are a finished message's counts.
type Counters struct {
	Targeted      int64            `json:"targeted"`
	Sent          int64            `json:"sent"`
	Failed        int64            `json:"failed"`
	Pruned        int64            `json:"pruned"`
	Expired       int64            `json:"expired"`
	Received      int64            `json:"received"`
	Clicked       int64            `json:"clicked"`
	FailedReasons map[string]int64 `json:"failed_reasons,omitempty"`
}

// EventID is the id receivers see for outbox event n.
func EventID(n int64) string { return "evt_" + strconv.FormatInt(n, 10) }

// encode builds the request body for evs.
func encode(appID string, evs []store.CallbackEvent) ([]byte, error) {
	b := Batch{AppID: appID, Events: make([]Event, len(evs))}
	for i, e := range evs {
		out := Event{
			ID: EventID(e.ID), Type: string(e.Kind), MessageID: strconv.FormatInt(e.MessageID, 10),
			RegistrationID: e.RegistrationID, Channel: string(e.Channel), Reason: e.Reason,
			At: e.At.UTC(), RequestID: e.RequestID,
		}
		if len(e.CustomArgs) > 0 && json.Valid(e.CustomArgs) {
			out.CustomArgs = json.RawMessage(e.CustomArgs)
		}
		if c := e.Counters; c != nil {
			out.Counters = &Counters{c.Targeted, c.Sent, c.Failed, c.Pruned, c.Expired, c.Received, c.Clicked, c.FailedReasons}
		}
		b.Events[i] = out
	}
	return json.Marshal(b)
}
