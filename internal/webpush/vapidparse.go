package webpush

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// ParseVAPIDHeader splits an RFC 8292 Authorization header value,
// "vapid t=<JWT>, k=<public key>", into the token and the decoded public
// key. It checks the key is a P-256 point and the token has three parts,
// but does not verify the signature: see VerifyVAPIDToken. It is for the
// push-service side, such as test fakes.
//
// The pre-RFC "WebPush <JWT>" form carries its key in a separate
// Crypto-Key header; ParseVAPIDHeader rejects it with a pointer to
// ParseVAPIDLegacy, which takes both headers.
func ParseVAPIDHeader(h string) (token string, publicKey []byte, err error) {
	scheme, params, _ := strings.Cut(strings.TrimSpace(h), " ")
	switch {
	case strings.EqualFold(scheme, "WebPush"):
		return "", nil, errors.New("webpush: legacy WebPush authorization: use ParseVAPIDLegacy with the Crypto-Key header")
	case !strings.EqualFold(scheme, "vapid"):
		return "", nil, fmt.Errorf("webpush: authorization scheme %q is not vapid", scheme)
	}
	var k string
	for p := range strings.SplitSeq(params, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
		value = strings.Trim(strings.TrimSpace(value), `"`)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "t":
			token = value
		case "k":
			k = value
		}
	}
	return checkTokenAndKey(token, k)
}

// ParseVAPIDLegacy reads the draft form of VAPID that some older senders
// still use: Authorization "WebPush <JWT>" with the key in the Crypto-Key
// header's p256ecdsa parameter (Crypto-Key may also hold dh= and other
// parameters, separated by ';' or ',').
func ParseVAPIDLegacy(authorization, cryptoKey string) (token string, publicKey []byte, err error) {
	scheme, tok, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	if !strings.EqualFold(scheme, "WebPush") {
		return "", nil, fmt.Errorf("webpush: authorization scheme %q is not WebPush", scheme)
	}
	var k string
	for p := range strings.FieldsFuncSeq(cryptoKey, func(r rune) bool { return r == ';' || r == ',' }) {
		name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(name), "p256ecdsa") {
			k = strings.Trim(strings.TrimSpace(value), `"`)
		}
	}
	return checkTokenAndKey(strings.TrimSpace(tok), k)
}

func checkTokenAndKey(token, k string) (string, []byte, error) {
	if strings.Count(token, ".") != 2 {
		return "", nil, errors.New("webpush: vapid token is missing or not a JWS compact serialization")
	}
	if k == "" {
		return "", nil, errors.New("webpush: vapid public key is missing")
	}
	pub, err := DecodeBase64(k)
	if err != nil {
		return "", nil, fmt.Errorf("webpush: vapid public key: %w", err)
	}
	if _, err := ParseP256DH(pub); err != nil {
		return "", nil, fmt.Errorf("webpush: vapid public key: %w", err)
	}
	return token, pub, nil
}

// VAPIDClaims are the claims of a verified VAPID token.
type VAPIDClaims struct {
	Audience string
	Expiry   time.Time
	Subject  string
}

// VerifyVAPIDToken checks token the way a push service does (RFC 8292
// section 2): an ES256 signature by publicKey, an aud, and an exp after
// now but no more than 24 hours after it. It returns the claims so the
// caller can match aud against its own origin.
func VerifyVAPIDToken(token string, publicKey []byte, now time.Time) (VAPIDClaims, error) {
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), publicKey)
	if err != nil {
		return VAPIDClaims{}, fmt.Errorf("webpush: vapid public key: %w", err)
	}
	head, rest, _ := strings.Cut(token, ".")
	body, sigText, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(sigText, ".") {
		return VAPIDClaims{}, errors.New("webpush: vapid token is not a JWS compact serialization")
	}
	var h struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}
	if err := decodeJSONPart(head, &h); err != nil {
		return VAPIDClaims{}, fmt.Errorf("webpush: vapid token header: %w", err)
	}
	if h.Alg != "ES256" || (h.Typ != "" && !strings.EqualFold(h.Typ, "JWT")) {
		return VAPIDClaims{}, fmt.Errorf("webpush: vapid token has alg %q typ %q, want ES256 JWT", h.Alg, h.Typ)
	}
	sig, err := jwsDecode(sigText)
	if err != nil || len(sig) != 64 {
		return VAPIDClaims{}, errors.New("webpush: vapid signature is not 64 bytes of base64url")
	}
	digest := sha256.Sum256([]byte(token[:len(head)+1+len(body)]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return VAPIDClaims{}, errors.New("webpush: vapid signature does not verify")
	}
	var c struct {
		Aud string `json:"aud"`
		Exp *int64 `json:"exp"`
		Sub string `json:"sub"`
	}
	if err := decodeJSONPart(body, &c); err != nil {
		return VAPIDClaims{}, fmt.Errorf("webpush: vapid claims: %w", err)
	}
	if c.Aud == "" || c.Exp == nil {
		return VAPIDClaims{}, errors.New("webpush: vapid claims lack aud or exp")
	}
	exp := time.Unix(*c.Exp, 0)
	if !exp.After(now) {
		return VAPIDClaims{}, fmt.Errorf("webpush: vapid token expired at %s", exp.UTC().Format(time.RFC3339))
	}
	if exp.Sub(now) > MaxTokenLifetime {
		return VAPIDClaims{}, fmt.Errorf("webpush: vapid token expires %s from now, over 24h", exp.Sub(now).Round(time.Second))
	}
	return VAPIDClaims{Audience: c.Aud, Expiry: exp, Subject: c.Sub}, nil
}

// jwsDecode decodes the strict unpadded base64url that JWS requires (RFC
// 7515 section 2). It is stricter than DecodeBase64 so that our own tests
// catch a token some push service would reject.
func jwsDecode(s string) ([]byte, error) {
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

func decodeJSONPart(part string, v any) error {
	b, err := jwsDecode(part)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
