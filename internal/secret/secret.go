package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// Hash returns the SHA-256 digest under which a credential is stored.
func Hash(credential string) []byte {
	h := sha256.Sum256([]byte(credential))
	return h[:]
}

// Equal compares a presented credential with a stored digest in constant time.
func Equal(credential string, digest []byte) bool {
	return subtle.ConstantTimeCompare(Hash(credential), digest) == 1
}

// Token returns prefix followed by n random bytes in unpadded base64url.
func Token(prefix string, n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails; see crypto/rand
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Hex returns n random bytes as lower-case hex.
func Hex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// UUID returns a random (version 4) UUID in its canonical text form.
func UUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
