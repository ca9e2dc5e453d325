package login

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"parley/internal/auth"
	"parley/internal/auth/provider"
	"parley/internal/mail"
)

// File is the log-in configuration file (serve --login-config FILE), in
// JSON:
//
//	{
//	  "session_ttl": "720h",
//	  "providers": [
//	    {"kind": "google", "client_id": "123.apps.googleusercontent.com",
//	     "client_secret": "env:GOOGLE_CLIENT_SECRET"},
//	    {"kind": "oidc", "id": "newsroom", "name": "Newsroom ID",
//	     "issuer": "https://id.news.example", "icon": "https://id.news.example/icon.png",
//	     "client_id": "parley", "client_secret": "env:NEWSROOM_SECRET"}
//	  ],
//	  "smtp": {"host": "smtp.example.com", "port": 587, "tls": "starttls",
//	           "username": "comments", "password": "env:SMTP_PASSWORD",
//	           "from": "Comments <comments@news.example>"}
//	}
//
// Any secret may be written as "env:NAME" to read it from the environment
// variable NAME, so the file itself can be kept without secrets. Secrets
// are never printed: String, logs and errors show "[redacted]".
type File struct {
	SessionTTL string         `json:"session_ttl"`
	Providers  []fileProvider `json:"providers"`
	SMTP       *fileSMTP      `json:"smtp"`
}

type fileProvider struct {
	Kind         string   `json:"kind"`
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Icon         string   `json:"icon"`
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	Issuer       string   `json:"issuer"`
	AuthURL      string   `json:"auth_url"`
	TokenURL     string   `json:"token_url"`
	APIURL       string   `json:"api_url"`
	Scopes       []string `json:"scopes"`
}

type fileSMTP struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	TLS      string `json:"tls"`
	Username string `json:"username"`
	Password string `json:"password"`
	From     string `json:"from"`
	Timeout  string `json:"timeout"`
}

// LoadFile reads a log-in configuration file and returns the
// configuration it describes. Every mistake it finds is reported at once;
// none of the messages carries a secret.
func LoadFile(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("log-in configuration: %w", err)
	}
	return Parse(b, os.Getenv)
}

// Parse reads a log-in configuration from JSON; getenv resolves "env:NAME"
// values.
func Parse(b []byte, getenv func(string) string) (Config, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		// encoding/json errors quote field names and types, never values.
		return Config{}, fmt.Errorf("log-in configuration: %v", jsonError(err))
	}
	var errs []error
	secret := func(what, v string) auth.Secret {
		name, ok := strings.CutPrefix(v, "env:")
		if !ok {
			return auth.Secret(v)
		}
		s := getenv(name)
		if s == "" {
			errs = append(errs, fmt.Errorf("%s: the environment variable %s is empty or not set", what, name))
		}
		return auth.Secret(s)
	}
	var c Config
	if f.SessionTTL != "" {
		d, err := time.ParseDuration(f.SessionTTL)
		if err != nil || d < time.Minute {
			errs = append(errs, fmt.Errorf("session_ttl %q: write a duration of at least 1m, such as 720h", f.SessionTTL))
		}
		c.SessionTTL = d
	}
	for i, p := range f.Providers {
		pc := provider.Config{
			Kind: provider.Kind(p.Kind), ID: p.ID, Name: p.Name, IconURL: p.Icon,
			ClientID: p.ClientID, Issuer: p.Issuer,
			AuthURL: p.AuthURL, TokenURL: p.TokenURL, APIURL: p.APIURL, Scopes: p.Scopes,
		}
		pc.ClientSecret = secret(fmt.Sprintf("providers[%d] client_secret", i), p.ClientSecret)
		if err := pc.Validate(); err != nil {
			errs = append(errs, err)
		}
		c.Providers = append(c.Providers, pc)
	}
	if s := f.SMTP; s != nil {
		sc := &mail.Config{Host: s.Host, Port: s.Port, TLS: s.TLS, Username: s.Username, From: s.From}
		sc.Password = string(secret("smtp password", s.Password))
		if s.Timeout != "" {
			d, err := time.ParseDuration(s.Timeout)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("smtp timeout %q: write a duration such as 30s", s.Timeout))
			}
			sc.Timeout = d
		}
		if err := sc.Validate(); err != nil {
			errs = append(errs, err)
		}
		c.SMTP = sc
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("log-in configuration:\n%w", err)
	}
	return c, nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("not valid JSON at byte %d", se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("not valid JSON: it ends too early")
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s must be %s", te.Field, te.Type)
	}
	return err
}

// String summarises the configuration for the log, secrets redacted.
func (c Config) String() string {
	var parts []string
	for _, p := range c.Providers {
		parts = append(parts, p.String())
	}
	if c.SMTP != nil {
		parts = append(parts, "email links via "+c.SMTP.String())
	}
	if len(parts) == 0 {
		return "no log-in providers"
	}
	return strings.Join(parts, "; ")
}
