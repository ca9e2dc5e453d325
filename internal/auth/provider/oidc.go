package provider

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"parley/internal/auth"
)

// oidcProvider is an OpenID Connect provider: Google, or a generic one
// found by discovery from its issuer URL.
type oidcProvider struct {
	base
	conf     oauth2.Config
	prov     *oidc.Provider
	verifier *oidc.IDTokenVerifier
	pkce     bool
	client   *http.Client
}

func newOIDC(ctx context.Context, c Config, client *http.Client) (*oidcProvider, error) {
	issuer := c.Issuer
	if issuer == "" {
		issuer = GoogleIssuer
	}
	prov, err := oidc.NewProvider(oidc.ClientContext(ctx, client), issuer)
	if err != nil {
		return nil, fmt.Errorf("provider %q: discover %s: %w", c.id(), issuer, err)
	}
	var meta struct {
		CodeChallengeMethods []string `json:"code_challenge_methods_supported"`
	}
	if err := prov.Claims(&meta); err != nil {
		return nil, fmt.Errorf("provider %q: read discovery of %s: %w", c.id(), issuer, err)
	}
	scopes := c.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	} else if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	return &oidcProvider{
		base: newBase(c),
		conf: oauth2.Config{
			ClientID:     c.ClientID,
			ClientSecret: string(c.ClientSecret),
			Endpoint:     prov.Endpoint(),
			Scopes:       scopes,
		},
		prov:     prov,
		verifier: prov.Verifier(&oidc.Config{ClientID: c.ClientID}),
		// Use PKCE where the provider says it takes S256.
		pkce:   slices.Contains(meta.CodeChallengeMethods, "S256"),
		client: client,
	}, nil
}

// AuthCodeURL implements auth.Provider.
func (p *oidcProvider) AuthCodeURL(r auth.AuthCodeRequest) string {
	c := p.conf
	c.RedirectURL = r.RedirectURL
	opts := []oauth2.AuthCodeOption{oidc.Nonce(r.Nonce)}
	if p.pkce && r.CodeChallenge != "" {
		opts = append(opts, oauth2.SetAuthURLParam("code_challenge", r.CodeChallenge),
			oauth2.SetAuthURLParam("code_challenge_method", "S256"))
	}
	return c.AuthCodeURL(r.State, opts...)
}

// claims are the standard claims Parley reads, from the ID token or the
// UserInfo endpoint.
type claims struct {
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Email             string   `json:"email"`
	EmailVerified     flexBool `json:"email_verified"`
	Picture           string   `json:"picture"`
	Profile           string   `json:"profile"`
}

// Exchange implements auth.Provider: it trades the code, verifies the ID
// token (signature against the provider's keys, issuer, audience, expiry,
// nonce, and the access-token hash when present), and fills in name and
// email from the UserInfo endpoint when the ID token leaves them out.
func (p *oidcProvider) Exchange(ctx context.Context, r auth.ExchangeRequest) (*auth.Identity, error) {
	ctx = oidc.ClientContext(ctx, p.client)
	c := p.conf
	c.RedirectURL = r.RedirectURL
	var opts []oauth2.AuthCodeOption
	if p.pkce && r.CodeVerifier != "" {
		opts = append(opts, oauth2.VerifierOption(r.CodeVerifier))
	}
	tok, err := c.Exchange(ctx, r.Code, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: exchange code: %w", auth.ErrProvider, p.id, tokenError(err))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("%w: %s: no id_token in the token response", auth.ErrIDToken, p.id)
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", auth.ErrIDToken, p.id, err)
	}
	if r.Nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(r.Nonce)) != 1 {
		return nil, fmt.Errorf("%w: %s: nonce does not match", auth.ErrIDToken, p.id)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", auth.ErrIDToken, p.id, err)
		}
	}
	var cl claims
	if err := idt.Claims(&cl); err != nil {
		return nil, fmt.Errorf("%w: %s: read claims: %w", auth.ErrIDToken, p.id, err)
	}
	if (cl.Name == "" || cl.Email == "") && p.prov.UserInfoEndpoint() != "" {
		// Providers may keep profile claims for the UserInfo endpoint.
		// Its answer counts only for the same subject (OIDC Core 5.3.2).
		if ui, err := p.prov.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil && ui.Subject == idt.Subject {
			var more claims
			if ui.Claims(&more) == nil {
				cl.merge(more)
			}
		}
	}
	name := cl.Name
	if name == "" {
		name = cl.PreferredUsername
	}
	return &auth.Identity{
		Provider:      p.id,
		Subject:       idt.Subject,
		Name:          name,
		Email:         cl.Email,
		EmailVerified: bool(cl.EmailVerified) && cl.Email != "",
		AvatarURL:     cl.Picture,
		ProfileURL:    cl.Profile,
	}, nil
}

func (c *claims) merge(o claims) {
	if c.Name == "" {
		c.Name = o.Name
	}
	if c.PreferredUsername == "" {
		c.PreferredUsername = o.PreferredUsername
	}
	if c.Email == "" {
		c.Email, c.EmailVerified = o.Email, o.EmailVerified
	}
	if c.Picture == "" {
		c.Picture = o.Picture
	}
	if c.Profile == "" {
		c.Profile = o.Profile
	}
}

// flexBool reads a JSON boolean, or the strings "true"/"false" that some
// providers send for email_verified.
type flexBool bool

func (b *flexBool) UnmarshalJSON(p []byte) error {
	var v any
	if err := json.Unmarshal(p, &v); err != nil {
		return err
	}
	switch t := v.(type) {
	case bool:
		*b = flexBool(t)
	case string:
		*b = flexBool(strings.EqualFold(t, "true"))
	default:
		*b = false
	}
	return nil
}
