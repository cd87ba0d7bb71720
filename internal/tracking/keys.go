package tracking

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"strconv"
	"sync"
)

// HKDF info strings: one per purpose, so the keys are independent.
const (
	infoEvent  = "herald tracking event signature v1"
	infoDevice = "herald sdk device key v1"
)

// SigLen is the length of a payload signature as text: 16 bytes of
// HMAC-SHA256, base64url without padding. 128 bits is plenty for a tag an
// attacker can only check by asking the server.
const SigLen = 22

// DeviceKeyLen is the length of a device key as text (also 128 bits).
const DeviceKeyLen = 22

const tagBytes = 16

// Keys holds the event and device keys. It is safe for concurrent use.
type Keys struct {
	event  []byte
	device []byte
	pool   sync.Pool // *signer keyed with event, reused on the hot path
}

// signer is one reusable HMAC with its scratch space, so that signing
// allocates nothing (a buffer handed to hash.Hash.Write escapes).
type signer struct {
	h   hash.Hash
	in  []byte
	sum []byte
}

// DeriveKeys derives the tracking keys from Herald's 32-byte master key.
func DeriveKeys(master []byte) (*Keys, error) {
	if len(master) < 32 {
		return nil, fmt.Errorf("tracking: master key is %d bytes, want at least 32", len(master))
	}
	event, err := hkdf.Key(sha256.New, master, nil, infoEvent, 32)
	if err != nil {
		return nil, fmt.Errorf("tracking: derive event key: %w", err)
	}
	device, err := hkdf.Key(sha256.New, master, nil, infoDevice, 32)
	if err != nil {
		return nil, fmt.Errorf("tracking: derive device key: %w", err)
	}
	k := &Keys{event: event, device: device}
	k.pool.New = func() any {
		return &signer{h: hmac.New(sha256.New, k.event), in: make([]byte, 0, 128), sum: make([]byte, 0, sha256.Size)}
	}
	return k, nil
}

// AppendSig appends the signature of (appID, msgID, registrationID) to dst,
// as SigLen characters of base64url. The delivery engine calls it once per
// Web Push recipient; with dst of enough capacity it does not allocate.
//
// The signed text is "appID|msgID|registrationID". It is unambiguous
// because the message id is decimal and registration ids never hold '|'.
func (k *Keys) AppendSig(dst []byte, appID string, msgID int64, registrationID string) []byte {
	s := k.pool.Get().(*signer)
	s.in = append(s.in[:0], appID...)
	s.in = append(s.in, '|')
	s.in = strconv.AppendInt(s.in, msgID, 10)
	s.in = append(s.in, '|')
	s.in = append(s.in, registrationID...)
	s.h.Reset()
	s.h.Write(s.in)
	s.sum = s.h.Sum(s.sum[:0])
	dst = base64.RawURLEncoding.AppendEncode(dst, s.sum[:tagBytes])
	k.pool.Put(s)
	return dst
}

// Sig returns the signature of (appID, msgID, registrationID) as a string.
func (k *Keys) Sig(appID string, msgID int64, registrationID string) string {
	return string(k.AppendSig(make([]byte, 0, SigLen), appID, msgID, registrationID))
}

// CheckSig reports, in constant time, whether sig signs (appID, msgID,
// registrationID).
func (k *Keys) CheckSig(appID string, msgID int64, registrationID, sig string) bool {
	var buf [SigLen]byte
	want := k.AppendSig(buf[:0], appID, msgID, registrationID)
	return hmac.Equal(want, []byte(sig))
}

// DeviceKey returns the key that lets a browser change its own
// registration registrationID of appID, and nothing else.
func (k *Keys) DeviceKey(appID, registrationID string) string {
	m := hmac.New(sha256.New, k.device)
	m.Write([]byte(appID))
	m.Write([]byte{'|'})
	m.Write([]byte(registrationID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:tagBytes])
}

// CheckDeviceKey reports, in constant time, whether key is the device key
// of registrationID in appID.
func (k *Keys) CheckDeviceKey(appID, registrationID, key string) bool {
	return hmac.Equal([]byte(k.DeviceKey(appID, registrationID)), []byte(key))
}
