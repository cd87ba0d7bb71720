package webpush

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

func TestDecryptMultiRecord(t *testing.T) {
	ua := newUserAgent(t)
	const rs = 40 // 23 bytes of room per record: data, delimiter, padding
	for _, tc := range []struct {
		name string
		recs []testRecord
		want string
	}{
		{"one record", []testRecord{{[]byte("hello"), 2, 0}}, "hello"},
		{"three records", []testRecord{
			{[]byte("When I grow up, I want"), 1, -1},
			{[]byte(" to be a watermelon"), 1, -1},
			{[]byte("!"), 2, 3},
		}, "When I grow up, I want to be a watermelon!"},
		{"padding-only records", []testRecord{
			{nil, 1, -1},
			{[]byte("abc"), 1, -1},
			{nil, 2, 0},
		}, "abc"},
		{"last record exactly rs", []testRecord{
			{[]byte("0123456789"), 1, -1},
			{[]byte("abcdefghij"), 2, -1},
		}, "0123456789abcdefghij"},
		{"data with zero bytes before the delimiter", []testRecord{
			{[]byte("a\x00\x00"), 1, -1},
			{[]byte("\x00b\x00"), 2, 5},
		}, "a\x00\x00\x00b\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := sealRecords(t, ua, rs, tc.recs)
			got, err := Decrypt(body, ua.priv, ua.auth)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("Decrypt = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDecryptRejectsBadRecords(t *testing.T) {
	ua := newUserAgent(t)
	const rs = 40
	full := func(s string, d byte) testRecord { return testRecord{[]byte(s), d, -1} }
	for _, tc := range []struct {
		name    string
		recs    []testRecord
		errText string
	}{
		{"last record says more follows", []testRecord{full("abc", 1), {[]byte("d"), 1, 0}}, "truncated"},
		{"single record says more follows", []testRecord{{[]byte("abc"), 1, 0}}, "truncated"},
		{"end delimiter in the middle", []testRecord{full("abc", 2), {[]byte("d"), 2, 0}}, "before the end"},
		{"bad delimiter", []testRecord{{[]byte("abc"), 3, 0}}, "delimiter is 0x03"},
		{"all padding", []testRecord{{nil, 0, 4}}, "no delimiter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decrypt(sealRecords(t, ua, rs, tc.recs), ua.priv, ua.auth)
			if err == nil {
				t.Fatal("Decrypt accepted a malformed body")
			}
			if !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("error %q does not mention %q", err, tc.errText)
			}
		})
	}
}

func TestDecryptRejectsTagOnlyRecord(t *testing.T) {
	ua := newUserAgent(t)
	// A final record of 16 bytes holds a tag but no delimiter.
	body := append(sealRecords(t, ua, 40, []testRecord{{[]byte("abc"), 1, -1}}), make([]byte, 16)...)
	_, err := Decrypt(body, ua.priv, ua.auth)
	if err == nil || !strings.Contains(err.Error(), "too short") {
		t.Fatalf("Decrypt error %v, want one about a short record", err)
	}
}

func TestDecryptDetectsTampering(t *testing.T) {
	ua := newUserAgent(t)
	body := sealRecords(t, ua, 40, []testRecord{
		{[]byte("first record"), 1, -1},
		{[]byte("second record"), 2, -1},
	})
	if _, err := Decrypt(body, ua.priv, ua.auth); err != nil {
		t.Fatal(err)
	}
	// Flip one bit in every byte position in turn: the salt, rs, key id
	// and each record must all be covered by some check.
	for i := range body {
		bad := bytes.Clone(body)
		bad[i] ^= 0x01
		if got, err := Decrypt(bad, ua.priv, ua.auth); err == nil {
			t.Fatalf("flipping a bit of byte %d went unnoticed, got %q", i, got)
		}
	}
	t.Run("records swapped", func(t *testing.T) {
		bad := bytes.Clone(body)
		copy(bad[headerLen:], body[headerLen+40:])
		copy(bad[len(bad)-40:], body[headerLen:headerLen+40])
		if len(body) != headerLen+80 {
			t.Fatalf("test assumes two 40-byte records, body is %d", len(body))
		}
		if _, err := Decrypt(bad, ua.priv, ua.auth); err == nil {
			t.Fatal("swapped records decrypted")
		}
	})
	t.Run("last record dropped", func(t *testing.T) {
		_, err := Decrypt(body[:headerLen+40], ua.priv, ua.auth)
		if err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("Decrypt of a truncated body: %v", err)
		}
	})
	t.Run("wrong auth secret", func(t *testing.T) {
		other := bytes.Clone(ua.auth)
		other[0] ^= 1
		if _, err := Decrypt(body, ua.priv, other); err == nil {
			t.Fatal("decrypted with the wrong auth secret")
		}
	})
	t.Run("wrong receiver", func(t *testing.T) {
		if _, err := Decrypt(body, newUserAgent(t).priv, ua.auth); err == nil {
			t.Fatal("decrypted with the wrong private key")
		}
	})
}

func TestDecryptRejectsBadHeaders(t *testing.T) {
	ua := newUserAgent(t)
	good, err := Encrypt([]byte("payload"), ua.priv.PublicKey(), ua.auth, EncryptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, tc := range []struct {
		name    string
		body    []byte
		errText string
	}{
		{"empty", nil, "shorter than a header"},
		{"20 bytes", good[:20], "shorter than a header"},
		{"cut in key id", good[:50], "inside the 65-byte key id"},
		{"no records", good[:headerLen], "no records"},
		{"record size 17", edit(func(b []byte) []byte { binary.BigEndian.PutUint32(b[16:], 17); return b }), "record size 17"},
		{"key id of 64 bytes", edit(func(b []byte) []byte { b[20] = 64; return b }), "not a P-256 point"},
		{"key id not on the curve", edit(func(b []byte) []byte { b[22] ^= 0xff; return b }), "not a P-256 point"},
		{"compressed key id", edit(func(b []byte) []byte { b[21] = 2; return b }), "not a P-256 point"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decrypt(tc.body, ua.priv, ua.auth)
			if err == nil || !strings.Contains(err.Error(), tc.errText) {
				t.Fatalf("Decrypt error %v, want one mentioning %q", err, tc.errText)
			}
		})
	}
	if _, err := Decrypt(good, ua.priv, ua.auth[:8]); err == nil || !strings.Contains(err.Error(), "16 bytes") {
		t.Errorf("8-byte auth secret: %v", err)
	}
	if _, err := Decrypt(good, nil, ua.auth); err == nil {
		t.Error("nil private key accepted")
	}
}
