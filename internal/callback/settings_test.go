package callback

import (
	"errors"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/store"
)

func TestCheckURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://hooks.example.com/herald":                       true,
		"http://127.0.0.1:9000/cb?token=x":                       true,
		"https://[::1]:8443/cb":                                  true,
		"ftp://hooks.example.com/":                               false,
		"javascript:alert(1)":                                    false,
		"file:///etc/passwd":                                     false,
		"/relative/path":                                         false,
		"https://":                                               false,
		"https://user:pass@hooks.example.com/":                   false,
		"https://hooks.example.com/#frag":                        false,
		"hooks.example.com/cb":                                   false,
		"https://hooks.example.com/" + strings.Repeat("a", 2100): false,
	} {
		if err := CheckURL(u); (err == nil) != ok || err != nil && !errors.Is(err, ErrBadURL) {
			t.Errorf("CheckURL(%.40q) = %v, want ok %v", u, err, ok)
		}
	}
}

func TestSettingsSecretShownOnceSealedAndRotated(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	if _, err := r.svc.Get(ctx, r.app); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no callback yet: %v", err)
	}
	s1, sec1, err := r.svc.Set(ctx, r.app, "https://a.example/cb", false)
	if err != nil || !strings.HasPrefix(sec1, "whsec_") || len(sec1) < 40 || s1.URL != "https://a.example/cb" {
		t.Fatalf("first Set: %+v %q %v", s1, sec1, err)
	}
	raw, _ := r.st.Callback(ctx, r.app)
	if strings.Contains(string(raw.SecretSealed), sec1) {
		t.Fatal("the secret is stored in clear")
	}
	// Changing the URL keeps the secret and does not show it again.
	_, sec2, err := r.svc.Set(ctx, r.app, "https://b.example/cb", false)
	if err != nil || sec2 != "" {
		t.Fatalf("second Set: %q %v", sec2, err)
	}
	u, key, err := r.svc.open(ctx, r.app)
	if err != nil || u != "https://b.example/cb" || string(key) != sec1 {
		t.Fatalf("open: %s %q %v", u, key, err)
	}
	_, sec3, err := r.svc.Set(ctx, r.app, "https://b.example/cb", true)
	if err != nil || sec3 == "" || sec3 == sec1 {
		t.Fatalf("rotate: %q %v", sec3, err)
	}
	if _, key, _ := r.svc.open(ctx, r.app); string(key) != sec3 {
		t.Errorf("after rotation the old secret signs")
	}
	if _, _, err := r.svc.Set(ctx, r.app, "ftp://x", false); !errors.Is(err, ErrBadURL) {
		t.Errorf("bad URL: %v", err)
	}
	if _, _, err := r.svc.Set(ctx, "app_nope", "https://a.example/cb", false); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown app: %v", err)
	}
	if err := r.svc.Clear(ctx, r.app); err != nil {
		t.Fatal(err)
	}
	if err := r.svc.Clear(ctx, r.app); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second clear: %v", err)
	}
}
