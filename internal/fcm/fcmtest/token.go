package fcmtest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// GrantType is the RFC 7523 JWT-bearer grant type.
	GrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	// Scope is the scope an assertion must ask for.
	Scope = "https://www.googleapis.com/auth/firebase.messaging"
	// maxAssertionLife is Google's limit on exp - iat.
	maxAssertionLife = time.Hour
	// skew is the clock difference tolerated on iat and exp.
	skew = 30 * time.Second
)

// assertionClaims are the claims of a service account's assertion.
type assertionClaims struct {
	jwt.RegisteredClaims
	Scope string `json:"scope"`
}

// handleToken is the OAuth 2.0 token endpoint (RFC 6749 section 4.1.3
// answers, RFC 7523 JWT-bearer grant). The assertion is verified with
// github.com/golang-jwt/jwt/v5, an implementation independent of the
// golang.org/x/oauth2 code that signs it.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.tokenRequests.Add(1)
	if b := s.faults.pickToken(); b != nil && s.injectToken(w, r, b) {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.refuseToken(w, http.StatusBadRequest, "invalid_request", "bad form body")
		return
	}
	if g := r.PostForm.Get("grant_type"); g != GrantType {
		s.refuseToken(w, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("Invalid grant_type: %s", g))
		return
	}
	acct, err := s.verifyAssertion(r.PostForm.Get("assertion"))
	if err != nil {
		s.refuseToken(w, http.StatusBadRequest, "invalid_grant", err.Error())
		return
	}
	tok := "ya29.fcmtest-" + base64.RawURLEncoding.EncodeToString([]byte(randomHex(24)))
	s.tokens.Store(tok, &issued{acct: acct, expires: s.now().Add(s.o.TokenLifetime)})
	s.tokensIssued.Add(1)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok,
		"expires_in":   int(s.o.TokenLifetime / time.Second),
		"token_type":   "Bearer",
	})
}

// verifyAssertion checks the RS256 signature against the key of the
// account named by iss (and kid, when given), aud = token_uri, the scope,
// and iat/exp: present, current and at most an hour apart.
func (s *Server) verifyAssertion(assertion string) (*account, error) {
	if assertion == "" {
		return nil, errors.New("Missing required parameter: assertion")
	}
	var acct *account
	var claims assertionClaims
	_, err := jwt.ParseWithClaims(assertion, &claims, func(t *jwt.Token) (any, error) {
		c := t.Claims.(*assertionClaims)
		a, ok := s.account(c.Issuer)
		if !ok {
			return nil, fmt.Errorf("unknown iss %q", c.Issuer)
		}
		if kid, ok := t.Header["kid"]; ok && kid != a.keyID {
			return nil, fmt.Errorf("kid %v is not the account's key", kid)
		}
		acct = a
		return a.pub, nil
	},
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithAudience(s.TokenURI()),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(skew),
		jwt.WithTimeFunc(s.now),
	)
	if err != nil {
		return nil, fmt.Errorf("Invalid JWT: %w", err)
	}
	// WithAudience accepts aud as one of a list; Google wants exactly it.
	if len(claims.Audience) != 1 {
		return nil, fmt.Errorf("Invalid JWT: aud must be exactly %s", s.TokenURI())
	}
	if claims.IssuedAt == nil {
		return nil, errors.New("Invalid JWT: iat missing")
	}
	if life := claims.ExpiresAt.Sub(claims.IssuedAt.Time); life > maxAssertionLife || life <= 0 {
		return nil, fmt.Errorf("Invalid JWT: Token must be a short-lived token (%s)", life)
	}
	if !slices.Contains(strings.Fields(claims.Scope), Scope) {
		return nil, fmt.Errorf("Invalid JWT: scope %q lacks %s", claims.Scope, Scope)
	}
	return acct, nil
}

// refuseToken answers an RFC 6749 section 5.2 error, as Google does.
func (s *Server) refuseToken(w http.ResponseWriter, status int, code, desc string) {
	s.tokensRefused.Add(1)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// bearer returns the account of a valid access token in r's
// Authorization header.
func (s *Server) bearer(r *http.Request) (*account, error) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return nil, errors.New("Request is missing required authentication credential. Expected OAuth 2 access token.")
	}
	v, ok := s.tokens.Load(tok)
	if !ok {
		return nil, errors.New("Request had invalid authentication credentials. Expected OAuth 2 access token.")
	}
	t := v.(*issued)
	if t.revoked.Load() || !s.now().Before(t.expires) {
		return nil, errors.New("Request had invalid authentication credentials. The access token has expired.")
	}
	return t.acct, nil
}
