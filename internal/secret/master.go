package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MasterKeyFile is the file name, inside the data directory, that holds the
// generated master key when none is given in the environment.
const MasterKeyFile = "master.key"

const sealVersion = 1

// LoadMasterKey returns the 32-byte master key. It is taken, in order, from
// HERALD_MASTER_KEY (base64), from the file named by HERALD_MASTER_KEY_FILE,
// or from dataDir/master.key, which is generated (mode 0600) when absent.
func LoadMasterKey(getenv func(string) string, dataDir string) ([]byte, error) {
	if v := strings.TrimSpace(getenv("HERALD_MASTER_KEY")); v != "" {
		return decodeKey(v, "HERALD_MASTER_KEY")
	}
	if p := getenv("HERALD_MASTER_KEY_FILE"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("secret: read HERALD_MASTER_KEY_FILE: %w", err)
		}
		return decodeKey(strings.TrimSpace(string(b)), p)
	}
	path := filepath.Join(dataDir, MasterKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return decodeKey(strings.TrimSpace(string(b)), path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("secret: read master key: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("secret: create data dir: %w", err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process won the race: use its key
		return LoadMasterKey(getenv, dataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("secret: create master key: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("secret: write master key: %w", err)
	}
	return key, nil
}

func decodeKey(s, from string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("secret: master key in %s: not base64", from)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("secret: master key in %s: %d bytes, want 32", from, len(key))
	}
	return key, nil
}

// Sealer encrypts small secrets with the master key (AES-256-GCM, random
// nonce). The sealed form is version byte || nonce || ciphertext.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a 32-byte master key.
func NewSealer(masterKey []byte) (*Sealer, error) {
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, fmt.Errorf("secret: master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: master key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext. label binds the ciphertext to its use (for
// example the app id and the key kind) so a sealed value cannot be moved.
func (s *Sealer) Seal(plaintext []byte, label string) []byte {
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion
	rand.Read(out[1:])
	return s.aead.Seal(out, out[1:], plaintext, []byte(label))
}

// Open decrypts what Seal produced with the same label.
func (s *Sealer) Open(sealed []byte, label string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, errors.New("secret: sealed value is malformed")
	}
	pt, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(label))
	if err != nil {
		return nil, errors.New("secret: sealed value does not open with this master key")
	}
	return pt, nil
}
