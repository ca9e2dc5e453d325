// Package provider implements the OAuth 2.0 and OpenID Connect log-in
// providers behind auth.Provider: Google and any number of generic OpenID
// Connect providers (discovery and ID-token verification with
// github.com/coreos/go-oidc), and Facebook, X, GitHub and WordPress.com
// (OAuth 2.0 with golang.org/x/oauth2, then each one's API for who the
// reader is).
//
// cmd/parley builds the providers once with New from the configuration
// and hands them to auth.NewFlow. Every endpoint can be overridden in
// Config, which is how the tests point them at local servers.
package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"parley/internal/auth"
)

// Kind is a provider implementation.
type Kind string

// The provider kinds Parley knows.
const (
	Google    Kind = "google"
	Facebook  Kind = "facebook"
	X         Kind = "x"
	GitHub    Kind = "github"
	WordPress Kind = "wordpress" // WordPress.com
	OIDC      Kind = "oidc"      // any OpenID Connect provider, by issuer URL
)

// Config configures one provider. Kind, ClientID and ClientSecret are
// always required; an OIDC provider also needs ID, Name and Issuer.
type Config struct {
	Kind Kind
	// ID names the provider in routes and identities; it defaults to the
	// kind. Lower-case letters, digits and "-", at most 32.
	ID string
	// Name is what readers see; it defaults to the provider's own name.
	Name string
	// IconURL is an icon for a generic provider (served through Parley).
	IconURL      string
	ClientID     string
	ClientSecret auth.Secret
	// Issuer is the OpenID Connect issuer (Google: https://accounts.google.com).
	Issuer string
	// AuthURL, TokenURL and APIURL override a plain OAuth 2.0 provider's
	// endpoints; APIURL is the base its user endpoints hang off. The
	// defaults are the providers' published ones (see Defaults).
	AuthURL  string
	TokenURL string
	APIURL   string
	// Scopes replaces the default scopes.
	Scopes []string
}

// String describes the configuration with the client secret redacted.
func (c Config) String() string {
	return fmt.Sprintf("%s provider %q (client id %q, client secret %s, issuer %q)",
		c.Kind, c.id(), c.ClientID, c.ClientSecret, c.Issuer)
}

// LogValue logs the configuration with the client secret redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", string(c.Kind)), slog.String("id", c.id()),
		slog.String("client_id", c.ClientID), slog.String("client_secret", c.ClientSecret.String()),
		slog.String("issuer", c.Issuer))
}

func (c Config) id() string {
	if c.ID != "" {
		return c.ID
	}
	return string(c.Kind)
}

// Endpoints are a plain OAuth 2.0 provider's addresses.
type Endpoints struct {
	AuthURL, TokenURL, APIURL string
}

// Defaults are the providers' published endpoints, and Google's issuer.
var Defaults = map[Kind]Endpoints{
	// Facebook Login "manually build a login flow" and the Graph API. A
	// version that has been retired is answered by the oldest live one.
	Facebook: {
		AuthURL:  "https://www.facebook.com/v23.0/dialog/oauth",
		TokenURL: "https://graph.facebook.com/v23.0/oauth/access_token",
		APIURL:   "https://graph.facebook.com/v23.0",
	},
	// X API v2, OAuth 2.0 authorization code flow with PKCE.
	X: {
		AuthURL:  "https://x.com/i/oauth2/authorize",
		TokenURL: "https://api.x.com/2/oauth2/token",
		APIURL:   "https://api.x.com/2",
	},
	// GitHub OAuth apps.
	GitHub: {
		AuthURL:  "https://github.com/login/oauth/authorize",
		TokenURL: "https://github.com/login/oauth/access_token",
		APIURL:   "https://api.github.com",
	},
	// WordPress.com OAuth2 and REST API v1.1.
	WordPress: {
		AuthURL:  "https://public-api.wordpress.com/oauth2/authorize",
		TokenURL: "https://public-api.wordpress.com/oauth2/token",
		APIURL:   "https://public-api.wordpress.com/rest/v1.1",
	},
}

// GoogleIssuer is Google's OpenID Connect issuer.
const GoogleIssuer = "https://accounts.google.com"

var displayNames = map[Kind]string{
	Google: "Google", Facebook: "Facebook", X: "X", GitHub: "GitHub", WordPress: "WordPress.com",
}

var validID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// reserved ids belong to log-ins that are not providers.
var reserved = map[string]bool{auth.EmailProvider: true, auth.SSOProvider: true}

// Validate reports everything wrong with c at once.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s provider %q: "+format, append([]any{c.Kind, c.id()}, a...)...))
	}
	switch c.Kind {
	case Google, Facebook, X, GitHub, WordPress:
	case OIDC:
		if c.ID == "" {
			add("an id is required for a generic OpenID Connect provider")
		}
		if c.Name == "" {
			add("a display name is required for a generic OpenID Connect provider")
		}
		if c.Issuer == "" {
			add("the issuer URL is missing")
		}
	case "":
		errs = append(errs, errors.New("provider: kind is missing"))
		return errors.Join(errs...)
	default:
		errs = append(errs, fmt.Errorf("provider: unknown kind %q (google, facebook, x, github, wordpress or oidc)", c.Kind))
		return errors.Join(errs...)
	}
	if id := c.id(); !validID.MatchString(id) || strings.HasPrefix(id, auth.SSOProvider+"-") || reserved[id] {
		add("the id must be lower-case letters, digits and \"-\" (at most 32), and not email or sso")
	}
	if c.ClientID == "" {
		add("the client id is missing")
	}
	if c.ClientSecret == "" {
		add("the client secret is missing")
	}
	for name, u := range map[string]string{"issuer": c.Issuer, "auth URL": c.AuthURL, "token URL": c.TokenURL, "API URL": c.APIURL, "icon URL": c.IconURL} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			add("the %s %q is not an http(s) URL", name, u)
		}
	}
	return errors.Join(errs...)
}

// DefaultClient is used when New is given no HTTP client: every call to a
// provider is bounded.
var DefaultClient = &http.Client{Timeout: 15 * time.Second}

// New validates every configuration (reporting all mistakes at once) and
// builds the providers, in order. OpenID Connect providers are discovered
// now, with ctx and client; an unreachable issuer is an error naming it.
// client may be nil (DefaultClient).
func New(ctx context.Context, cfgs []Config, client *http.Client) ([]auth.Provider, error) {
	if client == nil {
		client = DefaultClient
	}
	var errs []error
	seen := map[string]bool{}
	for _, c := range cfgs {
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[c.id()] {
			errs = append(errs, fmt.Errorf("provider %q: configured twice", c.id()))
		}
		seen[c.id()] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	out := make([]auth.Provider, 0, len(cfgs))
	for _, c := range cfgs {
		var p auth.Provider
		var err error
		switch c.Kind {
		case Google, OIDC:
			p, err = newOIDC(ctx, c, client)
		default:
			p = newOAuth(c, client)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// base is what every provider has.
type base struct {
	id, name, icon string
}

func (b base) ID() string      { return b.id }
func (b base) Name() string    { return b.name }
func (b base) IconURL() string { return b.icon }

func newBase(c Config) base {
	b := base{id: c.id(), name: c.Name, icon: c.IconURL}
	if b.name == "" {
		b.name = displayNames[c.Kind]
	}
	return b
}

// maxAPIBody bounds what Parley reads from a provider's API.
const maxAPIBody = 1 << 20

// getJSON fetches url, with the access token as a bearer token unless
// token is empty, and decodes the JSON answer into v. Errors wrap
// auth.ErrProvider and name only the URL's path, never its query (which
// may hold a token).
func getJSON(ctx context.Context, client *http.Client, providerID, rawURL, token string, header http.Header, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return fmt.Errorf("%w: %s: bad API URL", auth.ErrProvider, providerID)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("User-Agent", "Parley")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return fmt.Errorf("%w: %s: get %s: %w", auth.ErrProvider, providerID, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody))
	if err != nil {
		return fmt.Errorf("%w: %s: read %s: %w", auth.ErrProvider, providerID, req.URL.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: %s: get %s: status %d", auth.ErrProvider, providerID, req.URL.Path, resp.StatusCode)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %s: decode %s: %w", auth.ErrProvider, providerID, req.URL.Path, err)
	}
	return nil
}
