package webpush

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

func TestEncryptRFC8291Vector(t *testing.T) {
	as, err := ecdh.P256().NewPrivateKey(b64(t, rfc8291.asPrivate))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(as.PublicKey().Bytes(), b64(t, rfc8291.asPublic)) {
		t.Fatal("as_private does not give the RFC's as_public")
	}
	ua := rfcUserAgent(t)
	if !bytes.Equal(ua.priv.PublicKey().Bytes(), b64(t, rfc8291.uaPublic)) {
		t.Fatal("ua_private does not give the RFC's ua_public")
	}
	got, err := Encrypt([]byte(rfc8291.plaintext), ua.priv.PublicKey(), ua.auth, EncryptOptions{
		RecordSize: 4096,
		Salt:       b64(t, rfc8291.salt),
		ServerKey:  as,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := b64(t, rfc8291.body)
	if !bytes.Equal(got, want) {
		t.Fatalf("Encrypt of the RFC 8291 example:\n got %s\nwant %s", EncodeBase64(got), rfc8291.body)
	}
	// The body is the header followed by the ciphertext, as section 5 shows.
	if !bytes.Equal(want, append(b64(t, rfc8291.header), b64(t, rfc8291.ciphertext)...)) {
		t.Fatal("vector's body is not header || ciphertext: the constants are mistyped")
	}
	if len(got) != headerLen+len(rfc8291.plaintext)+1+tagLen {
		t.Fatalf("body is %d bytes", len(got))
	}
}

func TestDecryptRFC8291Vector(t *testing.T) {
	got, err := Decrypt(b64(t, rfc8291.body), rfcUserAgent(t).priv, b64(t, rfc8291.auth))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != rfc8291.plaintext {
		t.Fatalf("Decrypt = %q", got)
	}
}

func TestEncryptRoundTrip(t *testing.T) {
	ua := newUserAgent(t)
	for _, tc := range []struct {
		name string
		n    int
		o    EncryptOptions
	}{
		{"empty", 0, EncryptOptions{}},
		{"small", 200, EncryptOptions{}},
		{"padded", 200, EncryptOptions{Pad: 300}},
		{"max", MaxPlaintext, EncryptOptions{}},
		{"max with pad", MaxPlaintext - 10, EncryptOptions{Pad: 10}},
		{"tight record size", 100, EncryptOptions{RecordSize: 100 + 1 + tagLen}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := bytes.Repeat([]byte("herald!"), tc.n/7+1)[:tc.n]
			body, err := Encrypt(msg, ua.priv.PublicKey(), ua.auth, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if want := headerLen + tc.n + tc.o.Pad + 1 + tagLen; len(body) != want || cap(body) != want {
				t.Errorf("body len %d cap %d, want exactly %d", len(body), cap(body), want)
			}
			if len(body) > MaxPayload {
				t.Errorf("body of %d bytes is over MaxPayload", len(body))
			}
			got, err := Decrypt(body, ua.priv, ua.auth)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("round trip changed the payload: %q", got)
			}
		})
	}
}

func TestEncryptIsFreshEachTime(t *testing.T) {
	ua := newUserAgent(t)
	a, err := Encrypt([]byte("x"), ua.priv.PublicKey(), ua.auth, EncryptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encrypt([]byte("x"), ua.priv.PublicKey(), ua.auth, EncryptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a[:saltLen], b[:saltLen]) {
		t.Error("two messages share a salt")
	}
	if bytes.Equal(a[saltLen+5:headerLen], b[saltLen+5:headerLen]) {
		t.Error("two messages share a server key")
	}
}

func TestEncryptRejects(t *testing.T) {
	ua := newUserAgent(t)
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := ua.priv.PublicKey()
	for _, tc := range []struct {
		name    string
		n       int
		pub     *ecdh.PublicKey
		auth    []byte
		o       EncryptOptions
		tooBig  bool
		errText string
	}{
		{name: "one byte over", n: MaxPlaintext + 1, pub: pub, auth: ua.auth, tooBig: true},
		{name: "pad pushes over", n: MaxPlaintext, pub: pub, auth: ua.auth, o: EncryptOptions{Pad: 1}, tooBig: true},
		{name: "huge pad", n: 1, pub: pub, auth: ua.auth, o: EncryptOptions{Pad: 1 << 62}, tooBig: true},
		{name: "negative pad", pub: pub, auth: ua.auth, o: EncryptOptions{Pad: -1}, errText: "negative padding"},
		{name: "nil key", auth: ua.auth, errText: "not a P-256 point"},
		{name: "x25519 key", pub: x25519.PublicKey(), auth: ua.auth, errText: "not a P-256 point"},
		{name: "short auth", pub: pub, auth: ua.auth[:15], errText: "16 bytes"},
		{name: "long auth", pub: pub, auth: append(ua.auth, 0), errText: "16 bytes"},
		{name: "nil auth", pub: pub, errText: "16 bytes"},
		{name: "short salt", pub: pub, auth: ua.auth, o: EncryptOptions{Salt: make([]byte, 15)}, errText: "salt"},
		{name: "record too small", n: 100, pub: pub, auth: ua.auth, o: EncryptOptions{RecordSize: 100 + tagLen}, errText: "record size"},
		{name: "record below minimum", pub: pub, auth: ua.auth, o: EncryptOptions{RecordSize: 17}, errText: "record size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Encrypt(make([]byte, tc.n), tc.pub, tc.auth, tc.o)
			if err == nil {
				t.Fatal("Encrypt succeeded")
			}
			if got := errors.Is(err, ErrPayloadTooLarge); got != tc.tooBig {
				t.Errorf("errors.Is(%v, ErrPayloadTooLarge) = %v", err, got)
			}
			if !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("error %q does not mention %q", err, tc.errText)
			}
		})
	}
}

func TestMaxPlaintext(t *testing.T) {
	// 4096 bytes of body minus the 86-byte header, the delimiter and the tag.
	if MaxPlaintext != 3993 {
		t.Fatalf("MaxPlaintext = %d, want 3993", MaxPlaintext)
	}
	if headerLen != 86 {
		t.Fatalf("headerLen = %d, want 86", headerLen)
	}
}
