package webpush

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzEncryptDecrypt checks that whatever payload, padding and record size
// Encrypt accepts, Decrypt gives the payload back, and that a payload
// Encrypt refuses for size is really too big.
func FuzzEncryptDecrypt(f *testing.F) {
	ua := rfcUserAgent(f)
	f.Add([]byte(rfc8291.plaintext), uint16(0), uint32(4096))
	f.Add([]byte{}, uint16(0), uint32(0))
	f.Add([]byte{0, 0, 0}, uint16(7), uint32(18+10))
	f.Add(bytes.Repeat([]byte{2}, MaxPlaintext), uint16(0), uint32(4096))
	f.Fuzz(func(t *testing.T, payload []byte, pad uint16, rs uint32) {
		o := EncryptOptions{Pad: int(pad), RecordSize: rs}
		body, err := Encrypt(payload, ua.priv.PublicKey(), ua.auth, o)
		over := headerLen+len(payload)+int(pad)+1+tagLen > MaxPayload
		if errors.Is(err, ErrPayloadTooLarge) != over {
			t.Fatalf("len %d pad %d: err %v, over=%v", len(payload), pad, err, over)
		}
		if err != nil {
			return
		}
		if len(body) > MaxPayload {
			t.Fatalf("body of %d bytes", len(body))
		}
		got, err := Decrypt(body, ua.priv, ua.auth)
		if err != nil {
			t.Fatalf("Decrypt of Encrypt: %v", err)
		}
		if !bytes.Equal(got, payload) {
			t.Fatalf("round trip: got %x, want %x", got, payload)
		}
	})
}

// FuzzDecrypt feeds Decrypt arbitrary bodies: it must never panic, and
// anything it accepts must have come through GCM, so the seed bodies are
// the only ones that decrypt.
func FuzzDecrypt(f *testing.F) {
	ua := rfcUserAgent(f)
	f.Add(b64(f, rfc8291.body))
	f.Add(sealRecords(f, ua, 40, []testRecord{{[]byte("first"), 1, -1}, {[]byte("second"), 2, 3}}))
	f.Add(b64(f, rfc8291.header))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := Decrypt(body, ua.priv, ua.auth)
		if err == nil && len(got) > len(body) {
			t.Fatalf("plaintext of %d bytes from a %d-byte body", len(got), len(body))
		}
	})
}
