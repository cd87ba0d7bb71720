package apns

import (
	"crypto/ecdsa"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// TokenRefresh is the age at which a provider token is replaced. Apple
	// refuses tokens older than an hour (ExpiredProviderToken) and answers
	// TooManyProviderTokenUpdates to providers that make a new one more
	// often than every 20 minutes; 50 minutes is inside both bounds with
	// room for clock skew.
	TokenRefresh = 50 * time.Minute
	// MaxTokenAge is the oldest token APNs accepts.
	MaxTokenAge = time.Hour
	// minResign is how old a token must be before an ExpiredProviderToken
	// answer makes the client sign a new one. A younger token called
	// expired means the clocks disagree, which a new token will not fix,
	// and re-signing on every such answer would get the team throttled.
	minResign = time.Minute
)

// providerToken is one signed JWT and when it was issued.
type providerToken struct {
	bearer string    // "bearer <jwt>"
	issued time.Time // the iat, wall clock only
}

// fresh reports whether t can still be sent at now. Ages are wall-clock
// differences (issued carries no monotonic reading) because that is what
// APNs compares: a machine that slept must not keep a token Apple thinks
// is hours old. A clock that went backwards also gives a new token.
func (t *providerToken) fresh(now time.Time) bool {
	age := now.Sub(t.issued)
	return age >= 0 && age < TokenRefresh
}

// tokenCache signs provider tokens for one key and shares the current one
// between all senders: reads are one atomic load, and mu makes sure only
// one goroutine signs when the token is missing, old or refused.
type tokenCache struct {
	keyID  string
	teamID string
	key    *ecdsa.PrivateKey
	now    func() time.Time

	cur   atomic.Pointer[providerToken]
	mu    sync.Mutex
	signs atomic.Int64 // tokens signed, for tests and metrics
}

func newTokenCache(c Credentials, now func() time.Time) *tokenCache {
	return &tokenCache{keyID: c.KeyID, teamID: c.TeamID, key: c.Key, now: now}
}

// get returns the current token, signing a new one if it is missing or
// TokenRefresh old.
func (c *tokenCache) get() (*providerToken, error) {
	now := c.now()
	if t := c.cur.Load(); t != nil && t.fresh(now) {
		return t, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.cur.Load(); t != nil && t.fresh(now) {
		return t, nil // another goroutine signed it while we waited
	}
	t, err := c.sign(now)
	if err != nil {
		return nil, err
	}
	c.cur.Store(t)
	return t, nil
}

// invalidate drops stale, the token APNs just called expired, so the next
// get signs a new one. It reports whether asking again may help: true if
// stale was dropped or has already been replaced, false if stale is too
// young to be really expired (see minResign) and stays in use.
func (c *tokenCache) invalidate(stale *providerToken) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur.Load() != stale {
		return true // someone re-signed already; one re-sign per token
	}
	if c.now().Sub(stale.issued) < minResign {
		return false
	}
	c.cur.Store(nil)
	return true
}

// sign makes a token: header {"alg":"ES256","kid":KeyID}, claims
// {"iss":TeamID,"iat":now}, as Apple's "Establishing a token-based
// connection to APNs" describes.
func (c *tokenCache) sign(now time.Time) (*providerToken, error) {
	iat := now.Truncate(time.Second).Round(0) // Round(0) drops the monotonic reading
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{
		Issuer:   c.teamID,
		IssuedAt: jwt.NewNumericDate(iat),
	})
	tok.Header = map[string]any{"alg": jwt.SigningMethodES256.Alg(), "kid": c.keyID}
	s, err := tok.SignedString(c.key)
	if err != nil {
		return nil, fmt.Errorf("apns: sign provider token for key %s: %w", c.keyID, err)
	}
	c.signs.Add(1)
	return &providerToken{bearer: "bearer " + s, issued: iat}, nil
}
