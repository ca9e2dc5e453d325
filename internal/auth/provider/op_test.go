package provider_test

// An OpenID Provider running in-process: github.com/zitadel/oidc/v3/pkg/op
// (OpenID Foundation certified, Apache-2.0) with the small in-memory
// storage it needs and a login page, all on 127.0.0.1.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"html/template"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// opUser is an account at the test provider.
type opUser struct {
	id, username, password string
	name, email, picture   string
	emailVerified          bool
}

// testOP is the provider: an op.Provider over opStorage, with a login
// page, behind a handler that can be told to misbehave.
type testOP struct {
	srv     *httptest.Server
	storage *opStorage
	// tamper, if set, edits requests to and responses from the provider
	// the way an attacker in the middle would.
	mu     sync.Mutex
	tamper func(w http.ResponseWriter, r *http.Request, next http.Handler)
	// authorize records the query of the last authorization request.
	authorize map[string][]string
}

// startOP runs a provider with one client whose secret is clientSecret
// and whose redirect URIs are given. With claimsInIDToken false, the
// provider keeps name and email for its UserInfo endpoint, as many do.
func startOP(t *testing.T, clientID, clientSecret string, claimsInIDToken bool, redirectURIs ...string) *testOP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := &opStorage{
		key:      key,
		keyID:    "test-key-1",
		requests: map[string]*authRequest{},
		codes:    map[string]string{},
		tokens:   map[string]*opToken{},
		users: map[string]*opUser{"jane": {id: "user-7f3a", username: "jane", password: "correct horse",
			name: "Jane Doe", email: "jane@example.org", emailVerified: true, picture: "https://op.example/jane.png"}},
		client: &opClient{id: clientID, secret: clientSecret, redirectURIs: redirectURIs, claimsInIDToken: claimsInIDToken},
	}
	o := &testOP{storage: s}
	o.srv = httptest.NewUnstartedServer(nil)
	issuer := "http://" + o.srv.Listener.Addr().String()
	var cryptoKey [32]byte
	rand.Read(cryptoKey[:])
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:      cryptoKey,
		CodeMethodS256: true,
		AuthMethodPost: true,
	}, s, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	interceptor := op.NewIssuerInterceptor(provider.IssuerFromRequest)
	mux.Handle("/login", interceptor.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.login(w, r, op.AuthCallbackURL(provider))
	}))
	mux.Handle("/", provider)
	o.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/authorize" {
			o.mu.Lock()
			o.authorize = r.URL.Query()
			o.mu.Unlock()
		}
		o.mu.Lock()
		tamper := o.tamper
		o.mu.Unlock()
		if tamper != nil {
			tamper(w, r, mux)
			return
		}
		mux.ServeHTTP(w, r)
	})
	o.srv.Start()
	t.Cleanup(o.srv.Close)
	return o
}

func (o *testOP) issuer() string { return o.srv.URL }

func (o *testOP) setTamper(f func(w http.ResponseWriter, r *http.Request, next http.Handler)) {
	o.mu.Lock()
	o.tamper = f
	o.mu.Unlock()
}

func (o *testOP) lastAuthorize() map[string][]string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.authorize
}

var loginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html><body><h1>Sign in to Test OP</h1>{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="id" value="{{.ID}}">
<label>Username <input name="username"></label>
<label>Password <input type="password" name="password"></label>
<button type="submit">Sign in</button>
</form></body></html>`))

// login is the provider's own sign-in page: op leaves the user interface
// to the application.
func (o *testOP) login(w http.ResponseWriter, r *http.Request, callback func(context.Context, string) string) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodGet {
		loginPage.Execute(w, map[string]string{"ID": r.FormValue("authRequestID")})
		return
	}
	id := r.FormValue("id")
	if err := o.storage.checkLogin(id, r.FormValue("username"), r.FormValue("password")); err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		loginPage.Execute(w, map[string]string{"ID": id, "Error": err.Error()})
		return
	}
	http.Redirect(w, r, callback(r.Context(), id), http.StatusFound)
}

// opStorage is the in-memory op.Storage the provider needs for the
// authorization code flow.
type opStorage struct {
	mu       sync.Mutex
	key      *rsa.PrivateKey
	keyID    string
	requests map[string]*authRequest
	codes    map[string]string // code -> request id
	tokens   map[string]*opToken
	users    map[string]*opUser
	client   *opClient
}

type opToken struct {
	subject string
	scopes  []string
	expires time.Time
}

var (
	_ op.Storage                   = (*opStorage)(nil)
	_ op.CanSetUserinfoFromRequest = (*opStorage)(nil)
)

func (s *opStorage) checkLogin(id, username, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	req, ok := s.requests[id]
	if !ok {
		return errors.New("log-in request not found")
	}
	u, ok := s.users[username]
	if !ok || u.password != password {
		return errors.New("wrong username or password")
	}
	req.subject, req.done, req.authTime = u.id, true, time.Now()
	return nil
}

func (s *opStorage) userByID(id string) *opUser {
	for _, u := range s.users {
		if u.id == id {
			return u
		}
	}
	return nil
}

func (s *opStorage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	req := &authRequest{id: rand.Text(), r: *r, subject: userID, created: time.Now()}
	s.requests[req.id] = req
	return req, nil
}

func (s *opStorage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req, ok := s.requests[id]; ok {
		return req, nil
	}
	return nil, errors.New("auth request not found")
}

func (s *opStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	id, ok := s.codes[code]
	s.mu.Unlock()
	if !ok {
		return nil, errors.New("code not valid")
	}
	return s.AuthRequestByID(ctx, id)
}

func (s *opStorage) SaveAuthCode(ctx context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}

func (s *opStorage) DeleteAuthRequest(ctx context.Context, id string) error {
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

func (s *opStorage) CreateAccessToken(ctx context.Context, r op.TokenRequest) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := rand.Text()
	exp := time.Now().Add(5 * time.Minute)
	s.tokens[id] = &opToken{subject: r.GetSubject(), scopes: r.GetScopes(), expires: exp}
	return id, exp, nil
}

func (s *opStorage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errors.New("refresh tokens are not used")
}

func (s *opStorage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errors.New("refresh tokens are not used")
}

func (s *opStorage) TerminateSession(context.Context, string, string) error { return nil }

func (s *opStorage) RevokeToken(context.Context, string, string, string) *oidc.Error { return nil }

func (s *opStorage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
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

// sign signs claims with the provider's own key, as the provider would:
// for tests that need a genuine token with chosen claims.
func (s *opStorage) sign(claims []byte) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: s.key},
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

func (s *opStorage) SigningKey(context.Context) (op.SigningKey, error) {
	return signingKey{s.keyID, s.key}, nil
}

func (s *opStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *opStorage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{signingKey{s.keyID, s.key}}}, nil
}

func (s *opStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	if id != s.client.id {
		return nil, errors.New("client not found")
	}
	return s.client, nil
}

func (s *opStorage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	if id != s.client.id || secret != s.client.secret {
		return errors.New("client authentication failed")
	}
	return nil
}

func (s *opStorage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *opStorage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	return s.setUserinfo(ui, r.GetSubject(), scopes)
}

func (s *opStorage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, origin string) error {
	s.mu.Lock()
	tok, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(tok.expires) {
		return errors.New("token not valid")
	}
	return s.setUserinfo(ui, tok.subject, tok.scopes)
}

func (s *opStorage) setUserinfo(ui *oidc.UserInfo, subject string, scopes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByID(subject)
	if u == nil {
		return errors.New("user not found")
	}
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeOpenID:
			ui.Subject = u.id
		case oidc.ScopeProfile:
			ui.Name, ui.PreferredUsername, ui.Picture = u.name, u.username, u.picture
		case oidc.ScopeEmail:
			ui.Email, ui.EmailVerified = u.email, oidc.Bool(u.emailVerified)
		}
	}
	return nil
}

func (s *opStorage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errors.New("introspection is not used")
}

func (s *opStorage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *opStorage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT profile is not used")
}

func (s *opStorage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("JWT profile is not used")
}

func (s *opStorage) Health(context.Context) error { return nil }

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

// opClient is the provider's registration of Parley.
type opClient struct {
	id, secret      string
	redirectURIs    []string
	claimsInIDToken bool
}

func (c *opClient) GetID() string                    { return c.id }
func (c *opClient) RedirectURIs() []string           { return c.redirectURIs }
func (c *opClient) PostLogoutRedirectURIs() []string { return nil }
func (c *opClient) ApplicationType() op.ApplicationType {
	return op.ApplicationTypeWeb
}
func (c *opClient) AuthMethod() oidc.AuthMethod { return oidc.AuthMethodBasic }
func (c *opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *opClient) GrantTypes() []oidc.GrantType         { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *opClient) LoginURL(id string) string            { return "/login?authRequestID=" + id }
func (c *opClient) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *opClient) IDTokenLifetime() time.Duration       { return 5 * time.Minute }
func (c *opClient) DevMode() bool                        { return false }
func (c *opClient) IsScopeAllowed(string) bool           { return false }
func (c *opClient) IDTokenUserinfoClaimsAssertion() bool { return c.claimsInIDToken }
func (c *opClient) ClockSkew() time.Duration             { return 0 }
func (c *opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
