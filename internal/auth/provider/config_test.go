package provider_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"parley/internal/auth/provider"
)

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name string
		cfgs []provider.Config
		want []string // each must appear in the error
	}{
		{"missing client id and secret", []provider.Config{{Kind: provider.GitHub}},
			[]string{`github provider "github": the client id is missing`, `github provider "github": the client secret is missing`}},
		{"generic provider without issuer, id or name", []provider.Config{{Kind: provider.OIDC, ClientID: "c", ClientSecret: "s"}},
			[]string{"an id is required", "a display name is required", "the issuer URL is missing"}},
		{"unknown kind", []provider.Config{{Kind: "myspace", ClientID: "c", ClientSecret: "s"}}, []string{`unknown kind "myspace"`}},
		{"no kind", []provider.Config{{ClientID: "c", ClientSecret: "s"}}, []string{"kind is missing"}},
		{"reserved id", []provider.Config{{Kind: provider.OIDC, ID: "email", Name: "E", Issuer: "https://e.example", ClientID: "c", ClientSecret: "s"}},
			[]string{"not email or sso"}},
		{"bad id", []provider.Config{{Kind: provider.OIDC, ID: "My OP!", Name: "E", Issuer: "https://e.example", ClientID: "c", ClientSecret: "s"}},
			[]string{"lower-case letters"}},
		{"bad URL", []provider.Config{{Kind: provider.X, ClientID: "c", ClientSecret: "s", TokenURL: "ftp://x.example/token"}},
			[]string{`token URL "ftp://x.example/token"`}},
		{"twice", []provider.Config{{Kind: provider.X, ClientID: "c", ClientSecret: "s"}, {Kind: provider.X, ClientID: "d", ClientSecret: "t"}},
			[]string{`provider "x": configured twice`}},
		{"all mistakes at once", []provider.Config{{Kind: provider.GitHub}, {Kind: provider.Facebook, ClientID: "c"}},
			[]string{`"github": the client id is missing`, `"facebook": the client secret is missing`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := provider.New(ctx, tt.cfgs, nil)
			if err == nil {
				t.Fatalf("New = %v, want an error", ps)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not say %q", err, w)
				}
			}
		})
	}
}

func TestConfig_Defaults(t *testing.T) {
	ps, err := provider.New(ctx, []provider.Config{
		{Kind: provider.Facebook, ClientID: "fb-id", ClientSecret: "s"},
		{Kind: provider.X, ClientID: "x-id", ClientSecret: "s"},
		{Kind: provider.GitHub, ClientID: "gh-id", ClientSecret: "s"},
		{Kind: provider.WordPress, ClientID: "wp-id", ClientSecret: "s"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"facebook":  "https://www.facebook.com/v23.0/dialog/oauth?",
		"x":         "https://x.com/i/oauth2/authorize?",
		"github":    "https://github.com/login/oauth/authorize?",
		"wordpress": "https://public-api.wordpress.com/oauth2/authorize?",
	}
	names := map[string]string{"facebook": "Facebook", "x": "X", "github": "GitHub", "wordpress": "WordPress.com"}
	for _, p := range ps {
		u := p.AuthCodeURL(authCodeRequest())
		if !strings.HasPrefix(u, want[p.ID()]) {
			t.Errorf("%s: authorization URL %s, want %s...", p.ID(), u, want[p.ID()])
		}
		if p.Name() != names[p.ID()] {
			t.Errorf("%s: name %q", p.ID(), p.Name())
		}
	}
}

func TestConfig_SecretNeverPrinted(t *testing.T) {
	c := provider.Config{Kind: provider.GitHub, ClientID: "gh-id", ClientSecret: "gh-very-secret"}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("provider", "config", c)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("provider", "config", c)
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%+v %#v %v", c, c, []provider.Config{c}), logged.String()} {
		if strings.Contains(s, "gh-very-secret") {
			t.Errorf("secret printed: %s", s)
		}
		if !strings.Contains(s, "gh-id") {
			t.Errorf("client id not printed (it is not secret): %s", s)
		}
	}
	_, err := provider.New(ctx, []provider.Config{{Kind: provider.OIDC, ClientID: "gh-id", ClientSecret: "gh-very-secret"}}, nil)
	if err == nil || strings.Contains(err.Error(), "gh-very-secret") {
		t.Errorf("validation error shows the secret: %v", err)
	}
}
