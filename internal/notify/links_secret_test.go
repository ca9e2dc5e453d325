package notify

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// A secret token opens for its purpose only, says nothing readable, and
// any change to it is refused.
func TestSealSecret(t *testing.T) {
	l, err := NewLinks(bytes.Repeat([]byte("k"), 32), "")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	in := Token{Site: "news", Email: "ann@example.org", Identity: "github:1234", Nonce: "s1", Expires: now.Add(time.Minute).Unix()}
	tok := l.SealSecret(PurposePrivacyGrant, in)
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for _, secret := range []string{"ann@example.org", "github:1234", "news"} {
		if strings.Contains(tok, secret) || bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the token shows %q", secret)
		}
	}
	if out, err := l.OpenSecret(PurposePrivacyGrant, tok, now); err != nil || out != in {
		t.Fatalf("OpenSecret = %+v, %v", out, err)
	}
	if _, err := l.OpenSecret(PurposeConfirm, tok, now); !errors.Is(err, ErrBadLink) {
		t.Errorf("another purpose: %v", err)
	}
	if _, err := l.OpenSecret(PurposePrivacyGrant, tok, now.Add(time.Minute)); !errors.Is(err, ErrExpiredLink) {
		t.Errorf("expired: %v", err)
	}
	other, _ := NewLinks(bytes.Repeat([]byte("o"), 32), "")
	if _, err := other.OpenSecret(PurposePrivacyGrant, tok, now); !errors.Is(err, ErrBadLink) {
		t.Errorf("another server's key: %v", err)
	}
	flipped := []byte(tok)
	flipped[len(flipped)/2] ^= 1
	for _, bad := range []string{string(flipped), tok[:len(tok)-2], "", "!!", strings.Repeat("A", 5000)} {
		if _, err := l.OpenSecret(PurposePrivacyGrant, bad, now); !errors.Is(err, ErrBadLink) {
			t.Errorf("OpenSecret(%.20q…) = %v, want ErrBadLink", bad, err)
		}
	}
	if l.SealSecret(PurposePrivacyGrant, in) == tok {
		t.Error("two seals of one token are the same: the nonce is not random")
	}
}
