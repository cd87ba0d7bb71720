package fcm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	// DefaultBaseURL is FCM's HTTP v1 API.
	DefaultBaseURL = "https://fcm.googleapis.com"
	// DefaultTimeout is Options.Timeout when it is zero.
	DefaultTimeout = 10 * time.Second
	// maxBody bounds how much of an answer is read.
	maxBody = 64 << 10
)

// Options tune a Client. The zero value talks to FCM with a default
// HTTP client.
type Options struct {
	// BaseURL is scheme://host[:port] of the FCM API; empty means
	// DefaultBaseURL. Tests point it at fcmtest.
	BaseURL string
	// HTTPClient sends to FCM and to the token endpoint. Nil means
	// NewHTTPClient(0). Share one among Clients to share connections.
	HTTPClient *http.Client
	// Timeout bounds each request to FCM and each token fetch; zero
	// means DefaultTimeout.
	Timeout time.Duration
	// TokenEarlyExpiry is how long before its expiry an access token is
	// replaced; zero means DefaultTokenEarlyExpiry.
	TokenEarlyExpiry time.Duration
	// Now is the clock for Retry-After dates, APNs expiration and holding
	// token errors; nil is time.Now. Token expiry itself is judged by
	// golang.org/x/oauth2 on the real clock.
	Now func() time.Time
}

// NewHTTPClient returns a client suited to FCM: HTTP/2 when the server
// offers it, up to perHost idle connections per host (zero means 256) so a
// pool of workers does not keep reconnecting, and no redirects.
func NewHTTPClient(perHost int) *http.Client {
	if perHost <= 0 {
		perHost = 256
	}
	t := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: perHost,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	return &http.Client{Transport: t, CheckRedirect: noRedirects}
}

// noRedirects: FCM never redirects, and following one would carry the
// bearer token to wherever it pointed.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Client sends messages for one service account, that is one Firebase
// project. It is safe for concurrent use and built to be shared: all its
// callers share one cached access token.
type Client struct {
	sa     ServiceAccount
	hc     *http.Client
	send   string // the messages:send URL
	o      Options
	tokens *tokens
}

// NewClient returns a Client for sa, which should come from
// ParseServiceAccount. Nothing is fetched until the first Send.
func NewClient(sa ServiceAccount, o Options) *Client {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.HTTPClient == nil {
		o.HTTPClient = NewHTTPClient(0)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.TokenEarlyExpiry <= 0 {
		o.TokenEarlyExpiry = DefaultTokenEarlyExpiry
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// The token client is a copy with a Timeout: oauth2 fetches without a
	// request context, so the client's Timeout is the only deadline.
	tc := *o.HTTPClient
	tc.Timeout = o.Timeout
	return &Client{
		sa:     sa,
		hc:     o.HTTPClient,
		send:   strings.TrimSuffix(o.BaseURL, "/") + "/v1/projects/" + url.PathEscape(sa.ProjectID) + "/messages:send",
		o:      o,
		tokens: newTokens(sa, &tc, o.TokenEarlyExpiry, o.Now),
	}
}

// ServiceAccount returns the account the Client sends for.
func (c *Client) ServiceAccount() ServiceAccount { return c.sa }

// Send sends m and classifies FCM's answer. It gets (or reuses) an access
// token first. When FCM answers 401, the cached token is dropped and the
// message is sent once more with a new one: FCM may revoke a token before
// its expiry.
//
// The error is non-nil when no FCM answer was classified: an invalid
// message (Failed), no access token (see TokenError), or no response
// (Retry). The Result always says what to do.
func (c *Client) Send(ctx context.Context, m Message) (Result, error) {
	body, err := m.encode(c.o.Now())
	if err != nil {
		return Result{Outcome: Failed, Reason: "invalid message"}, err
	}
	for attempt := 0; ; attempt++ {
		tok, gen, err := c.tokens.get()
		if err != nil {
			te := tokenError(err)
			return te.classify(), te
		}
		res, err := c.post(ctx, tok, body)
		if err != nil {
			return res, err
		}
		if res.Status == http.StatusUnauthorized && res.Reason != CodeThirdPartyAuthError && attempt == 0 {
			c.tokens.invalidate(gen)
			continue
		}
		return res, nil
	}
}

// post sends one request and classifies its answer.
func (c *Client) post(ctx context.Context, token string, body []byte) (Result, error) {
	rctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.send, bytes.NewReader(body))
	if err != nil {
		return Result{Outcome: Failed, Reason: "bad request"}, fmt.Errorf("fcm: send: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := c.hc.Do(req)
	if err != nil {
		reason := "unreachable"
		switch {
		case ctx.Err() != nil:
			reason = "cancelled"
		case errors.Is(err, context.DeadlineExceeded):
			reason = "timeout"
		}
		return Result{Outcome: Retry, Reason: reason}, fmt.Errorf("fcm: send: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Accepted, but the answer was cut off: the message was sent.
		return Result{Outcome: Delivered, Status: resp.StatusCode}, nil
	}
	return classify(resp.StatusCode, resp.Header, b, c.o.Now()), nil
}

// CloseIdleConnections closes the HTTP client's idle connections.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// sendAnswer is the body of a successful send.
type sendAnswer struct {
	Name string `json:"name"`
}

// errorAnswer is a Google API error body, with FCM's error code in
// details (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode).
type errorAnswer struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type      string `json:"@type"`
			ErrorCode string `json:"errorCode"`
		} `json:"details"`
	} `json:"error"`
}

func parseSendAnswer(b []byte) string {
	var a sendAnswer
	if json.Unmarshal(b, &a) != nil {
		return ""
	}
	return a.Name
}
