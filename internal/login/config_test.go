package login

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"parley/internal/auth/provider"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfig(t *testing.T) {
	c, err := Parse([]byte(`{
		"session_ttl": "48h",
		"providers": [
			{"kind": "google", "client_id": "g-id", "client_secret": "env:G_SECRET"},
			{"kind": "oidc", "id": "newsroom", "name": "Newsroom ID", "issuer": "https://id.news.example",
			 "icon": "https://id.news.example/icon.png", "client_id": "parley", "client_secret": "plain-secret"}
		],
		"smtp": {"host": "smtp.example.com", "port": 587, "username": "comments", "password": "env:SMTP_PW",
		         "from": "Comments <comments@news.example>", "timeout": "10s"}
	}`), env(map[string]string{"G_SECRET": "google-secret-value", "SMTP_PW": "smtp-password-value"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionTTL.Hours() != 48 || len(c.Providers) != 2 || c.SMTP == nil {
		t.Fatalf("config = %+v", c)
	}
	g, o := c.Providers[0], c.Providers[1]
	if g.Kind != provider.Google || string(g.ClientSecret) != "google-secret-value" {
		t.Errorf("google = %+v", g)
	}
	if o.ID != "newsroom" || o.Issuer != "https://id.news.example" || o.IconURL == "" || string(o.ClientSecret) != "plain-secret" {
		t.Errorf("oidc = %+v", o)
	}
	if string(c.SMTP.Password) != "smtp-password-value" || c.SMTP.Timeout.Seconds() != 10 {
		t.Errorf("smtp = %+v", c.SMTP)
	}

	// Secrets never show, however the configuration is printed or logged.
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("cfg", "config", c, "google", g, "smtp", *c.SMTP)
	for _, shown := range []string{c.String(), fmt.Sprintf("%v %+v %#v", c, c, c), logged.String()} {
		for _, secret := range []string{"google-secret-value", "smtp-password-value", "plain-secret"} {
			if strings.Contains(shown, secret) {
				t.Errorf("a secret is printed: %s", shown)
			}
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	cases := map[string]struct {
		json string
		want []string
	}{
		"not json":       {`{"providers": [`, []string{"not valid JSON"}},
		"unknown field":  {`{"provider": []}`, []string{`unknown field "provider"`}},
		"wrong type":     {`{"providers": {}}`, []string{"providers must be"}},
		"missing env":    {`{"providers": [{"kind": "github", "client_id": "x", "client_secret": "env:NOPE"}]}`, []string{"NOPE is empty or not set"}},
		"unknown kind":   {`{"providers": [{"kind": "myspace", "client_id": "x", "client_secret": "y"}]}`, []string{`unknown kind "myspace"`}},
		"oidc no issuer": {`{"providers": [{"kind": "oidc", "id": "a", "name": "A", "client_id": "x", "client_secret": "y"}]}`, []string{"issuer URL is missing"}},
		"bad ttl":        {`{"session_ttl": "forever"}`, []string{"session_ttl"}},
		// Every mistake at once.
		"several": {`{"providers": [{"kind": "google"}], "smtp": {"host": "", "from": "nobody"}}`,
			[]string{"client id is missing", "client secret is missing", "host is missing", "not an email address"}},
	}
	for name, c := range cases {
		_, err := Parse([]byte(c.json), env(nil))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", name, err, w)
			}
		}
	}
	// A secret in a bad value is not echoed back.
	_, err := Parse([]byte(`{"providers": [{"kind": "oidc", "id": "a", "name": "A", "issuer": "ftp://x", "client_id": "x", "client_secret": "hunter2-secret"}]}`), env(nil))
	if err == nil || strings.Contains(err.Error(), "hunter2-secret") {
		t.Errorf("err = %v", err)
	}
}
