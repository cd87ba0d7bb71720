package apnstest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/heraldpush/herald/internal/waitcount"
)

// Notification is one accepted notification as recorded with
// Options.Record.
type Notification struct {
	// ID is the apns-id answered: the request's, or one the fake made.
	ID string
	// Token is the device token from the path.
	Token string
	// Topic, PushType and CollapseID are the apns-* headers, empty when
	// absent.
	Topic      string
	PushType   string
	CollapseID string
	// Priority is apns-priority, 0 when absent (APNs then uses 10).
	Priority int
	// Expiration is apns-expiration in Unix seconds, -1 when absent.
	Expiration int64
	// Payload is the JSON body.
	Payload []byte
	// Header is every request header; authorization included.
	Header http.Header
	// Proto and ProtoMajor are the request's protocol ("HTTP/2.0", 2).
	Proto      string
	ProtoMajor int
	// TeamID and KeyID are from the provider token it was sent with.
	TeamID string
	KeyID  string
	// Received is when the fake accepted it (Options.Now).
	Received time.Time
}

// record keeps n when Options.Record is set.
func (s *Server) record(n Notification) {
	s.recMu.Lock()
	s.recorded = append(s.recorded, n)
	s.recMu.Unlock()
}

// Notifications returns every accepted notification, in the order they
// were accepted. It is empty unless Options.Record is set. The slices and
// headers are shared with the record: read them, do not modify them.
func (s *Server) Notifications() []Notification {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return slices.Clone(s.recorded)
}

// Received returns the notifications accepted for one device token,
// oldest first. It is empty unless Options.Record is set.
func (s *Server) Received(token string) []Notification {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	var out []Notification
	for _, n := range s.recorded {
		if n.Token == token {
			out = append(out, n)
		}
	}
	return out
}

// Count is how many notifications were accepted (answered 200) in all.
func (s *Server) Count() int { return int(s.accepted.Load()) }

// WaitCount blocks until at least n notifications were accepted in all,
// or ctx is done. It waits on a channel, not by polling.
func (s *Server) WaitCount(ctx context.Context, n int) error {
	if err := s.accepted.Wait(ctx, uint64(max(n, 0))); err != nil {
		return fmt.Errorf("apnstest: wait for %d notifications (have %d): %w", n, s.Count(), err)
	}
	return nil
}

// Stats is a snapshot of the counters.
type Stats struct {
	// Requests counts every request to the handler.
	Requests uint64
	// Accepted counts notifications answered 200.
	Accepted uint64
	// Rejected counts refused requests by the reason answered; injected
	// failures included.
	Rejected map[string]uint64
	// Injected counts requests answered by a Behavior.
	Injected uint64
	// HTTP2 counts requests that came over HTTP/2.
	HTTP2 uint64
	// Verified counts provider-token signatures checked; with
	// Options.CacheTokens it is far below Requests.
	Verified uint64
}

// Stats returns a snapshot of the counters. Each counter is read
// atomically, but not all at one instant.
func (s *Server) Stats() Stats {
	st := Stats{
		Requests: s.requests.Load(),
		Accepted: s.accepted.Load(),
		Injected: s.injected.Load(),
		HTTP2:    s.http2.Load(),
		Verified: s.verified.Load(),
		Rejected: map[string]uint64{},
	}
	s.rejected.Range(func(k, v any) bool {
		st.Rejected[k.(string)] = v.(*atomic.Uint64).Load()
		return true
	})
	return st
}

// countReject adds one to reason's count.
func (s *Server) countReject(reason string) {
	v, ok := s.rejected.Load(reason)
	if !ok {
		v, _ = s.rejected.LoadOrStore(reason, new(atomic.Uint64))
	}
	v.(*atomic.Uint64).Add(1)
}

// counter is an atomic count that goroutines can wait on.
type counter = waitcount.Counter
