package testpush

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldpush/herald/internal/webpush"
)

// maxTokenLifetime is RFC 8292 section 2's limit on exp.
const maxTokenLifetime = 24 * time.Hour

// verifyVAPID checks the Authorization header of a push: RFC 8292's
// "vapid t=<jwt>, k=<key>" form, an ES256 signature by k, aud equal to
// this server's origin, exp in the future and at most 24 hours ahead, and
// a mailto: or https: sub. When the subscription was made with an
// application server key, k must be that key.
func (s *Server) verifyVAPID(header string, appKey []byte) (reason, error) {
	if header == "" {
		return reasonNoVAPID, errors.New("missing Authorization header: VAPID is required")
	}
	if s.o.Verify == VerifySample {
		// A header that verified before holds the same token and key, so
		// it needs neither parsing (which checks k is on the curve) nor
		// verifying again: only the subscription's key and the expiry,
		// which are checked here in the order of the full path below.
		if v, ok := s.jwtCache.Load(header); ok {
			c := v.(cachedJWT)
			if appKey != nil && c.key != string(appKey) {
				return reasonKeyMismatch, errKeyMismatch
			}
			if s.now().Before(c.exp) {
				return 0, nil
			}
		}
	}
	token, k, err := webpush.ParseVAPIDHeader(header)
	if err != nil {
		return reasonBadVAPID, fmt.Errorf("vapid: %w", err)
	}
	if appKey != nil && !bytes.Equal(k, appKey) {
		return reasonKeyMismatch, errKeyMismatch
	}
	exp, err := s.verifyJWT(token, k, s.now())
	if err != nil {
		return reasonBadVAPID, fmt.Errorf("vapid: %w", err)
	}
	if s.o.Verify == VerifySample {
		if s.jwtCached.Add(1) > jwtCacheLimit {
			s.jwtCache.Clear()
			s.jwtCached.Store(1)
		}
		s.jwtCache.Store(header, cachedJWT{key: string(k), exp: exp})
	}
	return 0, nil
}

// errKeyMismatch is the 403 of a token signed by another key than the
// subscription's.
var errKeyMismatch = errors.New("vapid: k is not the application server key the subscription was created with")

// cachedJWT is an Authorization header VerifySample verified: the key k
// it named, and until when its token stays valid.
type cachedJWT struct {
	key string
	exp time.Time
}

// verifyJWT verifies token against the uncompressed P-256 point k and
// returns its expiry.
func (s *Server) verifyJWT(token string, k []byte, now time.Time) (time.Time, error) {
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), k)
	if err != nil {
		return time.Time{}, fmt.Errorf("k is not a P-256 public key: %w", err)
	}
	var c jwt.RegisteredClaims
	_, err = jwt.ParseWithClaims(token, &c,
		func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil {
		return time.Time{}, fmt.Errorf("jwt: %w", err)
	}
	if len(c.Audience) != 1 || c.Audience[0] != s.origin {
		return time.Time{}, fmt.Errorf("jwt aud %q, want %q", []string(c.Audience), s.origin)
	}
	exp := c.ExpiresAt.Time
	if exp.After(now.Add(maxTokenLifetime)) {
		return time.Time{}, fmt.Errorf("jwt exp %s is more than 24h ahead (RFC 8292 section 2)", exp.UTC().Format(time.RFC3339))
	}
	if !strings.HasPrefix(c.Subject, "mailto:") && !strings.HasPrefix(c.Subject, "https:") {
		return time.Time{}, fmt.Errorf("jwt sub %q is not a mailto: or https: URI", c.Subject)
	}
	return exp, nil
}
