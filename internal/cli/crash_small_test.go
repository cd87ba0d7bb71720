package cli_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/testpush"
)

// TestCrashMidFloodOfSmallMessages kills herald serve with SIGKILL while
// clients flood it with one-recipient messages (each to a subscriber of
// its own, so testpush's count per subscription is the count per
// message), starts it again on the same data, and checks that every
// message answered 202 reached its recipient, and that no more were sent
// twice than the express queue can have in flight.
func TestCrashMidFloodOfSmallMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("a flood of messages and a child process")
	}
	const n, clients = 1500, 16
	data := t.TempDir()
	a := createApp(t, data, "flood")
	tp, subs := sampledPushService(t, n)
	p := startProcess(t, data)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 30 * time.Second}
	rids := make([]string, n)
	parallel(t, n, func(i int) error {
		r, err := request(c, "POST", p.URL+"/v1/subscribers", bearer(a.APIKey), map[string]any{"type": "webpush", "subscription": subs[i]})
		if err == nil && r.Status != http.StatusCreated {
			err = fmt.Errorf("register %d: %d %s", i, r.Status, r.Body)
		}
		if err == nil {
			rids[i], _ = r.json(t)["registration_id"].(string)
		}
		return err
	})
	// Slow the push service (32 express workers then push ~160/s) so that
	// accepted messages are still queued when it dies.
	tp.FailAll(testpush.Slow(200 * time.Millisecond))
	accepted := make([]atomic.Bool, n)
	var next, ok atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				r, err := request(c, "POST", p.URL+"/v1/messages", bearer(a.APIKey), map[string]any{
					"to": map[string]any{"registration_ids": []string{rids[i]}}, "content": map[string]any{"title": "flood", "body": fmt.Sprint(i)}})
				if err != nil {
					return // the server is gone
				}
				if r.Status == http.StatusAccepted {
					accepted[i].Store(true)
					ok.Add(1)
				}
			}
		})
	}
	for deadline := time.Now().Add(60 * time.Second); ok.Load() < n/2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d messages accepted in 60s", ok.Load())
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	atKill := tp.Count()
	wg.Wait()
	tp.RecoverAll()
	if ok.Load() >= n || int(ok.Load()) <= atKill {
		t.Fatalf("%d of %d messages accepted, %d pushed at the kill: nothing was queued when it died", ok.Load(), n, atKill)
	}

	p2 := startProcess(t, data)
	want := int(ok.Load())
	deadline := time.Now().Add(120 * time.Second)
	for {
		missing := 0
		for i := range n {
			if accepted[i].Load() && tp.Deliveries(subs[i].ID) == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted messages never reached their recipient\n%s", missing, want, p2.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	twice := 0
	for i := range n {
		if d := tp.Deliveries(subs[i].ID); d > 1 {
			twice += d - 1
		}
	}
	t.Logf("killed after %d pushes, %d messages accepted of %d sent; recipients that got theirs twice: %d", atKill, want, n, twice)
	// In flight at the kill: the express queue's 32 workers, each one
	// push whose outcome was not yet written.
	if twice > 32 {
		t.Errorf("%d duplicates: more than the express queue has in flight", twice)
	}
}
