package webpush

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock; the Signer under test reads it from
// whatever goroutine calls Header.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestSigner(t testing.TB, subject string) (*Signer, *VAPIDKey, *fakeClock) {
	t.Helper()
	key, err := GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	return NewSigner(key, subject, clock.now), key, clock
}

// jwtParts checks a VAPID header by hand, without VerifyVAPIDToken: the
// header JSON, the raw r||s signature against the key, and the claims.
func jwtParts(t *testing.T, header string, key *VAPIDKey) (claims map[string]any) {
	t.Helper()
	rest, ok := strings.CutPrefix(header, "vapid t=")
	if !ok {
		t.Fatalf("header %q does not start with %q", header, "vapid t=")
	}
	token, k, ok := strings.Cut(rest, ", k=")
	if !ok {
		t.Fatalf("header %q has no k=", header)
	}
	if k != EncodeBase64(key.PublicKey()) {
		t.Fatalf("k=%s, want the signer's public key", k)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	if got := string(b64(t, parts[0])); got != `{"typ":"JWT","alg":"ES256"}` {
		t.Fatalf("JWT header %s", got)
	}
	sig := b64(t, parts[2])
	if len(sig) != 64 {
		t.Fatalf("signature is %d bytes, want raw 64-byte r||s", len(sig))
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), key.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("signature does not verify with crypto/ecdsa")
	}
	if err := json.Unmarshal(b64(t, parts[1]), &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func TestSignerClaims(t *testing.T) {
	s, key, clock := newTestSigner(t, "mailto:ops@example.com")
	for _, tc := range []struct{ endpoint, aud string }{
		{"https://fcm.googleapis.com/fcm/send/abc:def", "https://fcm.googleapis.com"},
		{"https://updates.push.services.mozilla.com/wpush/v2/gAAAA", "https://updates.push.services.mozilla.com"},
		{"https://push.example.net:8443/p/1?x=y", "https://push.example.net:8443"},
		{"https://Push.Example.NET:443/p/1", "https://push.example.net"},
		{"HTTPS://push.example.net", "https://push.example.net"},
		{"http://127.0.0.1:41234/push/abc", "http://127.0.0.1:41234"},
		{"http://127.0.0.1:80/push/abc", "http://127.0.0.1"},
		{"https://[::1]:9443/x", "https://[::1]:9443"},
		{"https://push.example.net?q#f", "https://push.example.net"},
		{"https://push.example.net:/x", "https://push.example.net"},
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			h, err := s.Header(tc.endpoint)
			if err != nil {
				t.Fatal(err)
			}
			c := jwtParts(t, h, key)
			if c["aud"] != tc.aud {
				t.Errorf("aud = %v, want %s", c["aud"], tc.aud)
			}
			if c["sub"] != "mailto:ops@example.com" {
				t.Errorf("sub = %v", c["sub"])
			}
			exp := time.Unix(int64(c["exp"].(float64)), 0)
			if want := clock.now().Add(12 * time.Hour); !exp.Equal(want) {
				t.Errorf("exp = %s, want now+12h = %s", exp, want)
			}
			if exp.Sub(clock.now()) > 24*time.Hour {
				t.Errorf("exp is more than 24h away")
			}
			if len(c) != 3 {
				t.Errorf("claims %v, want only aud, exp, sub", c)
			}
		})
	}
}

func TestSignerRejects(t *testing.T) {
	s, _, _ := newTestSigner(t, "https://herald.example/contact")
	for _, ep := range []string{
		"", "push.example.net/x", "ftp://push.example.net/x", "https:///x",
		"https://user:pw@push.example.net/x", "https://push.example.net:99999999999/x", "://x",
		"https://:443/x", "https://push.example.net:0/x", "https://:/x",
	} {
		if h, err := s.Header(ep); err == nil {
			t.Errorf("Header(%q) = %q, want an error", ep, h)
		}
	}
	for _, sub := range []string{"", "ops@example.com", "mailto:", "http://herald.example", "https://", "https:///x"} {
		if _, err := NewSigner(s.key, sub, nil).Header("https://push.example.net/x"); err == nil ||
			!strings.Contains(err.Error(), "subject") {
			t.Errorf("subject %q: err %v, want a subject error", sub, err)
		}
	}
	if _, err := NewSigner(nil, "mailto:a@b", nil).Header("https://push.example.net/x"); err == nil {
		t.Error("signer without a key signed")
	}
}

func TestSignerCaches(t *testing.T) {
	s, key, clock := newTestSigner(t, "mailto:ops@example.com")
	const fcm = "https://fcm.googleapis.com/fcm/send/"
	first, err := s.Header(fcm + "one")
	if err != nil {
		t.Fatal(err)
	}
	// ECDSA signatures are randomised, so equal headers mean no re-signing.
	second, _ := s.Header(fcm + "two")
	if first != second {
		t.Fatal("second endpoint on the same origin got a freshly signed header")
	}
	moz, _ := s.Header("https://updates.push.services.mozilla.com/wpush/v2/x")
	if moz == first {
		t.Fatal("different origins share a token")
	}

	clock.advance(TokenLifetime - TokenRefresh - time.Second)
	if h, _ := s.Header(fcm + "three"); h != first {
		t.Fatal("re-signed before the refresh point")
	}
	clock.advance(time.Second)
	renewed, _ := s.Header(fcm + "four")
	if renewed == first {
		t.Fatal("not re-signed at the refresh point, an hour before expiry")
	}
	c := jwtParts(t, renewed, key)
	if exp := time.Unix(int64(c["exp"].(float64)), 0); !exp.Equal(clock.now().Add(TokenLifetime)) {
		t.Errorf("renewed exp %s, want now+12h", exp)
	}
	if h, _ := s.Header(fcm + "five"); h != renewed {
		t.Fatal("renewed token is not cached")
	}

	// A clock that steps back 13 hours would leave the cached exp 25 hours
	// ahead, which push services refuse.
	clock.advance(-13 * time.Hour)
	back, _ := s.Header(fcm + "six")
	if back == renewed {
		t.Fatal("kept a token that expires more than 24h from now")
	}
	c = jwtParts(t, back, key)
	if exp := time.Unix(int64(c["exp"].(float64)), 0); exp.Sub(clock.now()) > MaxTokenLifetime {
		t.Errorf("exp is %s away", exp.Sub(clock.now()))
	}
}

func TestSignerConcurrent(t *testing.T) {
	s, _, _ := newTestSigner(t, "mailto:ops@example.com")
	origins := []string{"https://a.example", "https://b.example", "https://c.example:8443"}
	const workers = 8
	results := make(chan [3]string, workers)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got [3]string
			for i := 0; i < 200; i++ {
				for j, o := range origins {
					h, err := s.Header(fmt.Sprintf("%s/sub/%d", o, i))
					if err != nil {
						errs <- err
						return
					}
					if got[j] != "" && got[j] != h {
						errs <- fmt.Errorf("origin %s: header changed while the clock stood still", o)
						return
					}
					got[j] = h
				}
			}
			results <- got
		}()
	}
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var first [3]string
	for r := range results {
		if first[0] == "" {
			first = r
		} else if r != first {
			t.Fatal("goroutines saw different tokens for one origin: signed more than once")
		}
	}
}

func TestSignerCacheIsBounded(t *testing.T) {
	s, _, _ := newTestSigner(t, "mailto:ops@example.com")
	for i := 0; i < maxAudiences+10; i++ {
		if _, err := s.Header(fmt.Sprintf("https://h%d.example/x", i)); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	s.cache.Range(func(_, _ any) bool { n++; return true })
	s.mu.Lock()
	counted := s.n
	s.mu.Unlock()
	if n > maxAudiences || n != counted {
		t.Fatalf("cache holds %d audiences (counted %d), bound is %d", n, counted, maxAudiences)
	}
	// The newest origin survived the eviction and is served from the cache.
	last := fmt.Sprintf("https://h%d.example/x", maxAudiences+9)
	a, _ := s.Header(last)
	b, _ := s.Header(last + "/y")
	if a != b {
		t.Fatal("newest origin was evicted")
	}
}

func TestVAPIDKeyBytes(t *testing.T) {
	k, err := GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Bytes()) != 32 || len(k.PublicKey()) != 65 || k.PublicKey()[0] != 4 {
		t.Fatalf("key sizes %d/%d", len(k.Bytes()), len(k.PublicKey()))
	}
	k2, err := VAPIDKeyFromBytes(k.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k2.PublicKey(), k.PublicKey()) || !bytes.Equal(k2.Bytes(), k.Bytes()) {
		t.Fatal("key does not survive Bytes and VAPIDKeyFromBytes")
	}
	k.Bytes()[0] ^= 1
	if !bytes.Equal(k2.Bytes(), k.Bytes()) {
		t.Fatal("Bytes returns the key's own slice")
	}
	// The RFC 8291 application server key doubles as a known P-256 pair.
	known, err := VAPIDKeyFromBytes(b64(t, rfc8291.asPrivate))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(known.PublicKey(), b64(t, rfc8291.asPublic)) {
		t.Fatal("public key of a known scalar is wrong")
	}
	order := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
	for name, b := range map[string][]byte{
		"31 bytes": make([]byte, 31), "33 bytes": make([]byte, 33), "zero": make([]byte, 32), "order": order,
	} {
		if _, err := VAPIDKeyFromBytes(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, s := range []string{k.String(), fmt.Sprint(k), fmt.Sprintf("%+v", k)} {
		if strings.Contains(s, EncodeBase64(k.Bytes())) {
			t.Errorf("formatted key %q shows the private scalar", s)
		}
	}
}
