package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"

	"parley/internal/keys"
)

// MinSecretLen is the shortest server secret the package accepts.
const MinSecretLen = keys.MinSecretLen

var b64 = base64.RawURLEncoding

// newKeys returns the package's keys: derived from the server secret
// under a label of their own, apart from any other use of it (package
// keys signs, seals and hashes with them).
func newKeys(secret []byte) (*keys.Keys, error) {
	if len(secret) < MinSecretLen {
		return nil, errors.New("auth: the server secret must be at least 16 bytes")
	}
	return keys.Derive(secret, "parley auth key: ")
}

// randomBytes returns n bytes from the system's secure generator, which
// never fails on the platforms Go supports (crypto/rand.Read panics rather
// than return short).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// randomString returns 32 random bytes in base64url: state, nonce, PKCE
// verifier (43 characters, within RFC 7636's 43–128).
func randomString() string { return b64.EncodeToString(randomBytes(32)) }

// pkceChallenge is the RFC 7636 S256 challenge for verifier.
func pkceChallenge(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return b64.EncodeToString(h[:])
}
