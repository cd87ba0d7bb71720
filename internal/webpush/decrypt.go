package webpush

import (
	"crypto/ecdh"
	"encoding/binary"
	"errors"
	"fmt"
)

// Decrypt reverses Encrypt on the user agent's side: it parses the RFC 8188
// header, derives the keys from uaPrivate and authSecret and decrypts every
// record, checking that each but the last ends in the 0x01 delimiter, that
// the last ends in 0x02 and that only zeros follow a delimiter. It exists
// for tests and fake push services; Herald itself never receives pushes.
func Decrypt(body []byte, uaPrivate *ecdh.PrivateKey, authSecret []byte) ([]byte, error) {
	if uaPrivate == nil || uaPrivate.Curve() != ecdh.P256() {
		return nil, errors.New("webpush: decrypt: user agent key is not on P-256")
	}
	if err := checkAuth(authSecret); err != nil {
		return nil, fmt.Errorf("webpush: decrypt: %w", err)
	}
	if len(body) < saltLen+5 {
		return nil, fmt.Errorf("webpush: decrypt: %d-byte body is shorter than a header", len(body))
	}
	salt := body[:saltLen]
	rs := binary.BigEndian.Uint32(body[saltLen:])
	idLen := int(body[saltLen+4])
	if rs < minRecordSize {
		return nil, fmt.Errorf("webpush: decrypt: record size %d is below the minimum %d", rs, minRecordSize)
	}
	if len(body) < saltLen+5+idLen {
		return nil, fmt.Errorf("webpush: decrypt: body ends inside the %d-byte key id", idLen)
	}
	keyID := body[saltLen+5 : saltLen+5+idLen]
	asPub, err := ParseP256DH(keyID)
	if err != nil {
		return nil, fmt.Errorf("webpush: decrypt: key id: %w", err)
	}
	secret, err := uaPrivate.ECDH(asPub)
	if err != nil {
		return nil, fmt.Errorf("webpush: decrypt: ecdh: %w", err)
	}
	aead, nonce0, err := deriveAEAD(secret, authSecret, uaPrivate.PublicKey().Bytes(), keyID, salt)
	if err != nil {
		return nil, fmt.Errorf("webpush: decrypt: %w", err)
	}

	records := body[saltLen+5+idLen:]
	if len(records) == 0 {
		return nil, errors.New("webpush: decrypt: no records after the header")
	}
	out := make([]byte, 0, len(records))
	var nonce [nonceLen]byte
	for seq := uint64(0); len(records) > 0; seq++ {
		n := len(records)
		if uint64(n) > uint64(rs) {
			n = int(rs)
		}
		rec := records[:n]
		records = records[n:]
		last := len(records) == 0
		if len(rec) < tagLen+1 {
			return nil, fmt.Errorf("webpush: decrypt: record %d is %d bytes, too short for a tag and delimiter", seq, len(rec))
		}
		// RFC 8188 section 2.3: the record nonce is the base nonce XOR the
		// sequence number, both read as 96-bit big-endian integers.
		copy(nonce[:], nonce0)
		binary.BigEndian.PutUint64(nonce[4:], binary.BigEndian.Uint64(nonce0[4:])^seq)
		start := len(out)
		if out, err = aead.Open(out, nonce[:], rec, nil); err != nil {
			return nil, fmt.Errorf("webpush: decrypt: record %d: %w", seq, err)
		}
		if out, err = unpad(out, start, last); err != nil {
			return nil, fmt.Errorf("webpush: decrypt: record %d: %w", seq, err)
		}
	}
	return out, nil
}

// unpad strips the delimiter and zero padding from the record that starts
// at out[start:] and checks the delimiter against the record's position.
func unpad(out []byte, start int, last bool) ([]byte, error) {
	i := len(out) - 1
	for i >= start && out[i] == 0 {
		i--
	}
	if i < start {
		return nil, errors.New("no delimiter, only padding")
	}
	switch d := out[i]; {
	case d == 2 && !last:
		return nil, errors.New("last-record delimiter before the end of the body")
	case d == 1 && last:
		return nil, errors.New("body is truncated: its last record has a 0x01 delimiter")
	case d != 1 && d != 2:
		return nil, fmt.Errorf("delimiter is 0x%02x, want 0x01 or 0x02", d)
	}
	return out[:i], nil
}
