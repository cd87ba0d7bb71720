package apns

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParseKey(t *testing.T) {
	k := newKey(t)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	// Apple's .p8 files are a PKCS#8 PEM block, sometimes with a
	// trailing newline missing or CRLF line ends.
	for name, p8 := range map[string][]byte{
		"plain":            pemBlock("PRIVATE KEY", der),
		"crlf":             []byte(strings.ReplaceAll(string(pemBlock("PRIVATE KEY", der)), "\n", "\r\n")),
		"no final newline": []byte(strings.TrimSuffix(string(pemBlock("PRIVATE KEY", der)), "\n")),
	} {
		got, err := ParseKey(p8)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !got.Equal(k) {
			t.Fatalf("%s: parsed key differs", name)
		}
	}
}

func TestParseKeyErrors(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384DER, _ := x509.MarshalPKCS8PrivateKey(p384)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(edKey)
	sec1, _ := x509.MarshalECPrivateKey(newKey(t))

	for _, tc := range []struct {
		name string
		p8   []byte
		want string
	}{
		{"empty", nil, "no PEM block"},
		{"not pem", []byte("MIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg"), "no PEM block"},
		{"sec1", pemBlock("EC PRIVATE KEY", sec1), "PKCS#8"},
		{"certificate", pemBlock("CERTIFICATE", []byte{1, 2, 3}), `"CERTIFICATE"`},
		{"garbage der", pemBlock("PRIVATE KEY", []byte("not der")), "apns: parse key:"},
		{"ed25519", pemBlock("PRIVATE KEY", edDER), "not an EC key"},
		{"p384", pemBlock("PRIVATE KEY", p384DER), "not P-256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseKey(tc.p8)
			if err == nil || k != nil {
				t.Fatalf("ParseKey = %v, %v; want an error", k, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestCredentialsValidate(t *testing.T) {
	good := Credentials{KeyID: testKeyID, TeamID: testTeam, Topic: testTopic, Key: newKey(t)}
	if err := good.Validate(); err != nil {
		t.Fatalf("good credentials: %v", err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for _, tc := range []struct {
		name   string
		change func(*Credentials)
		want   []string
	}{
		{"short key id", func(c *Credentials) { c.KeyID = "ABC" }, []string{`key id "ABC" is not 10`}},
		{"long team id", func(c *Credentials) { c.TeamID = "TEAM1234567" }, []string{"team id"}},
		{"punctuation", func(c *Credentials) { c.KeyID = "KEY-234567" }, []string{"key id"}},
		{"no topic", func(c *Credentials) { c.Topic = "" }, []string{"topic"}},
		{"no key", func(c *Credentials) { c.Key = nil }, []string{"no signing key"}},
		{"p384", func(c *Credentials) { c.Key = p384 }, []string{"not P-256"}},
		{"everything", func(c *Credentials) { *c = Credentials{} }, []string{"key id", "team id", "topic", "no signing key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.change(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate passed")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if _, nerr := NewClient(c, Options{}); nerr == nil {
				t.Error("NewClient accepted invalid credentials")
			}
		})
	}
}

func TestCredentialsHideKey(t *testing.T) {
	c := Credentials{KeyID: testKeyID, TeamID: testTeam, Topic: testTopic, Key: newKey(t)}
	d := c.Key.D.String()
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("x", "creds", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), sb.String()} {
		if strings.Contains(s, d) || !strings.Contains(s, testKeyID) {
			t.Errorf("printed credentials %q: leaks the key or lacks the key id", s)
		}
	}
}

func TestCredentialsEqual(t *testing.T) {
	k := newKey(t)
	a := Credentials{KeyID: testKeyID, TeamID: testTeam, Topic: testTopic, Key: k}
	b := a
	b.Key = &ecdsa.PrivateKey{PublicKey: k.PublicKey, D: k.D} // same key, other pointer
	if !a.Equal(b) {
		t.Error("same credentials are not Equal")
	}
	for _, change := range []func(*Credentials){
		func(c *Credentials) { c.Key = newKey(t) },
		func(c *Credentials) { c.Key = nil },
		func(c *Credentials) { c.Production = true },
		func(c *Credentials) { c.Topic = "other" },
	} {
		c := a
		change(&c)
		if a.Equal(c) || c.Equal(a) {
			t.Errorf("%v Equal to %v", c, a)
		}
	}
	if !errors.Is(fmt.Errorf("lookup: %w", ErrNoCredentials), ErrNoCredentials) {
		t.Error("ErrNoCredentials does not wrap")
	}
}

func TestNotificationLogValueHidesToken(t *testing.T) {
	var sb strings.Builder
	n := Notification{AppID: "app1", Token: deviceToken(1), Title: "secret title"}
	slog.New(slog.NewTextHandler(&sb, nil)).Info("x", "n", n)
	if strings.Contains(sb.String(), deviceToken(1)) || strings.Contains(sb.String(), "secret title") || !strings.Contains(sb.String(), "app1") {
		t.Fatalf("logged %q", sb.String())
	}
}
