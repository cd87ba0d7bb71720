package delivery

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldpush/herald/internal/egress"
	"github.com/heraldpush/herald/internal/h2client"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/webpush"
)

// VAPIDKeys opens apps' VAPID keys (apps.Service does).
type VAPIDKeys interface {
	App(ctx context.Context, id string) (store.App, error)
	VAPIDKey(a store.App) (*webpush.VAPIDKey, error)
}

// WebPushOptions tune the Web Push channel.
type WebPushOptions struct {
	// PerOrigin bounds concurrent requests to one push-service origin.
	PerOrigin int
	// Timeout bounds one request.
	Timeout time.Duration
	// TLS, when set, is the client TLS config (tests trust testpush's CA).
	TLS *tls.Config
	// Protocols, when set, selects HTTP/1.1, HTTP/2 or unencrypted HTTP/2
	// (h2c) for the transports. nil, or HTTP/2 alone, uses h2client's lean
	// HTTP/2 over TLS for https origins (HTTP/1.1 when an origin does not
	// offer h2); anything else uses net/http's transport.
	Protocols *http.Protocols
	// SignerTTL is how long an app's opened VAPID key is reused before the
	// app is read again (so a rotated key takes effect).
	SignerTTL time.Duration
}

// WebPush delivers to browsers' push services (RFC 8030/8291/8292). It keeps
// one HTTP client per push-service origin, with bounded concurrency, and
// pauses an origin that answered 429 until its Retry-After has passed.
type WebPush struct {
	keys   VAPIDKeys
	policy egress.Policy
	o      WebPushOptions
	now    func() time.Time

	mu      sync.Mutex
	origins map[string]*origin
	signers map[string]*cachedSigner
}

var _ Pusher = (*WebPush)(nil)

type origin struct {
	client     *http.Client
	do         webpush.Doer        // what pushes are sent with: client, or h2's RoundTrip
	h2         *h2client.Transport // client's transport, when it is h2client's
	sem        chan struct{}
	pauseUntil atomic.Int64 // unix nanoseconds
}

type cachedSigner struct {
	signer *webpush.Signer
	pub    []byte
	until  time.Time
}

// NewWebPush returns the Web Push channel.
func NewWebPush(keys VAPIDKeys, policy egress.Policy, o WebPushOptions, now func() time.Time) *WebPush {
	if o.PerOrigin <= 0 {
		o.PerOrigin = 128
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.SignerTTL <= 0 {
		o.SignerTTL = time.Minute
	}
	if now == nil {
		now = time.Now
	}
	return &WebPush{keys: keys, policy: policy, o: o, now: now, origins: map[string]*origin{}, signers: map[string]*cachedSigner{}}
}

// Push encrypts and sends one message.
func (w *WebPush) Push(ctx context.Context, sub store.Subscriber, p Push) Attempt {
	if err := w.policy.Check(sub.Token); err != nil {
		return Attempt{Result: store.ResultFailed, Reason: "endpoint not allowed"}
	}
	o, err := w.origin(sub.Token)
	if err != nil {
		return Attempt{Result: store.ResultFailed, Reason: "bad endpoint"}
	}
	if wait := time.Duration(o.pauseUntil.Load() - w.now().UnixNano()); wait > 0 {
		return Attempt{Result: store.ResultRetrying, Reason: "origin paused (429)", RetryAfter: wait}
	}
	signer, err := w.signer(ctx, p.AppID)
	if err != nil {
		return Attempt{Result: store.ResultRetrying, Reason: "vapid key unavailable"}
	}
	select {
	case o.sem <- struct{}{}:
	case <-ctx.Done():
		return Attempt{Result: store.ResultRetrying, Reason: "cancelled"}
	}
	defer func() { <-o.sem }()
	rctx, cancel := context.WithTimeout(ctx, w.o.Timeout)
	defer cancel()
	res, err := webpush.Send(rctx, o.do, webpush.Subscription{Endpoint: sub.Token, Keys: webpush.Keys{P256DH: sub.P256DH, Auth: sub.Auth}},
		webpush.Message{Payload: p.Payload, TTL: p.TTL, Urgency: webpush.Urgency(p.Urgency), Topic: p.Topic}, signer)
	switch res.Outcome {
	case webpush.Delivered:
		return Attempt{Result: store.ResultSent}
	case webpush.Gone:
		return Attempt{Result: store.ResultPruned}
	case webpush.TooLarge:
		return Attempt{Result: store.ResultFailed, Reason: "payload too large"}
	case webpush.RateLimited:
		if res.RetryAfter > 0 {
			o.pauseUntil.Store(w.now().Add(res.RetryAfter).UnixNano())
		}
		return Attempt{Result: store.ResultRetrying, Reason: "http 429", RetryAfter: res.RetryAfter}
	case webpush.Retry:
		reason := "unreachable"
		if res.Status != 0 {
			reason = fmt.Sprintf("http %d", res.Status)
		} else if errors.Is(err, context.DeadlineExceeded) {
			reason = "timeout"
		}
		return Attempt{Result: store.ResultRetrying, Reason: reason, RetryAfter: res.RetryAfter}
	}
	if res.Status != 0 {
		return Attempt{Result: store.ResultFailed, Reason: fmt.Sprintf("http %d", res.Status)}
	}
	return Attempt{Result: store.ResultFailed, Reason: "bad request"}
}

// origin returns the client for the endpoint's scheme://host:port.
func (w *WebPush) origin(endpoint string) (*origin, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return nil, errors.New("bad endpoint")
	}
	key := u.Scheme + "://" + u.Host
	w.mu.Lock()
	defer w.mu.Unlock()
	if o, ok := w.origins[key]; ok {
		return o, nil
	}
	o := &origin{sem: make(chan struct{}, w.o.PerOrigin)}
	if u.Scheme == "https" && leanHTTP2(w.o.Protocols) {
		t, err := h2client.New(key, h2client.Options{TLS: w.o.TLS})
		if err != nil {
			return nil, err
		}
		o.h2, o.client = t, &http.Client{Transport: t, CheckRedirect: noRedirects}
		// Pushes skip http.Client, which copies headers for redirects that
		// never come (~0.9 µs a push): h2client answers a 3xx as it is,
		// which is what noRedirects makes the Client do.
		o.do = roundTripper{t}
		w.origins[key] = o
		return o, nil
	}
	t := &http.Transport{
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: w.o.PerOrigin,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		TLSClientConfig:     w.o.TLS.Clone(), // one per origin: transports write to it
		Protocols:           w.o.Protocols,
		// Push services answer with empty or tiny bodies: asking for gzip
		// only adds a header to every request (measured: a few µs of CPU
		// per push less without it, BenchmarkWebPushPush).
		DisableCompression: true,
	}
	o.client = &http.Client{Transport: t, CheckRedirect: noRedirects}
	o.do = o.client
	w.origins[key] = o
	return o, nil
}

// roundTripper sends a request with a transport's RoundTrip alone.
type roundTripper struct{ t http.RoundTripper }

func (r roundTripper) Do(req *http.Request) (*http.Response, error) { return r.t.RoundTrip(req) }

// leanHTTP2 reports whether p asks for HTTP/2 over TLS only, or for
// nothing in particular: then an https origin gets h2client's transport,
// whose batched writes and hpack use cost a few µs per push where
// net/http's HTTP/2 client costs ~15 (BenchmarkWebPushPush). HTTP/1.1 and
// h2c keep net/http's transport.
func leanHTTP2(p *http.Protocols) bool {
	return p == nil || (p.HTTP2() && !p.HTTP1() && !p.UnencryptedHTTP2())
}

// noRedirects: a push service never redirects; following one would let an
// endpoint send Herald somewhere the allow-list did not approve.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// signer returns the app's VAPID signer, reading the app again after
// SignerTTL so that a rotated key takes effect.
func (w *WebPush) signer(ctx context.Context, appID string) (*webpush.Signer, error) {
	now := w.now()
	w.mu.Lock()
	c, ok := w.signers[appID]
	var cached cachedSigner
	if ok {
		cached = *c
	}
	w.mu.Unlock()
	if ok && now.Before(cached.until) {
		return cached.signer, nil
	}
	app, err := w.keys.App(ctx, appID)
	if err != nil {
		return nil, err
	}
	s := cached.signer
	if !ok || string(app.VAPIDPublicKey) != string(cached.pub) {
		key, err := w.keys.VAPIDKey(app)
		if err != nil {
			return nil, err
		}
		s = webpush.NewSigner(key, app.VAPIDSubject, w.now)
	}
	w.mu.Lock()
	w.signers[appID] = &cachedSigner{signer: s, pub: app.VAPIDPublicKey, until: now.Add(w.o.SignerTTL)}
	w.mu.Unlock()
	return s, nil
}

// Close closes h2client's connections (failing pushes in flight on them)
// and drops net/http's idle ones. A later Push connects again.
func (w *WebPush) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, o := range w.origins {
		if o.h2 != nil {
			o.h2.Close()
			delete(w.origins, key)
		} else {
			o.client.CloseIdleConnections()
		}
	}
}
