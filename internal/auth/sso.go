package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Site SSO lets a site with its own accounts log its reader in to Parley.
// The site's server signs a short-lived token with the site's SSO secret
// and hands it to the widget (data-sso="TOKEN"):
//
//	token   = base64url(claims) "." base64url(HMAC-SHA256(secret, base64url(claims)))
//	claims  = {"id":"42","name":"Jane Doe","email":"jane@example.com",
//	           "avatar":"https://example.com/jane.png","url":"https://example.com/u/jane",
//	           "exp":1767225600}
//
// base64url is RFC 4648 §5 without padding (padding is tolerated). The
// MAC is over the first part exactly as sent, as ASCII. Claims:
//
//	id      required  the reader's id on the site: a string, or a whole number
//	name    required  display name, at most 200 characters
//	email   optional  private, for notifications; never shown
//	avatar  optional  http(s) URL of a picture, fetched and served by Parley
//	url     optional  http(s) URL of the reader's profile
//	exp     required  expiry, Unix seconds; at most SSOMaxLifetime ahead
//
// Unknown claims are ignored.

// SSOProvider is the Identity.Provider VerifySSO returns. Ids are only
// unique within one site, so the caller should scope the provider to the
// site (SSOProviderFor) before storing the identity.
const SSOProvider = "sso"

// SSOProviderFor returns the provider id of a site's own accounts,
// "sso-SITEID".
func SSOProviderFor(siteID string) string { return SSOProvider + "-" + siteID }

// SSOMaxLifetime is how far in the future an SSO token may expire: such
// tokens are meant to be minted per page view, not kept.
const SSOMaxLifetime = time.Hour

// Errors of site SSO tokens.
var (
	ErrSSOMalformed = errors.New("sso token malformed")
	ErrSSOSignature = errors.New("sso token signature does not match")
	ErrSSOExpired   = errors.New("sso token expired")
	ErrSSOTooLong   = errors.New("sso token expires too far in the future (more than 1 hour)")
	ErrSSOClaims    = errors.New("sso token claims not valid")
	ErrSSONoSecret  = errors.New("sso secret missing or shorter than 16 bytes")
)

const maxSSOLen = 8192

// ssoClaims is the token's payload.
type ssoClaims struct {
	ID     json.RawMessage `json:"id"`
	Name   string          `json:"name"`
	Email  string          `json:"email"`
	Avatar string          `json:"avatar"`
	URL    string          `json:"url"`
	Exp    *json.Number    `json:"exp"`
}

// VerifySSO checks a site SSO token against the site's secret and returns
// the reader it names, with Provider SSOProvider. The signature is checked
// before anything in the token is parsed. Errors: ErrSSONoSecret,
// ErrSSOMalformed, ErrSSOSignature, ErrSSOExpired, ErrSSOTooLong, or an
// error wrapping ErrSSOClaims that names the claim.
func VerifySSO(token string, secret []byte, now time.Time) (*Identity, error) {
	if len(secret) < MinSecretLen {
		return nil, ErrSSONoSecret
	}
	if len(token) > maxSSOLen {
		return nil, ErrSSOMalformed
	}
	payload, sig, ok := strings.Cut(strings.TrimSpace(token), ".")
	if !ok || payload == "" || strings.Contains(sig, ".") {
		return nil, ErrSSOMalformed
	}
	got, err := b64.DecodeString(strings.TrimRight(sig, "="))
	if err != nil || len(got) != sha256.Size {
		return nil, ErrSSOMalformed
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(payload))
	if !hmac.Equal(got, m.Sum(nil)) {
		return nil, ErrSSOSignature
	}
	raw, err := b64.DecodeString(strings.TrimRight(payload, "="))
	if err != nil {
		return nil, ErrSSOMalformed
	}
	var c ssoClaims
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&c); err != nil {
		return nil, ErrSSOMalformed
	}
	if c.Exp == nil {
		return nil, fmt.Errorf("%w: exp is missing", ErrSSOClaims)
	}
	exp, err := c.Exp.Int64()
	if err != nil {
		f, ferr := c.Exp.Float64()
		if ferr != nil || f < 0 || f > 1<<53 {
			return nil, fmt.Errorf("%w: exp is not a time", ErrSSOClaims)
		}
		exp = int64(f)
	}
	if now.Unix() >= exp {
		return nil, ErrSSOExpired
	}
	if exp-now.Unix() > int64(SSOMaxLifetime/time.Second) {
		return nil, ErrSSOTooLong
	}
	id, err := ssoID(c.ID)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(c.Name)
	switch {
	case name == "":
		return nil, fmt.Errorf("%w: name is missing", ErrSSOClaims)
	case len(name) > 200:
		return nil, fmt.Errorf("%w: name is longer than 200 characters", ErrSSOClaims)
	case strings.ContainsAny(name, "\x00\r\n"):
		return nil, fmt.Errorf("%w: name has control characters", ErrSSOClaims)
	}
	i := &Identity{Provider: SSOProvider, Subject: id, Name: name}
	if c.Email != "" {
		if i.Email, err = NormalizeEmail(c.Email); err != nil {
			return nil, fmt.Errorf("%w: email is not an address", ErrSSOClaims)
		}
	}
	if c.Avatar != "" {
		if !absoluteHTTP(c.Avatar) {
			return nil, fmt.Errorf("%w: avatar is not an http(s) URL", ErrSSOClaims)
		}
		i.AvatarURL = c.Avatar
	}
	if c.URL != "" {
		if !absoluteHTTP(c.URL) {
			return nil, fmt.Errorf("%w: url is not an http(s) URL", ErrSSOClaims)
		}
		i.ProfileURL = c.URL
	}
	return i, nil
}

// ssoID reads the id claim, a non-empty string or a whole number.
func ssoID(raw json.RawMessage) (string, error) {
	var s string
	if len(raw) == 0 || string(raw) == "null" {
		return "", fmt.Errorf("%w: id is missing", ErrSSOClaims)
	}
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("%w: id is not a string", ErrSSOClaims)
		}
	} else {
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return "", fmt.Errorf("%w: id must be a string or a whole number", ErrSSOClaims)
		}
		s = strconv.FormatInt(n, 10)
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", fmt.Errorf("%w: id is missing", ErrSSOClaims)
	case len(s) > 256:
		return "", fmt.Errorf("%w: id is longer than 256 bytes", ErrSSOClaims)
	case strings.ContainsAny(s, "\x00\r\n"):
		return "", fmt.Errorf("%w: id has control characters", ErrSSOClaims)
	}
	return s, nil
}

// SSOUser is what a site puts in an SSO token (see VerifySSO).
type SSOUser struct {
	ID      string
	Name    string
	Email   string
	Avatar  string
	URL     string
	Expires time.Time
}

// SignSSO makes a site SSO token: what a site written in Go does, and what
// tests use.
func SignSSO(u SSOUser, secret []byte) (string, error) {
	if len(secret) < MinSecretLen {
		return "", ErrSSONoSecret
	}
	b, err := json.Marshal(map[string]any{"id": u.ID, "name": u.Name, "email": u.Email,
		"avatar": u.Avatar, "url": u.URL, "exp": u.Expires.Unix()})
	if err != nil {
		return "", err
	}
	p := b64.EncodeToString(b)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(p))
	return p + "." + b64.EncodeToString(m.Sum(nil)), nil
}
