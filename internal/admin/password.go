package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// PasswordFile is the file in the data directory that holds the operator
// password's hash, written by `herald admin set-password`.
const PasswordFile = "admin-password"

// Password rules.
const (
	// MinPasswordLen is the shortest password accepted, in characters. A
	// single-factor password guarding every app's credentials should be
	// long rather than clever (NIST SP 800-63B).
	MinPasswordLen = 12
	// MaxPasswordLen bounds the work one login can ask for.
	MaxPasswordLen = 1024
)

// Argon2id cost: OWASP's first recommended setting (46 MiB, one pass, one
// lane), about 150 ms on one core. Hashes carry their own parameters, so
// these can rise later without breaking stored hashes.
const (
	argonMemoryKiB = 46 * 1024
	argonTime      = 1
	argonThreads   = 1
	argonSaltLen   = 16
	argonKeyLen    = 32
)

// ErrNoPassword says no operator password is set: the UI stays locked.
var ErrNoPassword = errors.New("admin: no operator password is set")

// Params are argon2id's cost parameters.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultParams are the parameters new hashes get.
func DefaultParams() Params {
	return Params{MemoryKiB: argonMemoryKiB, Time: argonTime, Threads: argonThreads}
}

// CheckPassword says what is wrong with a new password, or nil.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return errors.New("admin: the password is not valid UTF-8")
	case n < MinPasswordLen:
		return fmt.Errorf("admin: the password has %d characters; use at least %d", n, MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return fmt.Errorf("admin: the password is longer than %d bytes", MaxPasswordLen)
	}
	return nil
}

// HashPassword returns pw's argon2id hash in the PHC string format,
// $argon2id$v=19$m=…,t=…,p=…$salt$key, with a fresh random salt.
func HashPassword(pw string, p Params) string {
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, argonKeyLen)
	enc := base64.RawStdEncoding.EncodeToString
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads, enc(salt), enc(key))
}

// Limits on the parameters a stored hash may ask for, so that a tampered
// file cannot make a login allocate gigabytes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 20
)

// verifyHash checks pw against a PHC argon2id hash.
func verifyHash(hash, pw string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errors.New("admin: the password hash is not an argon2id PHC string")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, fmt.Errorf("admin: the password hash has argon2 version %q, want v=%d", parts[2], argon2.Version)
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return false, fmt.Errorf("admin: the password hash's parameters %q: %w", parts[3], err)
	}
	if p.MemoryKiB == 0 || p.MemoryKiB > maxMemoryKiB || p.Time == 0 || p.Time > maxTime || p.Threads == 0 {
		return false, fmt.Errorf("admin: the password hash's parameters %q are out of range", parts[3])
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false, errors.New("admin: the password hash's salt is not valid")
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return false, errors.New("admin: the password hash's key is not valid")
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// Password is where the operator password's hash comes from: a password
// given at start-up, or the hash file in the data directory. It is safe for
// concurrent use.
type Password struct {
	static string // hash of the configured password; "" to read file
	file   string
}

// NewPassword returns the operator password: plain, if not empty (it is
// checked, then hashed, and only the hash is kept), else the hash file in
// dataDir, read whenever it is needed.
func NewPassword(plain, dataDir string) (*Password, error) {
	p := &Password{file: filepath.Join(dataDir, PasswordFile)}
	if plain != "" {
		if err := CheckPassword(plain); err != nil {
			return nil, fmt.Errorf("admin-password: %w", err)
		}
		p.static = HashPassword(plain, DefaultParams())
	}
	return p, nil
}

// PasswordHash returns a Password that checks against a hash made by
// HashPassword (tests use cheap parameters with it).
func PasswordHash(hash string) *Password { return &Password{static: hash} }

// hash returns the current hash, or ErrNoPassword.
func (p *Password) hash() (string, error) {
	if p.static != "" {
		return p.static, nil
	}
	if p.file == "" {
		return "", ErrNoPassword
	}
	b, err := os.ReadFile(p.file)
	if errors.Is(err, os.ErrNotExist) {
		return "", ErrNoPassword
	}
	if err != nil {
		return "", fmt.Errorf("admin: read %s: %w", p.file, err)
	}
	h := strings.TrimSpace(string(b))
	if h == "" {
		return "", ErrNoPassword
	}
	return h, nil
}

// Fingerprint identifies the current hash, so that sessions made under an
// older password can be ended. ErrNoPassword if none is set.
func (p *Password) Fingerprint() (string, error) {
	h, err := p.hash()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(h))
	return hex.EncodeToString(sum[:8]), nil
}

// Verify checks pw and returns the fingerprint of the hash it matched.
func (p *Password) Verify(pw string) (ok bool, fingerprint string, err error) {
	h, err := p.hash()
	if err != nil {
		return false, "", err
	}
	if len(pw) > MaxPasswordLen {
		return false, "", nil
	}
	ok, err = verifyHash(h, pw)
	if err != nil || !ok {
		return false, "", err
	}
	sum := sha256.Sum256([]byte(h))
	return true, hex.EncodeToString(sum[:8]), nil
}

// WritePasswordFile checks pw, hashes it and writes the hash to dataDir's
// password file (mode 0600), replacing it atomically. A running server
// uses it from the next login on and ends the sessions made with the old
// one.
func WritePasswordFile(dataDir, pw string) error {
	if err := CheckPassword(pw); err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	tmp, err := os.CreateTemp(dataDir, PasswordFile+".*")
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename there is nothing to remove
	if _, err := tmp.WriteString(HashPassword(pw, DefaultParams()) + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("admin: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("admin: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("admin: write %s: %w", tmp.Name(), err)
	}
	dst := filepath.Join(dataDir, PasswordFile)
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	return nil
}
