package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"parley/internal/comment"
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
//	jti     optional  a random id for this token, at most 128 characters
//
// A token logs a reader in once (VerifySSOOnce): a copy of it, taken from
// a cached page or a log, is refused. Its id is jti when the site sends
// one, else its signature; without jti, two page views signed in the
// same second for the same reader carry the same token, and the second
// falls back to the session the first one started. Unknown claims are
// ignored.

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
	ErrSSOReplay    = errors.New("sso token already used")
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
	JTI    string          `json:"jti"`
}

// VerifySSO checks a site SSO token against the site's secret and returns
// the reader it names, with Provider SSOProvider. The signature is checked
// before anything in the token is parsed. Errors: ErrSSONoSecret,
// ErrSSOMalformed, ErrSSOSignature, ErrSSOExpired, ErrSSOTooLong, or an
// error wrapping ErrSSOClaims that names the claim.
func VerifySSO(token string, secret []byte, now time.Time) (*Identity, error) {
	id, _, err := parseSSO(token, secret, now)
	return id, err
}

// VerifySSOOnce is VerifySSO for a token that may log a reader in only
// once: it records the token's id (its jti claim, else the token) in
// once until the token expires, under scope (the site), and returns
// ErrSSOReplay for a token recorded before.
func VerifySSOOnce(ctx context.Context, once OnceStore, scope, token string, secret []byte, now time.Time) (*Identity, error) {
	id, u, err := parseSSO(token, secret, now)
	if err != nil {
		return nil, err
	}
	tokenID := "jti:" + u.jti
	if u.jti == "" {
		// The signature, not the token as sent: base64 padding may vary.
		tokenID = "mac:" + string(u.mac)
	}
	sum := sha256.Sum256([]byte(scope + "\x00" + tokenID))
	err = once.UseOnce(ctx, "sso:"+b64.EncodeToString(sum[:24]), u.expires)
	if errors.Is(err, comment.ErrConflict) {
		return nil, ErrSSOReplay
	}
	if err != nil {
		return nil, fmt.Errorf("remember sso token: %w", err)
	}
	return id, nil
}

// ssoUse is what VerifySSOOnce needs of a token beyond its reader.
type ssoUse struct {
	jti     string
	mac     []byte
	expires time.Time
}

func parseSSO(token string, secret []byte, now time.Time) (*Identity, ssoUse, error) {
	var none ssoUse
	if len(secret) < MinSecretLen {
		return nil, none, ErrSSONoSecret
	}
	if len(token) > maxSSOLen {
		return nil, none, ErrSSOMalformed
	}
	payload, sig, ok := strings.Cut(strings.TrimSpace(token), ".")
	if !ok || payload == "" || strings.Contains(sig, ".") {
		return nil, none, ErrSSOMalformed
	}
	got, err := b64.DecodeString(strings.TrimRight(sig, "="))
	if err != nil || len(got) != sha256.Size {
		return nil, none, ErrSSOMalformed
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(payload))
	if !hmac.Equal(got, m.Sum(nil)) {
		return nil, none, ErrSSOSignature
	}
	raw, err := b64.DecodeString(strings.TrimRight(payload, "="))
	if err != nil {
		return nil, none, ErrSSOMalformed
	}
	var c ssoClaims
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&c); err != nil {
		return nil, none, ErrSSOMalformed
	}
	if c.Exp == nil {
		return nil, none, fmt.Errorf("%w: exp is missing", ErrSSOClaims)
	}
	exp, err := c.Exp.Int64()
	if err != nil {
		f, ferr := c.Exp.Float64()
		if ferr != nil || f < 0 || f > 1<<53 {
			return nil, none, fmt.Errorf("%w: exp is not a time", ErrSSOClaims)
		}
		exp = int64(f)
	}
	if now.Unix() >= exp {
		return nil, none, ErrSSOExpired
	}
	if exp-now.Unix() > int64(SSOMaxLifetime/time.Second) {
		return nil, none, ErrSSOTooLong
	}
	id, err := ssoID(c.ID)
	if err != nil {
		return nil, none, err
	}
	name := strings.TrimSpace(c.Name)
	switch {
	case name == "":
		return nil, none, fmt.Errorf("%w: name is missing", ErrSSOClaims)
	case len(name) > 200:
		return nil, none, fmt.Errorf("%w: name is longer than 200 characters", ErrSSOClaims)
	case strings.ContainsAny(name, "\x00\r\n"):
		return nil, none, fmt.Errorf("%w: name has control characters", ErrSSOClaims)
	}
	i := &Identity{Provider: SSOProvider, Subject: id, Name: name}
	if c.Email != "" {
		if i.Email, err = NormalizeEmail(c.Email); err != nil {
			return nil, none, fmt.Errorf("%w: email is not an address", ErrSSOClaims)
		}
	}
	if c.Avatar != "" {
		if !absoluteHTTP(c.Avatar) {
			return nil, none, fmt.Errorf("%w: avatar is not an http(s) URL", ErrSSOClaims)
		}
		i.AvatarURL = c.Avatar
	}
	if c.URL != "" {
		if !absoluteHTTP(c.URL) {
			return nil, none, fmt.Errorf("%w: url is not an http(s) URL", ErrSSOClaims)
		}
		i.ProfileURL = c.URL
	}
	if len(c.JTI) > 128 || strings.ContainsAny(c.JTI, "\x00\r\n") {
		return nil, none, fmt.Errorf("%w: jti is longer than 128 characters or has control characters", ErrSSOClaims)
	}
	return i, ssoUse{jti: c.JTI, mac: got, expires: time.Unix(exp, 0)}, nil
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
	// TokenID is the token's jti; SignSSO makes a random one if empty, so
	// every token it signs is new.
	TokenID string
}

// SignSSO makes a site SSO token: what a site written in Go does, and what
// tests use.
func SignSSO(u SSOUser, secret []byte) (string, error) {
	if len(secret) < MinSecretLen {
		return "", ErrSSONoSecret
	}
	if u.TokenID == "" {
		r := make([]byte, 16)
		rand.Read(r)
		u.TokenID = b64.EncodeToString(r)
	}
	b, err := json.Marshal(map[string]any{"id": u.ID, "name": u.Name, "email": u.Email,
		"avatar": u.Avatar, "url": u.URL, "exp": u.Expires.Unix(), "jti": u.TokenID})
	if err != nil {
		return "", err
	}
	p := b64.EncodeToString(b)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(p))
	return p + "." + b64.EncodeToString(m.Sum(nil)), nil
}
