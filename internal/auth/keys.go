package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
)

// MinSecretLen is the shortest server secret the package accepts.
const MinSecretLen = 16

var errShortSecret = errors.New("auth: the server secret must be at least 16 bytes")

var b64 = base64.RawURLEncoding

// keys signs, seals and hashes with keys derived from the server secret.
// The derivation keeps this package's keys apart from any other use of the
// same secret, and every operation names a purpose so that a token made
// for one use is refused by every other.
type keys struct {
	mac  []byte
	aead cipher.AEAD
}

func newKeys(secret []byte) (*keys, error) {
	if len(secret) < MinSecretLen {
		return nil, errShortSecret
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte("parley auth key: " + label))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(derive("seal"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &keys{mac: derive("mac"), aead: aead}, nil
}

// sum is an HMAC-SHA256 over purpose and length-prefixed parts, so that no
// two different part lists give the same input.
func (k *keys) sum(purpose string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, k.mac)
	m.Write([]byte(purpose))
	for _, p := range parts {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		m.Write(n[:])
		m.Write(p)
	}
	return m.Sum(nil)
}

// hash returns a keyed hash of value in hex: equal inputs match, but nobody
// without the secret can reverse or test them.
func (k *keys) hash(purpose, value string) string {
	return hex.EncodeToString(k.sum(purpose, []byte(value)))
}

// sign returns base64url(payload) "." base64url(16-byte MAC).
func (k *keys) sign(purpose string, payload []byte) string {
	return b64.EncodeToString(payload) + "." + b64.EncodeToString(k.sum(purpose, payload)[:16])
}

// verify checks a token made by sign and returns its payload.
func (k *keys) verify(purpose, tok string, maxLen int) ([]byte, bool) {
	if len(tok) > maxLen {
		return nil, false
	}
	p, s, ok := strings.Cut(tok, ".")
	if !ok {
		return nil, false
	}
	payload, err1 := b64.DecodeString(p)
	sig, err2 := b64.DecodeString(s)
	if err1 != nil || err2 != nil || len(sig) != 16 {
		return nil, false
	}
	return payload, hmac.Equal(sig, k.sum(purpose, payload)[:16])
}

// seal encrypts and authenticates plaintext (AES-256-GCM, the purpose as
// additional data) and returns it in URL- and cookie-safe base64.
func (k *keys) seal(purpose string, plaintext []byte) string {
	nonce := randomBytes(k.aead.NonceSize())
	return b64.EncodeToString(k.aead.Seal(nonce, nonce, plaintext, []byte(purpose)))
}

// open reverses seal; it fails for anything not sealed under purpose.
func (k *keys) open(purpose, s string, maxLen int) ([]byte, bool) {
	if len(s) > maxLen {
		return nil, false
	}
	raw, err := b64.DecodeString(s)
	n := k.aead.NonceSize()
	if err != nil || len(raw) < n+k.aead.Overhead() {
		return nil, false
	}
	p, err := k.aead.Open(nil, raw[:n], raw[n:], []byte(purpose))
	return p, err == nil
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
