package fcm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"
)

const (
	// DefaultTokenEarlyExpiry is Options.TokenEarlyExpiry when it is zero:
	// a token is replaced this long before it expires, so a request never
	// carries one that runs out on the way (Google's last an hour).
	DefaultTokenEarlyExpiry = 2 * time.Minute
	// tokenErrorHold is how long a failed token fetch is answered from
	// memory. Without it, every worker queued behind the fetch would try
	// again in turn, each waiting out the same dead endpoint.
	tokenErrorHold = 5 * time.Second
)

// tokens hands out access tokens for one service account. It is the
// golang.org/x/oauth2/jwt flow (RFC 7523 JWT-bearer grant, RS256) behind
// oauth2.ReuseTokenSource, whose lock makes concurrent callers wait for
// one fetch and share its token. invalidate drops the cached token after
// FCM refused it.
type tokens struct {
	cfg   jwt.Config
	hc    *http.Client // for the token endpoint; has its own Timeout
	early time.Duration
	now   func() time.Time
	cur   atomic.Pointer[tokenGen]
}

// tokenGen is one generation of the cache: invalidating replaces it, so
// callers that saw the same refused token replace it only once.
type tokenGen struct {
	src oauth2.TokenSource
	n   uint64
}

func newTokens(sa ServiceAccount, hc *http.Client, early time.Duration, now func() time.Time) *tokens {
	t := &tokens{
		cfg: jwt.Config{
			Email:        sa.ClientEmail,
			PrivateKey:   []byte(sa.PrivateKey),
			PrivateKeyID: sa.PrivateKeyID,
			Scopes:       []string{Scope},
			TokenURL:     sa.TokenURI,
		},
		hc:    hc,
		early: early,
		now:   now,
	}
	t.cur.Store(&tokenGen{src: t.source()})
	return t
}

// source builds a fresh cache. oauth2 takes its HTTP client from a
// context value and uses that context for every fetch the source makes,
// so it gets a background context carrying only the client; the client's
// Timeout is the fetch's deadline.
func (t *tokens) source() oauth2.TokenSource {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, t.hc)
	// Both caches get the same early expiry, so when the outer one finds
	// its token stale the inner one does too and fetches.
	inner := oauth2.ReuseTokenSourceWithExpiry(nil, t.cfg.TokenSource(ctx), t.early)
	return oauth2.ReuseTokenSourceWithExpiry(nil, &holdErrors{src: inner, now: t.now}, t.early)
}

// get returns a valid access token and the generation it came from.
func (t *tokens) get() (string, uint64, error) {
	g := t.cur.Load()
	tok, err := g.src.Token()
	if err != nil {
		return "", g.n, err
	}
	return tok.AccessToken, g.n, nil
}

// invalidate drops generation n's token, if it is still the current one.
func (t *tokens) invalidate(n uint64) {
	g := t.cur.Load()
	if g.n != n {
		return
	}
	t.cur.CompareAndSwap(g, &tokenGen{src: t.source(), n: n + 1})
}

// holdErrors remembers a failed fetch for tokenErrorHold and answers with
// it, so a dead or refusing token endpoint costs one request per hold,
// not one per queued worker.
type holdErrors struct {
	src   oauth2.TokenSource
	now   func() time.Time
	mu    sync.Mutex
	err   error
	until time.Time
}

func (h *holdErrors) Token() (*oauth2.Token, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil && h.now().Before(h.until) {
		return nil, h.err
	}
	tok, err := h.src.Token()
	if err != nil {
		h.err, h.until = err, h.now().Add(tokenErrorHold)
		return nil, err
	}
	h.err = nil
	return tok, nil
}

// TokenError is a failure to get an access token. Status is the token
// endpoint's HTTP status, 0 when it gave no answer.
type TokenError struct {
	Status int
	Err    error
}

func (e *TokenError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("fcm: access token: token endpoint answered %d", e.Status)
	}
	return fmt.Sprintf("fcm: access token: %v", e.Err)
}

func (e *TokenError) Unwrap() error { return e.Err }

// tokenError wraps an oauth2 error. A RetrieveError's body (which may
// echo the request) stays out of the message.
func tokenError(err error) *TokenError {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return &TokenError{Status: re.Response.StatusCode, Err: err}
	}
	return &TokenError{Err: err}
}

// classify says what a token failure means for the message: the
// endpoint's refusal (a 4xx: bad key, disabled account, clock skew) fails
// it, anything that may pass retries it.
func (e *TokenError) classify() Result {
	switch s := e.Status; {
	case s == 0:
		return Result{Outcome: Retry, Reason: "token unreachable"}
	case s == http.StatusTooManyRequests || s >= 500:
		return Result{Outcome: Retry, Reason: fmt.Sprintf("token http %d", s)}
	default:
		return Result{Outcome: Failed, Reason: "token rejected"}
	}
}
