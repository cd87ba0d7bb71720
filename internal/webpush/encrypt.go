package webpush

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const (
	// MaxPayload is the largest request body, in bytes, that Encrypt
	// produces. RFC 8291 section 4 only obliges push services to accept
	// 4096 bytes of ciphertext, header included.
	MaxPayload = 4096

	// MaxPlaintext is the largest payload that fits in MaxPayload: the
	// body is the 86-byte header, the payload, one delimiter byte and a
	// 16-byte GCM tag, so 4096 - 86 - 1 - 16 = 3993. Padding counts
	// against it too.
	MaxPlaintext = MaxPayload - headerLen - 1 - tagLen

	// DefaultRecordSize is the record size written to the header when
	// EncryptOptions.RecordSize is zero. RFC 8291 section 4 asks for a
	// single record and says 4096 is the smallest size a push service
	// must accept.
	DefaultRecordSize = 4096
)

const (
	saltLen = 16
	// headerLen is salt, rs (uint32), idlen (uint8) and the sender's
	// public key as keyid (RFC 8188 section 2.1, RFC 8291 section 4).
	headerLen = saltLen + 4 + 1 + PointLen
	tagLen    = 16
	nonceLen  = 12
	cekLen    = 16
	// minRecordSize is the smallest record size RFC 8188 section 2.1
	// allows: a tag and a delimiter octet.
	minRecordSize = tagLen + 2

	keyInfoPrefix = "WebPush: info\x00"
	cekInfo       = "Content-Encoding: aes128gcm\x00"
	nonceInfo     = "Content-Encoding: nonce\x00"
)

// ErrPayloadTooLarge is returned by Encrypt, NewRequest and Send when the
// encrypted body would exceed MaxPayload. Retrying cannot help; the
// message must be made smaller.
var ErrPayloadTooLarge = errors.New("webpush: payload too large")

// EncryptOptions tunes Encrypt. The zero value is what production wants:
// a 4096-byte record size, no padding and fresh random salt and key.
type EncryptOptions struct {
	// RecordSize is the rs field of the header; 0 means DefaultRecordSize.
	// It must be at least the size of the one record Encrypt writes.
	RecordSize uint32
	// Pad adds this many zero bytes after the payload, to hide its length.
	Pad int
	// Salt fixes the 16-byte salt; nil draws a random one. Only tests
	// should set it: reusing a salt with a key reuses the nonce.
	Salt []byte
	// ServerKey fixes the application server's ECDH key; nil generates an
	// ephemeral one, as RFC 8291 requires for every message. Only tests
	// should set it.
	ServerKey *ecdh.PrivateKey
	// Rand is the source of the salt; nil means crypto/rand. Since Go 1.26
	// key generation always uses the system's secure source, so Rand does
	// not make the server key deterministic: set ServerKey for that.
	Rand io.Reader
}

// Encrypt encrypts plaintext for the user agent that owns uaPublic and
// authSecret and returns the full aes128gcm body: header, then a single
// record. The body is allocated once, at its exact size.
func Encrypt(plaintext []byte, uaPublic *ecdh.PublicKey, authSecret []byte, o EncryptOptions) ([]byte, error) {
	if uaPublic == nil || uaPublic.Curve() != ecdh.P256() {
		return nil, errors.New("webpush: encrypt: user agent key is not a P-256 point")
	}
	if err := checkAuth(authSecret); err != nil {
		return nil, fmt.Errorf("webpush: encrypt: %w", err)
	}
	if o.Pad < 0 {
		return nil, fmt.Errorf("webpush: encrypt: negative padding %d", o.Pad)
	}
	recLen := len(plaintext) + o.Pad + 1 + tagLen
	if len(plaintext) > MaxPlaintext || o.Pad > MaxPlaintext || headerLen+recLen > MaxPayload {
		return nil, fmt.Errorf("%w: %d-byte payload with %d padding makes a body over %d bytes",
			ErrPayloadTooLarge, len(plaintext), o.Pad, MaxPayload)
	}
	rs := o.RecordSize
	if rs == 0 {
		rs = DefaultRecordSize
	}
	if rs < minRecordSize || uint64(recLen) > uint64(rs) {
		return nil, fmt.Errorf("webpush: encrypt: record size %d cannot hold a %d-byte record", rs, recLen)
	}
	if o.Salt != nil && len(o.Salt) != saltLen {
		return nil, fmt.Errorf("webpush: encrypt: salt must be %d bytes, got %d", saltLen, len(o.Salt))
	}
	r := o.Rand
	if r == nil {
		r = rand.Reader
	}
	as := o.ServerKey
	if as == nil {
		var err error
		if as, err = ecdh.P256().GenerateKey(r); err != nil {
			return nil, fmt.Errorf("webpush: encrypt: generate server key: %w", err)
		}
	} else if as.Curve() != ecdh.P256() {
		return nil, errors.New("webpush: encrypt: server key is not on P-256")
	}
	secret, err := as.ECDH(uaPublic)
	if err != nil {
		return nil, fmt.Errorf("webpush: encrypt: ecdh: %w", err)
	}

	out := make([]byte, headerLen+recLen)
	salt := out[:saltLen]
	if o.Salt != nil {
		copy(salt, o.Salt)
	} else if _, err := io.ReadFull(r, salt); err != nil {
		return nil, fmt.Errorf("webpush: encrypt: read salt: %w", err)
	}
	binary.BigEndian.PutUint32(out[saltLen:], rs)
	out[saltLen+4] = PointLen
	asPub := out[saltLen+5 : headerLen]
	copy(asPub, as.PublicKey().Bytes())

	aead, nonce, err := deriveAEAD(secret, authSecret, uaPublic.Bytes(), asPub, salt)
	if err != nil {
		return nil, fmt.Errorf("webpush: encrypt: %w", err)
	}
	rec := out[headerLen:]
	n := copy(rec, plaintext)
	rec[n] = 2 // last-record delimiter; the padding after it is already zero
	aead.Seal(rec[:0], nonce, rec[:len(rec)-tagLen], nil)
	return out, nil
}

// deriveAEAD runs the key schedule of RFC 8291 section 3.4 and RFC 8188
// section 2.2 and returns the content-encryption AEAD and the nonce of
// record 0.
func deriveAEAD(ecdhSecret, auth, uaPub, asPub, salt []byte) (cipher.AEAD, []byte, error) {
	prkKey, err := hkdf.Extract(sha256.New, ecdhSecret, auth)
	if err != nil {
		return nil, nil, fmt.Errorf("derive keys: %w", err)
	}
	var info [len(keyInfoPrefix) + 2*PointLen]byte
	copy(info[:], keyInfoPrefix)
	copy(info[len(keyInfoPrefix):], uaPub)
	copy(info[len(keyInfoPrefix)+PointLen:], asPub)
	ikm, err := hkdf.Expand(sha256.New, prkKey, string(info[:]), sha256.Size)
	if err != nil {
		return nil, nil, fmt.Errorf("derive keys: %w", err)
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, nil, fmt.Errorf("derive keys: %w", err)
	}
	cek, err := hkdf.Expand(sha256.New, prk, cekInfo, cekLen)
	if err != nil {
		return nil, nil, fmt.Errorf("derive keys: %w", err)
	}
	nonce, err := hkdf.Expand(sha256.New, prk, nonceInfo, nonceLen)
	if err != nil {
		return nil, nil, fmt.Errorf("derive keys: %w", err)
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, fmt.Errorf("gcm: %w", err)
	}
	return aead, nonce, nil
}
