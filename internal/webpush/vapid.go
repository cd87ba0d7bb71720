package webpush

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// TokenLifetime is how long a VAPID token Signer makes stays valid.
	// Push services reject tokens that live more than 24 hours (RFC 8292
	// section 2); 12 hours leaves room for clock skew.
	TokenLifetime = 12 * time.Hour
	// TokenRefresh is how long before expiry a cached token is replaced,
	// so no request leaves with a token that expires in flight.
	TokenRefresh = time.Hour
	// MaxTokenLifetime is the longest exp - now RFC 8292 allows.
	MaxTokenLifetime = 24 * time.Hour

	// maxAudiences bounds Signer's cache. Real deployments see a handful
	// of push services; the bound only matters if endpoints are hostile.
	maxAudiences = 1024

	// jwtHeader is base64url(`{"typ":"JWT","alg":"ES256"}`).
	jwtHeader = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9"
)

// VAPIDKey is an application server's VAPID signing key: an ECDSA P-256
// private key. Its public half is what browsers take as
// applicationServerKey.
type VAPIDKey struct {
	priv   *ecdsa.PrivateKey
	scalar []byte
	pub    []byte
}

// GenerateVAPIDKey makes a new random VAPID key.
func GenerateVAPIDKey() (*VAPIDKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("webpush: generate vapid key: %w", err)
	}
	return newVAPIDKey(priv)
}

// VAPIDKeyFromBytes loads a VAPID key from its 32-byte big-endian scalar,
// the form web-push libraries print as the "private key".
func VAPIDKeyFromBytes(priv []byte) (*VAPIDKey, error) {
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), priv)
	if err != nil {
		return nil, fmt.Errorf("webpush: vapid key from %d bytes: %w", len(priv), err)
	}
	return newVAPIDKey(k)
}

func newVAPIDKey(priv *ecdsa.PrivateKey) (*VAPIDKey, error) {
	scalar, err := priv.Bytes()
	if err != nil {
		return nil, fmt.Errorf("webpush: vapid key: %w", err)
	}
	pub, err := priv.PublicKey.Bytes()
	if err != nil {
		return nil, fmt.Errorf("webpush: vapid public key: %w", err)
	}
	return &VAPIDKey{priv: priv, scalar: scalar, pub: pub}, nil
}

// Bytes returns the 32-byte private scalar, for storing the key.
func (k *VAPIDKey) Bytes() []byte { return append([]byte(nil), k.scalar...) }

// PublicKey returns the 65-byte uncompressed public point, which browsers
// take as applicationServerKey and push services as the "k" parameter.
func (k *VAPIDKey) PublicKey() []byte { return append([]byte(nil), k.pub...) }

// String shows only the public key, so a key printed by mistake leaks
// nothing.
func (k *VAPIDKey) String() string { return "VAPIDKey(public=" + EncodeBase64(k.pub) + ")" }

// LogValue shows only the public key.
func (k *VAPIDKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// Signer makes VAPID Authorization headers. It signs one token per
// push-service origin and reuses it until TokenRefresh before it expires,
// so the per-message cost is a map lookup. It is safe for concurrent use.
type Signer struct {
	key     *VAPIDKey
	subject string
	subErr  error
	now     func() time.Time
	k       string // base64url public key, the header's k= parameter

	// cache maps the endpoint's scheme://authority, as written, to a
	// *signedToken. Reads are lock-free, so many senders can share one
	// Signer; mu serialises signing, so each token is signed once.
	cache sync.Map
	mu    sync.Mutex
	n     int // entries in cache, guarded by mu
}

type signedToken struct {
	header    string
	exp       time.Time
	refreshAt time.Time
}

// NewSigner returns a Signer for key. subject is the contact RFC 8292
// section 2.1 asks for, a mailto: or https: URI; an invalid one makes
// every Header call fail, since NewSigner itself returns no error. now is
// the clock; nil means time.Now.
func NewSigner(key *VAPIDKey, subject string, now func() time.Time) *Signer {
	if now == nil {
		now = time.Now
	}
	s := &Signer{key: key, subject: subject, now: now}
	if key == nil {
		s.subErr = errors.New("webpush: signer has no vapid key")
	} else {
		s.k = EncodeBase64(key.pub)
		s.subErr = CheckSubject(subject)
	}
	return s
}

// CheckSubject says whether sub is a contact RFC 8292 accepts: a mailto:
// or https: URI.
func CheckSubject(sub string) error {
	scheme, rest, _ := strings.Cut(sub, ":")
	switch {
	case strings.EqualFold(scheme, "mailto") && rest != "":
		return nil
	case strings.EqualFold(scheme, "https"):
		if u, err := url.Parse(sub); err == nil && u.Host != "" {
			return nil
		}
	}
	return fmt.Errorf("webpush: vapid subject %q is not a mailto: or https: URI", sub)
}

// Header returns the Authorization header value for a push to endpoint:
// "vapid t=<JWT>, k=<public key>". The JWT's aud is the endpoint's origin
// and its exp is TokenLifetime from when it was signed.
func (s *Signer) Header(endpoint string) (string, error) {
	if s.subErr != nil {
		return "", s.subErr
	}
	key, err := originKey(endpoint)
	if err != nil {
		return "", err
	}
	now := s.now()
	if v, ok := s.cache.Load(key); ok {
		if t := v.(*signedToken); t.fresh(now) {
			return t.header, nil
		}
	}
	aud, err := audience(endpoint)
	if err != nil {
		return "", err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.cache.Load(key); ok {
		if t := v.(*signedToken); t.fresh(now) {
			return t.header, nil // another goroutine signed it meanwhile
		}
	}
	t, err := s.sign(aud, now)
	if err != nil {
		return "", err
	}
	if s.n >= maxAudiences {
		s.cache.Range(func(k, v any) bool {
			if !v.(*signedToken).fresh(now) {
				s.cache.Delete(k)
				s.n--
			}
			return true
		})
		if s.n >= maxAudiences {
			s.cache.Clear()
			s.n = 0
		}
	}
	if _, loaded := s.cache.Swap(strings.Clone(key), t); !loaded {
		s.n++
	}
	return t.header, nil
}

// fresh reports whether t can still be sent at now. A clock that jumped
// backwards could make a cached exp more than 24 hours away, which push
// services reject, so that counts as stale too.
func (t *signedToken) fresh(now time.Time) bool {
	return now.Before(t.refreshAt) && t.exp.Sub(now) <= MaxTokenLifetime
}

func (s *Signer) sign(aud string, now time.Time) (*signedToken, error) {
	exp := now.Add(TokenLifetime).Truncate(time.Second)
	claims, err := json.Marshal(struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}{aud, exp.Unix(), s.subject})
	if err != nil {
		return nil, fmt.Errorf("webpush: vapid claims: %w", err)
	}
	input := jwtHeader + "." + EncodeBase64(claims)
	digest := sha256.Sum256([]byte(input))
	r, ss, err := ecdsa.Sign(rand.Reader, s.key.priv, digest[:])
	if err != nil {
		return nil, fmt.Errorf("webpush: sign vapid token for %s: %w", aud, err)
	}
	var sig [64]byte // JWS ES256 wants raw r||s, not ASN.1 (RFC 7518 section 3.4)
	r.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return &signedToken{
		header:    "vapid t=" + input + "." + EncodeBase64(sig[:]) + ", k=" + s.k,
		exp:       exp,
		refreshAt: exp.Add(-TokenRefresh),
	}, nil
}

// originKey returns endpoint's scheme://authority exactly as written,
// without allocating. It is only a cache key: audience does the real
// parsing when a token is signed.
func originKey(endpoint string) (string, error) {
	i := strings.Index(endpoint, "://")
	if i <= 0 {
		return "", fmt.Errorf("webpush: endpoint %q is not an absolute URL", redactEndpoint(endpoint))
	}
	rest := endpoint[i+3:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	return endpoint[:i+3+len(rest)], nil
}

// audience returns the origin of endpoint as RFC 8292 section 2 wants it
// in aud: lower-case scheme and host, the port only when it is not the
// scheme's default.
func audience(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("webpush: endpoint %s: %w", redactEndpoint(endpoint), err)
	}
	scheme := strings.ToLower(u.Scheme)
	if (scheme != "https" && scheme != "http") || u.Hostname() == "" || u.User != nil {
		return "", fmt.Errorf("webpush: endpoint %s is not an http(s) URL with a host", redactEndpoint(endpoint))
	}
	host := strings.TrimSuffix(strings.ToLower(u.Host), ":") // "host:" has no port
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("webpush: endpoint %s has a bad port", redactEndpoint(endpoint))
		}
		if (scheme == "https" && p == "443") || (scheme == "http" && p == "80") {
			host = strings.TrimSuffix(host, ":"+p)
		}
	}
	return scheme + "://" + host, nil
}

// redactEndpoint keeps an endpoint's origin for error messages and drops
// the path, which identifies the subscriber to the push service.
func redactEndpoint(endpoint string) string {
	i := strings.Index(endpoint, "://")
	if i < 0 {
		if len(endpoint) > 16 {
			return endpoint[:16] + "…"
		}
		return endpoint
	}
	rest := endpoint[i+3:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 && j+1 < len(rest) {
		return endpoint[:i+3+j] + "/…"
	}
	return endpoint
}
