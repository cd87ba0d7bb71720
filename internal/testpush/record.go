package testpush

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/heraldpush/herald/internal/waitcount"
)

// reason is why a push was refused; each has a stable code and status.
type reason int

const (
	reasonNotFound reason = iota
	reasonGone
	reasonInjected
	reasonNoTTL
	reasonBadTTL
	reasonBadEncoding
	reasonTooLarge
	reasonBadUrgency
	reasonBadTopic
	reasonNoVAPID
	reasonBadVAPID
	reasonKeyMismatch
	reasonBadBody
	reasonDecrypt
	reasonQueueFull
	numReasons
)

// reasons is the immutable catalogue of rejection codes: the code is what
// the JSON error body and Stats.Rejected use.
var reasons = [numReasons]struct {
	code   string
	status int
}{
	reasonNotFound:    {"not_found", http.StatusNotFound},
	reasonGone:        {"gone", http.StatusGone},
	reasonInjected:    {"injected", 0}, // status comes from the Behavior
	reasonNoTTL:       {"missing_ttl", http.StatusBadRequest},
	reasonBadTTL:      {"bad_ttl", http.StatusBadRequest},
	reasonBadEncoding: {"bad_encoding", http.StatusUnsupportedMediaType},
	reasonTooLarge:    {"too_large", http.StatusRequestEntityTooLarge},
	reasonBadUrgency:  {"bad_urgency", http.StatusBadRequest},
	reasonBadTopic:    {"bad_topic", http.StatusBadRequest},
	reasonNoVAPID:     {"missing_vapid", http.StatusUnauthorized},
	reasonBadVAPID:    {"bad_vapid", http.StatusUnauthorized},
	reasonKeyMismatch: {"vapid_key_mismatch", http.StatusForbidden},
	reasonBadBody:     {"bad_body", http.StatusBadRequest},
	reasonDecrypt:     {"decrypt_failed", http.StatusBadRequest},
	reasonQueueFull:   {"queue_full", http.StatusServiceUnavailable},
}

// Message is one accepted push as recorded with Options.Record.
type Message struct {
	// ID is the message id, the last segment of the Location answered.
	ID string `json:"id"`
	// Subscription is the id of the subscription it was sent to.
	Subscription string `json:"subscription"`
	// Payload is the decrypted plaintext; nil unless Decrypted.
	Payload []byte `json:"payload,omitempty"`
	// Decrypted says Payload is the decrypted body. It is false for
	// browser subscriptions and for pushes VerifySample skipped.
	Decrypted bool `json:"decrypted"`
	// Body is the raw aes128gcm body as received.
	Body []byte `json:"body"`
	// TTL is the TTL header in seconds, reduced to MaxTTL.
	TTL int `json:"ttl"`
	// Urgency and Topic are the headers, empty when absent.
	Urgency string `json:"urgency,omitempty"`
	Topic   string `json:"topic,omitempty"`
	// Received is when testpush accepted it.
	Received time.Time `json:"received"`
}

// msgLog is one subscription's recorded messages.
type msgLog struct {
	mu   sync.Mutex
	msgs []Message
}

// record appends m to e's log, creating the log on first use.
func (e *entry) record(m Message) {
	l := e.log.Load()
	if l == nil {
		e.log.CompareAndSwap(nil, new(msgLog))
		l = e.log.Load()
	}
	l.mu.Lock()
	l.msgs = append(l.msgs, m)
	l.mu.Unlock()
}

// Received returns the messages accepted for subscription id, oldest
// first. It is empty unless Options.Record is set. The byte slices in the
// messages are shared with the record: read them, do not modify them.
func (s *Server) Received(id string) []Message {
	e, _ := s.subs.lookup(id)
	if e == nil {
		return nil
	}
	l := e.log.Load()
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.msgs)
}

// Deliveries is how many pushes subscription id accepted, duplicates
// included; it is kept with or without Options.Record.
func (s *Server) Deliveries(id string) int {
	e, _ := s.subs.lookup(id)
	if e == nil {
		return 0
	}
	return int(e.count.Load())
}

// Count is how many pushes were accepted (answered 201) in all.
func (s *Server) Count() int { return int(s.accepted.Load()) }

// WaitCount blocks until at least n pushes were accepted in all, or ctx is
// done.
func (s *Server) WaitCount(ctx context.Context, n int) error {
	if err := s.accepted.Wait(ctx, uint64(max(n, 0))); err != nil {
		return fmt.Errorf("testpush: wait for %d pushes (have %d): %w", n, s.Count(), err)
	}
	return nil
}

// Stats is a snapshot of the counters, as served on /_testpush/stats.
type Stats struct {
	// Requests counts every POST to a push endpoint.
	Requests uint64 `json:"requests"`
	// Accepted counts pushes answered 201 Created.
	Accepted uint64 `json:"accepted"`
	// Decrypted counts accepted pushes whose payload was decrypted.
	Decrypted uint64 `json:"decrypted"`
	// Forwarded counts notifications written to a browser socket,
	// resends after a reconnect included.
	Forwarded uint64 `json:"forwarded"`
	// Acked counts notifications a browser acknowledged.
	Acked uint64 `json:"acked"`
	// Expired counts browser messages dropped because their TTL ran out
	// (TTL 0 while the browser was offline, or queued too long).
	Expired uint64 `json:"expired"`
	// Replaced counts queued browser messages replaced by a newer one
	// with the same Topic.
	Replaced uint64 `json:"replaced"`
	// Rejected counts refused pushes by reason code; zero counts are left
	// out.
	Rejected map[string]uint64 `json:"rejected"`
	// Subscriptions counts the ids handed out, browser ones included.
	Subscriptions uint64 `json:"subscriptions"`
	// BrowserHellos counts hello messages received on browser sockets.
	BrowserHellos uint64 `json:"browser_hellos"`
	// BrowserConnected is how many browser sockets have said hello and
	// are still open.
	BrowserConnected int64 `json:"browser_connected"`
}

// Stats returns a snapshot of the counters. Each counter is read
// atomically, but not all at one instant.
func (s *Server) Stats() Stats {
	st := Stats{
		Requests:         s.requests.Load(),
		Accepted:         s.accepted.Load(),
		Decrypted:        s.decrypted.Load(),
		Forwarded:        s.forwarded.Load(),
		Acked:            s.acked.Load(),
		Expired:          s.expired.Load(),
		Replaced:         s.replaced.Load(),
		Rejected:         make(map[string]uint64),
		Subscriptions:    s.subs.next.Load(),
		BrowserHellos:    s.browser.hellos.Load(),
		BrowserConnected: s.browser.connected.Load(),
	}
	for i := range s.rejected {
		if n := s.rejected[i].Load(); n > 0 {
			st.Rejected[reasons[i].code] = n
		}
	}
	return st
}

// counter is an atomic count that goroutines can wait on.
type counter = waitcount.Counter
