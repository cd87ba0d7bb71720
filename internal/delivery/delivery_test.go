package delivery

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

type fakePusher struct{ at Attempt }

func (f fakePusher) Push(context.Context, store.Subscriber, Push) Attempt { return f.at }

func testEngine(now time.Time) *Engine {
	o := Options{Now: func() time.Time { return now }}
	o.defaults()
	return &Engine{o: o}
}

func TestAttemptOutcomes(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	e := testEngine(now)
	msg := func(ttl time.Duration, sentAgo time.Duration) store.Message {
		return store.Message{ID: 1, AppID: "a", TTL: ttl, SendAt: now.Add(-sentAgo)}
	}
	retry := fakePusher{Attempt{Result: store.ResultRetrying, Reason: "http 503"}}
	tests := []struct {
		name    string
		m       store.Message
		attempt int
		p       Pusher
		result  store.Result
		reason  string
		retry   bool
	}{
		{"sent", msg(time.Hour, 0), 0, fakePusher{Attempt{Result: store.ResultSent}}, store.ResultSent, "", false},
		{"pruned", msg(time.Hour, 0), 0, fakePusher{Attempt{Result: store.ResultPruned}}, store.ResultPruned, "", false},
		{"failed", msg(time.Hour, 0), 0, fakePusher{Attempt{Result: store.ResultFailed, Reason: "http 400"}}, store.ResultFailed, "http 400", false},
		{"expired before trying", msg(time.Hour, 2*time.Hour), 0, fakePusher{Attempt{Result: store.ResultSent}}, store.ResultExpired, "", false},
		{"retry within ttl", msg(time.Hour, 0), 0, retry, store.ResultRetrying, "http 503", true},
		{"retry would be late", msg(400*time.Millisecond, 0), 0, retry, store.ResultExpired, "", false},
		{"ttl zero: one try", msg(0, 0), 0, retry, store.ResultExpired, "", false},
		{"ttl zero: no retry job runs", msg(0, 0), 1, fakePusher{Attempt{Result: store.ResultSent}}, store.ResultExpired, "", false},
		{"retries exhausted", msg(time.Hour, 0), 7, retry, store.ResultFailed, "retries exhausted: http 503", false},
		{"no channel", msg(time.Hour, 0), 0, nil, store.ResultFailed, "channel webpush not configured", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pc := &payloadCache{c: Content{Title: "t"}, id: 1}
			o := e.attempt(context.Background(), tc.m, deliverArgs{Channel: store.ChannelWebPush, Attempt: tc.attempt}, tc.p, pc, store.Subscriber{ID: 9})
			if o.Result != tc.result || o.Reason != tc.reason || o.SubscriberID != 9 || o.retryAt.IsZero() == tc.retry {
				t.Errorf("got %+v", o)
			}
			if tc.retry && (o.retryAt.Before(now.Add(e.o.BackoffBase/2)) || !o.retryAt.Before(tc.m.ExpiresAt())) {
				t.Errorf("retry at %v", o.retryAt)
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	e := testEngine(now)
	p := fakePusher{Attempt{Result: store.ResultRetrying, Reason: "http 429", RetryAfter: 90 * time.Second}}
	o := e.attempt(context.Background(), store.Message{TTL: time.Hour, SendAt: now}, deliverArgs{}, p, &payloadCache{c: Content{Title: "t"}}, store.Subscriber{})
	if o.retryAt.Before(now.Add(90 * time.Second)) {
		t.Errorf("retry at %v, before Retry-After", o.retryAt)
	}
}

func TestBackoffGrowsWithJitterAndCap(t *testing.T) {
	e := testEngine(time.Now())
	for attempt := 0; attempt < 40; attempt++ {
		base := e.o.BackoffBase << min(attempt, 30)
		if base <= 0 || base > e.o.BackoffMax {
			base = e.o.BackoffMax
		}
		for range 50 {
			d := e.backoff(attempt)
			if d < base/2 || d >= base*3/2 {
				t.Fatalf("attempt %d: backoff %v outside [%v, %v)", attempt, d, base/2, base*3/2)
			}
		}
	}
}

func TestPayloadLanguages(t *testing.T) {
	c := Content{Title: "Hello", Body: "Default", URL: "/x", Tag: "promo",
		Languages: map[string]Localized{"fa": {Title: "سلام"}, "de": {Title: "Hallo", Body: "Standard"}}}
	for lang, want := range map[string][2]string{
		"":      {"Hello", "Default"},
		"en":    {"Hello", "Default"},
		"fa":    {"سلام", "Default"},
		"fa-IR": {"سلام", "Default"},
		"de":    {"Hallo", "Standard"},
	} {
		b, err := c.Payload(42, lang)
		if err != nil {
			t.Fatal(err)
		}
		var p map[string]any
		json.Unmarshal(b, &p)
		if p["title"] != want[0] || p["body"] != want[1] || p["id"] != "42" || p["tag"] != "promo" || p["url"] != "/x" {
			t.Errorf("%q: %s", lang, b)
		}
	}
	raw := Content{Raw: json.RawMessage(`{"anything":true}`)}
	if b, _ := raw.Payload(1, "fa"); string(b) != `{"anything":true}` {
		t.Errorf("raw payload %s", b)
	}
	n, _ := c.LargestPayload(1 << 62)
	for _, l := range []string{"", "fa", "de"} {
		if b, _ := c.Payload(1<<62, l); len(b) > n {
			t.Errorf("LargestPayload %d < %d for %q", n, len(b), l)
		}
	}
}

func TestPacing(t *testing.T) {
	e := testEngine(time.Now())
	start := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	m := store.Message{SendAt: start, SpreadSeconds: 120}
	if n := e.paceSize(m, 10000); n != 834 {
		t.Errorf("pace size for 10,000 over 2 minutes: %d, want 834 (10 s at 83.3/s)", n)
	}
	w := e.window(m, 5000, 834, 10000)
	if !w.start.Equal(start.Add(time.Minute)) || !w.end.Equal(start.Add(time.Duration(float64(2*time.Minute)*5834/10000))) {
		t.Errorf("window %v – %v", w.start, w.end)
	}
	if w := e.window(store.Message{SendAt: start}, 0, 500, 1000); !w.start.IsZero() {
		t.Errorf("unthrottled window %v", w)
	}
	a := deliverArgs{Start: start, End: start.Add(10 * time.Second)}
	if d := a.dueAt(5, 10); !d.Equal(start.Add(5 * time.Second)) {
		t.Errorf("recipient 5 of 10 due at %v", d)
	}
	if d := (deliverArgs{}).dueAt(5, 10); !d.IsZero() {
		t.Errorf("unpaced recipient due at %v", d)
	}
}
