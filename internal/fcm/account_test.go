package fcm

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// accountJSON returns a valid service-account file with fields changed
// by edit (a nil value deletes the field).
func accountJSON(t *testing.T, key string, edit map[string]any) []byte {
	t.Helper()
	f := map[string]any{
		"type":           "service_account",
		"project_id":     "herald-prod",
		"private_key_id": "abc123",
		"private_key":    key,
		"client_email":   "push@herald-prod.iam.gserviceaccount.com",
		"client_id":      "1234",
		"token_uri":      "https://oauth2.googleapis.com/token",
	}
	for k, v := range edit {
		if v == nil {
			delete(f, k)
		} else {
			f[k] = v
		}
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pemKey(t *testing.T, typ string, der []byte) string {
	t.Helper()
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func TestParseServiceAccount(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(rk)
	key := pemKey(t, "PRIVATE KEY", pkcs8)

	sa, err := ParseServiceAccount(accountJSON(t, key, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := ServiceAccount{ProjectID: "herald-prod", ClientEmail: "push@herald-prod.iam.gserviceaccount.com",
		PrivateKeyID: "abc123", PrivateKey: key, TokenURI: "https://oauth2.googleapis.com/token"}
	if sa != want {
		t.Errorf("got %#v", sa)
	}

	pkcs1 := pemKey(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk))
	if _, err := ParseServiceAccount(accountJSON(t, pkcs1, nil)); err != nil {
		t.Errorf("PKCS#1 key: %v", err)
	}
	sa, err = ParseServiceAccount(accountJSON(t, key, map[string]any{"token_uri": nil}))
	if err != nil || sa.TokenURI != DefaultTokenURI {
		t.Errorf("no token_uri: %q, %v", sa.TokenURI, err)
	}
	for _, uri := range []string{"http://127.0.0.1:8080/token", "http://localhost/token", "http://[::1]:9/t"} {
		if _, err := ParseServiceAccount(accountJSON(t, key, map[string]any{"token_uri": uri})); err != nil {
			t.Errorf("loopback token_uri %s: %v", uri, err)
		}
	}
	if _, err := ParseServiceAccount(accountJSON(t, key, map[string]any{"project_id": "example.com:herald"})); err != nil {
		t.Errorf("domain-scoped project: %v", err)
	}

	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallDER, _ := x509.MarshalPKCS8PrivateKey(small)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)

	tests := []struct {
		name string
		edit map[string]any
		want []string // each must appear in the error
	}{
		{"no type", map[string]any{"type": nil}, []string{"type: missing"}},
		{"user credentials", map[string]any{"type": "authorized_user"}, []string{`type: is "authorized_user"`}},
		{"no project", map[string]any{"project_id": nil}, []string{"project_id: missing"}},
		{"project with a slash", map[string]any{"project_id": "a/b"}, []string{"project_id:", "'/'"}},
		{"no email", map[string]any{"client_email": ""}, []string{"client_email: missing"}},
		{"bad email", map[string]any{"client_email": "push"}, []string{"client_email:", "not an email"}},
		{"no key", map[string]any{"private_key": nil}, []string{"private_key: missing"}},
		{"key not PEM", map[string]any{"private_key": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ"}, []string{"private_key: not a PEM block"}},
		{"certificate", map[string]any{"private_key": pemKey(t, "CERTIFICATE", []byte{1, 2})}, []string{`private_key: PEM block is "CERTIFICATE"`}},
		{"garbage DER", map[string]any{"private_key": pemKey(t, "PRIVATE KEY", []byte("not der"))}, []string{"private_key: not a valid"}},
		{"EC key", map[string]any{"private_key": pemKey(t, "PRIVATE KEY", ecDER)}, []string{"private_key:", "want an RSA key"}},
		{"small key", map[string]any{"private_key": pemKey(t, "PRIVATE KEY", smallDER)}, []string{"private_key: RSA key is 1024 bits"}},
		{"plain http token_uri", map[string]any{"token_uri": "http://evil.example/token"}, []string{"token_uri:", "not loopback"}},
		{"relative token_uri", map[string]any{"token_uri": "/token"}, []string{"token_uri:", "not an absolute URL"}},
		{"ftp token_uri", map[string]any{"token_uri": "ftp://x/token"}, []string{"token_uri:", "not https"}},
		{"wrong JSON type", map[string]any{"project_id": 7}, []string{"field project_id"}},
		{"everything wrong at once", map[string]any{"type": nil, "project_id": nil, "client_email": nil, "private_key": nil},
			[]string{"type: missing", "project_id: missing", "client_email: missing", "private_key: missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseServiceAccount(accountJSON(t, key, tt.edit))
			if !errors.Is(err, ErrBadServiceAccount) {
				t.Fatalf("err = %v, want ErrBadServiceAccount", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "MII") {
				t.Errorf("error %q quotes key material", err)
			}
		})
	}
	for _, in := range []string{"", "null", "[1]", `{"private_key": "-----BEGIN PRIVATE KEY-----\nMIIE` + "\x00"} {
		_, err := ParseServiceAccount([]byte(in))
		if !errors.Is(err, ErrBadServiceAccount) || strings.Contains(fmt.Sprint(err), "MIIE") {
			t.Errorf("ParseServiceAccount(%q) = %v", in, err)
		}
	}
}

func TestServiceAccountRedacted(t *testing.T) {
	sa := ServiceAccount{ProjectID: "p", ClientEmail: "a@p.iam", PrivateKeyID: "kid", PrivateKey: "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n", TokenURI: DefaultTokenURI}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("account", "account", sa)
	log.Info("account", slog.Any("account", &sa))
	for _, s := range []string{buf.String(), fmt.Sprint(sa), fmt.Sprintf("%v %+v %#v %s", sa, sa, sa, sa), fmt.Sprintf("%v", &sa)} {
		if strings.Contains(s, "SECRET") {
			t.Errorf("private key leaked: %s", s)
		}
		if !strings.Contains(s, "a@p.iam") {
			t.Errorf("account not identified: %s", s)
		}
	}
	if !strings.Contains(buf.String(), `"private_key":"[redacted]"`) {
		t.Errorf("log = %s", buf.String())
	}
}
