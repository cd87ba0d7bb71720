package secret

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func noEnv(string) string { return "" }

func TestLoadMasterKeyGeneratesOnceAndReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := LoadMasterKey(noEnv, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 32 {
		t.Fatalf("key length %d", len(k1))
	}
	st, err := os.Stat(filepath.Join(dir, MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("master key mode %v, want 0600", st.Mode().Perm())
	}
	k2, err := LoadMasterKey(noEnv, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) {
		t.Error("second load returned a different key")
	}
}

func TestLoadMasterKeyFromEnv(t *testing.T) {
	want := bytes.Repeat([]byte{7}, 32)
	env := func(k string) string {
		if k == "HERALD_MASTER_KEY" {
			return base64.StdEncoding.EncodeToString(want)
		}
		return ""
	}
	got, err := LoadMasterKey(env, t.TempDir())
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %x, %v", got, err)
	}
	short := func(k string) string {
		if k == "HERALD_MASTER_KEY" {
			return base64.StdEncoding.EncodeToString(want[:16])
		}
		return ""
	}
	if _, err := LoadMasterKey(short, t.TempDir()); err == nil {
		t.Error("a 16-byte master key was accepted")
	}
}

func TestSealOpen(t *testing.T) {
	s, err := NewSealer(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealed := s.Seal([]byte("vapid private"), "app_1/vapid")
	if bytes.Contains(sealed, []byte("vapid private")) {
		t.Fatal("sealed value contains the plaintext")
	}
	pt, err := s.Open(sealed, "app_1/vapid")
	if err != nil || string(pt) != "vapid private" {
		t.Fatalf("open: %q, %v", pt, err)
	}
	if _, err := s.Open(sealed, "app_2/vapid"); err == nil {
		t.Error("opened under another label")
	}
	other, _ := NewSealer(bytes.Repeat([]byte{2}, 32))
	if _, err := other.Open(sealed, "app_1/vapid"); err == nil {
		t.Error("opened with another master key")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := s.Open(sealed, "app_1/vapid"); err == nil {
		t.Error("opened a tampered value")
	}
}

func TestCredentialHelpers(t *testing.T) {
	tok := Token("hk_", 24)
	if !regexp.MustCompile(`^hk_[A-Za-z0-9_-]{32}$`).MatchString(tok) {
		t.Errorf("token %q", tok)
	}
	if !Equal(tok, Hash(tok)) || Equal(tok+"x", Hash(tok)) {
		t.Error("Equal does not match Hash")
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(UUID()) {
		t.Error("UUID is not a version 4 uuid")
	}
	if h := Hex(12); len(h) != 24 {
		t.Errorf("Hex(12) = %q", h)
	}
}
