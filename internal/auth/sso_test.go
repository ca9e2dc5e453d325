package auth_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"parley/internal/auth"
)

var ssoSecret = []byte("site-sso-secret-0123456789abcdef")

// rawSSO signs an arbitrary payload the way the documentation says, so
// tests can build tokens SignSSO would never make.
func rawSSO(payload string, secret []byte) string {
	p := base64.RawURLEncoding.EncodeToString([]byte(payload))
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(p))
	return p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestVerifySSO(t *testing.T) {
	now := time.Unix(1_767_225_600, 0)
	exp := "1767227400" // now + 30 minutes
	good := rawSSO(`{"id":"42","name":"Jane Doe","email":"Jane@Example.com","avatar":"https://news.example/a/42.png","url":"https://news.example/u/jane","exp":`+exp+`}`, ssoSecret)
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"good", good, nil},
		{"numeric id", rawSSO(`{"id":42,"name":"Jane","exp":`+exp+`}`, ssoSecret), nil},
		{"padded base64", func() string {
			p := base64.URLEncoding.EncodeToString([]byte(`{"id":"42","name":"Jane","exp":` + exp + `}`))
			m := hmac.New(sha256.New, ssoSecret)
			m.Write([]byte(p))
			return p + "." + base64.URLEncoding.EncodeToString(m.Sum(nil))
		}(), nil},
		{"unknown claims ignored", rawSSO(`{"id":"42","name":"Jane","exp":`+exp+`,"roles":["editor"]}`, ssoSecret), nil},
		{"wrong secret", rawSSO(`{"id":"42","name":"Jane","exp":`+exp+`}`, []byte("another-secret-0123456789abcdef!")), auth.ErrSSOSignature},
		{"payload changed", strings.Replace(good, good[:10], good[:9]+"x", 1), auth.ErrSSOSignature},
		{"signature cut", good[:len(good)-4], auth.ErrSSOMalformed},
		{"no signature", strings.Split(good, ".")[0], auth.ErrSSOMalformed},
		{"three parts", good + ".x", auth.ErrSSOMalformed},
		{"empty", "", auth.ErrSSOMalformed},
		{"expired", rawSSO(`{"id":"42","name":"Jane","exp":1767225599}`, ssoSecret), auth.ErrSSOExpired},
		{"expires now", rawSSO(`{"id":"42","name":"Jane","exp":1767225600}`, ssoSecret), auth.ErrSSOExpired},
		{"exp more than an hour ahead", rawSSO(`{"id":"42","name":"Jane","exp":1767229201}`, ssoSecret), auth.ErrSSOTooLong},
		{"exp exactly an hour ahead", rawSSO(`{"id":"42","name":"Jane","exp":1767229200}`, ssoSecret), nil},
		{"exp missing", rawSSO(`{"id":"42","name":"Jane"}`, ssoSecret), auth.ErrSSOClaims},
		{"exp a string", rawSSO(`{"id":"42","name":"Jane","exp":"soon"}`, ssoSecret), auth.ErrSSOMalformed},
		{"id missing", rawSSO(`{"name":"Jane","exp":`+exp+`}`, ssoSecret), auth.ErrSSOClaims},
		{"id empty", rawSSO(`{"id":" ","name":"Jane","exp":`+exp+`}`, ssoSecret), auth.ErrSSOClaims},
		{"id an object", rawSSO(`{"id":{"a":1},"name":"Jane","exp":`+exp+`}`, ssoSecret), auth.ErrSSOClaims},
		{"id a fraction", rawSSO(`{"id":4.2,"name":"Jane","exp":`+exp+`}`, ssoSecret), auth.ErrSSOClaims},
		{"name missing", rawSSO(`{"id":"42","exp":`+exp+`}`, ssoSecret), auth.ErrSSOClaims},
		{"name with newline", rawSSO(`{"id":"42","name":"Jane\nAdmin","exp":`+exp+`}`, ssoSecret), auth.ErrSSOClaims},
		{"bad email", rawSSO(`{"id":"42","name":"Jane","email":"jane","exp":`+exp+`}`, ssoSecret), auth.ErrSSOClaims},
		{"javascript avatar", rawSSO(`{"id":"42","name":"Jane","avatar":"javascript:alert(1)","exp":`+exp+`}`, ssoSecret), auth.ErrSSOClaims},
		{"javascript profile", rawSSO(`{"id":"42","name":"Jane","url":"javascript:alert(1)","exp":`+exp+`}`, ssoSecret), auth.ErrSSOClaims},
		{"not JSON", rawSSO(`id=42`, ssoSecret), auth.ErrSSOMalformed},
		{"JSON array", rawSSO(`[1,2]`, ssoSecret), auth.ErrSSOMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := auth.VerifySSO(tt.token, ssoSecret, now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("VerifySSO: %v", err)
				}
				if id.Provider != auth.SSOProvider || id.Subject != "42" || id.Name == "" {
					t.Errorf("identity = %+v", id)
				}
				return
			}
			if !errors.Is(err, tt.want) || id != nil {
				t.Fatalf("VerifySSO = %+v, %v; want %v", id, err, tt.want)
			}
		})
	}

	id, _ := auth.VerifySSO(good, ssoSecret, now)
	want := auth.Identity{Provider: "sso", Subject: "42", Name: "Jane Doe", Email: "jane@example.com",
		AvatarURL: "https://news.example/a/42.png", ProfileURL: "https://news.example/u/jane"}
	if *id != want {
		t.Errorf("identity = %+v, want %+v", *id, want)
	}
	for _, secret := range [][]byte{nil, []byte(""), []byte("short")} {
		if _, err := auth.VerifySSO(rawSSO(`{"id":"42","name":"J","exp":`+exp+`}`, secret), secret, now); !errors.Is(err, auth.ErrSSONoSecret) {
			t.Errorf("secret %q: %v; a site without a real secret must never log anyone in", secret, err)
		}
	}
}

func TestSignSSO(t *testing.T) {
	now := time.Now()
	tok, err := auth.SignSSO(auth.SSOUser{ID: "7", Name: "Sam", Email: "sam@example.com", Expires: now.Add(5 * time.Minute)}, ssoSecret)
	if err != nil {
		t.Fatal(err)
	}
	id, err := auth.VerifySSO(tok, ssoSecret, now)
	if err != nil || id.Subject != "7" || id.Email != "sam@example.com" {
		t.Fatalf("VerifySSO(SignSSO) = %+v, %v", id, err)
	}
	if auth.SSOProviderFor("news") != "sso-news" {
		t.Error("SSOProviderFor")
	}
}

// TestSSO_NodeExample runs the README's Node.js example, when node is
// installed, and checks Parley accepts its token.
func TestSSO_NodeExample(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	script := `const crypto = require("crypto");
function parleySSO(user, secret) {
  const claims = Buffer.from(JSON.stringify({...user, exp: Math.floor(Date.now() / 1000) + 600})).toString("base64url");
  const sig = crypto.createHmac("sha256", secret).update(claims).digest("base64url");
  return claims + "." + sig;
}
process.stdout.write(parleySSO({id: "42", name: "Jane Doe", email: "jane@example.com"}, process.argv[1]));`
	out, err := exec.Command(node, "-e", script, string(ssoSecret)).Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	id, err := auth.VerifySSO(string(out), ssoSecret, time.Now())
	if err != nil || id.Subject != "42" || id.Name != "Jane Doe" {
		t.Fatalf("VerifySSO(node token) = %+v, %v", id, err)
	}
}

// TestSSO_PHPExample runs the README's PHP example, when php is
// installed, and checks Parley accepts its token.
func TestSSO_PHPExample(t *testing.T) {
	php, err := exec.LookPath("php")
	if err != nil {
		t.Skip("php is not installed")
	}
	script := `function parley_sso(array $user, string $secret): string {
    $b64 = fn($s) => rtrim(strtr(base64_encode($s), '+/', '-_'), '=');
    $claims = $b64(json_encode($user + ['exp' => time() + 600]));
    return $claims . '.' . $b64(hash_hmac('sha256', $claims, $secret, true));
}
echo parley_sso(['id' => 42, 'name' => 'Jane Doe', 'email' => 'jane@example.com', 'avatar' => 'https://news.example/a/42.png'], $argv[1]);`
	out, err := exec.Command(php, "-r", script, string(ssoSecret)).Output()
	if err != nil {
		t.Fatalf("php: %v", err)
	}
	id, err := auth.VerifySSO(string(out), ssoSecret, time.Now())
	if err != nil || id.Subject != "42" || id.Name != "Jane Doe" || id.AvatarURL != "https://news.example/a/42.png" {
		t.Fatalf("VerifySSO(php token) = %+v, %v", id, err)
	}
}

// TestSSO_GoExample is the README's Go example for sites written in Go,
// which cannot import Parley's packages.
func TestSSO_GoExample(t *testing.T) {
	secret := ssoSecret
	claims, _ := json.Marshal(map[string]any{"id": "42", "name": "Jane Doe", "email": "jane@example.com", "exp": time.Now().Add(10 * time.Minute).Unix()})
	p := base64.RawURLEncoding.EncodeToString(claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(p))
	token := p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))

	if id, err := auth.VerifySSO(token, ssoSecret, time.Now()); err != nil || id.Subject != "42" {
		t.Fatalf("VerifySSO(go token) = %+v, %v", id, err)
	}
}

// FuzzVerifySSO checks the token parser never panics and never accepts a
// token whose signature is not the HMAC of its first part under the secret.
func FuzzVerifySSO(f *testing.F) {
	now := time.Unix(1_767_225_600, 0)
	f.Add(rawSSO(`{"id":"42","name":"Jane","exp":1767227400}`, ssoSecret))
	f.Add(rawSSO(`{"id":42,"name":"Jane","email":"j@example.com","avatar":"https://a.example/x.png","exp":1767227400}`, ssoSecret))
	f.Add(rawSSO(`{"id":"42","name":"Jane","exp":1767227400}`, []byte("another-secret-0123456789abcdef!")))
	f.Add("e30.AAAA")
	f.Add(".")
	f.Add("..")
	f.Add("=.=")
	f.Fuzz(func(t *testing.T, token string) {
		id, err := auth.VerifySSO(token, ssoSecret, now)
		if err != nil {
			if id != nil {
				t.Fatal("an identity with an error")
			}
			return
		}
		payload, sig, _ := strings.Cut(strings.TrimSpace(token), ".")
		got, derr := base64.RawURLEncoding.DecodeString(strings.TrimRight(sig, "="))
		m := hmac.New(sha256.New, ssoSecret)
		m.Write([]byte(payload))
		if derr != nil || !hmac.Equal(got, m.Sum(nil)) {
			t.Fatalf("accepted %q without the right signature", token)
		}
		if id.Subject == "" || id.Name == "" {
			t.Fatalf("accepted an identity without id or name: %+v", id)
		}
		if _, err := auth.VerifySSO(token, []byte("another-secret-0123456789abcdef!"), now); err == nil {
			t.Fatal("accepted under another secret")
		}
	})
}
