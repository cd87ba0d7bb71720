package fcm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/fcm/fcmtest"
)

// creds is a Credentials table that counts lookups.
type creds struct {
	mu      sync.Mutex
	apps    map[string]ServiceAccount
	err     error
	lookups atomic.Int64
}

func (c *creds) set(app string, sa ServiceAccount) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.apps[app] = sa
}

func (c *creds) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
}

func (c *creds) lookup(_ context.Context, app string) (ServiceAccount, error) {
	c.lookups.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return ServiceAccount{}, c.err
	}
	sa, ok := c.apps[app]
	if !ok {
		return ServiceAccount{}, fmt.Errorf("app %s: %w", app, ErrNoCredentials)
	}
	return sa, nil
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fakeClock) Add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func newPusher(t *testing.T, srv *fcmtest.Server, c *creds, o PusherOptions) *Pusher {
	t.Helper()
	o.Client.BaseURL = srv.URL()
	p := NewPusher(c.lookup, o)
	t.Cleanup(p.Close)
	return p
}

func TestPusherResults(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{Record: true})
	c := &creds{apps: map[string]ServiceAccount{"app1": sa}}
	p := newPusher(t, srv, c, PusherOptions{})
	srv.Fail("gone", fcmtest.Unregistered())
	srv.Fail("bad", fcmtest.InvalidArgument())
	srv.Fail("busy", fcmtest.QuotaExceeded(time.Minute))
	srv.Fail("down", fcmtest.Unavailable(0))
	tests := []struct {
		token, result, reason string
		retryAfter            time.Duration
	}{
		{"ok", ResultSent, "", 0},
		{"gone", ResultPruned, "UNREGISTERED", 0},
		{"bad", ResultFailed, "INVALID_ARGUMENT", 0},
		{"busy", ResultRetrying, "QUOTA_EXCEEDED", time.Minute},
		{"down", ResultRetrying, "UNAVAILABLE", 0},
	}
	for _, tt := range tests {
		result, reason, ra := p.PushToken(testCtx(t), "app1", tt.token, Message{Token: "ignored", Title: "hi"})
		if result != tt.result || reason != tt.reason || ra != tt.retryAfter {
			t.Errorf("PushToken(%s) = %q %q %s, want %q %q %s", tt.token, result, reason, ra, tt.result, tt.reason, tt.retryAfter)
		}
	}
	if got := srv.Received("ok"); len(got) != 1 || got[0].Notification.Title != "hi" {
		t.Errorf("received %+v", got)
	}
	if got := srv.Received("ignored"); len(got) != 0 {
		t.Errorf("m.Token was used instead of the token argument")
	}
}

func TestPusherCredentialErrors(t *testing.T) {
	srv, _ := startFake(t, fcmtest.Options{})
	c := &creds{apps: map[string]ServiceAccount{}}
	p := newPusher(t, srv, c, PusherOptions{})
	if r, reason, _ := p.PushToken(testCtx(t), "nope", "t", Message{Title: "x"}); r != ResultFailed || reason != "no fcm credentials" {
		t.Errorf("app without an account: %q %q", r, reason)
	}
	c.fail(errors.New("store down"))
	if r, reason, _ := p.PushToken(testCtx(t), "nope", "t", Message{Title: "x"}); r != ResultRetrying || reason != "credentials unavailable" {
		t.Errorf("lookup failure: %q %q", r, reason)
	}
	if st := srv.Stats(); st.TokenRequests+st.Requests != 0 {
		t.Errorf("reached the fake: %+v", st)
	}
}

// TestPusherAppsAreSeparate: each app sends with its own account, to its
// own project, with its own token.
func TestPusherAppsAreSeparate(t *testing.T) {
	srv, sa1 := startFake(t, fcmtest.Options{Record: true})
	raw, err := srv.NewServiceAccount("second-project")
	if err != nil {
		t.Fatal(err)
	}
	sa2, err := ParseServiceAccount(raw)
	if err != nil {
		t.Fatal(err)
	}
	c := &creds{apps: map[string]ServiceAccount{"a": sa1, "b": sa2}}
	p := newPusher(t, srv, c, PusherOptions{})
	for _, app := range []string{"a", "b", "a", "b"} {
		if r, reason, _ := p.PushToken(testCtx(t), app, "tok-"+app, Message{Title: app}); r != ResultSent {
			t.Fatalf("app %s: %q %q", app, r, reason)
		}
	}
	for app, project := range map[string]string{"a": fcmtest.DefaultProjectID, "b": "second-project"} {
		for _, m := range srv.Received("tok-" + app) {
			if m.Project != project {
				t.Errorf("app %s sent to project %s", app, m.Project)
			}
		}
	}
	if st := srv.Stats(); st.TokenRequests != 2 || c.lookups.Load() != 2 {
		t.Errorf("%d token requests, %d lookups: want one each per app", st.TokenRequests, c.lookups.Load())
	}
}

func TestPusherAccountChange(t *testing.T) {
	srv, sa1 := startFake(t, fcmtest.Options{Record: true})
	raw, _ := srv.NewServiceAccount("new-project")
	sa2, err := ParseServiceAccount(raw)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := &creds{apps: map[string]ServiceAccount{"app": sa1}}
	p := newPusher(t, srv, c, PusherOptions{CredentialsTTL: time.Minute, Client: Options{Now: clock.Now}})
	push := func(tok string) {
		t.Helper()
		if r, reason, _ := p.PushToken(testCtx(t), "app", tok, Message{Title: "x"}); r != ResultSent {
			t.Fatalf("PushToken = %q %q", r, reason)
		}
	}
	project := func(tok string) string { return srv.Received(tok)[0].Project }

	push("t1")
	clock.Add(time.Minute) // looked up again, unchanged: same Client, same token
	push("t2")
	if n := c.lookups.Load(); n != 2 {
		t.Errorf("%d lookups, want 2", n)
	}
	if st := srv.Stats(); st.TokenRequests != 1 {
		t.Errorf("%d token requests after an unchanged lookup", st.TokenRequests)
	}

	c.set("app", sa2)
	push("t3") // still within the TTL: the old account
	clock.Add(time.Minute)
	push("t4")
	if project("t3") != fcmtest.DefaultProjectID || project("t4") != "new-project" {
		t.Errorf("projects %s, %s: the new account should take effect after the TTL", project("t3"), project("t4"))
	}

	c.fail(errors.New("store down"))
	clock.Add(time.Minute)
	push("t5") // a failed lookup keeps the Client it has
	if project("t5") != "new-project" {
		t.Errorf("t5 went to %s", project("t5"))
	}

	c.fail(nil)
	delete(c.apps, "app")
	clock.Add(time.Minute)
	if r, reason, _ := p.PushToken(testCtx(t), "app", "t6", Message{Title: "x"}); r != ResultFailed || reason != "no fcm credentials" {
		t.Errorf("after the account was removed: %q %q", r, reason)
	}
}

// TestPusherConcurrentFirstSends: 50 sends for an app nobody sent for yet
// share one lookup, one Client and one token.
func TestPusherConcurrentFirstSends(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{})
	c := &creds{apps: map[string]ServiceAccount{"app": sa}}
	p := newPusher(t, srv, c, PusherOptions{})
	var sent atomic.Int64
	concurrently(50, func(i int) {
		if r, _, _ := p.PushToken(testCtx(t), "app", fmt.Sprint("t", i), Message{Title: "x"}); r == ResultSent {
			sent.Add(1)
		}
	})
	if sent.Load() != 50 {
		t.Errorf("%d of 50 sent", sent.Load())
	}
	if st := srv.Stats(); st.TokenRequests != 1 || c.lookups.Load() != 1 {
		t.Errorf("%d token requests, %d lookups: want 1 and 1", st.TokenRequests, c.lookups.Load())
	}
}

func TestPusherBoundsConcurrency(t *testing.T) {
	srv, sa := startFake(t, fcmtest.Options{})
	c := &creds{apps: map[string]ServiceAccount{"app": sa}}
	p := newPusher(t, srv, c, PusherOptions{MaxConcurrent: 1})
	gate := make(chan struct{})
	srv.FailAll(fcmtest.Behavior{Gate: gate, Times: 1})
	done := make(chan string)
	go func() {
		r, _, _ := p.PushToken(testCtx(t), "app", "held", Message{Title: "x"})
		done <- r
	}()
	if err := srv.WaitRequests(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	cancel()
	if r, reason, _ := p.PushToken(ctx, "app", "queued", Message{Title: "x"}); r != ResultRetrying || reason != "cancelled" {
		t.Errorf("send beyond MaxConcurrent with a cancelled context: %q %q", r, reason)
	}
	if st := srv.Stats(); st.Requests != 1 {
		t.Errorf("%d requests in flight, MaxConcurrent is 1", st.Requests)
	}
	close(gate)
	if r := <-done; r != ResultSent {
		t.Errorf("held send: %q", r)
	}
}
