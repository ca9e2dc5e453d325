package staff

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's first recommended set (19 MiB, 2 passes,
// 1 lane). A log-in costs about 25 ms of one core here, which the
// per-account and per-client attempt limits turn into a wall for guessing,
// and keeps a burst of log-ins from taking the server's memory.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// MinPasswordLength is the shortest password an account may have.
// Length, not character classes, is what resists guessing (NIST SP
// 800-63B §5.1.1).
const MinPasswordLength = 10

// MaxPasswordLength bounds what is hashed, so a megabyte "password"
// cannot tie up the server.
const MaxPasswordLength = 1024

// ErrWrongPassword means a password does not match its hash.
var ErrWrongPassword = errors.New("wrong password")

// CheckPassword says what is wrong with a new password, in words a person
// can act on, or nil.
func CheckPassword(p string) error {
	switch n := utf8.RuneCountInString(p); {
	case n < MinPasswordLength:
		return fmt.Errorf("a password needs at least %d characters", MinPasswordLength)
	case len(p) > MaxPasswordLength:
		return fmt.Errorf("a password may have at most %d bytes", MaxPasswordLength)
	}
	return nil
}

// HashPassword returns an Argon2id hash of p in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash), which records its parameters so
// they can be raised later without breaking old hashes.
func HashPassword(p string) (string, error) {
	if err := CheckPassword(p); err != nil {
		return "", err
	}
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(p), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// VerifyPassword checks p against a hash made by HashPassword, comparing in
// constant time. It returns ErrWrongPassword on a mismatch, and another
// error if the hash cannot be read.
func VerifyPassword(hash, p string) error {
	if len(p) > MaxPasswordLength {
		return ErrWrongPassword
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return errors.New("password hash: not an argon2id PHC string")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return errors.New("password hash: unsupported argon2 version")
	}
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return fmt.Errorf("password hash: parameters: %w", err)
	}
	if memory > 1<<20 || time > 16 || threads == 0 {
		return errors.New("password hash: parameters out of range")
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return fmt.Errorf("password hash: salt: %w", err)
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return errors.New("password hash: key is not base64")
	}
	got := argon2.IDKey([]byte(p), salt, time, memory, threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrWrongPassword
	}
	return nil
}

// dummyHash is verified against when an account does not exist, so that a
// log-in with an unknown address takes as long as one with a wrong
// password and does not tell which addresses have accounts.
// It is made on first use, not at start, which it would slow by a hash.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("parley-no-such-account")
	return h
})

// VerifyNobody spends the time VerifyPassword would, for an unknown account.
func VerifyNobody(p string) {
	VerifyPassword(dummyHash(), p)
}

// NewSecret returns a random secret for a session cookie or an API token,
// with a prefix saying what it is (e.g. "pst_" for a staff API token, so a
// leaked one is recognised by secret scanners), and the hash to store.
func NewSecret(prefix string) (secret, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret)
}

// HashSecret returns the hash under which a session id or token is
// stored: a copy of the database gives no one a usable secret.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
