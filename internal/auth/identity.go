package auth

import (
	"context"
	"log/slog"
)

// Identity is a reader as a log-in provider (or an email link, or a site's
// own accounts) vouches for them. Email is private: it must never reach a
// public response or a log line.
type Identity struct {
	// Provider is the id of the provider that vouched: "google", "github",
	// a configured generic OpenID Connect id, "email", or "sso".
	Provider string
	// Subject is the provider's stable id for the reader. It never changes
	// when the reader renames themselves or changes their email.
	Subject       string
	Name          string
	Email         string // private
	EmailVerified bool   // the provider says it confirmed Email
	// AvatarURL is the provider's picture. Readers' browsers must not load
	// it; Parley fetches it with AvatarFetcher and serves its own copy.
	AvatarURL  string
	ProfileURL string
}

// Key returns "provider:subject", the form comment.Author.Identity stores
// and SessionStore.DeleteSessions takes.
func (i Identity) Key() string { return i.Provider + ":" + i.Subject }

// LogValue logs the provider and subject only, never the name or email.
func (i Identity) LogValue() slog.Value {
	return slog.GroupValue(slog.String("provider", i.Provider), slog.String("subject", i.Subject))
}

// Provider is an outside service readers log in with: OAuth 2.0 with an
// API that says who the reader is, or OpenID Connect. The implementations
// are in the provider sub-package; Flow drives them.
type Provider interface {
	// ID is the provider's short, stable name, used in routes and in
	// Identity.Provider: "google", "facebook", "x", "github", "wordpress",
	// or the id configured for a generic OpenID Connect provider.
	ID() string
	// Name is what readers see: "Google", "WordPress.com", ...
	Name() string
	// IconURL is an operator-configured icon for a generic provider, or
	// "" for the built-in ones, whose icons the widget carries. Like an
	// avatar, it must be fetched and served by Parley, not by the reader.
	IconURL() string
	// AuthCodeURL returns the provider's authorization URL to send the
	// reader's browser to.
	AuthCodeURL(r AuthCodeRequest) string
	// Exchange trades the code the provider sent back for the reader's
	// identity. It returns an error wrapping ErrProvider when the provider
	// refuses or answers something unusable, and ErrIDToken when an
	// OpenID Connect ID token fails verification (signature, issuer,
	// audience, expiry or nonce).
	Exchange(ctx context.Context, r ExchangeRequest) (*Identity, error)
}

// AuthCodeRequest is what a provider needs to build its authorization URL.
type AuthCodeRequest struct {
	RedirectURL string // Parley's callback for this provider, registered with it
	State       string
	// Nonce goes into OpenID Connect requests and comes back in the ID
	// token; plain OAuth 2.0 providers ignore it.
	Nonce string
	// CodeChallenge is the PKCE S256 challenge; providers that do not
	// support PKCE leave it out of the URL.
	CodeChallenge string
}

// ExchangeRequest is what a provider needs to trade a code for an identity.
type ExchangeRequest struct {
	RedirectURL  string // the same URL the authorization request carried
	Code         string
	CodeVerifier string // PKCE verifier; ignored where PKCE is not used
	Nonce        string // the nonce the ID token must carry (OpenID Connect)
}

// Secret is a configuration value that must never be printed: fmt, slog
// and encoding/json all show it as "[redacted]". Convert it with string()
// only where the value is really used.
type Secret string

const redacted = "[redacted]"

// String returns "[redacted]" (or "" when the secret is empty).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts the secret for %#v.
func (s Secret) GoString() string { return `auth.Secret("` + s.String() + `")` }

// LogValue redacts the secret in structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts the secret when a configuration is encoded for display.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
