package fcm

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
)

const (
	// Scope is the OAuth 2.0 scope FCM HTTP v1 requires of an access token.
	Scope = "https://www.googleapis.com/auth/firebase.messaging"
	// DefaultTokenURI is Google's token endpoint, used when a service
	// account file has no token_uri (Google's own files always have one).
	DefaultTokenURI = "https://oauth2.googleapis.com/token"
	// minKeyBits refuses toy keys: Google issues 2048-bit keys.
	minKeyBits = 2048
)

// ErrBadServiceAccount is wrapped by every ParseServiceAccount error.
var ErrBadServiceAccount = errors.New("fcm: bad service account")

// ServiceAccount is a Google service account, as its JSON key file gives
// it: enough to sign the RFC 7523 assertion that buys FCM access tokens
// for one Firebase project. It is a comparable value, so a caller can tell
// whether an app's account changed with ==.
//
// PrivateKey is a secret: LogValue, String and GoString leave it out, so
// logging or printing an account does not leak it.
type ServiceAccount struct {
	ProjectID    string // Firebase / Google Cloud project the messages are sent for
	ClientEmail  string // the account's identity, the assertion's iss
	PrivateKeyID string // optional; sent as the assertion's kid
	PrivateKey   string // PEM, PKCS#8 (or PKCS#1) RSA
	TokenURI     string // where assertions are exchanged for access tokens
}

// serviceAccountFile is the JSON key file Google hands out. Fields Herald
// does not need (client_id, auth_uri, ...) are ignored.
type serviceAccountFile struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	TokenURI     string `json:"token_uri"`
}

// ParseServiceAccount reads a service-account JSON key file and checks
// every field Herald uses, reporting all problems at once, each naming its
// field. An empty token_uri becomes DefaultTokenURI. A token_uri must be
// https, or http on a loopback address (tests' fake token endpoints), so a
// stored account cannot send its signed assertions anywhere in clear.
func ParseServiceAccount(data []byte) (ServiceAccount, error) {
	var f serviceAccountFile
	if err := json.Unmarshal(data, &f); err != nil {
		return ServiceAccount{}, fmt.Errorf("%w: not a JSON object: %w", ErrBadServiceAccount, redactJSONError(err))
	}
	sa := ServiceAccount{
		ProjectID:    f.ProjectID,
		ClientEmail:  f.ClientEmail,
		PrivateKeyID: f.PrivateKeyID,
		PrivateKey:   f.PrivateKey,
		TokenURI:     f.TokenURI,
	}
	if sa.TokenURI == "" {
		sa.TokenURI = DefaultTokenURI
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch f.Type {
	case "service_account":
	case "":
		bad("type", "missing (want \"service_account\")")
	default:
		bad("type", "is %q, want \"service_account\"", f.Type)
	}
	if err := checkProjectID(sa.ProjectID); err != nil {
		bad("project_id", "%v", err)
	}
	switch at := strings.IndexByte(sa.ClientEmail, '@'); {
	case sa.ClientEmail == "":
		bad("client_email", "missing")
	case at <= 0 || at == len(sa.ClientEmail)-1 || strings.ContainsAny(sa.ClientEmail, " \t\r\n"):
		bad("client_email", "%q is not an email address", sa.ClientEmail)
	}
	if err := checkPrivateKey(sa.PrivateKey); err != nil {
		bad("private_key", "%v", err)
	}
	if err := checkTokenURI(sa.TokenURI); err != nil {
		bad("token_uri", "%v", err)
	}
	if len(errs) > 0 {
		return ServiceAccount{}, fmt.Errorf("%w: %w", ErrBadServiceAccount, errors.Join(errs...))
	}
	return sa, nil
}

// redactJSONError keeps a decoding error's position and kind but never a
// piece of the input, which may be the private key.
func redactJSONError(err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Errorf("syntax error at byte %d", syn.Offset)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Errorf("field %s: want %s, got %s", typ.Field, typ.Type, typ.Value)
	}
	return errors.New("invalid JSON")
}

// checkProjectID accepts Google project ids, including domain-scoped ones
// ("example.com:herald"): they go into the request path.
func checkProjectID(id string) error {
	if id == "" {
		return errors.New("missing")
	}
	if len(id) > 100 {
		return fmt.Errorf("is %d characters long", len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == ':' || c == '_') {
			return fmt.Errorf("%q has %q, not allowed in a project id", id, c)
		}
	}
	return nil
}

// checkPrivateKey parses the key the way golang.org/x/oauth2 will, so a
// bad key is reported when the account is saved, not at the first send.
// Its messages never quote the key.
func checkPrivateKey(p string) error {
	if p == "" {
		return errors.New("missing")
	}
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return errors.New("not a PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return fmt.Errorf("PEM block is %q, want \"PRIVATE KEY\"", block.Type)
	}
	if err != nil {
		return errors.New("not a valid PKCS#8 or PKCS#1 private key")
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return fmt.Errorf("is a %T, want an RSA key (RS256)", key)
	}
	if n := rk.N.BitLen(); n < minKeyBits {
		return fmt.Errorf("RSA key is %d bits, at least %d needed", n, minKeyBits)
	}
	return nil
}

func checkTokenURI(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() || u.Hostname() == "localhost" {
			return nil
		}
		return fmt.Errorf("%q is plain http to a host that is not loopback", s)
	}
	return fmt.Errorf("%q is not https", s)
}

// LogValue shows which account this is, never its key.
func (sa ServiceAccount) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("project_id", sa.ProjectID),
		slog.String("client_email", sa.ClientEmail),
		slog.String("private_key_id", sa.PrivateKeyID),
		slog.String("private_key", redacted(sa.PrivateKey)),
		slog.String("token_uri", sa.TokenURI),
	)
}

// String keeps the key out of fmt's %v and %s.
func (sa ServiceAccount) String() string {
	return fmt.Sprintf("fcm.ServiceAccount{project_id=%s client_email=%s private_key_id=%s private_key=%s token_uri=%s}",
		sa.ProjectID, sa.ClientEmail, sa.PrivateKeyID, redacted(sa.PrivateKey), sa.TokenURI)
}

// GoString keeps the key out of fmt's %#v.
func (sa ServiceAccount) GoString() string { return sa.String() }

func redacted(secret string) string {
	if secret == "" {
		return ""
	}
	return "[redacted]"
}
