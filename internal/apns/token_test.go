package apns

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func newTestCache(t *testing.T) (*tokenCache, *clock) {
	c := newClock()
	return newTokenCache(Credentials{KeyID: testKeyID, TeamID: testTeam, Topic: testTopic, Key: newKey(t)}, c.Now), c
}

func TestTokenShape(t *testing.T) {
	tc, c := newTestCache(t)
	tok, err := tc.get()
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := strings.CutPrefix(tok.bearer, "bearer ")
	if !ok {
		t.Fatalf("header %q does not start with \"bearer \"", tok.bearer)
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	// Exactly the fields Apple documents, nothing more.
	for i, want := range []map[string]any{
		{"alg": "ES256", "kid": testKeyID},
		{"iss": testTeam, "iat": float64(c.Now().Unix())},
	} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("part %d is %s, want %v", i, b, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("part %d: %s = %v, want %v", i, k, got[k], v)
			}
		}
	}
	// And a JWT library takes it as a valid ES256 token by the public key.
	parsed, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return &tc.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(c.Now))
	if err != nil || !parsed.Valid {
		t.Fatalf("token does not verify: %v", err)
	}
}

func TestTokenCached(t *testing.T) {
	tc, c := newTestCache(t)
	first, err := tc.get()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([]*providerToken, 64)
	for i := range got {
		wg.Go(func() { got[i], _ = tc.get() })
	}
	wg.Wait()
	for i, g := range got {
		if g != first {
			t.Fatalf("goroutine %d got another token", i)
		}
	}
	c.Add(TokenRefresh - time.Second)
	if tok, _ := tc.get(); tok != first {
		t.Fatal("token re-signed before TokenRefresh")
	}
	if n := tc.signs.Load(); n != 1 {
		t.Fatalf("signed %d tokens, want 1", n)
	}
}

func TestTokenFirstSignUnderConcurrency(t *testing.T) {
	tc, _ := newTestCache(t)
	var wg sync.WaitGroup
	start := make(chan struct{})
	got := make([]*providerToken, 100)
	for i := range got {
		wg.Go(func() {
			<-start
			got[i], _ = tc.get()
		})
	}
	close(start)
	wg.Wait()
	for _, g := range got {
		if g == nil || g != got[0] {
			t.Fatal("goroutines got different tokens")
		}
	}
	if n := tc.signs.Load(); n != 1 {
		t.Fatalf("signed %d tokens, want 1", n)
	}
}

func TestTokenRefreshAt50Minutes(t *testing.T) {
	tc, c := newTestCache(t)
	first, _ := tc.get()
	c.Add(49*time.Minute + 59*time.Second)
	if tok, _ := tc.get(); tok != first {
		t.Fatal("re-signed at 49m59s")
	}
	c.Add(time.Second)
	second, _ := tc.get()
	if second == first {
		t.Fatal("not re-signed at 50m")
	}
	if !second.issued.Equal(c.Now()) {
		t.Fatalf("new token issued %v, want %v", second.issued, c.Now())
	}
	// A clock that goes back (NTP step) would leave iat in the future,
	// which APNs refuses: sign again.
	c.Add(-time.Hour)
	if third, _ := tc.get(); third == second {
		t.Fatal("token from the future kept")
	}
	if n := tc.signs.Load(); n != 3 {
		t.Fatalf("signed %d tokens, want 3", n)
	}
}

func TestTokenAgeIsWallClock(t *testing.T) {
	// time.Now carries a monotonic reading that stops while a machine
	// sleeps; the age must come from the wall clock, as APNs measures it.
	tc, _ := newTestCache(t)
	start := time.Now()
	tc.now = func() time.Time { return start }
	first, _ := tc.get()
	if first.issued != first.issued.Round(0) {
		t.Fatal("issued time keeps a monotonic reading")
	}
	woke := start.Round(0).Add(2 * time.Hour) // as if asleep: wall clock moved
	tc.now = func() time.Time { return woke }
	if tok, _ := tc.get(); tok == first {
		t.Fatal("token kept after two hours of wall-clock time")
	}
}

func TestTokenInvalidateOnce(t *testing.T) {
	tc, c := newTestCache(t)
	stale, _ := tc.get()
	c.Add(10 * time.Minute)
	var wg sync.WaitGroup
	start := make(chan struct{})
	got := make([]*providerToken, 100)
	for i := range got {
		wg.Go(func() {
			<-start
			if !tc.invalidate(stale) {
				t.Error("invalidate of a 10-minute-old token refused")
			}
			got[i], _ = tc.get()
		})
	}
	close(start)
	wg.Wait()
	for _, g := range got {
		if g == nil || g == stale || g != got[0] {
			t.Fatal("goroutines did not all get the one new token")
		}
	}
	if n := tc.signs.Load(); n != 2 {
		t.Fatalf("signed %d tokens, want 2: one re-sign for everyone", n)
	}
}

func TestTokenInvalidateYoungToken(t *testing.T) {
	tc, c := newTestCache(t)
	tok, _ := tc.get()
	c.Add(minResign - time.Second)
	if tc.invalidate(tok) {
		t.Fatal("invalidate of a token younger than minResign accepted")
	}
	if again, _ := tc.get(); again != tok {
		t.Fatal("young token replaced")
	}
	c.Add(time.Second)
	if !tc.invalidate(tok) {
		t.Fatal("invalidate at minResign refused")
	}
	if again, _ := tc.get(); again == tok {
		t.Fatal("token not replaced")
	}
}
