package memop

import (
	"context"
	"crypto/rsa"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// Without a key, the provider makes one on first use, and signs with the
// very key its key set publishes.
func TestLazyKey(t *testing.T) {
	ctx := context.Background()
	s, err := New(nil, Client{ID: "c", Secret: "s"}, []User{{ID: "1", Username: "ana"}})
	if err != nil {
		t.Fatal(err)
	}
	sk, err := s.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	priv, ok := sk.Key().(*rsa.PrivateKey)
	if !ok || priv.N.BitLen() != 2048 {
		t.Fatalf("signing key %T", sk.Key())
	}
	keys, err := s.KeySet(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("key set %v %v", keys, err)
	}
	if pub, ok := keys[0].Key().(*rsa.PublicKey); !ok || !pub.Equal(&priv.PublicKey) {
		t.Fatal("the key set publishes another key than the one that signs")
	}
	jws, err := s.Sign([]byte(`{"sub":"1"}`))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jose.ParseSigned(jws, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parsed.Verify(&priv.PublicKey); err != nil {
		t.Fatalf("Sign used another key: %v", err)
	}
}
