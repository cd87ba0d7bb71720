package webpush

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"testing"
)

// rfc8291 is the worked example of RFC 8291 Appendix A, values as the RFC
// prints them (base64url, line breaks removed).
var rfc8291 = struct {
	plaintext, asPrivate, asPublic, uaPrivate, uaPublic, auth, salt, header, ciphertext, body string
}{
	plaintext:  "When I grow up, I want to be a watermelon",
	asPrivate:  "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
	asPublic:   "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
	uaPrivate:  "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
	uaPublic:   "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
	auth:       "BTBZMqHH6r4Tts7J_aSIgg",
	salt:       "DGv6ra1nlYgDCS1FRnbzlw",
	header:     "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
	ciphertext: "8pfeW0KbunFT06SuDKoJH9Ql87S1QUrdirN6GcG7sFz1y1sqLgVi1VhjVkHsUoEsbI_0LpXMuGvnzQ",
	body:       "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
}

// b64 decodes strict unpadded base64url, independently of DecodeBase64.
func b64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return b
}

// userAgent is the receiving side of a subscription: what a browser keeps.
type userAgent struct {
	priv *ecdh.PrivateKey
	auth []byte
}

func newUserAgent(t testing.TB) userAgent {
	t.Helper()
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, AuthLen)
	if _, err := rand.Read(auth); err != nil {
		t.Fatal(err)
	}
	return userAgent{priv: priv, auth: auth}
}

func (u userAgent) keys() Keys {
	return Keys{P256DH: u.priv.PublicKey().Bytes(), Auth: u.auth}
}

func rfcUserAgent(t testing.TB) userAgent {
	t.Helper()
	priv, err := ecdh.P256().NewPrivateKey(b64(t, rfc8291.uaPrivate))
	if err != nil {
		t.Fatal(err)
	}
	return userAgent{priv: priv, auth: b64(t, rfc8291.auth)}
}

// testRecord is one record for sealRecords: data, then delim, then pad
// zeros. A pad of -1 fills the record up to the record size.
type testRecord struct {
	data  []byte
	delim byte
	pad   int
}

// sealRecords writes an aes128gcm body with any records the test wants,
// valid or not. Its key schedule is written out with crypto/hmac, apart
// from the package's use of crypto/hkdf, so it checks deriveAEAD too.
func sealRecords(t testing.TB, ua userAgent, rs uint32, recs []testRecord) []byte {
	t.Helper()
	as, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := as.ECDH(ua.priv.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	mac := func(key []byte, parts ...[]byte) []byte {
		h := hmac.New(sha256.New, key)
		for _, p := range parts {
			h.Write(p)
		}
		return h.Sum(nil)
	}
	asPub := as.PublicKey().Bytes()
	prkKey := mac(ua.auth, secret)
	ikm := mac(prkKey, []byte("WebPush: info\x00"), ua.priv.PublicKey().Bytes(), asPub, []byte{1})
	prk := mac(salt, ikm)
	cek := mac(prk, []byte("Content-Encoding: aes128gcm\x00\x01"))[:16]
	nonce := mac(prk, []byte("Content-Encoding: nonce\x00\x01"))[:12]
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)

	out := append([]byte{}, salt...)
	out = binary.BigEndian.AppendUint32(out, rs)
	out = append(out, byte(len(asPub)))
	out = append(out, asPub...)
	for i, r := range recs {
		pad := r.pad
		if pad < 0 {
			pad = int(rs) - 16 - 1 - len(r.data)
		}
		pt := append(append([]byte{}, r.data...), r.delim)
		pt = append(pt, make([]byte, pad)...)
		n := append([]byte{}, nonce...)
		for j := 0; j < 8; j++ {
			n[11-j] ^= byte(uint64(i) >> (8 * j))
		}
		out = gcm.Seal(out, n, pt, nil)
	}
	return out
}
