package apns

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/apns/apnstest"
)

// creds is a CredentialsFunc over a map the test changes.
type creds struct {
	mu      sync.Mutex
	byApp   map[string]Credentials
	errs    map[string]error
	lookups atomic.Int64
}

func (c *creds) lookup(_ context.Context, appID string) (Credentials, error) {
	c.lookups.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.errs[appID]; err != nil {
		return Credentials{}, err
	}
	cr, ok := c.byApp[appID]
	if !ok {
		return Credentials{}, fmt.Errorf("app %s: %w", appID, ErrNoCredentials)
	}
	return cr, nil
}

func (c *creds) set(appID string, cr Credentials, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byApp[appID] = cr
	c.errs[appID] = err
}

func newPusherEnv(t *testing.T, o PusherOptions) (*env, *creds, *Pusher) {
	e := newEnv(t, apnstest.Options{Record: true})
	cs := &creds{byApp: map[string]Credentials{"app1": e.creds}, errs: map[string]error{}}
	o.Client = Options{BaseURL: e.srv.URL(), TLS: e.srv.TLSConfig(), Now: e.clock.Now}
	p := NewPusher(cs.lookup, o)
	t.Cleanup(p.Close)
	return e, cs, p
}

func TestPusherResults(t *testing.T) {
	e, _, p := newPusherEnv(t, PusherOptions{})
	e.srv.Fail(deviceToken(2), apnstest.Unregistered())
	e.srv.Fail(deviceToken(3), apnstest.TooManyRequests(5*time.Second))
	e.srv.Fail(deviceToken(4), apnstest.Reject(400, "BadTopic"))
	e.srv.Fail(deviceToken(5), apnstest.ServiceUnavailable(0))
	e.srv.Fail(deviceToken(6), apnstest.BadDeviceToken())
	for _, tc := range []struct {
		token      string
		result     string
		reason     string
		retryAfter time.Duration
	}{
		{deviceToken(1), "sent", "", 0},
		{deviceToken(2), "pruned", "Unregistered", 0},
		{deviceToken(3), "retrying", "TooManyRequests", 5 * time.Second},
		{deviceToken(4), "failed", "BadTopic", 0},
		{deviceToken(5), "retrying", "ServiceUnavailable", 0},
		{deviceToken(6), "pruned", "BadDeviceToken", 0},
		{"not hex", "pruned", "BadDeviceToken", 0},
	} {
		// The token argument wins over n.Token.
		result, reason, ra := p.PushToken(t.Context(), tc.token, Notification{AppID: "app1", Token: "ignored", Title: "t"})
		if result != tc.result || reason != tc.reason || ra != tc.retryAfter {
			t.Errorf("%s: got %s %q %v, want %s %q %v", tc.token, result, reason, ra, tc.result, tc.reason, tc.retryAfter)
		}
	}
	if got := e.srv.Received(deviceToken(1)); len(got) != 1 || got[0].Topic != testTopic {
		t.Fatalf("fake got %+v", got)
	}
}

func TestPusherCredentialErrors(t *testing.T) {
	e, cs, p := newPusherEnv(t, PusherOptions{})
	bad := e.creds
	bad.KeyID = "short"
	cs.set("bad", bad, nil)
	cs.set("down", Credentials{}, errors.New("store: connection refused"))
	for _, tc := range []struct{ app, result, reason string }{
		{"none", "failed", "no credentials"},
		{"bad", "failed", "bad credentials"},
		{"down", "retrying", "credentials unavailable"},
	} {
		result, reason, _ := p.PushToken(t.Context(), deviceToken(1), Notification{AppID: tc.app, Title: "t"})
		if result != tc.result || reason != tc.reason {
			t.Errorf("app %s: %s %q, want %s %q", tc.app, result, reason, tc.result, tc.reason)
		}
	}
	// Missing and invalid credentials are cached; a store error is not.
	before := cs.lookups.Load()
	for _, app := range []string{"none", "bad", "down"} {
		p.PushToken(t.Context(), deviceToken(1), Notification{AppID: app, Title: "t"})
	}
	if n := cs.lookups.Load() - before; n != 1 {
		t.Fatalf("%d lookups, want 1 (only the failing store)", n)
	}
	if n := e.srv.Stats().Requests; n != 0 {
		t.Fatalf("fake saw %d requests", n)
	}
}

func TestPusherCredentialsCachedAndRebuilt(t *testing.T) {
	e, cs, p := newPusherEnv(t, PusherOptions{CredentialsTTL: time.Minute})
	push := func(i int) {
		t.Helper()
		if r, reason, _ := p.PushToken(t.Context(), deviceToken(i), Notification{AppID: "app1", Title: "t"}); r != "sent" {
			t.Fatalf("push %d: %s %s", i, r, reason)
		}
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() { push(i) })
	}
	wg.Wait()
	if n := cs.lookups.Load(); n != 1 {
		t.Fatalf("%d lookups for 20 concurrent pushes, want 1", n)
	}
	first := p.entry("app1").cur.Load().client

	// Same credentials after the TTL: looked up again, same Client (and
	// provider token).
	e.clock.Add(time.Minute)
	push(100)
	if n := cs.lookups.Load(); n != 2 {
		t.Fatalf("%d lookups, want 2", n)
	}
	if p.entry("app1").cur.Load().client != first {
		t.Fatal("client rebuilt for unchanged credentials")
	}

	// A rotated key: a new Client signs with it.
	k2, err := e.srv.NewKey(testTeam, "KEY2222222", testTopic)
	if err != nil {
		t.Fatal(err)
	}
	rotated := e.creds
	rotated.KeyID, rotated.Key = "KEY2222222", k2
	cs.set("app1", rotated, nil)
	push(101) // TTL not passed: old key still in use
	e.clock.Add(time.Minute)
	push(102)
	if p.entry("app1").cur.Load().client == first {
		t.Fatal("client not rebuilt for new credentials")
	}
	for i, want := range map[int]string{100: testKeyID, 101: testKeyID, 102: "KEY2222222"} {
		if got := e.srv.Received(deviceToken(i)); len(got) != 1 || got[0].KeyID != want {
			t.Errorf("push %d signed with %+v, want %s", i, got, want)
		}
	}

	// The store fails: the last good client carries on.
	cs.set("app1", Credentials{}, errors.New("store down"))
	e.clock.Add(time.Minute)
	push(103)
}

func TestPusherAppsSeparate(t *testing.T) {
	e, cs, p := newPusherEnv(t, PusherOptions{})
	k, err := e.srv.NewKey("TEAMB12345", "KEYB123456", "com.example.b")
	if err != nil {
		t.Fatal(err)
	}
	cs.set("app2", Credentials{KeyID: "KEYB123456", TeamID: "TEAMB12345", Topic: "com.example.b", Key: k}, nil)
	for i, app := range []string{"app1", "app2"} {
		if r, reason, _ := p.PushToken(t.Context(), deviceToken(i), Notification{AppID: app, Title: "t"}); r != "sent" {
			t.Fatalf("%s: %s %s", app, r, reason)
		}
	}
	a, b := e.srv.Received(deviceToken(0)), e.srv.Received(deviceToken(1))
	if a[0].TeamID != testTeam || a[0].Topic != testTopic || b[0].TeamID != "TEAMB12345" || b[0].Topic != "com.example.b" {
		t.Fatalf("apps mixed up: %+v / %+v", a[0], b[0])
	}
}

func TestPusherBoundsConcurrency(t *testing.T) {
	_, _, p := newPusherEnv(t, PusherOptions{PerApp: 1})
	e := p.entry("app1")
	e.sem <- struct{}{} // one push in flight fills the app's slot
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if r, reason, _ := p.PushToken(ctx, deviceToken(1), Notification{AppID: "app1", Title: "t"}); r != "retrying" || reason != "cancelled" {
		t.Fatalf("got %s %s, want retrying cancelled", r, reason)
	}
	<-e.sem
	if r, reason, _ := p.PushToken(t.Context(), deviceToken(1), Notification{AppID: "app1", Title: "t"}); r != "sent" {
		t.Fatalf("got %s %s", r, reason)
	}
}
