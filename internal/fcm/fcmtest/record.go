package fcmtest

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
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
		TokenRequests: int(s.tokenRequests.n.Load()),
		TokensIssued:  int(s.tokensIssued.Load()),
		TokensRefused: int(s.tokensRefused.Load()),
		Requests:      int(s.requests.n.Load()),
		Accepted:      int(s.accepted.n.Load()),
		Unauthorized:  int(s.unauthorized.Load()),
		Invalid:       int(s.invalid.Load()),
		Injected:      int(s.injected.Load()),
	}
}

// Count is how many messages were accepted.
func (s *Server) Count() int { return int(s.accepted.n.Load()) }

// WaitCount blocks until at least n messages were accepted, or ctx ends.
func (s *Server) WaitCount(ctx context.Context, n int) error {
	return s.accepted.wait(ctx, uint64(n))
}

// WaitRequests blocks until at least n send requests arrived (accepted or
// not, including ones held by a Gate), or ctx ends.
func (s *Server) WaitRequests(ctx context.Context, n int) error {
	return s.requests.wait(ctx, uint64(n))
}

// WaitTokenRequests blocks until at least n token requests arrived, or
// ctx ends.
func (s *Server) WaitTokenRequests(ctx context.Context, n int) error {
	return s.tokenRequests.wait(ctx, uint64(n))
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

// counter is an atomic count that goroutines can wait on. Adding costs one
// atomic add and one atomic load unless someone is waiting.
type counter struct {
	n       atomic.Uint64
	waiting atomic.Int64
	mu      sync.Mutex
	waiters []countWaiter
}

type countWaiter struct {
	n  uint64
	ch chan struct{}
}

func (c *counter) add(d uint64) {
	c.n.Add(d)
	// A waiter raises waiting before it reads n, so either it sees this
	// add or this load sees it.
	if c.waiting.Load() > 0 {
		c.wake()
	}
}

func (c *counter) wake() {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.n.Load()
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if v >= w.n {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	clear(c.waiters[len(kept):])
	c.waiters = kept
	c.waiting.Store(int64(len(kept)))
}

func (c *counter) wait(ctx context.Context, n uint64) error {
	c.mu.Lock()
	c.waiting.Add(1)
	if c.n.Load() >= n {
		c.waiting.Add(-1)
		c.mu.Unlock()
		return nil
	}
	w := countWaiter{n: n, ch: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		defer c.mu.Unlock()
		if i := slices.IndexFunc(c.waiters, func(x countWaiter) bool { return x.ch == w.ch }); i >= 0 {
			c.waiters = slices.Delete(c.waiters, i, i+1)
			c.waiting.Add(-1)
			return ctx.Err()
		}
		return nil // woken while the context ended: the count was reached
	}
}
