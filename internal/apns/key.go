package apns

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
)

// idLen is the length of Apple's key ids and team ids ("ABC123DEFG").
const idLen = 10

// ErrNoCredentials is what a CredentialsFunc returns (wrapped) for an app
// that has no APNs key configured: its pushes fail without being retried.
var ErrNoCredentials = errors.New("apns: app has no apns credentials")

// ParseKey reads the signing key Apple hands out as a .p8 file: a PEM
// "PRIVATE KEY" block holding a PKCS#8 EC P-256 key.
func ParseKey(p8 []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(p8)
	if block == nil {
		return nil, errors.New("apns: parse key: no PEM block (want the contents of Apple's AuthKey_<keyid>.p8)")
	}
	switch block.Type {
	case "PRIVATE KEY":
	case "EC PRIVATE KEY":
		return nil, errors.New(`apns: parse key: PEM block is "EC PRIVATE KEY" (SEC 1); Apple's .p8 is "PRIVATE KEY" (PKCS#8)`)
	default:
		return nil, fmt.Errorf("apns: parse key: PEM block is %q, want \"PRIVATE KEY\"", block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("apns: parse key: %w", err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("apns: parse key: %T is not an EC key", k)
	}
	if ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("apns: parse key: curve %s is not P-256", ec.Curve.Params().Name)
	}
	return ec, nil
}

// Credentials are what an app needs to push through APNs with token-based
// authentication. They come from the app's Apple developer account.
type Credentials struct {
	// KeyID is the 10-character id of the signing key (the <keyid> in
	// AuthKey_<keyid>.p8), sent as the JWT's kid.
	KeyID string
	// TeamID is the 10-character Apple developer team id, the JWT's iss.
	TeamID string
	// Topic is the app's bundle id, sent as apns-topic.
	Topic string
	// Key is the signing key, from ParseKey.
	Key *ecdsa.PrivateKey
	// Production selects api.push.apple.com; false selects the sandbox,
	// where development builds' tokens live. A token sent to the wrong
	// environment is answered BadDeviceToken.
	Production bool
}

// Validate reports every problem with c at once.
func (c Credentials) Validate() error {
	var errs []error
	if !isAlnum(c.KeyID, idLen) {
		errs = append(errs, fmt.Errorf("apns: key id %q is not %d letters and digits", c.KeyID, idLen))
	}
	if !isAlnum(c.TeamID, idLen) {
		errs = append(errs, fmt.Errorf("apns: team id %q is not %d letters and digits", c.TeamID, idLen))
	}
	if c.Topic == "" {
		errs = append(errs, errors.New("apns: topic (the app's bundle id) is empty"))
	}
	if c.Key == nil {
		errs = append(errs, errors.New("apns: no signing key"))
	} else if c.Key.Curve != elliptic.P256() {
		errs = append(errs, errors.New("apns: signing key is not P-256"))
	}
	return errors.Join(errs...)
}

// Equal reports whether c and o would sign and address pushes the same way.
func (c Credentials) Equal(o Credentials) bool {
	if c.KeyID != o.KeyID || c.TeamID != o.TeamID || c.Topic != o.Topic || c.Production != o.Production {
		return false
	}
	if c.Key == nil || o.Key == nil {
		return c.Key == o.Key
	}
	return c.Key.Equal(o.Key)
}

// LogValue leaves the key out of logs.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("key_id", c.KeyID),
		slog.String("team_id", c.TeamID),
		slog.String("topic", c.Topic),
		slog.Bool("production", c.Production),
		slog.Bool("key_set", c.Key != nil),
	)
}

// String leaves the key out, so credentials printed by mistake leak nothing.
func (c Credentials) String() string {
	return fmt.Sprintf("apns.Credentials{KeyID:%s TeamID:%s Topic:%s Production:%t}", c.KeyID, c.TeamID, c.Topic, c.Production)
}

func isAlnum(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// GoString keeps the key out of %#v too.
func (c Credentials) GoString() string { return c.String() }
