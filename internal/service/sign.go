package service

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"
)

// signer makes and checks short HMAC-SHA256 tokens and keyed hashes. One
// server secret, stored in the database, keys every use; the purpose string
// keeps a token made for one use from being accepted by another.
type signer struct{ key []byte }

func (s signer) mac(purpose string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	for _, p := range parts {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		m.Write(n[:])
		m.Write(p)
	}
	return m.Sum(nil)
}

// hash returns a keyed hash of value for purpose, n bytes long, in hex.
// It is how IP addresses, emails and reader tokens are stored: equal
// inputs match, but nobody without the secret can reverse or test them.
func (s signer) hash(purpose, value string, n int) string {
	return hex.EncodeToString(s.mac(purpose, []byte(value))[:n])
}

var b64 = base64.RawURLEncoding

// token returns payload, a dot, and a 16-byte signature, in URL-safe base64.
func (s signer) token(purpose string, payload []byte) string {
	return b64.EncodeToString(payload) + "." + b64.EncodeToString(s.mac(purpose, payload)[:16])
}

// open checks a token made by token and returns its payload.
func (s signer) open(purpose, tok string) ([]byte, bool) {
	p, sig, ok := strings.Cut(tok, ".")
	if !ok || len(tok) > 512 {
		return nil, false
	}
	payload, err1 := b64.DecodeString(p)
	got, err2 := b64.DecodeString(sig)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	return payload, hmac.Equal(got, s.mac(purpose, payload)[:16])
}

// timedToken signs subject together with the time it was issued.
func (s signer) timedToken(purpose, subject string, now time.Time) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(now.Unix()))
	return s.token(purpose, append(b, subject...))
}

// openTimed checks a timedToken and returns its subject and issue time.
func (s signer) openTimed(purpose, tok string) (subject string, issued time.Time, ok bool) {
	p, ok := s.open(purpose, tok)
	if !ok || len(p) < 8 {
		return "", time.Time{}, false
	}
	return string(p[8:]), time.Unix(int64(binary.BigEndian.Uint64(p[:8])), 0), true
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
