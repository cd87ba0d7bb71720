package fcmtest

import (
	"context"
	"slices"
	"sync/atomic"

	"github.com/heraldpush/herald/internal/waitcount"
)

// Stats are the Server's counters.
type Stats struct {
	TokenRequests int // requests to the token endpoint
	TokensIssued  int // access tokens handed out
	TokensRefused int // token requests refused with an OAuth error
	Requests      int // requests to the send endpoint
	Accepted      int // messages accepted (200)
	Unauthorized  int // sends refused 401 for their access token
	Invalid       int // sends refused for their project, headers or body
	Injected      int // sends answered by an injected Behavior
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{
		TokenRequests: int(s.tokenRequests.Load()),
		TokensIssued:  int(s.tokensIssued.Load()),
		TokensRefused: int(s.tokensRefused.Load()),
		Requests:      int(s.requests.Load()),
		Accepted:      int(s.accepted.Load()),
		Unauthorized:  int(s.unauthorized.Load()),
		Invalid:       int(s.invalid.Load()),
		Injected:      int(s.injected.Load()),
	}
}

// Count is how many messages were accepted.
func (s *Server) Count() int { return int(s.accepted.Load()) }

// WaitCount blocks until at least n messages were accepted, or ctx ends.
func (s *Server) WaitCount(ctx context.Context, n int) error {
	return s.accepted.Wait(ctx, uint64(n))
}

// WaitRequests blocks until at least n send requests arrived (accepted or
// not, including ones held by a Gate), or ctx ends.
func (s *Server) WaitRequests(ctx context.Context, n int) error {
	return s.requests.Wait(ctx, uint64(n))
}

// WaitTokenRequests blocks until at least n token requests arrived, or
// ctx ends.
func (s *Server) WaitTokenRequests(ctx context.Context, n int) error {
	return s.tokenRequests.Wait(ctx, uint64(n))
}

// Deliveries is how many messages were accepted for the device token,
// kept with or without Record.
func (s *Server) Deliveries(deviceToken string) int {
	if v, ok := s.perTok.Load(deviceToken); ok {
		return int(v.(*atomic.Uint64).Load())
	}
	return 0
}

// Messages returns every accepted message in order of acceptance; empty
// without Options.Record.
func (s *Server) Messages() []Message {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	return slices.Clone(s.records)
}

// Received returns the accepted messages for the device token, oldest
// first; empty without Options.Record.
func (s *Server) Received(deviceToken string) []Message {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	var out []Message
	for _, m := range s.records {
		if m.Token == deviceToken {
			out = append(out, m)
		}
	}
	return out
}

// counter is an atomic count that goroutines can wait on.
type counter = waitcount.Counter
