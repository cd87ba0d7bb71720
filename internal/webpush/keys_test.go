package webpush

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestDecodeBase64(t *testing.T) {
	raw := []byte{0xfb, 0xff, 0xbf, 0x00, 0x01} // encodes with '-' '_' or '+' '/'
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"-_-_AAE", true},   // base64url, unpadded (what browsers send)
		{"-_-_AAE=", true},  // base64url, padded
		{"+/+/AAE", true},   // standard, unpadded
		{"+/+/AAE=", true},  // standard, padded
		{"+/-_AAE", false},  // mixed alphabets
		{"-_-_A", false},    // impossible length
		{"-_-_ AAE", false}, // space
		{"-_-_AAE=x", false},
	} {
		got, err := DecodeBase64(tc.in)
		switch {
		case tc.ok && err != nil:
			t.Errorf("DecodeBase64(%q): %v", tc.in, err)
		case tc.ok && !bytes.Equal(got, raw):
			t.Errorf("DecodeBase64(%q) = %x", tc.in, got)
		case !tc.ok && err == nil && bytes.Equal(got, raw):
			t.Errorf("DecodeBase64(%q) accepted", tc.in)
		}
	}
	if got := EncodeBase64(raw); got != "-_-_AAE" {
		t.Errorf("EncodeBase64 = %q, want unpadded base64url", got)
	}
}

func TestParseP256DH(t *testing.T) {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := priv.PublicKey().Bytes()
	pub, err := ParseP256DH(good)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pub.Bytes(), good) {
		t.Fatal("ParseP256DH changed the key")
	}
	offCurve := bytes.Clone(good)
	offCurve[64] ^= 1
	compressed := append([]byte{2 + good[64]&1}, good[1:33]...)
	x25519, _ := ecdh.X25519().GenerateKey(rand.Reader)
	for name, b := range map[string][]byte{
		"nil": nil, "empty": {}, "short": good[:64], "long": append(bytes.Clone(good), 0),
		"off curve": offCurve, "compressed": compressed, "no 0x04 prefix": append([]byte{5}, good[1:]...),
		"infinity": {0}, "all zero": make([]byte, 65), "x25519": x25519.PublicKey().Bytes(),
	} {
		_, err := ParseP256DH(b)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), "not a P-256 point") {
			t.Errorf("%s: error %q lacks %q", name, err, "not a P-256 point")
		}
	}
}

func TestLogValuesRedact(t *testing.T) {
	ua := newUserAgent(t)
	sub := Subscription{Endpoint: "https://fcm.googleapis.com/fcm/send/secret-token", Keys: ua.keys()}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("push", "sub", sub)
	out := buf.String()
	for _, secret := range []string{"secret-token", EncodeBase64(ua.auth), fmt.Sprintf("%x", ua.auth)} {
		if strings.Contains(out, secret) {
			t.Errorf("log line %q shows %q", out, secret)
		}
	}
	if !strings.Contains(out, "fcm.googleapis.com") {
		t.Errorf("log line %q lost the push service", out)
	}
}
