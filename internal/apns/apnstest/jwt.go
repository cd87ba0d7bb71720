package apnstest

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"
)

const (
	// maxTokenAge is how old a provider token APNs accepts.
	maxTokenAge = time.Hour
	// minTokenUpdate is how often a team may switch to a new token with
	// Options.StrictTokenUpdates.
	minTokenUpdate = 20 * time.Minute
	// tokenCacheLimit bounds the table of tokens seen; past it the table is
	// emptied, which costs only re-verification.
	tokenCacheLimit = 4096
)

// key is a registered signing key and its team.
type key struct {
	teamID string
	keyID  string
	pub    *ecdsa.PublicKey
}

// seenToken is a provider token that verified once.
type seenToken struct {
	key *key
	iat time.Time
}

// tokenError is a refused provider token: 403 and Apple's reason, or 429
// TooManyProviderTokenUpdates.
type tokenError struct {
	status int
	reason string
	err    error
}

func (e *tokenError) Error() string { return e.reason + ": " + e.err.Error() }

func refuse(reason string, format string, args ...any) *tokenError {
	return &tokenError{status: http.StatusForbidden, reason: reason, err: fmt.Errorf(format, args...)}
}

// checkToken verifies the authorization header of a request as APNs does:
// "bearer <jwt>", an ES256 JWT whose kid is a registered key, whose iss is
// that key's team and whose iat is neither in the future nor over an hour
// old (nor before ExpireTokensIssuedBefore).
//
// The JWT is parsed and verified here by hand, with crypto/ecdsa, on
// purpose: apns signs with github.com/golang-jwt/jwt/v5, and a verifier
// built on the same library could share its mistakes.
func (s *Server) checkToken(authz string) (*seenToken, *tokenError) {
	if authz == "" {
		return nil, refuse("MissingProviderToken", "no authorization header")
	}
	scheme, tok, ok := strings.Cut(authz, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || tok == "" {
		return nil, refuse("InvalidProviderToken", "authorization is not \"bearer <jwt>\"")
	}
	now := s.now()
	var st *seenToken
	if v, ok := s.tokens.Load(tok); ok && s.o.CacheTokens {
		st = v.(*seenToken)
	} else {
		var err error
		if st, err = s.verifyJWT(tok); err != nil {
			return nil, refuse("InvalidProviderToken", "%w", err)
		}
		s.verified.Add(1)
	}
	switch {
	case st.iat.After(now):
		return nil, refuse("InvalidProviderToken", "iat %d is in the future (now %d)", st.iat.Unix(), now.Unix())
	case now.Sub(st.iat) > maxTokenAge:
		return nil, refuse("ExpiredProviderToken", "iat %d is more than an hour old", st.iat.Unix())
	case st.iat.Before(s.expiredBefore(st.key.keyID)):
		return nil, refuse("ExpiredProviderToken", "iat %d is before the key's tokens were expired", st.iat.Unix())
	}
	if _, ok := s.tokens.Load(tok); !ok {
		if err := s.newToken(tok, st, now); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// newToken notes a token seen for the first time: it counts it for its key
// and, with Options.StrictTokenUpdates, refuses it when the key switched
// tokens less than 20 minutes ago and the previous one is still good.
func (s *Server) newToken(tok string, st *seenToken, now time.Time) *tokenError {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	if _, ok := s.tokens.Load(tok); ok {
		return nil // another request got here first
	}
	ks := s.keyStates[st.key.keyID]
	if s.o.StrictTokenUpdates && ks.last != nil {
		prevGood := now.Sub(ks.last.iat) <= maxTokenAge && !ks.last.iat.Before(ks.expiredBefore)
		if prevGood && now.Sub(ks.since) < minTokenUpdate {
			return &tokenError{status: http.StatusTooManyRequests, reason: "TooManyProviderTokenUpdates",
				err: fmt.Errorf("key %s switched tokens %s ago", st.key.keyID, now.Sub(ks.since).Round(time.Second))}
		}
	}
	ks.last, ks.since = st, now
	ks.distinct++
	s.keyStates[st.key.keyID] = ks
	if s.nTokens++; s.nTokens > tokenCacheLimit {
		s.tokens.Clear()
		s.nTokens = 1
	}
	s.tokens.Store(tok, st)
	return nil
}

// keyState is what the fake knows about one key's tokens.
type keyState struct {
	last          *seenToken // the newest distinct token accepted
	since         time.Time  // when last was first seen
	distinct      int        // distinct tokens accepted
	expiredBefore time.Time  // tokens issued before this are expired
}

func (s *Server) expiredBefore(keyID string) time.Time {
	if s.nExpired.Load() == 0 {
		return time.Time{}
	}
	s.keysMu.RLock()
	defer s.keysMu.RUnlock()
	return s.keyStates[keyID].expiredBefore
}

// verifyJWT checks the token's form and ES256 signature and returns its
// key and iat.
func (s *Server) verifyJWT(tok string) (*seenToken, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("jwt does not have three parts")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodePart(parts[0], &hdr); err != nil {
		return nil, fmt.Errorf("jwt header: %w", err)
	}
	if hdr.Alg != "ES256" {
		return nil, fmt.Errorf("jwt alg %q is not ES256", hdr.Alg)
	}
	k := s.key(hdr.Kid)
	if k == nil {
		return nil, fmt.Errorf("jwt kid %q is not a registered key", hdr.Kid)
	}
	var claims struct {
		Iss string       `json:"iss"`
		Iat *json.Number `json:"iat"`
	}
	if err := decodePart(parts[1], &claims); err != nil {
		return nil, fmt.Errorf("jwt claims: %w", err)
	}
	if claims.Iss != k.teamID {
		return nil, fmt.Errorf("jwt iss %q is not key %s's team %s", claims.Iss, k.keyID, k.teamID)
	}
	if claims.Iat == nil {
		return nil, errors.New("jwt has no iat")
	}
	iat, err := claims.Iat.Int64()
	if err != nil {
		return nil, fmt.Errorf("jwt iat %q is not whole seconds", claims.Iat.String())
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return nil, errors.New("jwt signature is not 64 bytes of base64url (ES256 wants r||s)")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(k.pub, digest[:], r, ss) {
		return nil, fmt.Errorf("jwt signature does not verify with key %s", k.keyID)
	}
	return &seenToken{key: k, iat: time.Unix(iat, 0)}, nil
}

func decodePart(p string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return fmt.Errorf("not base64url: %w", err)
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return nil
}
