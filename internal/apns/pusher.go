package apns

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// The results PushToken gives, the delivery engine's words for Outcomes.
const (
	ResultSent     = "sent"
	ResultFailed   = "failed"
	ResultPruned   = "pruned"
	ResultRetrying = "retrying"
)

// CredentialsFunc returns an app's APNs credentials. It returns an error
// wrapping ErrNoCredentials when the app has none; any other error is
// taken as passing (the store is down) and the push is retried.
type CredentialsFunc func(ctx context.Context, appID string) (Credentials, error)

// PusherOptions tune a Pusher. The zero value talks to Apple.
type PusherOptions struct {
	// Client is the template every app's Client is made with (BaseURL,
	// TLS, Timeout, Now).
	Client Options
	// PerApp bounds one app's concurrent requests; zero means 512. One
	// HTTP/2 connection to APNs carries up to 1000 streams.
	PerApp int
	// CredentialsTTL is how long an app's credentials are used before they
	// are looked up again, so a new key takes effect; zero means a minute.
	CredentialsTTL time.Duration
}

// Pusher delivers to APNs for many Herald apps: it looks up each app's
// credentials, keeps one Client per app, rebuilt when they change, and
// bounds each app's concurrency. It is safe for concurrent use.
//
// It does not pause an app after a 429: APNs' TooManyRequests is about one
// device token getting too many notifications, not about the provider.
type Pusher struct {
	lookup CredentialsFunc
	o      PusherOptions
	now    func() time.Time

	mu   sync.Mutex
	apps map[string]*appEntry
}

// appEntry is one app's client. cur is read lock-free; mu serialises
// refreshing it, so one lookup runs per app however many pushes wait.
type appEntry struct {
	mu  sync.Mutex
	cur atomic.Pointer[appClient]
	sem chan struct{}
}

// appClient is the outcome of one credentials lookup: a client, or the
// reason there is none (err with its result reason).
type appClient struct {
	creds  Credentials
	client *Client
	err    error
	reason string
	until  time.Time
}

// NewPusher returns a Pusher that finds apps' credentials with lookup.
func NewPusher(lookup CredentialsFunc, o PusherOptions) *Pusher {
	if o.PerApp <= 0 {
		o.PerApp = 512
	}
	if o.CredentialsTTL <= 0 {
		o.CredentialsTTL = time.Minute
	}
	if o.Client.Now == nil {
		o.Client.Now = time.Now
	}
	return &Pusher{lookup: lookup, o: o, now: o.Client.Now, apps: map[string]*appEntry{}}
}

// PushToken sends n to the device token with n.AppID's credentials. It
// returns what became of it: "sent", "failed", "pruned" or "retrying",
// with a short stable reason for failed and retrying (Result.Reason, or
// "no credentials", "bad credentials", "credentials unavailable") and the
// wait APNs asked for.
func (p *Pusher) PushToken(ctx context.Context, token string, n Notification) (result, reason string, retryAfter time.Duration) {
	e := p.entry(n.AppID)
	ac := p.client(ctx, e, n.AppID)
	if ac.client == nil {
		if ac.reason == "credentials unavailable" {
			return ResultRetrying, ac.reason, 0
		}
		return ResultFailed, ac.reason, 0
	}
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return ResultRetrying, "cancelled", 0
	}
	defer func() { <-e.sem }()
	n.Token = token
	res, _ := ac.client.Send(ctx, n) // the Result says all the engine needs
	switch res.Outcome {
	case Delivered:
		return ResultSent, "", 0
	case Gone:
		return ResultPruned, res.Reason, 0
	case Retry:
		return ResultRetrying, res.Reason, res.RetryAfter
	}
	return ResultFailed, res.Reason, 0
}

func (p *Pusher) entry(appID string) *appEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.apps[appID]
	if !ok {
		e = &appEntry{sem: make(chan struct{}, p.o.PerApp)}
		p.apps[appID] = e
	}
	return e
}

// client returns the app's current client, looking its credentials up
// again once CredentialsTTL has passed. When a lookup fails in a way that
// may pass, the last good client is kept for another CredentialsTTL, or,
// if there is none, nothing is cached; missing or invalid credentials are
// cached for CredentialsTTL.
func (p *Pusher) client(ctx context.Context, e *appEntry, appID string) *appClient {
	now := p.now()
	if c := e.cur.Load(); c != nil && now.Before(c.until) {
		return c
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.cur.Load(); c != nil && now.Before(c.until) {
		return c
	}
	until := now.Add(p.o.CredentialsTTL)
	old := e.cur.Load()
	creds, err := p.lookup(ctx, appID)
	var next *appClient
	switch {
	case errors.Is(err, ErrNoCredentials):
		next = &appClient{err: err, reason: "no credentials", until: until}
	case err != nil && old != nil && old.client != nil:
		// The lookup may pass; meanwhile the last good credentials are
		// the best guess, and looking up again on every push would pile
		// load on a store that is already failing.
		next = &appClient{creds: old.creds, client: old.client, until: until}
	case err != nil:
		return &appClient{err: err, reason: "credentials unavailable"}
	case old != nil && old.client != nil && old.creds.Equal(creds):
		next = &appClient{creds: creds, client: old.client, until: until}
	default:
		cl, err := NewClient(creds, p.o.Client)
		if err != nil {
			next = &appClient{err: err, reason: "bad credentials", until: until}
		} else {
			next = &appClient{creds: creds, client: cl, until: until}
		}
	}
	e.cur.Store(next)
	if old != nil && old.client != nil && old.client != next.client {
		old.client.Close() // sends still using it finish; idle connections go
	}
	return next
}

// Close drops every app's idle connections.
func (p *Pusher) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.apps {
		if c := e.cur.Load(); c != nil && c.client != nil {
			c.client.Close()
		}
	}
}
