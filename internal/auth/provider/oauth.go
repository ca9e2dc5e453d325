package provider

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"parley/internal/auth"
)

// oauthProvider is a plain OAuth 2.0 provider: authorization code (with
// PKCE where the provider takes it), then the provider's API says who the
// reader is.
type oauthProvider struct {
	base
	conf   oauth2.Config
	pkce   bool
	api    string
	client *http.Client
	secret auth.Secret
	me     func(ctx context.Context, p *oauthProvider, tok *oauth2.Token) (*auth.Identity, error)
}

func newOAuth(c Config, client *http.Client) *oauthProvider {
	d := Defaults[c.Kind]
	pick := func(v, def string) string {
		if v != "" {
			return v
		}
		return def
	}
	p := &oauthProvider{
		base:   newBase(c),
		api:    strings.TrimRight(pick(c.APIURL, d.APIURL), "/"),
		client: client,
		secret: c.ClientSecret,
		conf: oauth2.Config{
			ClientID:     c.ClientID,
			ClientSecret: string(c.ClientSecret),
			Endpoint:     oauth2.Endpoint{AuthURL: pick(c.AuthURL, d.AuthURL), TokenURL: pick(c.TokenURL, d.TokenURL)},
			Scopes:       c.Scopes,
		},
	}
	switch c.Kind {
	case Facebook:
		// Facebook's PKCE support for manual flows is still marked as
		// testing; state and the app secret protect the code.
		p.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		p.defaultScopes("public_profile", "email")
		p.me = facebookMe
	case X:
		// X requires PKCE, and HTTP Basic client authentication for
		// confidential clients.
		p.pkce = true
		p.conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		p.defaultScopes("users.read", "tweet.read")
		p.me = xMe
	case GitHub:
		// GitHub takes PKCE (S256) since July 2025.
		p.pkce = true
		p.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		p.defaultScopes("read:user", "user:email")
		p.me = githubMe
	case WordPress:
		// scope "auth" allows /me and nothing else.
		p.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		p.defaultScopes("auth")
		p.me = wordpressMe
	}
	return p
}

func (p *oauthProvider) defaultScopes(s ...string) {
	if len(p.conf.Scopes) == 0 {
		p.conf.Scopes = s
	}
}

// AuthCodeURL implements auth.Provider.
func (p *oauthProvider) AuthCodeURL(r auth.AuthCodeRequest) string {
	c := p.conf
	c.RedirectURL = r.RedirectURL
	var opts []oauth2.AuthCodeOption
	if p.pkce && r.CodeChallenge != "" {
		opts = append(opts, oauth2.SetAuthURLParam("code_challenge", r.CodeChallenge),
			oauth2.SetAuthURLParam("code_challenge_method", "S256"))
	}
	return c.AuthCodeURL(r.State, opts...)
}

// Exchange implements auth.Provider.
func (p *oauthProvider) Exchange(ctx context.Context, r auth.ExchangeRequest) (*auth.Identity, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.client)
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
	id, err := p.me(ctx, p, tok)
	if err != nil {
		return nil, err
	}
	id.Provider = p.id
	return id, nil
}

// tokenError keeps the useful part of a token endpoint's refusal: its
// error code, not the response body (which may echo what was sent).
func tokenError(err error) error {
	if re, ok := err.(*oauth2.RetrieveError); ok && re.ErrorCode != "" {
		return fmt.Errorf("%s (status %d)", re.ErrorCode, re.Response.StatusCode)
	}
	return err
}

// facebookMe asks the Graph API who the reader is, with the token as the
// access_token parameter as Facebook documents, and appsecret_proof,
// which Facebook requires when an app turns on "Require App Secret".
// Facebook does not say whether the email was confirmed.
func facebookMe(ctx context.Context, p *oauthProvider, tok *oauth2.Token) (*auth.Identity, error) {
	m := hmac.New(sha256.New, []byte(p.secret))
	m.Write([]byte(tok.AccessToken))
	q := url.Values{"fields": {"id,name,email,picture"}, "access_token": {tok.AccessToken},
		"appsecret_proof": {hex.EncodeToString(m.Sum(nil))}}
	var me struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Email   string `json:"email"`
		Picture struct {
			Data struct {
				URL          string `json:"url"`
				IsSilhouette bool   `json:"is_silhouette"`
			} `json:"data"`
		} `json:"picture"`
	}
	if err := getJSON(ctx, p.client, p.id, p.api+"/me?"+q.Encode(), "", nil, &me); err != nil {
		return nil, err
	}
	id := &auth.Identity{Subject: me.ID, Name: me.Name, Email: me.Email}
	if !me.Picture.Data.IsSilhouette {
		id.AvatarURL = me.Picture.Data.URL
	}
	return id, nil
}

// xMe asks X API v2 who the reader is. X gives no email for these scopes.
func xMe(ctx context.Context, p *oauthProvider, tok *oauth2.Token) (*auth.Identity, error) {
	var me struct {
		Data struct {
			ID              string `json:"id"`
			Name            string `json:"name"`
			Username        string `json:"username"`
			ProfileImageURL string `json:"profile_image_url"`
		} `json:"data"`
	}
	if err := getJSON(ctx, p.client, p.id, p.api+"/users/me?user.fields=profile_image_url", tok.AccessToken, nil, &me); err != nil {
		return nil, err
	}
	d := me.Data
	id := &auth.Identity{Subject: d.ID, Name: d.Name, AvatarURL: d.ProfileImageURL}
	if id.Name == "" {
		id.Name = d.Username
	}
	if d.Username != "" {
		id.ProfileURL = "https://x.com/" + url.PathEscape(d.Username)
	}
	return id, nil
}

var githubHeader = http.Header{
	"Accept":               {"application/vnd.github+json"},
	"X-Github-Api-Version": {"2022-11-28"},
}

// githubMe asks the GitHub REST API who the reader is, and takes the
// primary verified address from /user/emails (the profile's public email
// may be unset or unverified).
func githubMe(ctx context.Context, p *oauthProvider, tok *oauth2.Token) (*auth.Identity, error) {
	var u struct {
		ID        int64  `json:"id"`
		Login     string `json:"login"`
		Name      string `json:"name"`
		Email     string `json:"email"`
		AvatarURL string `json:"avatar_url"`
		HTMLURL   string `json:"html_url"`
	}
	if err := getJSON(ctx, p.client, p.id, p.api+"/user", tok.AccessToken, githubHeader, &u); err != nil {
		return nil, err
	}
	if u.ID == 0 {
		return nil, fmt.Errorf("%w: %s: /user has no id", auth.ErrProvider, p.id)
	}
	id := &auth.Identity{Subject: strconv.FormatInt(u.ID, 10), Name: u.Name, AvatarURL: u.AvatarURL, ProfileURL: u.HTMLURL}
	if id.Name == "" {
		id.Name = u.Login
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := getJSON(ctx, p.client, p.id, p.api+"/user/emails", tok.AccessToken, githubHeader, &emails); err == nil {
		for _, e := range emails {
			if e.Primary && e.Verified {
				id.Email, id.EmailVerified = e.Email, true
				break
			}
		}
	}
	if id.Email == "" {
		// Without the user:email scope, or with no verified address,
		// the public profile email is all there is; GitHub does not say
		// it was confirmed.
		id.Email = u.Email
	}
	return id, nil
}

// wordpressMe asks the WordPress.com REST API who the reader is.
func wordpressMe(ctx context.Context, p *oauthProvider, tok *oauth2.Token) (*auth.Identity, error) {
	var me struct {
		ID            json.Number `json:"ID"`
		DisplayName   string      `json:"display_name"`
		Username      string      `json:"username"`
		Email         string      `json:"email"`
		EmailVerified bool        `json:"email_verified"`
		AvatarURL     string      `json:"avatar_URL"`
		ProfileURL    string      `json:"profile_URL"`
	}
	if err := getJSON(ctx, p.client, p.id, p.api+"/me", tok.AccessToken, nil, &me); err != nil {
		return nil, err
	}
	id := &auth.Identity{Subject: me.ID.String(), Name: me.DisplayName, Email: me.Email,
		EmailVerified: me.EmailVerified && me.Email != "", AvatarURL: me.AvatarURL, ProfileURL: me.ProfileURL}
	if id.Name == "" {
		id.Name = me.Username
	}
	return id, nil
}
