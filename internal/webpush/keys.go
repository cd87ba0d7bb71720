package webpush

import (
	"crypto/ecdh"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

const (
	// PointLen is the length of an uncompressed P-256 point: 0x04, X, Y.
	PointLen = 65
	// AuthLen is the length of a subscription's auth secret (RFC 8291
	// section 3.2).
	AuthLen = 16
)

// Keys are the encryption keys a browser hands out with a subscription
// (PushSubscription.getKey): the user agent's ECDH public key and the
// shared auth secret.
type Keys struct {
	// P256DH is the user agent's public key, a 65-byte uncompressed point.
	P256DH []byte
	// Auth is the 16-byte authentication secret.
	Auth []byte
}

// LogValue keeps key material out of logs: only the lengths are shown,
// which is what one needs to debug a malformed subscription.
func (k Keys) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("p256dh_len", len(k.P256DH)),
		slog.Int("auth_len", len(k.Auth)),
	)
}

// ParseP256DH checks that b is an uncompressed P-256 point and returns it
// as an ECDH public key. Browsers always send the uncompressed form.
func ParseP256DH(b []byte) (*ecdh.PublicKey, error) {
	if len(b) != PointLen || b[0] != 4 {
		return nil, fmt.Errorf("webpush: p256dh is not a P-256 point (%d bytes, want %d uncompressed)", len(b), PointLen)
	}
	pub, err := ecdh.P256().NewPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("webpush: p256dh is not a P-256 point: %w", err)
	}
	return pub, nil
}

// DecodeBase64 decodes s in either the URL-safe or the standard alphabet,
// with or without padding. Browsers send unpadded base64url, but keys
// copied through other tools often arrive padded or in the standard
// alphabet, and refusing them helps nobody.
func DecodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	enc := base64.RawURLEncoding
	if strings.ContainsAny(s, "+/") {
		enc = base64.RawStdEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("webpush: decode base64: %w", err)
	}
	return b, nil
}

// EncodeBase64 encodes b as unpadded base64url, the form browsers and
// push services use for keys, salts and tokens.
func EncodeBase64(b []byte) string {
	return base64.RawURLEncoding.EncodeToString(b)
}

// errAuthLen is returned when an auth secret is not 16 bytes.
var errAuthLen = errors.New("webpush: auth secret must be 16 bytes")

func checkAuth(auth []byte) error {
	if len(auth) != AuthLen {
		return fmt.Errorf("%w, got %d", errAuthLen, len(auth))
	}
	return nil
}
