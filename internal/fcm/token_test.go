package fcm

import (
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/fcm/fcmtest"
)

func TestTokenCached(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{})
	c := clientFor(t, srv, sa, Options{})
	for i := range 20 {
		if res, err := c.Send(testCtx(t), Message{Token: "t", Title: "x"}); err != nil || res.Outcome != Delivered {
			t.Fatalf("send %d: %+v, %v", i, res, err)
		}
	}
	if st := srv.Stats(); st.TokenRequests != 1 || st.TokensIssued != 1 || st.Accepted != 20 {
		t.Errorf("stats %+v: want one token for 20 sends", st)
	}
}

// TestTokenOneFetchForConcurrentSends holds the token endpoint until 50
// sends have started, so they all want a token at once: one fetch serves
// them all.
func TestTokenOneFetchForConcurrentSends(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{})
	c := clientFor(t, srv, sa, Options{})
	gate := make(chan struct{})
	srv.FailTokenEndpoint(fcmtest.Behavior{Gate: gate})
	const n = 50
	var started sync.WaitGroup
	started.Add(n)
	var delivered atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		concurrently(n, func(int) {
			started.Done()
			if res, _ := c.Send(testCtx(t), Message{Token: "t", Title: "x"}); res.Outcome == Delivered {
				delivered.Add(1)
			}
		})
	}()
	started.Wait()
	if err := srv.WaitTokenRequests(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	close(gate)
	<-done
	if delivered.Load() != n {
		t.Errorf("%d of %d delivered", delivered.Load(), n)
	}
	if st := srv.Stats(); st.TokenRequests != 1 || st.Accepted != n {
		t.Errorf("stats %+v: want exactly one token request for %d concurrent sends", st, n)
	}
}

// TestTokenRefreshedBeforeExpiry: a token that will expire within the
// early-expiry margin is replaced before it is used.
func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{TokenLifetime: time.Minute})
	c := clientFor(t, srv, sa, Options{TokenEarlyExpiry: 2 * time.Minute})
	for range 3 {
		if res, err := c.Send(testCtx(t), Message{Token: "t", Title: "x"}); err != nil || res.Outcome != Delivered {
			t.Fatalf("Send = %+v, %v", res, err)
		}
	}
	if st := srv.Stats(); st.TokenRequests != 3 || st.Unauthorized != 0 {
		t.Errorf("stats %+v: want a fresh token for each send, none refused", st)
	}
}

func TestTokenExpiredEarlyIsReplaced(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{})
	c := clientFor(t, srv, sa, Options{})
	send := func() {
		t.Helper()
		if res, err := c.Send(testCtx(t), Message{Token: "t", Title: "x"}); err != nil || res.Outcome != Delivered {
			t.Fatalf("Send = %+v, %v", res, err)
		}
	}
	send()
	if n := srv.ExpireTokens(); n != 1 {
		t.Fatalf("expired %d tokens", n)
	}
	send()
	send()
	if st := srv.Stats(); st.TokenRequests != 2 || st.Unauthorized != 1 || st.Accepted != 3 || st.Requests != 4 {
		t.Errorf("stats %+v: want one 401, one new token, the message sent again", st)
	}
}

// TestTokenRefusedByManyRefetchedOnce: 50 sends in flight with the same
// token all get 401; the token is replaced once and all 50 go through.
func TestTokenRefusedByManyRefetchedOnce(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{})
	c := clientFor(t, srv, sa, Options{})
	if res, err := c.Send(testCtx(t), Message{Token: "t", Title: "x"}); err != nil || res.Outcome != Delivered {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	const n = 50
	gate := make(chan struct{})
	srv.FailAll(fcmtest.Behavior{Gate: gate, Times: n})
	var delivered atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		concurrently(n, func(int) {
			if res, _ := c.Send(testCtx(t), Message{Token: "t", Title: "x"}); res.Outcome == Delivered {
				delivered.Add(1)
			}
		})
	}()
	if err := srv.WaitRequests(testCtx(t), 1+n); err != nil {
		t.Fatal(err)
	}
	srv.ExpireTokens()
	close(gate)
	<-done
	if delivered.Load() != n {
		t.Errorf("%d of %d delivered", delivered.Load(), n)
	}
	if st := srv.Stats(); st.TokenRequests != 2 || st.Unauthorized != n {
		t.Errorf("stats %+v: want %d refusals and exactly one new token", st, n)
	}
}

func TestUnauthorizedTwiceFails(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{})
	c := clientFor(t, srv, sa, Options{})
	srv.FailAll(fcmtest.Behavior{Status: 401})
	res, err := c.Send(testCtx(t), Message{Token: "t", Title: "x"})
	if err != nil || res.Outcome != Failed || res.Reason != "UNAUTHENTICATED" {
		t.Errorf("Send = %+v, %v", res, err)
	}
	if st := srv.Stats(); st.Requests != 2 || st.TokenRequests != 2 {
		t.Errorf("stats %+v: want one retry with one new token, no more", st)
	}
}

func TestTokenEndpointFailures(t *testing.T) {
	tests := []struct {
		name    string
		b       fcmtest.Behavior
		outcome Outcome
		reason  string
		status  int
	}{
		{"unavailable", fcmtest.Behavior{Status: 503}, Retry, "token http 503", 503},
		{"rate limited", fcmtest.Behavior{Status: 429}, Retry, "token http 429", 429},
		{"invalid grant", fcmtest.Behavior{Status: 400}, Failed, "token rejected", 400},
		{"invalid client", fcmtest.Behavior{Status: 401, Code: "invalid_client"}, Failed, "token rejected", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sa := startFake(t, fcmtest.Options{})
			c := clientFor(t, srv, sa, Options{})
			srv.FailTokenEndpoint(tt.b)
			res, err := c.Send(testCtx(t), Message{Token: "t", Title: "x"})
			var te *TokenError
			if !errors.As(err, &te) || te.Status != tt.status {
				t.Fatalf("err = %v, want a TokenError with status %d", err, tt.status)
			}
			if res.Outcome != tt.outcome || res.Reason != tt.reason {
				t.Errorf("Send = %+v, want %v %q", res, tt.outcome, tt.reason)
			}
			if strings.Contains(err.Error(), "error_description") || strings.Contains(err.Error(), "injected") {
				t.Errorf("error %q carries the token endpoint's body", err)
			}
			if st := srv.Stats(); st.Requests != 0 {
				t.Errorf("sent without a token: %+v", st)
			}
		})
	}
}

func TestRemovedAccountIsRejected(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{})
	c := clientFor(t, srv, sa, Options{})
	if res, _ := c.Send(testCtx(t), Message{Token: "t", Title: "x"}); res.Outcome != Delivered {
		t.Fatalf("Send = %+v", res)
	}
	srv.RemoveAccount(sa.ClientEmail)
	res, _ := c.Send(testCtx(t), Message{Token: "t", Title: "x"})
	if res.Outcome != Failed || res.Reason != "token rejected" {
		t.Errorf("Send after the account was removed = %+v", res)
	}
}

func TestTokenEndpointUnreachable(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sa.TokenURI = "http://" + ln.Addr().String() + "/token"
	ln.Close()
	c := clientFor(t, srv, sa, Options{})
	res, err := c.Send(testCtx(t), Message{Token: "t", Title: "x"})
	var te *TokenError
	if !errors.As(err, &te) || te.Status != 0 || res.Outcome != Retry || res.Reason != "token unreachable" {
		t.Errorf("Send = %+v, %v", res, err)
	}
}

// TestTokenErrorHeld: a failed fetch is answered from memory for a few
// seconds, then tried again.
func TestTokenErrorHeld(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{})
	var mu sync.Mutex
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := clientFor(t, srv, sa, Options{Now: clock})
	srv.FailTokenEndpoint(fcmtest.FailNext(1, fcmtest.Behavior{Status: 503}))
	for i := range 3 {
		if res, _ := c.Send(testCtx(t), Message{Token: "t", Title: "x"}); res.Outcome != Retry {
			t.Fatalf("send %d: %+v", i, res)
		}
	}
	if st := srv.Stats(); st.TokenRequests != 1 {
		t.Errorf("%d token requests while the error is held", st.TokenRequests)
	}
	mu.Lock()
	now = now.Add(tokenErrorHold)
	mu.Unlock()
	if res, err := c.Send(testCtx(t), Message{Token: "t", Title: "x"}); res.Outcome != Delivered {
		t.Fatalf("send after the hold = %+v, %v", res, err)
	}
	if st := srv.Stats(); st.TokenRequests != 2 {
		t.Errorf("%d token requests, want 2", st.TokenRequests)
	}
}

// TestTokenErrorHeldForConcurrentSends: with the token endpoint down, a
// crowd of sends costs one request, not one each.
func TestTokenErrorHeldForConcurrentSends(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{})
	c := clientFor(t, srv, sa, Options{})
	srv.FailTokenEndpoint(fcmtest.Behavior{Status: 503})
	var retried atomic.Int64
	concurrently(50, func(int) {
		if res, _ := c.Send(testCtx(t), Message{Token: "t", Title: "x"}); res.Outcome == Retry {
			retried.Add(1)
		}
	})
	if retried.Load() != 50 {
		t.Errorf("%d of 50 retried", retried.Load())
	}
	if st := srv.Stats(); st.TokenRequests != 1 {
		t.Errorf("%d token requests, want 1", st.TokenRequests)
	}
}
