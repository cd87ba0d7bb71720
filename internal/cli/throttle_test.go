package cli_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"
)

// TestThrottledSendIsConstantRate sends to 10,000 subscribers spread over 2
// minutes and checks that every 10-second window of the send carries the
// same share, within 10%.
func TestThrottledSendIsConstantRate(t *testing.T) {
	if testing.Short() {
		t.Skip("a 2-minute send")
	}
	const n = 10000
	data := t.TempDir()
	a := createApp(t, data, "throttle")
	srv := startServer(t, data)
	tp := pushService(t)
	subs, err := tp.NewSubscriptions(n)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	parallel(t, n, func(i int) error {
		r, err := request(c, "POST", srv.URL+"/v1/subscribers", bearer(a.APIKey), map[string]any{"type": "webpush", "subscription": subs[i]})
		if err == nil && r.Status != http.StatusCreated {
			err = fmt.Errorf("register %d: %d %s", i, r.Status, r.Body)
		}
		return err
	})
	start := time.Now()
	id := sendMessage(t, srv, a.APIKey, map[string]any{"to": "all", "content": map[string]any{"title": "slow and steady"}, "spread_minutes": 2})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := tp.WaitCount(ctx, n); err != nil {
		t.Fatalf("%v: %d of %d after %v", err, tp.Count(), n, time.Since(start))
	}
	m := waitDone(t, srv, a.APIKey, id, time.Minute)
	if m.Sent != n {
		t.Fatalf("counters %+v", m)
	}
	const buckets = 12
	var counts [buckets]int
	var first, last time.Time
	for _, s := range subs {
		got := tp.Received(s.ID)
		if len(got) != 1 {
			t.Fatalf("%s got %d pushes", s.ID, len(got))
		}
		at := got[0].Received
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
		b := int(at.Sub(start) / (10 * time.Second))
		if b >= buckets {
			b = buckets - 1
		}
		counts[b]++
	}
	t.Logf("first push %v after the send, last %v; per 10 s: %v", first.Sub(start).Round(time.Millisecond), last.Sub(start).Round(time.Millisecond), counts)
	want := float64(n) / buckets
	for i, c := range counts {
		if math.Abs(float64(c)-want) > 0.1*want {
			t.Errorf("window %d (%ds–%ds) carried %d pushes, want %.0f ± 10%%", i, i*10, i*10+10, c, want)
		}
	}
}
