// Package keys signs, seals and hashes with a server secret, for every
// feature that needs it: the service's tokens and keyed hashes (form
// tokens, held-comment tokens, IP and email hashes), reader log-in
// (flow cookies, sessions, email links) and the links of Parley's emails.
// Every operation names a purpose, so that a token made for one use is
// refused by every other, and hashes of one kind never match another.
package keys

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
	"time"
)

// MinSecretLen is the shortest secret Keys are made from.
const MinSecretLen = 16

// ErrShortSecret is returned for a secret shorter than MinSecretLen.
var ErrShortSecret = errors.New("keys: the secret must be at least 16 bytes")

// b64 is the encoding of everything Keys put in a URL or a cookie.
var b64 = base64.RawURLEncoding

// Keys signs, seals and hashes under one secret. It is safe for
// concurrent use.
type Keys struct {
	mac  []byte
	seal cipher.AEAD // nil when made by New: sealing needs Derive
}

// New returns Keys that sign and hash with secret itself, as the service
// has from the start (its stored hashes depend on it).
func New(secret []byte) (*Keys, error) {
	if len(secret) < MinSecretLen {
		return nil, ErrShortSecret
	}
	return &Keys{mac: append([]byte(nil), secret...)}, nil
}

// Derive returns Keys whose signing and sealing keys are derived from
// secret under label (as HMAC-SHA256(secret, label+"mac") and
// label+"seal"), which keeps them apart from any other use of the same
// secret. Sealing uses AES-256-GCM.
func Derive(secret []byte, label string) (*Keys, error) {
	if len(secret) < MinSecretLen {
		return nil, ErrShortSecret
	}
	derive := func(what string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(label + what))
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
	return &Keys{mac: derive("mac"), seal: aead}, nil
}

// Sum is HMAC-SHA256 over purpose and the parts, each prefixed with its
// length, so that no two different lists of parts give the same input.
func (k *Keys) Sum(purpose string, parts ...[]byte) []byte {
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

// Hash returns the first n bytes (at most 32) of a keyed hash of value, in
// hex: equal inputs match, but nobody without the secret can reverse or
// test them. It is how addresses are stored.
func (k *Keys) Hash(purpose, value string, n int) string {
	return hex.EncodeToString(k.Sum(purpose, []byte(value))[:min(n, sha256.Size)])
}

// Sign returns payload and a 16-byte signature, "base64url.base64url".
func (k *Keys) Sign(purpose string, payload []byte) string {
	return b64.EncodeToString(payload) + "." + b64.EncodeToString(k.Sum(purpose, payload)[:16])
}

// Open checks a token made by Sign (at most maxLen long) and returns its
// payload.
func (k *Keys) Open(purpose, tok string, maxLen int) ([]byte, bool) {
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
	return payload, hmac.Equal(sig, k.Sum(purpose, payload)[:16])
}

// SignTimed signs subject together with the time it was issued.
func (k *Keys) SignTimed(purpose, subject string, now time.Time) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(now.Unix()))
	return k.Sign(purpose, append(b, subject...))
}

// OpenTimed checks a token made by SignTimed and returns its subject and
// when it was issued; the caller decides how old is too old.
func (k *Keys) OpenTimed(purpose, tok string, maxLen int) (subject string, issued time.Time, ok bool) {
	p, ok := k.Open(purpose, tok, maxLen)
	if !ok || len(p) < 8 {
		return "", time.Time{}, false
	}
	return string(p[8:]), time.Unix(int64(binary.BigEndian.Uint64(p[:8])), 0), true
}

// Seal encrypts and authenticates plaintext (the purpose as additional
// data) and returns it in URL- and cookie-safe base64. It panics for Keys
// made by New, which have no sealing key: a programming mistake.
func (k *Keys) Seal(purpose string, plaintext []byte) string {
	nonce := make([]byte, k.seal.NonceSize())
	rand.Read(nonce)
	return b64.EncodeToString(k.seal.Seal(nonce, nonce, plaintext, []byte(purpose)))
}

// Unseal reverses Seal for a value at most maxLen long; it fails for
// anything not sealed under purpose.
func (k *Keys) Unseal(purpose, s string, maxLen int) ([]byte, bool) {
	if k.seal == nil || len(s) > maxLen {
		return nil, false
	}
	raw, err := b64.DecodeString(s)
	n := k.seal.NonceSize()
	if err != nil || len(raw) < n+k.seal.Overhead() {
		return nil, false
	}
	p, err := k.seal.Open(nil, raw[:n], raw[n:], []byte(purpose))
	return p, err == nil
}
