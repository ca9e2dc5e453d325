// Package memop is an OpenID Connect provider's storage held in memory:
// what github.com/zitadel/oidc/v3/pkg/op (OpenID Foundation certified,
// Apache-2.0) needs for the authorization code flow with PKCE, for one
// registered client and a fixed set of accounts. It serves two providers
// that live inside a process: the one tests log in with (package
// authtest) and "Demo ID" of parley serve --demo (package demo). Neither
// keeps anything across restarts, and neither is meant for real accounts.
package memop

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Errors of a log-in at the provider's own page.
var (
	ErrNoRequest = errors.New("log-in request not found")
	ErrBadLogin  = errors.New("wrong username or password")
)

// User is an account at the provider.
type User struct {
	ID       string // the subject ("sub") the provider reports
	Username string // typed on a login page; unique
	Password string
	Name     string
	Email    string
	// EmailVerified is reported as the email_verified claim.
	EmailVerified bool
	// Picture is reported as the picture claim as is: any URL, or empty
	// for none.
	Picture string
}

// Client is the provider's registration of its one client (Parley).
type Client struct {
	ID, Secret   string
	RedirectURIs []string
	// ClaimsInIDToken puts name, email and picture in the ID token. When
	// false the provider keeps them for its UserInfo endpoint, as many
	// providers do.
	ClaimsInIDToken bool
	// LoginPath is the provider's own login page, to which the request id
	// is appended ("/login?authRequestID=").
	LoginPath string
}

// requestTTL is how long an authorization request may wait for its
// log-in, and a code for its exchange: then it is forgotten, so a
// long-running provider does not grow.
const requestTTL = 10 * time.Minute

// Storage is the in-memory op.Storage the provider needs.
type Storage struct {
	key   func() *rsa.PrivateKey
	keyID string
	// client and users are set by New and not changed after, except the
	// client's redirect URIs, which have their own lock.
	client *client
	users  map[string]User // by username

	mu       sync.Mutex
	requests map[string]*authRequest
	codes    map[string]string // code -> request id
	tokens   map[string]*token
}

// New returns the storage of a provider that signs with key, has the one
// client c, and the accounts users (usernames and ids must be unique).
// A nil key is made on first use: an RSA key takes 20 to 100 ms to make,
// which a server starting with the demo's provider need not wait for.
func New(key *rsa.PrivateKey, c Client, users []User) (*Storage, error) {
	if c.LoginPath == "" {
		c.LoginPath = "/login?authRequestID="
	}
	keyFn := func() *rsa.PrivateKey { return key }
	if key == nil {
		keyFn = sync.OnceValue(func() *rsa.PrivateKey {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic("memop: making a signing key: " + err.Error()) // crypto/rand does not fail
			}
			return k
		})
	}
	s := &Storage{
		key:      keyFn,
		keyID:    "key-1",
		client:   &client{id: c.ID, secret: c.Secret, redirectURIs: slices.Clone(c.RedirectURIs), claimsInIDToken: c.ClaimsInIDToken, loginPath: c.LoginPath},
		users:    map[string]User{},
		requests: map[string]*authRequest{},
		codes:    map[string]string{},
		tokens:   map[string]*token{},
	}
	for _, u := range users {
		if u.ID == "" || u.Username == "" {
			return nil, fmt.Errorf("memop: user %+v needs an ID and a username", u)
		}
		if _, dup := s.users[u.Username]; dup {
			return nil, fmt.Errorf("memop: two users named %q", u.Username)
		}
		s.users[u.Username] = u
	}
	return s, nil
}

// NewProvider returns the OpenID provider for s at issuer, over plain
// HTTP (these providers run on loopback addresses), with S256 PKCE and
// client_secret_post as well as client_secret_basic.
func NewProvider(issuer string, s *Storage, log *slog.Logger) (*op.Provider, error) {
	var cryptoKey [32]byte
	rand.Read(cryptoKey[:])
	return op.NewProvider(&op.Config{
		CryptoKey:      cryptoKey,
		CodeMethodS256: true,
		AuthMethodPost: true,
	}, s, op.StaticIssuer(issuer), op.WithAllowInsecure(), op.WithLogger(log))
}

type token struct {
	subject string
	scopes  []string
	expires time.Time
}

var (
	_ op.Storage                   = (*Storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*Storage)(nil)
)

// ClientID and ClientSecret are the registered client's credentials.
func (s *Storage) ClientID() string     { return s.client.id }
func (s *Storage) ClientSecret() string { return s.client.secret }

// AllowRedirect registers one more redirect URI for the client.
func (s *Storage) AllowRedirect(uri string) { s.client.allowRedirect(uri) }

// Users returns the accounts, in no particular order.
func (s *Storage) Users() []User {
	out := make([]User, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u)
	}
	return out
}

// HasRequest reports whether an authorization request waits for its log-in.
func (s *Storage) HasRequest(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.requests[id]
	return ok
}

// CheckLogin logs the user in for request id if the password is theirs.
func (s *Storage) CheckLogin(id, username, password string) error {
	u, ok := s.users[username]
	if !ok || u.Password != password {
		if !s.HasRequest(id) {
			return ErrNoRequest
		}
		return ErrBadLogin
	}
	return s.Choose(id, username)
}

// Choose logs the user named username in for request id, with no
// password: a demo provider's "pick a reader".
func (s *Storage) Choose(id, username string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	req, ok := s.requests[id]
	if !ok {
		return ErrNoRequest
	}
	u, ok := s.users[username]
	if !ok {
		return ErrBadLogin
	}
	req.subject, req.done, req.authTime = u.ID, true, time.Now()
	return nil
}

// prune forgets requests and tokens past their time; s.mu is held.
func (s *Storage) prune(now time.Time) {
	for id, r := range s.requests {
		if now.Sub(r.created) > requestTTL {
			delete(s.requests, id)
		}
	}
	for code, id := range s.codes {
		if _, ok := s.requests[id]; !ok {
			delete(s.codes, code)
		}
	}
	for id, t := range s.tokens {
		if now.After(t.expires) {
			delete(s.tokens, id)
		}
	}
}

func (s *Storage) userByID(id string) (User, bool) {
	for _, u := range s.users {
		if u.ID == id {
			return u, true
		}
	}
	return User{}, false
}

func (s *Storage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(time.Now())
	req := &authRequest{id: rand.Text(), r: *r, subject: userID, created: time.Now()}
	s.requests[req.id] = req
	return req, nil
}

func (s *Storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req, ok := s.requests[id]; ok {
		return req, nil
	}
	return nil, errors.New("auth request not found")
}

func (s *Storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	id, ok := s.codes[code]
	s.mu.Unlock()
	if !ok {
		return nil, errors.New("code not valid")
	}
	return s.AuthRequestByID(ctx, id)
}

func (s *Storage) SaveAuthCode(ctx context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}

func (s *Storage) DeleteAuthRequest(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for code, rid := range s.codes {
		if rid == id {
			delete(s.codes, code)
		}
	}
	return nil
}

func (s *Storage) CreateAccessToken(ctx context.Context, r op.TokenRequest) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := rand.Text()
	exp := time.Now().Add(5 * time.Minute)
	s.tokens[id] = &token{subject: r.GetSubject(), scopes: r.GetScopes(), expires: exp}
	return id, exp, nil
}

func (s *Storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errors.New("refresh tokens are not used")
}

func (s *Storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errors.New("refresh tokens are not used")
}

func (s *Storage) TerminateSession(context.Context, string, string) error { return nil }

func (s *Storage) RevokeToken(context.Context, string, string, string) *oidc.Error { return nil }

func (s *Storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.id }

type publicKey struct{ signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.key.PublicKey }

// Sign signs claims, a JSON object, with the provider's own key as a
// compact JWS, as the provider signs its ID tokens.
func (s *Storage) Sign(claims []byte) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: s.key()},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", s.keyID))
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(claims)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

func (s *Storage) SigningKey(context.Context) (op.SigningKey, error) {
	return signingKey{s.keyID, s.key()}, nil
}

func (s *Storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *Storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{signingKey{s.keyID, s.key()}}}, nil
}

func (s *Storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	if id != s.client.id {
		return nil, errors.New("client not found")
	}
	return s.client, nil
}

func (s *Storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	if id != s.client.id || secret != s.client.secret {
		return errors.New("client authentication failed")
	}
	return nil
}

func (s *Storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *Storage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	return s.setUserinfo(ui, r.GetSubject(), scopes)
}

func (s *Storage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, origin string) error {
	s.mu.Lock()
	tok, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(tok.expires) {
		return errors.New("token not valid")
	}
	return s.setUserinfo(ui, tok.subject, tok.scopes)
}

func (s *Storage) setUserinfo(ui *oidc.UserInfo, subject string, scopes []string) error {
	u, ok := s.userByID(subject)
	if !ok {
		return errors.New("user not found")
	}
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeOpenID:
			ui.Subject = u.ID
		case oidc.ScopeProfile:
			ui.Name, ui.PreferredUsername, ui.Picture = u.Name, u.Username, u.Picture
		case oidc.ScopeEmail:
			ui.Email, ui.EmailVerified = u.Email, oidc.Bool(u.EmailVerified)
		}
	}
	return nil
}

func (s *Storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errors.New("introspection is not used")
}

func (s *Storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *Storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT profile is not used")
}

func (s *Storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("JWT profile is not used")
}

func (s *Storage) Health(context.Context) error { return nil }

// authRequest is one authorization request at the provider.
type authRequest struct {
	id       string
	r        oidc.AuthRequest
	subject  string
	done     bool
	authTime time.Time
	created  time.Time
}

func (a *authRequest) GetID() string                      { return a.id }
func (a *authRequest) GetACR() string                     { return "" }
func (a *authRequest) GetAMR() []string                   { return []string{"pwd"} }
func (a *authRequest) GetAudience() []string              { return []string{a.r.ClientID} }
func (a *authRequest) GetAuthTime() time.Time             { return a.authTime }
func (a *authRequest) GetClientID() string                { return a.r.ClientID }
func (a *authRequest) GetNonce() string                   { return a.r.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.r.RedirectURI }
func (a *authRequest) GetScopes() []string                { return a.r.Scopes }
func (a *authRequest) GetState() string                   { return a.r.State }
func (a *authRequest) GetSubject() string                 { return a.subject }
func (a *authRequest) Done() bool                         { return a.done }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.r.ResponseMode }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.r.ResponseType }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.r.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.r.CodeChallenge, Method: a.r.CodeChallengeMethod}
}

// client is the provider's registration of Parley.
type client struct {
	id, secret      string
	claimsInIDToken bool
	loginPath       string

	mu           sync.Mutex
	redirectURIs []string
}

func (c *client) allowRedirect(uri string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Contains(c.redirectURIs, uri) {
		c.redirectURIs = append(c.redirectURIs, uri)
	}
}

func (c *client) GetID() string { return c.id }
func (c *client) RedirectURIs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.redirectURIs)
}
func (c *client) PostLogoutRedirectURIs() []string { return nil }
func (c *client) ApplicationType() op.ApplicationType {
	return op.ApplicationTypeWeb
}
func (c *client) AuthMethod() oidc.AuthMethod { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType         { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) LoginURL(id string) string            { return c.loginPath + id }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return 5 * time.Minute }
func (c *client) DevMode() bool                        { return false }
func (c *client) IsScopeAllowed(string) bool           { return false }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return c.claimsInIDToken }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
