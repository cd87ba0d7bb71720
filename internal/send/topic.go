package send

import (
	"crypto/sha256"
	"encoding/base64"
)

// topicHash maps any replace key to a 32-character base64url Topic.
func topicHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(h[:24])
}
