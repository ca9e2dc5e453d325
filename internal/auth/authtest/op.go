package authtest

// An OpenID Provider running in-process: github.com/zitadel/oidc/v3/pkg/op
// (OpenID Foundation certified, Apache-2.0) with the small in-memory
// storage it needs (package memop) and a login page, all on 127.0.0.1.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/op"

	"parley/internal/auth/memop"
)

// Default client credentials, used when OPConfig leaves them empty.
const (
	DefaultClientID     = "parley-client"
	DefaultClientSecret = "parley-secret"
)

// OPConfig describes the provider StartOP runs and the one client
// (Parley) registered with it.
type OPConfig struct {
	// ClientID and ClientSecret are the client's credentials;
	// DefaultClientID and DefaultClientSecret if empty.
	ClientID     string
	ClientSecret string
	// RedirectURIs are the client's registered callback URLs. More can be
	// added after start with AllowRedirect.
	RedirectURIs []string
	// ClaimsInIDToken puts name, email and picture in the ID token. When
	// false the provider keeps them for its UserInfo endpoint, as many
	// providers do.
	ClaimsInIDToken bool
	// Users are the accounts that can log in; DefaultUser alone if empty.
	Users []OPUser
}

// OPUser is an account at the provider.
type OPUser = memop.User

// DefaultUser returns the account StartOP creates when OPConfig.Users is
// empty: Jane Doe, who logs in as "jane" with "correct horse", and has a
// verified email address and no picture.
func DefaultUser() OPUser {
	return OPUser{ID: "user-7f3a", Username: "jane", Password: "correct horse",
		Name: "Jane Doe", Email: "jane@example.org", EmailVerified: true}
}

// OP is a running OpenID Connect provider: discovery, authorization with a
// login page, token and UserInfo endpoints, and its signing keys, served
// over plain HTTP on 127.0.0.1. It supports the authorization code flow
// with PKCE (S256) and client_secret_basic or client_secret_post.
//
// Its login page is an ordinary HTML form (see StartOP) that a person, a
// browser driven by chromedp, or an http.Client posting the form can fill
// in.
type OP struct {
	srv     *httptest.Server
	storage *memop.Storage

	mu sync.Mutex
	// tamper, if set, stands between the network and the provider.
	tamper func(w http.ResponseWriter, r *http.Request, next http.Handler)
	// authorize is the query of the last authorization request.
	authorize url.Values
}

// StartOP runs a provider configured by c on 127.0.0.1 until the test
// ends. The issuer is the server's URL (see Issuer).
//
// The login page, GET /login?authRequestID=ID, is a form posted to /login
// with the hidden field "id", fields "username" (input#username) and
// "password" (input#password), each with a label, and a submit button
// button#login. A wrong username or password shows the form again with
// status 401 and the message in p#error; a correct one redirects the
// browser on to the client's redirect URI with a code.
func StartOP(t testing.TB, c OPConfig) *OP {
	t.Helper()
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.ClientSecret == "" {
		c.ClientSecret = DefaultClientSecret
	}
	if len(c.Users) == 0 {
		c.Users = []OPUser{DefaultUser()}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s, err := memop.New(key, memop.Client{ID: c.ClientID, Secret: c.ClientSecret, RedirectURIs: c.RedirectURIs, ClaimsInIDToken: c.ClaimsInIDToken}, c.Users)
	if err != nil {
		t.Fatal(err)
	}

	o := &OP{storage: s}
	log := &tbLog{tb: t, prefix: "openid provider: "}
	o.srv = httptest.NewUnstartedServer(nil)
	issuer := "http://" + o.srv.Listener.Addr().String()
	provider, err := memop.NewProvider(issuer, s, slog.New(slog.NewTextHandler(log, nil)))
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
		o.mu.Lock()
		if r.URL.Path == "/authorize" {
			o.authorize = r.URL.Query()
		}
		tamper := o.tamper
		o.mu.Unlock()
		if tamper != nil {
			tamper(w, r, mux)
			return
		}
		mux.ServeHTTP(w, r)
	})
	o.srv.Start()
	t.Cleanup(func() {
		o.srv.Close()
		log.stop()
	})
	return o
}

// Issuer returns the provider's issuer URL, "http://127.0.0.1:PORT", from
// which a client discovers everything else.
func (o *OP) Issuer() string { return o.srv.URL }

// ClientID returns the registered client's ID.
func (o *OP) ClientID() string { return o.storage.ClientID() }

// ClientSecret returns the registered client's secret.
func (o *OP) ClientSecret() string { return o.storage.ClientSecret() }

// AllowRedirect registers one more redirect URI for the client: a test
// often knows its app's callback URL only after starting the app.
func (o *OP) AllowRedirect(uri string) {
	o.storage.AllowRedirect(uri)
}

// SetTamper puts f between the network and the provider: every request
// goes to f, which may change it, answer it itself, or pass it to next
// (the provider) and change the answer, the way an attacker in the middle
// would. A nil f removes it.
func (o *OP) SetTamper(f func(w http.ResponseWriter, r *http.Request, next http.Handler)) {
	o.mu.Lock()
	o.tamper = f
	o.mu.Unlock()
}

// LastAuthorize returns the query of the last request to the
// authorization endpoint, as it arrived (before any tamper function), or
// nil if there was none.
func (o *OP) LastAuthorize() url.Values {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.authorize == nil {
		return nil
	}
	q := make(url.Values, len(o.authorize))
	for k, v := range o.authorize {
		q[k] = append([]string(nil), v...)
	}
	return q
}

// Sign signs claims, a JSON object, with the provider's own key as a
// compact JWS, as the provider signs its ID tokens: for tests that need a
// genuine token with chosen claims.
func (o *OP) Sign(claims []byte) (string, error) {
	return o.storage.Sign(claims)
}

var loginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to Test OP</title>
</head>
<body>
<h1>Sign in to Test OP</h1>
{{if .Error}}<p class="error" id="error" role="alert">{{.Error}}</p>
{{end -}}
<form method="post" action="/login">
<input type="hidden" name="id" value="{{.ID}}">
<p><label for="username">Username</label>
<input id="username" name="username" autocomplete="username" value="{{.Username}}" required></p>
<p><label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>
<button id="login" type="submit">Log in</button>
</form>
</body>
</html>
`))

type loginData struct {
	ID, Username, Error string
}

// login is the provider's own sign-in page: op leaves the user interface
// to the application.
func (o *OP) login(w http.ResponseWriter, r *http.Request, callback func(context.Context, string) string) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	switch r.Method {
	case http.MethodGet:
		d := loginData{ID: r.FormValue("authRequestID")}
		if !o.storage.HasRequest(d.ID) {
			d.Error = memop.ErrNoRequest.Error()
			w.WriteHeader(http.StatusBadRequest)
		}
		loginPage.Execute(w, d)
	case http.MethodPost:
		d := loginData{ID: r.PostFormValue("id"), Username: r.PostFormValue("username")}
		if err := o.storage.CheckLogin(d.ID, d.Username, r.PostFormValue("password")); err != nil {
			d.Error = err.Error()
			w.WriteHeader(http.StatusUnauthorized)
			loginPage.Execute(w, d)
			return
		}
		http.Redirect(w, r, callback(r.Context(), d.ID), http.StatusFound)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
