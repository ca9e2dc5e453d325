package authtest_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"parley/internal/auth/authtest"
)

// TestOP_Flow walks the authorization code flow step by step, as a
// browser would, and checks the login page a person or chromedp sees.
func TestOP_Flow(t *testing.T) {
	ctx := context.Background()
	const callback = "http://127.0.0.1:9/auth/test/callback" // never dialled
	for _, claimsInIDToken := range []bool{true, false} {
		name := "claims from userinfo"
		if claimsInIDToken {
			name = "claims in ID token"
		}
		t.Run(name, func(t *testing.T) {
			jane := authtest.DefaultUser()
			jane.Picture = "http://127.0.0.1:9/avatars/jane.png"
			bob := authtest.OPUser{ID: "user-b0b", Username: "bob", Password: "tr0ub4dor", Name: "Bob", Email: "bob@example.org"}
			o := authtest.StartOP(t, authtest.OPConfig{ClaimsInIDToken: claimsInIDToken, Users: []authtest.OPUser{bob, jane}})
			if o.ClientID() != authtest.DefaultClientID || o.ClientSecret() != authtest.DefaultClientSecret {
				t.Errorf("client %q/%q, want the defaults", o.ClientID(), o.ClientSecret())
			}
			p, err := oidc.NewProvider(ctx, o.Issuer())
			if err != nil {
				t.Fatalf("discovery: %v", err)
			}
			conf := oauth2.Config{ClientID: o.ClientID(), ClientSecret: o.ClientSecret(), Endpoint: p.Endpoint(),
				RedirectURL: callback, Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
			verifier := oauth2.GenerateVerifier()
			start := conf.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n0nce"))
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

			// The callback is not registered yet: no redirect to it.
			resp := get(t, c, start)
			if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, callback) {
				t.Fatalf("unregistered redirect URI accepted: %s", loc)
			}
			o.AllowRedirect(callback)

			resp = get(t, c, start)
			if q := o.LastAuthorize(); q.Get("nonce") != "n0nce" || q.Get("code_challenge_method") != "S256" {
				t.Errorf("LastAuthorize = %v", q)
			}
			login := resp.Request.URL.ResolveReference(mustParse(t, resp.Header.Get("Location")))
			resp = get(t, c, login.String())
			page := body(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("login page: %d %s", resp.StatusCode, page)
			}
			doc := parse(t, page)
			for _, want := range []string{`form[method=post][action=/login]`, `label[for=username]`, `input#username[name=username]`,
				`label[for=password]`, `input#password[name=password][type=password]`, `button#login[type=submit]`} {
				if find(doc, want) == nil {
					t.Errorf("login page has no %s:\n%s", want, page)
				}
			}
			id := attr(find(doc, `input[name=id]`), "value")
			if id == "" {
				t.Fatalf("no log-in request ID in the form:\n%s", page)
			}

			resp = post(t, c, login, url.Values{"id": {id}, "username": {"jane"}, "password": {"wrong"}})
			page = body(t, resp)
			doc = parse(t, page)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(text(find(doc, "p#error")), "wrong username or password") ||
				attr(find(doc, "input#username"), "value") != "jane" || find(doc, "input#password") == nil {
				t.Fatalf("wrong password: %d\n%s", resp.StatusCode, page)
			}

			resp = post(t, c, login, url.Values{"id": {id}, "username": {"jane"}, "password": {"correct horse"}})
			resp.Body.Close()
			for resp.StatusCode == http.StatusFound && !strings.HasPrefix(resp.Header.Get("Location"), callback) {
				resp = get(t, c, resp.Request.URL.ResolveReference(mustParse(t, resp.Header.Get("Location"))).String())
			}
			back := mustParse(t, resp.Header.Get("Location"))
			if !strings.HasPrefix(back.String(), callback) || back.Query().Get("state") != "st4te" {
				t.Fatalf("after log-in: %d to %q", resp.StatusCode, back)
			}

			tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := p.Verifier(&oidc.Config{ClientID: o.ClientID()}).Verify(ctx, raw)
			if err != nil {
				t.Fatalf("verify ID token: %v", err)
			}
			var claims struct {
				Name, Email, Picture string
				EmailVerified        bool `json:"email_verified"`
			}
			if err := idt.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if idt.Subject != "user-7f3a" || idt.Nonce != "n0nce" {
				t.Errorf("ID token for %q with nonce %q", idt.Subject, idt.Nonce)
			}
			if got := claims.Picture != ""; got != claimsInIDToken {
				t.Errorf("ID token claims %+v", claims)
			}
			ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			if err := ui.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if ui.Subject != "user-7f3a" || claims.Name != "Jane Doe" || claims.Email != "jane@example.org" ||
				!claims.EmailVerified || claims.Picture != jane.Picture {
				t.Errorf("userinfo %q %+v", ui.Subject, claims)
			}

			// A token the provider signs is one a client accepts.
			signed, err := o.Sign([]byte(`{"iss":"` + o.Issuer() + `","sub":"x","aud":"` + o.ClientID() + `","exp":4102444800,"iat":1}`))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Verifier(&oidc.Config{ClientID: o.ClientID()}).Verify(ctx, signed); err != nil {
				t.Errorf("Sign made a token the provider's keys do not verify: %v", err)
			}
		})
	}
}

func TestOP_Tamper(t *testing.T) {
	o := authtest.StartOP(t, authtest.OPConfig{})
	o.SetTamper(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		http.Error(w, "tampered", http.StatusTeapot)
	})
	resp := get(t, http.DefaultClient, o.Issuer()+"/.well-known/openid-configuration")
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Errorf("with a tamper function: %d", resp.StatusCode)
	}
	o.SetTamper(nil)
	resp = get(t, http.DefaultClient, o.Issuer()+"/.well-known/openid-configuration")
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("without: %d", resp.StatusCode)
	}
	if o.LastAuthorize() != nil {
		t.Errorf("LastAuthorize before any = %v", o.LastAuthorize())
	}
}

func get(t *testing.T, c *http.Client, u string) *http.Response {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func post(t *testing.T, c *http.Client, u *url.URL, form url.Values) *http.Response {
	t.Helper()
	resp, err := c.PostForm(u.ResolveReference(&url.URL{Path: "/login"}).String(), form)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func parse(t *testing.T, page string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// find returns the first element matching sel, a tiny selector language:
// tag, then optionally #id, then any number of [attr=value].
func find(n *html.Node, sel string) *html.Node {
	head, rest, _ := strings.Cut(sel, "[")
	tag, id, hasID := strings.Cut(head, "#")
	want := map[string]string{}
	if hasID {
		want["id"] = id
	}
	if rest != "" {
		for _, a := range strings.Split(strings.TrimSuffix(rest, "]"), "][") {
			k, v, _ := strings.Cut(a, "=")
			want[k] = v
		}
	}
	var walk func(n *html.Node) *html.Node
	walk = func(n *html.Node) *html.Node {
		if n.Type == html.ElementNode && n.Data == tag {
			ok := true
			for k, v := range want {
				ok = ok && attr(n, k) == v
			}
			if ok {
				return n
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if m := walk(c); m != nil {
				return m
			}
		}
		return nil
	}
	return walk(n)
}

func attr(n *html.Node, key string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}
