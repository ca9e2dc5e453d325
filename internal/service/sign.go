package service

import (
	"crypto/rand"
	"encoding/base64"
)

// The service signs its tokens (forms, held comments, readers, the desk's
// CSRF and log-in forms) and keys its stored hashes (addresses, avatars)
// with package keys, under the server secret as it is: what is stored
// depends on it. Tokens are at most maxTokenLen long.
const maxTokenLen = 512

var b64 = base64.RawURLEncoding

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
