package keys

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

// TestHash_Format pins the keyed hash to its definition, HMAC-SHA256 of
// the purpose and the length-prefixed value: stored address hashes and
// email keys depend on it, so it must never change.
func TestHash_Format(t *testing.T) {
	k, err := New(secret)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("ip"))
	m.Write([]byte{0, 0, 0, 11})
	m.Write([]byte("203.0.113.9"))
	want := hex.EncodeToString(m.Sum(nil))[:24]
	if got := k.Hash("ip", "203.0.113.9", 12); got != want {
		t.Fatalf("Hash = %s, want %s", got, want)
	}
	if k.Hash("ip", "203.0.113.9", 12) == k.Hash("email", "203.0.113.9", 12) {
		t.Fatal("two purposes give the same hash")
	}
	if len(k.Hash("x", "y", 99)) != 64 {
		t.Fatal("Hash longer than the MAC")
	}
	// Length prefixes: ("ab", "c") and ("a", "bc") differ.
	if string(k.Sum("p", []byte("ab"), []byte("c"))) == string(k.Sum("p", []byte("a"), []byte("bc"))) {
		t.Fatal("parts are not framed")
	}
}

func TestSignOpen(t *testing.T) {
	k, _ := New(secret)
	tok := k.Sign("form", []byte("news"))
	if p, ok := k.Open("form", tok, 512); !ok || string(p) != "news" {
		t.Fatalf("Open = %q, %v", p, ok)
	}
	other, _ := New([]byte("another secret of sixteen bytes or more"))
	for name, bad := range map[string]func() bool{
		"another purpose": func() bool { _, ok := k.Open("held", tok, 512); return ok },
		"another secret":  func() bool { _, ok := other.Open("form", tok, 512); return ok },
		"too long":        func() bool { _, ok := k.Open("form", tok, len(tok)-1); return ok },
		"tampered": func() bool {
			p, s, _ := strings.Cut(tok, ".")
			_, ok := k.Open("form", p+"x."+s, 512)
			return ok
		},
		"no dot":       func() bool { _, ok := k.Open("form", "abc", 512); return ok },
		"short MAC":    func() bool { _, ok := k.Open("form", strings.Split(tok, ".")[0]+".AAAA", 512); return ok },
		"not base64":   func() bool { _, ok := k.Open("form", "!!.!!", 512); return ok },
		"empty secret": func() bool { _, err := New(nil); return err == nil },
	} {
		if bad() {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestTimed(t *testing.T) {
	k, _ := New(secret)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tok := k.SignTimed("held", "c123", at)
	sub, issued, ok := k.OpenTimed("held", tok, 512)
	if !ok || sub != "c123" || !issued.Equal(at) {
		t.Fatalf("OpenTimed = %q %v %v", sub, issued, ok)
	}
	if _, _, ok := k.OpenTimed("form", tok, 512); ok {
		t.Fatal("a timed token opened under another purpose")
	}
}

func TestSeal(t *testing.T) {
	k, err := Derive(secret, "test: ")
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := k.Seal("flow", []byte("state")), k.Seal("flow", []byte("state"))
	if s1 == s2 {
		t.Fatal("two seals of one text are equal: no fresh nonce")
	}
	if p, ok := k.Unseal("flow", s1, 4096); !ok || string(p) != "state" {
		t.Fatalf("Unseal = %q %v", p, ok)
	}
	if _, ok := k.Unseal("link", s1, 4096); ok {
		t.Fatal("unsealed under another purpose")
	}
	if _, ok := k.Unseal("flow", s1, 10); ok {
		t.Fatal("unsealed past the length limit")
	}
	other, _ := Derive(secret, "other: ")
	if _, ok := other.Unseal("flow", s1, 4096); ok {
		t.Fatal("keys derived under another label unsealed it")
	}
	if other.Hash("x", "y", 16) == k.Hash("x", "y", 16) {
		t.Fatal("labels do not separate the derived keys")
	}
	plain, _ := New(secret)
	if _, ok := plain.Unseal("flow", s1, 4096); ok {
		t.Fatal("keys made by New unsealed")
	}
}
