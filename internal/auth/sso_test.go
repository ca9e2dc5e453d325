package auth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
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

// readmeExample returns the README's SSO example in the fenced block of
// the given language, so that what readers copy is what is tested.
func readmeExample(t *testing.T, lang string) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sso, ok := strings.Cut(string(readme), "### Site SSO")
	if !ok {
		t.Fatal("README.md has no \"### Site SSO\" section")
	}
	_, block, ok := strings.Cut(sso, "```"+lang+"\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatalf("README.md's SSO section has no %s example", lang)
	}
	return block
}

// runExample runs the README's example in one language with a reader and
// the secret defined before it and the token printed after it, and checks
// Parley accepts that token. The interpreter must be installed (.ci/run
// installs them).
func runExample(t *testing.T, lang, interpreter, flag, before, after string) {
	t.Helper()
	bin, err := exec.LookPath(interpreter)
	if err != nil {
		t.Skipf("%s is not installed", interpreter)
	}
	script := before + readmeExample(t, lang) + after
	cmd := exec.Command(bin, flag, script, string(ssoSecret))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s\n%s", interpreter, err, stderr.String(), script)
	}
	id, err := auth.VerifySSO(strings.TrimSpace(string(out)), ssoSecret, time.Now())
	if err != nil || id.Subject != "42" || id.Name != "Jane Doe" || id.Email != "jane@example.com" {
		t.Fatalf("VerifySSO(%s token %q) = %+v, %v", lang, out, id, err)
	}
}

func TestSSO_PythonExample(t *testing.T) {
	runExample(t, "python", "python3", "-c",
		"import sys\nclass user: id, name, email = 42, 'Jane Doe', 'jane@example.com'\nSSO_SECRET = sys.argv[1]\n",
		"print(token)\n")
}

func TestSSO_NodeExample(t *testing.T) {
	runExample(t, "js", "node", "-e",
		"const user = {id: '42', name: 'Jane Doe', email: 'jane@example.com'}, SSO_SECRET = process.argv[1];\n",
		"process.stdout.write(token);\n")
}

func TestSSO_PHPExample(t *testing.T) {
	runExample(t, "php", "php", "-r",
		"$user = (object)['id' => 42, 'name' => 'Jane Doe', 'email' => 'jane@example.com']; $SSO_SECRET = $argv[1];\n",
		"echo $token;\n")
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

// TestVerifySSOOnce: a token logs a reader in once, on one site, until it
// expires; a copy (even re-padded) is refused, and so is a second token
// with the same jti. Tokens are told apart by their jti, else their
// signature.
func TestVerifySSOOnce(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_767_225_600, 0)
	exp := "1767227400"
	once := auth.NewMemoryStoreClock(func() time.Time { return now })
	use := func(scope, tok string) error {
		_, err := auth.VerifySSOOnce(ctx, once, scope, tok, ssoSecret, now)
		return err
	}
	plain := rawSSO(`{"id":"42","name":"Jane","exp":`+exp+`}`, ssoSecret)
	if err := use("site:news", plain); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := use("site:news", plain); !errors.Is(err, auth.ErrSSOReplay) {
		t.Errorf("replayed token: %v, want ErrSSOReplay", err)
	}
	p, sig, _ := strings.Cut(plain, ".")
	if err := use("site:news", p+"."+sig+"="); !errors.Is(err, auth.ErrSSOReplay) {
		t.Errorf("replayed token with padding added: %v, want ErrSSOReplay", err)
	}
	// Another site's token store is its own.
	if err := use("site:blog", plain); err != nil {
		t.Errorf("the same token on another site: %v", err)
	}
	a := rawSSO(`{"id":"42","name":"Jane","exp":`+exp+`,"jti":"view-1"}`, ssoSecret)
	b := rawSSO(`{"id":"42","name":"Jane","exp":`+exp+`,"jti":"view-2"}`, ssoSecret)
	sameJTI := rawSSO(`{"id":"43","name":"Kim","exp":`+exp+`,"jti":"view-1"}`, ssoSecret)
	if err := use("site:news", a); err != nil {
		t.Errorf("token with jti: %v", err)
	}
	if err := use("site:news", b); err != nil {
		t.Errorf("a second page view's token: %v", err)
	}
	if err := use("site:news", sameJTI); !errors.Is(err, auth.ErrSSOReplay) {
		t.Errorf("a token reusing a jti: %v, want ErrSSOReplay", err)
	}
	// A token that is refused anyway is not recorded.
	forged := rawSSO(`{"id":"42","name":"Jane","exp":`+exp+`,"jti":"view-3"}`, []byte("another-secret-0123456789abcdef!"))
	if err := use("site:news", forged); !errors.Is(err, auth.ErrSSOSignature) {
		t.Errorf("forged: %v", err)
	}
	if err := use("site:news", rawSSO(`{"id":"42","name":"Jane","exp":`+exp+`,"jti":"`+strings.Repeat("x", 129)+`"}`, ssoSecret)); !errors.Is(err, auth.ErrSSOClaims) {
		t.Errorf("long jti: %v", err)
	}
	// SignSSO gives every token its own jti.
	u := auth.SSOUser{ID: "7", Name: "Sam", Expires: now.Add(5 * time.Minute)}
	t1, _ := auth.SignSSO(u, ssoSecret)
	t2, _ := auth.SignSSO(u, ssoSecret)
	if t1 == t2 || use("site:news", t1) != nil || use("site:news", t2) != nil {
		t.Error("two tokens signed by SignSSO for one reader in the same second are not both accepted")
	}
}
