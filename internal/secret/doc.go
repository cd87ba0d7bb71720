// Package secret makes and protects Herald's secrets: random credentials,
// their SHA-256 digests for lookup, and the master key that seals private
// keys (VAPID, later FCM and APNs) at rest with AES-256-GCM.
//
// Credentials are 128 bits or more of crypto/rand, so a fast digest is
// enough to store them; nothing here is meant for low-entropy passwords.
// A Sealer is safe for concurrent use.
package secret
