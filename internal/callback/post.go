package callback

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/heraldpush/herald/internal/webpush"
)

// userAgent names Herald to receivers.
const userAgent = "Herald-Callbacks/1"

// answer is what became of one POST.
type answer struct {
	ok         bool
	why        string        // failure, short and free of the URL: "status 500", "timeout"
	retryAfter time.Duration // the receiver's Retry-After, if any
}

// post sends one signed batch. It never returns the URL in why: net/http's
// errors quote it, and the path or query may hold a token.
func post(ctx context.Context, c *http.Client, u string, key, body []byte, now time.Time) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return answer{why: "bad request"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(SignatureHeader, Sign(key, now, body))
	resp, err := c.Do(req)
	if err != nil {
		return answer{why: describe(err)}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return answer{ok: true}
	}
	return answer{why: fmt.Sprintf("status %d", resp.StatusCode), retryAfter: webpush.RetryAfter(resp.Header.Get("Retry-After"), now)}
}

// describe names a transport failure without the URL.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "timeout"
	case errors.Is(err, errRedirect):
		return "redirect refused"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Op + " error"
	}
	return "network error"
}

// errRedirect stops redirects: a signed batch goes only to the URL the app
// set, never where a receiver points it.
var errRedirect = errors.New("redirect")

// NewHTTPClient returns the client drain jobs use: no redirects, a
// deadline per request, and a small idle pool per receiver.
func NewHTTPClient(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	tr.ResponseHeaderTimeout = timeout
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return errRedirect },
	}
}
