package webpush

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"strconv"
	"strings"
	"testing"
	"time"
)

// signJWT signs arbitrary header and claims JSON with key, so tests can
// build tokens Signer would never make.
func signJWT(t *testing.T, key *VAPIDKey, header, claims string) string {
	t.Helper()
	input := EncodeBase64([]byte(header)) + "." + EncodeBase64([]byte(claims))
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key.priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + EncodeBase64(sig)
}

func TestParseVAPIDHeader(t *testing.T) {
	s, key, clock := newTestSigner(t, "mailto:ops@example.com")
	h, err := s.Header("https://push.example.net/x")
	if err != nil {
		t.Fatal(err)
	}
	token, pub, err := ParseVAPIDHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pub, key.PublicKey()) {
		t.Fatal("public key does not round-trip")
	}
	c, err := VerifyVAPIDToken(token, pub, clock.now())
	if err != nil {
		t.Fatal(err)
	}
	want := VAPIDClaims{Audience: "https://push.example.net", Expiry: clock.now().Add(TokenLifetime), Subject: "mailto:ops@example.com"}
	if c.Audience != want.Audience || !c.Expiry.Equal(want.Expiry) || c.Subject != want.Subject {
		t.Fatalf("claims %+v, want %+v", c, want)
	}

	k := EncodeBase64(key.PublicKey())
	for _, tc := range []struct {
		name, h string
		ok      bool
	}{
		{"reordered, spaced, quoted", `Vapid  k="` + k + `" ,  t=` + token, true},
		{"padded std base64 key", "vapid t=" + token + ", k=" + stdPadded(key.PublicKey()), true},
		{"no k", "vapid t=" + token, false},
		{"no t", "vapid k=" + k, false},
		{"token not a JWS", "vapid t=abc.def, k=" + k, false},
		{"k not base64", "vapid t=" + token + ", k=@@@", false},
		{"k not a point", "vapid t=" + token + ", k=" + EncodeBase64(make([]byte, 65)), false},
		{"bearer", "Bearer " + token, false},
		{"empty", "", false},
		{"legacy", "WebPush " + token, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gotToken, gotPub, err := ParseVAPIDHeader(tc.h)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && (gotToken != token || !bytes.Equal(gotPub, key.PublicKey())) {
				t.Fatal("wrong token or key")
			}
			if tc.name == "legacy" && !strings.Contains(err.Error(), "ParseVAPIDLegacy") {
				t.Errorf("legacy error %q does not point to ParseVAPIDLegacy", err)
			}
		})
	}
}

func stdPadded(b []byte) string {
	s := EncodeBase64(b)
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	for len(s)%4 != 0 {
		s += "="
	}
	return s
}

func TestParseVAPIDLegacy(t *testing.T) {
	s, key, _ := newTestSigner(t, "mailto:ops@example.com")
	h, _ := s.Header("https://push.example.net/x")
	token, _, _ := ParseVAPIDHeader(h)
	k := EncodeBase64(key.PublicKey())
	for _, ck := range []string{"p256ecdsa=" + k, "dh=BAAA;p256ecdsa=" + k, `dh=BAAA, p256ecdsa="` + k + `"`} {
		gotToken, pub, err := ParseVAPIDLegacy("WebPush "+token, ck)
		if err != nil {
			t.Fatalf("Crypto-Key %q: %v", ck, err)
		}
		if gotToken != token || !bytes.Equal(pub, key.PublicKey()) {
			t.Fatalf("Crypto-Key %q: wrong token or key", ck)
		}
	}
	if _, _, err := ParseVAPIDLegacy("WebPush "+token, "dh=BAAA"); err == nil {
		t.Error("accepted a Crypto-Key without p256ecdsa")
	}
	if _, _, err := ParseVAPIDLegacy("vapid t="+token, "p256ecdsa="+k); err == nil {
		t.Error("accepted the RFC form as legacy")
	}
}

func TestVerifyVAPIDTokenRejects(t *testing.T) {
	key, _ := GenerateVAPIDKey()
	other, _ := GenerateVAPIDKey()
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	hdr := `{"typ":"JWT","alg":"ES256"}`
	claims := func(exp time.Time) string {
		return `{"aud":"https://push.example.net","exp":` + strconv.FormatInt(exp.Unix(), 10) + `,"sub":"mailto:a@b"}`
	}
	good := signJWT(t, key, hdr, claims(now.Add(time.Hour)))
	if _, err := VerifyVAPIDToken(good, key.PublicKey(), now); err != nil {
		t.Fatalf("good token: %v", err)
	}
	head, rest, _ := strings.Cut(good, ".")
	body, sig, _ := strings.Cut(rest, ".")
	for _, tc := range []struct {
		name, token string
		pub         []byte
		errText     string
	}{
		{"wrong key", good, other.PublicKey(), "does not verify"},
		{"claims swapped", head + "." + EncodeBase64([]byte(claims(now.Add(2*time.Hour)))) + "." + sig, key.PublicKey(), "does not verify"},
		{"expired", signJWT(t, key, hdr, claims(now)), key.PublicKey(), "expired"},
		{"exp over 24h", signJWT(t, key, hdr, claims(now.Add(24*time.Hour+time.Second))), key.PublicKey(), "over 24h"},
		{"exactly 24h", signJWT(t, key, hdr, claims(now.Add(24*time.Hour))), key.PublicKey(), ""},
		{"no exp", signJWT(t, key, hdr, `{"aud":"https://a"}`), key.PublicKey(), "lack aud or exp"},
		{"no aud", signJWT(t, key, hdr, `{"exp":`+strconv.FormatInt(now.Add(time.Hour).Unix(), 10)+`}`), key.PublicKey(), "lack aud or exp"},
		{"alg none", signJWT(t, key, `{"alg":"none"}`, claims(now.Add(time.Hour))), key.PublicKey(), "want ES256"},
		{"alg HS256", signJWT(t, key, `{"typ":"JWT","alg":"HS256"}`, claims(now.Add(time.Hour))), key.PublicKey(), "want ES256"},
		{"ASN.1 signature", head + "." + body + "." + EncodeBase64(make([]byte, 70)), key.PublicKey(), "64 bytes"},
		{"padded signature", good + "==", key.PublicKey(), "64 bytes"},
		{"two parts", head + "." + body, key.PublicKey(), "compact"},
		{"four parts", good + ".x", key.PublicKey(), "compact"},
		{"bad public key", good, make([]byte, 65), "public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyVAPIDToken(tc.token, tc.pub, now)
			if tc.errText == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errText) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.errText)
			}
		})
	}
}
