package fcm

import (
	"context"
	"errors"
	"sync"
	"time"
)

// The results PushToken reports, spelled as the delivery engine's
// store.Result values.
const (
	ResultSent     = "sent"
	ResultFailed   = "failed"
	ResultPruned   = "pruned"
	ResultRetrying = "retrying"
)

// Credentials returns a Herald app's service account. It returns an error
// wrapping ErrNoCredentials when the app has none configured; any other
// error is taken as temporary.
type Credentials func(ctx context.Context, appID string) (ServiceAccount, error)

// ErrNoCredentials says an app has no FCM service account.
var ErrNoCredentials = errors.New("fcm: app has no service account")

// PusherOptions tune a Pusher. The zero value works.
type PusherOptions struct {
	// Client is given to every app's Client. A nil HTTPClient means one
	// NewHTTPClient shared by all apps (they all talk to one host).
	Client Options
	// MaxConcurrent bounds requests in flight to FCM across all apps;
	// zero means 256.
	MaxConcurrent int
	// CredentialsTTL is how long an app's account is used before it is
	// looked up again, so a replaced account takes effect; zero means one
	// minute. An unchanged account keeps its Client and cached token.
	CredentialsTTL time.Duration
}

// Pusher sends to FCM for many Herald apps, one Client (one cached access
// token) per app. It is safe for concurrent use.
type Pusher struct {
	creds Credentials
	o     PusherOptions
	sem   chan struct{}

	mu   sync.Mutex
	apps map[string]*appClient
}

// appClient is one app's Client and when to look its account up again.
// Its lock makes concurrent first sends share one lookup and one Client.
type appClient struct {
	mu    sync.RWMutex
	sa    ServiceAccount
	c     *Client
	until time.Time
}

// NewPusher returns a Pusher that finds apps' accounts with creds.
func NewPusher(creds Credentials, o PusherOptions) *Pusher {
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 256
	}
	if o.CredentialsTTL <= 0 {
		o.CredentialsTTL = time.Minute
	}
	if o.Client.HTTPClient == nil {
		o.Client.HTTPClient = NewHTTPClient(o.MaxConcurrent)
	}
	if o.Client.Now == nil {
		o.Client.Now = time.Now
	}
	return &Pusher{creds: creds, o: o, sem: make(chan struct{}, o.MaxConcurrent), apps: map[string]*appClient{}}
}

// PushToken sends m to the device token for app appID (m.Token is set to
// token) and says what came of it: result is ResultSent, ResultFailed,
// ResultPruned or ResultRetrying; reason is Result.Reason, or
// "no fcm credentials" / "credentials unavailable" when the app's account
// could not be had; retryAfter is FCM's requested wait, 0 if none.
func (p *Pusher) PushToken(ctx context.Context, appID, token string, m Message) (result, reason string, retryAfter time.Duration) {
	c, err := p.Client(ctx, appID)
	if errors.Is(err, ErrNoCredentials) {
		return ResultFailed, "no fcm credentials", 0
	}
	if err != nil {
		return ResultRetrying, "credentials unavailable", 0
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return ResultRetrying, "cancelled", 0
	}
	defer func() { <-p.sem }()
	m.Token = token
	res, _ := c.Send(ctx, m)
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

// Client returns app appID's Client, looking its account up when it has
// not been for CredentialsTTL, and building a new Client only when the
// account changed. If a lookup fails for any reason but ErrNoCredentials
// the previous Client, if any, goes on being used.
func (p *Pusher) Client(ctx context.Context, appID string) (*Client, error) {
	p.mu.Lock()
	a, ok := p.apps[appID]
	if !ok {
		a = &appClient{}
		p.apps[appID] = a
	}
	p.mu.Unlock()

	now := p.o.Client.Now()
	a.mu.RLock()
	c, fresh := a.c, now.Before(a.until)
	a.mu.RUnlock()
	if fresh {
		return c, nil
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	if a.c != nil && now.Before(a.until) { // another caller just looked it up
		return a.c, nil
	}
	sa, err := p.creds(ctx, appID)
	switch {
	case errors.Is(err, ErrNoCredentials):
		a.c, a.sa, a.until = nil, ServiceAccount{}, time.Time{}
		return nil, err
	case err != nil && a.c != nil:
		return a.c, nil
	case err != nil:
		return nil, err
	}
	if a.c == nil || sa != a.sa {
		a.c, a.sa = NewClient(sa, p.o.Client), sa
	}
	a.until = now.Add(p.o.CredentialsTTL)
	return a.c, nil
}

// Close closes idle connections to FCM.
func (p *Pusher) Close() { p.o.Client.HTTPClient.CloseIdleConnections() }
