package waitcount

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestWaitReachedByConcurrentAdds(t *testing.T) {
	var c Counter
	var wg sync.WaitGroup
	done := make(chan error, 1)
	go func() { done <- c.Wait(context.Background(), 1000) }()
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				c.Add(1)
			}
		}()
	}
	wg.Wait()
	if err := <-done; err != nil || c.Load() != 1000 {
		t.Fatalf("wait: %v, count %d", err, c.Load())
	}
	if err := c.Wait(context.Background(), 10); err != nil {
		t.Errorf("a reached count must not block: %v", err)
	}
}

func TestWaitCancelled(t *testing.T) {
	var c Counter
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.Wait(ctx, 1); err != context.DeadlineExceeded {
		t.Fatalf("got %v, want the context's error", err)
	}
	c.Add(1) // no waiter left to wake
	if c.waiting.Load() != 0 {
		t.Error("a cancelled waiter was left registered")
	}
}
