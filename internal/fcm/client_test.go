package fcm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/fcm/fcmtest"

	"github.com/heraldpush/herald/internal/webpush"
)

func TestSendNotification(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{Record: true})
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := clientFor(t, srv, sa, Options{Now: func() time.Time { return now }})
	res, err := c.Send(testCtx(t), Message{
		Token:       "tok-1",
		Title:       "Order shipped",
		Body:        "Tuesday",
		Image:       "https://shop.example/box.png",
		Icon:        "ic_box",
		URL:         "https://shop.example/orders/42",
		ClickAction: "OPEN_ORDER",
		Data:        map[string]string{"order": "42", "url": "overridden"},
		TTL:         time.Hour,
		Priority:    PriorityHigh,
		CollapseKey: "order-42",
	})
	if err != nil || res.Outcome != Delivered || res.Status != http.StatusOK || res.Reason != "" {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	msgs := srv.Received("tok-1")
	if len(msgs) != 1 {
		t.Fatalf("received %d messages", len(msgs))
	}
	m := msgs[0]
	if res.Name != m.Name || m.Project != sa.ProjectID {
		t.Errorf("name %q, fake recorded %q in project %q", res.Name, m.Name, m.Project)
	}
	if n := m.Notification; n == nil || n.Title != "Order shipped" || n.Body != "Tuesday" || n.Image != "https://shop.example/box.png" {
		t.Errorf("notification = %+v", n)
	}
	if m.Data["order"] != "42" || m.Data["url"] != "https://shop.example/orders/42" || len(m.Data) != 2 {
		t.Errorf("data = %v", m.Data)
	}
	a := m.Android
	if a == nil || a.TTL != "3600s" || a.Priority != "HIGH" || a.CollapseKey != "order-42" {
		t.Fatalf("android = %+v", a)
	}
	if an := a.Notification; an == nil || an.Icon != "ic_box" || an.Tag != "order-42" || an.ClickAction != "OPEN_ORDER" {
		t.Errorf("android.notification = %+v", an)
	}
	wp := m.Webpush
	if wp == nil || wp.Headers["TTL"] != "3600" || wp.Headers["Urgency"] != "high" || wp.Headers["Topic"] != "order-42" {
		t.Fatalf("webpush = %+v", wp)
	}
	if wp.FCMOptions == nil || wp.FCMOptions.Link != "https://shop.example/orders/42" {
		t.Errorf("webpush.fcm_options = %+v", wp.FCMOptions)
	}
	if wp.Notification["icon"] != "ic_box" || wp.Notification["tag"] != "order-42" {
		t.Errorf("webpush.notification = %v", wp.Notification)
	}
	wantAPNs := map[string]string{
		"apns-expiration":  strconv.FormatInt(now.Add(time.Hour).Unix(), 10),
		"apns-collapse-id": "order-42",
		"apns-priority":    "10",
	}
	if m.APNs == nil || fmt.Sprint(m.APNs.Headers) != fmt.Sprint(wantAPNs) {
		t.Errorf("apns = %+v, want headers %v", m.APNs, wantAPNs)
	}
}

func TestSendDataOnly(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{Record: true})
	c := clientFor(t, srv, sa, Options{})
	res, err := c.Send(testCtx(t), Message{
		Token:       "tok-data",
		Icon:        "ignored without a notification",
		Tag:         "ignored too",
		Data:        map[string]string{"kind": "sync"},
		Priority:    PriorityNormal,
		TTL:         1500 * time.Millisecond,
		CollapseKey: "not a topic: has spaces",
	})
	if err != nil || res.Outcome != Delivered {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	m := srv.Received("tok-data")[0]
	if m.Notification != nil {
		t.Errorf("data-only message has notification %+v", m.Notification)
	}
	if m.Data["kind"] != "sync" || len(m.Data) != 1 {
		t.Errorf("data = %v", m.Data)
	}
	a := m.Android
	if a == nil || a.Notification != nil || a.Priority != "NORMAL" || a.TTL != "2s" || a.CollapseKey != "not a topic: has spaces" {
		t.Errorf("android = %+v (ttl rounds up, no notification)", a)
	}
	if wp := m.Webpush; wp == nil || wp.Notification != nil || wp.FCMOptions != nil || wp.Headers["Urgency"] != "normal" || wp.Headers["Topic"] != "" {
		t.Errorf("webpush = %+v (no notification, no Topic for an invalid one)", wp)
	}
	if m.APNs == nil || m.APNs.Headers["apns-priority"] != "5" {
		t.Errorf("apns = %+v, want priority 5 for a background push", m.APNs)
	}
}

func TestSendMinimal(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{Record: true})
	c := clientFor(t, srv, sa, Options{})
	if res, err := c.Send(testCtx(t), Message{Token: "tok-min", Body: "hi", URL: "http://plain.example/"}); err != nil || res.Outcome != Delivered {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	m := srv.Received("tok-min")[0]
	if m.Android != nil || m.Webpush != nil || m.APNs != nil {
		t.Errorf("no TTL, priority, collapse key or https link, yet android=%+v webpush=%+v apns=%+v", m.Android, m.Webpush, m.APNs)
	}
	if m.Data["url"] != "http://plain.example/" {
		t.Errorf("data = %v", m.Data)
	}
}

func TestSendTTLCapped(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{Record: true})
	c := clientFor(t, srv, sa, Options{})
	if res, err := c.Send(testCtx(t), Message{Token: "tok-ttl", Title: "t", TTL: 90 * 24 * time.Hour}); err != nil || res.Outcome != Delivered {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	if got := srv.Received("tok-ttl")[0].Android.TTL; got != "2419200s" {
		t.Errorf("ttl = %q, want 28 days", got)
	}
}

func TestSendInvalidMessage(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{})
	c := clientFor(t, srv, sa, Options{})
	for _, m := range []Message{
		{Title: "no token"},
		{Token: "t", Data: map[string]string{"google.x": "y"}},
		{Token: "t", Data: map[string]string{"from": "y"}},
		{Token: "t", TTL: -time.Second},
		{Token: "t", Priority: "URGENT"},
	} {
		res, err := c.Send(testCtx(t), m)
		if !errors.Is(err, ErrInvalidMessage) || res.Outcome != Failed || res.Reason != "invalid message" {
			t.Errorf("Send(%+v) = %+v, %v", m, res, err)
		}
	}
	if st := srv.Stats(); st.TokenRequests != 0 || st.Requests != 0 {
		t.Errorf("invalid messages reached the fake: %+v", st)
	}
}

func TestErrorMapping(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{})
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := clientFor(t, srv, sa, Options{Now: func() time.Time { return now }})
	tests := []struct {
		name       string
		b          fcmtest.Behavior
		outcome    Outcome
		reason     string
		status     int
		retryAfter time.Duration
	}{
		{"unregistered", fcmtest.Unregistered(), Gone, "UNREGISTERED", 404, 0},
		{"not found without code", fcmtest.Behavior{Status: 404}, Gone, "NOT_FOUND", 404, 0},
		{"bare 404 is not FCM's word", fcmtest.Behavior{Status: 404, Bare: true}, Failed, "http 404", 404, 0},
		{"invalid argument", fcmtest.InvalidArgument(), Failed, "INVALID_ARGUMENT", 400, 0},
		{"sender id mismatch", fcmtest.SenderIDMismatch(), Failed, "SENDER_ID_MISMATCH", 403, 0},
		{"third party auth", fcmtest.ThirdPartyAuthError(), Failed, "THIRD_PARTY_AUTH_ERROR", 401, 0},
		{"permission denied", fcmtest.Behavior{Status: 403}, Failed, "PERMISSION_DENIED", 403, 0},
		{"quota", fcmtest.QuotaExceeded(30 * time.Second), Retry, "QUOTA_EXCEEDED", 429, 30 * time.Second},
		{"quota without retry-after", fcmtest.QuotaExceeded(0), Retry, "QUOTA_EXCEEDED", 429, 0},
		{"unavailable", fcmtest.Unavailable(2 * time.Second), Retry, "UNAVAILABLE", 503, 2 * time.Second},
		{"internal", fcmtest.Internal(), Retry, "INTERNAL", 500, 0},
		{"bare 503", fcmtest.Behavior{Status: 503, Bare: true, RetryAfter: 5 * time.Second}, Retry, "http 503", 503, 5 * time.Second},
		{"bare 429", fcmtest.Behavior{Status: 429, Bare: true}, Retry, "http 429", 429, 0},
		{"bare 502", fcmtest.Behavior{Status: 502, Bare: true}, Retry, "http 502", 502, 0},
		{"bare 413", fcmtest.Behavior{Status: 413, Bare: true}, Failed, "http 413", 413, 0},
		{"unknown code falls back to status", fcmtest.Behavior{Status: 503, Code: "SOMETHING_NEW"}, Retry, "UNAVAILABLE", 503, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := fmt.Sprintf("tok-%d", i)
			srv.Fail(tok, tt.b)
			res, err := c.Send(testCtx(t), Message{Token: tok, Title: "x"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tt.outcome || res.Reason != tt.reason || res.Status != tt.status || res.RetryAfter != tt.retryAfter {
				t.Errorf("got %v %q %d retry %s, want %v %q %d retry %s", res.Outcome, res.Reason, res.Status, res.RetryAfter,
					tt.outcome, tt.reason, tt.status, tt.retryAfter)
			}
		})
	}
	if st := srv.Stats(); st.TokenRequests != 1 {
		t.Errorf("%d token requests: only a 401 UNAUTHENTICATED should drop the token", st.TokenRequests)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":             0,
		"120":          2 * time.Minute,
		" 7 ":          7 * time.Second,
		"-1":           0,
		"soon":         0,
		"999999999999": maxRetryAfter,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	} {
		if got := webpush.RetryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %s, want %s", v, got, want)
		}
	}
}

func TestFailNextThenRecover(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{})
	c := clientFor(t, srv, sa, Options{})
	srv.Fail("tok", fcmtest.FailNext(2, fcmtest.Unavailable(0)))
	for i, want := range []Outcome{Retry, Retry, Delivered} {
		if res, _ := c.Send(testCtx(t), Message{Token: "tok", Title: "x"}); res.Outcome != want {
			t.Errorf("send %d: %+v, want %v", i, res, want)
		}
	}
	if d := srv.Deliveries("tok"); d != 1 {
		t.Errorf("deliveries = %d", d)
	}
}

func TestSendTimeoutAndCancel(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{})
	// Long enough for the token fetch (same Timeout) on a loaded machine.
	c := clientFor(t, srv, sa, Options{Timeout: 500 * time.Millisecond})
	gate := make(chan struct{})
	defer close(gate)
	srv.Fail("slow", fcmtest.Behavior{Gate: gate})
	res, err := c.Send(testCtx(t), Message{Token: "slow", Title: "x"})
	if err == nil || res.Outcome != Retry || res.Reason != "timeout" {
		t.Errorf("held send = %+v, %v; want Retry timeout", res, err)
	}

	ctx, cancel := context.WithCancel(testCtx(t))
	cancel()
	res, err = c.Send(ctx, Message{Token: "any", Title: "x"})
	if err == nil || res.Outcome != Retry || res.Reason != "cancelled" {
		t.Errorf("cancelled send = %+v, %v", res, err)
	}
}

func TestSendUnreachable(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{})
	c := clientFor(t, srv, sa, Options{})
	if res, err := c.Send(testCtx(t), Message{Token: "t", Title: "x"}); err != nil || res.Outcome != Delivered {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	srv.Close()
	res, err := c.Send(testCtx(t), Message{Token: "t", Title: "x"})
	if err == nil || res.Outcome != Retry || res.Reason != "unreachable" {
		t.Errorf("send to a closed server = %+v, %v", res, err)
	}
}

// TestWrongProject: a token of one project cannot send for another.
func TestWrongProject(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{})
	other := sa
	other.ProjectID = "someone-else"
	c := clientFor(t, srv, other, Options{})
	res, err := c.Send(testCtx(t), Message{Token: "t", Title: "x"})
	if err != nil || res.Outcome != Failed || res.Reason != "PERMISSION_DENIED" {
		t.Errorf("Send = %+v, %v", res, err)
	}
}

// concurrently runs n calls of f at once and waits for them.
func concurrently(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}
