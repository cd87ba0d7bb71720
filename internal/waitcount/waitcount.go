// Package waitcount is an atomic count that goroutines can wait on: the
// local fakes (testpush, fcmtest, apnstest) count what they accept with it,
// and tests wait for a count without sleeping.
//
// Adding costs one atomic add and one atomic load unless someone waits. A
// Counter is safe for concurrent use; its zero value is ready.
package waitcount

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
)

// Counter is the count.
type Counter struct {
	n       atomic.Uint64
	waiting atomic.Int64
	mu      sync.Mutex
	waiters []waiter
}

type waiter struct {
	n  uint64
	ch chan struct{}
}

// Load returns the count.
func (c *Counter) Load() uint64 { return c.n.Load() }

// Add adds d and wakes the waiters whose count is reached.
func (c *Counter) Add(d uint64) {
	c.n.Add(d)
	// A waiter raises waiting before it reads n, so either it sees this
	// add or this load sees it.
	if c.waiting.Load() > 0 {
		c.wake()
	}
}

func (c *Counter) wake() {
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

// Wait blocks until the count is at least n, or ctx is done.
func (c *Counter) Wait(ctx context.Context, n uint64) error {
	c.mu.Lock()
	c.waiting.Add(1)
	if c.n.Load() >= n {
		c.waiting.Add(-1)
		c.mu.Unlock()
		return nil
	}
	w := waiter{n: n, ch: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		defer c.mu.Unlock()
		if i := slices.IndexFunc(c.waiters, func(x waiter) bool { return x.ch == w.ch }); i >= 0 {
			c.waiters = slices.Delete(c.waiters, i, i+1)
			c.waiting.Add(-1)
			return ctx.Err()
		}
		return nil // woken while the context ended: the count was reached
	}
}
