package apns

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	// ProductionURL is APNs for App Store, TestFlight and ad hoc builds.
	ProductionURL = "https://api.push.apple.com"
	// SandboxURL is APNs for development builds.
	SandboxURL = "https://api.sandbox.push.apple.com"
	// DefaultTimeout bounds one Send, retry after a refused token included,
	// when Options.Timeout is zero.
	DefaultTimeout = 30 * time.Second

	// maxErrBody bounds how much of an error answer is read; APNs' are
	// well under 100 bytes.
	maxErrBody = 4 << 10
	// devicePath is where notifications are posted, before the token.
	devicePath = "/3/device/"
)

// Options tune a Client. The zero value talks to Apple.
type Options struct {
	// BaseURL replaces ProductionURL or SandboxURL (tests point it at an
	// apnstest.Server).
	BaseURL string
	// TLS is the client TLS config; tests set RootCAs to trust a fake.
	TLS *tls.Config
	// HTTPClient, when set, is used as is instead of the Client's own
	// HTTP/2 transport; it must speak HTTP/2, which APNs requires.
	HTTPClient *http.Client
	// Timeout bounds one Send; zero means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock for provider tokens and apns-expiration; nil means
	// time.Now.
	Now func() time.Time
}

// Client sends notifications for one set of Credentials over one HTTP/2
// transport, which multiplexes concurrent sends over a few long-lived
// connections as Apple asks. It is safe for concurrent use, and meant to
// be shared: every goroutine uses the same provider token.
type Client struct {
	topic   string
	base    string
	hc      *http.Client
	own     bool // hc was made here; Close may close its connections
	tokens  *tokenCache
	timeout time.Duration
	now     func() time.Time
}

// NewClient checks c and returns a Client for it.
func NewClient(c Credentials, o Options) (*Client, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	base := SandboxURL
	if c.Production {
		base = ProductionURL
	}
	if o.BaseURL != "" {
		u, err := url.Parse(o.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("apns: base URL %q is not an http(s) URL with a host", o.BaseURL)
		}
		base = strings.TrimRight(o.BaseURL, "/")
	}
	cl := &Client{topic: c.Topic, base: base, hc: o.HTTPClient, tokens: newTokenCache(c, o.Now), timeout: o.Timeout, now: o.Now}
	if cl.hc == nil {
		cl.hc, cl.own = newHTTPClient(o.TLS), true
	}
	return cl, nil
}

// newHTTPClient returns an HTTP/2-only client: APNs speaks nothing else,
// and failing at the handshake is clearer than an HTTP/1.1 error.
func newHTTPClient(tc *tls.Config) *http.Client {
	var p http.Protocols
	p.SetHTTP2(true)
	if tc != nil {
		tc = tc.Clone()
	}
	t := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		Protocols:           &p,
		ForceAttemptHTTP2:   true,
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     10 * time.Minute,
		MaxIdleConnsPerHost: 4,
		// Pings find a connection APNs or a middlebox dropped silently
		// before a notification is lost in it.
		HTTP2: &http.HTTP2Config{SendPingTimeout: time.Minute, PingTimeout: 15 * time.Second},
	}
	return &http.Client{Transport: t, CheckRedirect: noRedirects}
}

// noRedirects: APNs never redirects, and following one would send the
// provider token somewhere else.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Close drops the Client's idle connections. Sends in flight finish.
func (c *Client) Close() {
	if c.own {
		c.hc.CloseIdleConnections()
	}
}

// Send posts n to APNs and classifies the answer.
//
// When APNs answers 403 ExpiredProviderToken, Send signs a new provider
// token (one for all goroutines that saw the same answer) and posts once
// more; if that is refused as well the Result is Retry.
//
// The error is non-nil only when no answer was classified; the Result
// still says what to do: Gone for a token that is not hex, Failed for a
// notification APNs would refuse (too large, bad collapse id, ...), Retry
// when APNs could not be reached in time.
func (c *Client) Send(ctx context.Context, n Notification) (Result, error) {
	if reason, err := n.check(); err != nil {
		o := Failed
		if reason == "BadDeviceToken" {
			o = Gone
		}
		return Result{Outcome: o, Reason: reason}, err
	}
	body, err := n.Payload()
	if err != nil {
		reason := "bad notification"
		if errors.Is(err, ErrPayloadTooLarge) {
			reason = "PayloadTooLarge"
		}
		return Result{Outcome: Failed, Reason: reason}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	h := make(http.Header, 8)
	n.header(h, c.topic, c.now())

	tok, err := c.tokens.get()
	if err != nil {
		return Result{Outcome: Failed, Reason: "provider token"}, err
	}
	res, err := c.post(ctx, n.Token, body, h, tok)
	if err != nil || !expiredToken(res) {
		return res, err
	}
	if c.tokens.invalidate(tok) {
		fresh, err := c.tokens.get()
		if err != nil {
			return Result{Outcome: Failed, Reason: "provider token"}, err
		}
		if fresh != tok {
			if res, err = c.post(ctx, n.Token, body, h, fresh); err != nil || !expiredToken(res) {
				return res, err
			}
		}
	}
	res.Outcome = Retry
	return res, nil
}

func expiredToken(r Result) bool {
	return r.Status == http.StatusForbidden && r.Reason == "ExpiredProviderToken"
}

// post sends one request and classifies the answer.
func (c *Client) post(ctx context.Context, token string, body []byte, h http.Header, tok *providerToken) (Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+devicePath+token, bytes.NewReader(body))
	if err != nil {
		return Result{Outcome: Failed, Reason: "bad notification"}, fmt.Errorf("apns: request: %w", redact(err))
	}
	req.Header = h.Clone()
	req.Header.Set("authorization", tok.bearer)
	resp, err := c.hc.Do(req)
	if err != nil {
		reason := "unreachable"
		if errors.Is(err, context.DeadlineExceeded) {
			reason = "timeout"
		} else if errors.Is(err, context.Canceled) {
			reason = "cancelled"
		}
		return Result{Outcome: Retry, Reason: reason}, fmt.Errorf("apns: send: %w", redact(err))
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrBody))
		_ = resp.Body.Close()
	}()
	var b []byte
	if resp.StatusCode != http.StatusOK {
		b, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrBody))
	}
	return classify(resp.StatusCode, resp.Header, b, c.now()), nil
}

// redact keeps device tokens, which identify a person's device, out of
// the URL net/http puts in its errors.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if i := strings.Index(ue.URL, devicePath); i >= 0 {
			ue.URL = ue.URL[:i+len(devicePath)] + "…"
		}
	}
	return err
}
