package provider_test

// Local servers that answer as Facebook, X, GitHub and WordPress.com
// document their OAuth 2.0 and user endpoints, and full log-ins through
// each.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"parley/internal/auth"
	"parley/internal/auth/provider"
)

const (
	clientID     = "parley-app-id"
	clientSecret = "parley-app-secret"
)

// fakeOAuth is the part every fake shares: codes it issued, with what
// they were issued for, and access tokens.
type fakeOAuth struct {
	t      *testing.T
	mu     sync.Mutex
	codes  map[string]grant
	tokens map[string]bool
	// authorize is the query of the last authorization request.
	authorize url.Values
}

type grant struct {
	redirectURI, challenge string
}

func newFakeOAuth(t *testing.T) *fakeOAuth {
	return &fakeOAuth{t: t, codes: map[string]grant{}, tokens: map[string]bool{}}
}

// approve plays the reader pressing "Allow": it issues a code for the
// request and sends the browser back. fragment is what some providers
// add to the redirect (Facebook adds "#_=_").
func (f *fakeOAuth) approve(w http.ResponseWriter, r *http.Request, requirePKCE bool, fragment string) {
	q := r.URL.Query()
	f.mu.Lock()
	f.authorize = q
	f.mu.Unlock()
	if q.Get("client_id") != clientID || q.Get("redirect_uri") == "" || q.Get("state") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	if q.Get("response_type") != "code" {
		http.Error(w, "response_type must be code", http.StatusBadRequest)
		return
	}
	challenge := q.Get("code_challenge")
	if challenge != "" && q.Get("code_challenge_method") != "S256" {
		http.Error(w, "code_challenge_method must be S256", http.StatusBadRequest)
		return
	}
	if requirePKCE && challenge == "" {
		http.Error(w, "Something went wrong. You weren't able to give access to the App.", http.StatusBadRequest)
		return
	}
	code := rand.Text()
	f.mu.Lock()
	f.codes[code] = grant{redirectURI: q.Get("redirect_uri"), challenge: challenge}
	f.mu.Unlock()
	u, _ := url.Parse(q.Get("redirect_uri"))
	u.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
	http.Redirect(w, r, u.String()+fragment, http.StatusFound)
}

// redeem checks a token request's code, redirect URI and PKCE verifier,
// and returns a new access token, or "" and the reason.
func (f *fakeOAuth) redeem(code, redirectURI, verifier string) (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.codes[code]
	delete(f.codes, code) // codes work once
	switch {
	case !ok:
		return "", "code not valid"
	case g.redirectURI != redirectURI:
		return "", "redirect_uri does not match"
	case g.challenge != "" && pkce(verifier) != g.challenge:
		return "", "code_verifier does not match"
	}
	tok := rand.Text() + rand.Text()
	f.tokens[tok] = true
	return tok, ""
}

func (f *fakeOAuth) validToken(tok string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return tok != "" && f.tokens[tok]
}

func bearer(r *http.Request) string {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return tok
}

func pkce(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// facebookServer answers as the Facebook Login dialog and Graph API
// ("Manually Build a Login Flow"; "Graph API: User").
func facebookServer(t *testing.T) (*httptest.Server, *fakeOAuth) {
	f := newFakeOAuth(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v23.0/dialog/oauth", func(w http.ResponseWriter, r *http.Request) {
		// Facebook appends #_=_ to the redirect after the dialog.
		f.approve(w, r, false, "#_=_")
	})
	mux.HandleFunc("/v23.0/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Form.Get("client_id") != clientID || r.Form.Get("client_secret") != clientSecret {
			writeJSON(w, 400, map[string]any{"error": map[string]any{"message": "Error validating client secret.",
				"type": "OAuthException", "code": 1, "fbtrace_id": "A1b2C3"}})
			return
		}
		tok, why := f.redeem(r.Form.Get("code"), r.Form.Get("redirect_uri"), "")
		if tok == "" {
			writeJSON(w, 400, map[string]any{"error": map[string]any{"message": "Error validating verification code. " + why,
				"type": "OAuthException", "code": 100, "error_subcode": 36008, "fbtrace_id": "A1b2C3"}})
			return
		}
		writeJSON(w, 200, map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": 5183944})
	})
	mux.HandleFunc("GET /v23.0/me", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		tok := q.Get("access_token")
		if !f.validToken(tok) {
			writeJSON(w, 400, map[string]any{"error": map[string]any{"message": "Invalid OAuth access token - Cannot parse access token",
				"type": "OAuthException", "code": 190, "fbtrace_id": "A1b2C3"}})
			return
		}
		m := hmac.New(sha256.New, []byte(clientSecret))
		m.Write([]byte(tok))
		if q.Get("appsecret_proof") != hex.EncodeToString(m.Sum(nil)) {
			writeJSON(w, 400, map[string]any{"error": map[string]any{"message": "Invalid appsecret_proof provided in the API argument",
				"type": "GraphMethodException", "code": 100, "fbtrace_id": "A1b2C3"}})
			return
		}
		if q.Get("fields") != "id,name,email,picture" {
			t.Errorf("fields = %q", q.Get("fields"))
		}
		writeJSON(w, 200, map[string]any{
			"id": "10158734562781234", "name": "Jane Doe", "email": "jane@example.com",
			"picture": map[string]any{"data": map[string]any{"height": 50, "is_silhouette": false,
				"url": "https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10158734562781234&height=50&width=50", "width": 50}},
		})
	})
	return httptest.NewServer(mux), f
}

// xServer answers as X's OAuth 2.0 Authorization Code Flow with PKCE and
// GET /2/users/me.
func xServer(t *testing.T) (*httptest.Server, *fakeOAuth) {
	f := newFakeOAuth(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /i/oauth2/authorize", func(w http.ResponseWriter, r *http.Request) {
		f.approve(w, r, true, "")
	})
	mux.HandleFunc("POST /2/oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		// Confidential clients authenticate with HTTP Basic.
		id, secret, ok := r.BasicAuth()
		if !ok || id != clientID || secret != clientSecret {
			writeJSON(w, 401, map[string]any{"error": "unauthorized_client", "error_description": "Missing valid authorization header"})
			return
		}
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			writeJSON(w, 400, map[string]any{"error": "invalid_request", "error_description": "Content-Type must be form-encoded"})
			return
		}
		r.ParseForm()
		if r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("code_verifier") == "" {
			writeJSON(w, 400, map[string]any{"error": "invalid_request", "error_description": "Missing required parameter [code_verifier]."})
			return
		}
		tok, why := f.redeem(r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"), r.PostForm.Get("code_verifier"))
		if tok == "" {
			writeJSON(w, 400, map[string]any{"error": "invalid_request", "error_description": "Value passed for the authorization code was invalid: " + why})
			return
		}
		writeJSON(w, 200, map[string]any{"token_type": "bearer", "expires_in": 7200, "access_token": tok, "scope": "users.read tweet.read"})
	})
	mux.HandleFunc("GET /2/users/me", func(w http.ResponseWriter, r *http.Request) {
		if !f.validToken(bearer(r)) {
			writeJSON(w, 401, map[string]any{"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
			return
		}
		if r.URL.Query().Get("user.fields") != "profile_image_url" {
			t.Errorf("user.fields = %q", r.URL.Query().Get("user.fields"))
		}
		writeJSON(w, 200, map[string]any{"data": map[string]any{
			"id": "2244994945", "name": "Jane Doe", "username": "janedoe",
			"profile_image_url": "https://pbs.twimg.com/profile_images/1683325380441128960/yRsRRjGO_normal.jpg",
		}})
	})
	return httptest.NewServer(mux), f
}

// githubServer answers as GitHub's OAuth app web flow and REST API
// (GET /user, GET /user/emails).
func githubServer(t *testing.T, publicEmail any) (*httptest.Server, *fakeOAuth) {
	f := newFakeOAuth(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		// GitHub takes no response_type; x/oauth2 sends it anyway.
		f.approve(w, r, false, "")
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		jsonWanted := strings.Contains(r.Header.Get("Accept"), "application/json")
		answer := func(v url.Values) {
			// GitHub answers 200 even for errors; form-encoded unless JSON
			// is asked for.
			if jsonWanted {
				m := map[string]string{}
				for k := range v {
					m[k] = v.Get(k)
				}
				writeJSON(w, 200, m)
				return
			}
			w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			w.Write([]byte(v.Encode()))
		}
		if r.PostForm.Get("client_id") != clientID || r.PostForm.Get("client_secret") != clientSecret {
			answer(url.Values{"error": {"incorrect_client_credentials"}, "error_description": {"The client_id and/or client_secret passed are incorrect."}})
			return
		}
		tok, why := f.redeem(r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"), r.PostForm.Get("code_verifier"))
		if tok == "" {
			answer(url.Values{"error": {"bad_verification_code"}, "error_description": {"The code passed is incorrect or expired. " + why}})
			return
		}
		answer(url.Values{"access_token": {tok}, "scope": {"read:user,user:email"}, "token_type": {"bearer"}})
	})
	api := func(h func(w http.ResponseWriter)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("User-Agent") == "" {
				// GitHub refuses API requests without a User-Agent.
				http.Error(w, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header", http.StatusForbidden)
				return
			}
			if !f.validToken(bearer(r)) {
				writeJSON(w, 401, map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})
				return
			}
			h(w)
		}
	}
	mux.HandleFunc("GET /user", api(func(w http.ResponseWriter) {
		writeJSON(w, 200, map[string]any{
			"login": "janedoe", "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==",
			"avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4", "gravatar_id": "",
			"url": "https://api.github.com/users/janedoe", "html_url": "https://github.com/janedoe",
			"type": "User", "site_admin": false, "name": "Jane Doe", "company": nil, "blog": "",
			"location": "Riverton", "email": publicEmail, "hireable": nil, "bio": nil,
			"public_repos": 8, "followers": 20, "following": 0,
			"created_at": "2011-01-25T18:44:36Z", "updated_at": "2026-01-22T14:20:03Z",
		})
	}))
	mux.HandleFunc("GET /user/emails", api(func(w http.ResponseWriter) {
		writeJSON(w, 200, []map[string]any{
			{"email": "old@example.com", "verified": true, "primary": false, "visibility": nil},
			{"email": "jane@example.com", "verified": true, "primary": true, "visibility": "private"},
			{"email": "unconfirmed@example.com", "verified": false, "primary": false, "visibility": nil},
		})
	}))
	return httptest.NewServer(mux), f
}

// wordpressServer answers as WordPress.com's OAuth2 endpoints and
// GET /rest/v1.1/me.
func wordpressServer(t *testing.T) (*httptest.Server, *fakeOAuth) {
	f := newFakeOAuth(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth2/authorize", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("scope") != "auth" {
			t.Errorf("scope = %q, want auth", r.URL.Query().Get("scope"))
		}
		f.approve(w, r, false, "")
	})
	mux.HandleFunc("POST /oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.PostForm.Get("client_id") != clientID || r.PostForm.Get("client_secret") != clientSecret {
			writeJSON(w, 400, map[string]any{"error": "invalid_client", "error_description": "Unknown client_id."})
			return
		}
		if r.PostForm.Get("grant_type") != "authorization_code" {
			writeJSON(w, 400, map[string]any{"error": "unsupported_grant_type", "error_description": "Invalid grant_type."})
			return
		}
		tok, why := f.redeem(r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"), "")
		if tok == "" {
			writeJSON(w, 400, map[string]any{"error": "invalid_grant", "error_description": "Invalid authorization code. " + why})
			return
		}
		writeJSON(w, 200, map[string]any{"access_token": tok, "blog_id": "0", "blog_url": nil, "token_type": "bearer", "scope": "auth"})
	})
	mux.HandleFunc("GET /rest/v1.1/me", func(w http.ResponseWriter, r *http.Request) {
		if !f.validToken(bearer(r)) {
			writeJSON(w, 403, map[string]any{"error": "authorization_required", "message": "An active access token must be used to query information about the current user."})
			return
		}
		writeJSON(w, 200, map[string]any{
			"ID": 87654321, "display_name": "Jane Doe", "username": "janedoe", "email": "jane@example.com",
			"primary_blog": 0, "primary_blog_url": "", "language": "en", "locale_variant": "",
			"token_site_id": false, "token_scope": []string{"auth"},
			"avatar_URL":  "https://0.gravatar.com/avatar/a1b2c3?s=96&d=identicon&r=G",
			"profile_URL": "https://gravatar.com/janedoe", "verified": true, "email_verified": true,
			"date": "2014-03-07T11:15:09+00:00", "site_count": 0, "visible_site_count": 0,
			"has_unseen_notes": false, "newest_note_type": "", "phone_account": false,
		})
	})
	return httptest.NewServer(mux), f
}

// oauthCase is one provider's full flow.
type oauthCase struct {
	kind   provider.Kind
	server func(t *testing.T) (*httptest.Server, *fakeOAuth)
	cfg    func(base string) provider.Config
	want   auth.Identity
	pkce   bool
}

var oauthCases = []oauthCase{
	{
		kind:   provider.Facebook,
		server: facebookServer,
		cfg: func(base string) provider.Config {
			return provider.Config{AuthURL: base + "/v23.0/dialog/oauth", TokenURL: base + "/v23.0/oauth/access_token", APIURL: base + "/v23.0"}
		},
		want: auth.Identity{Subject: "10158734562781234", Name: "Jane Doe", Email: "jane@example.com",
			AvatarURL: "https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10158734562781234&height=50&width=50"},
	},
	{
		kind:   provider.X,
		server: xServer,
		cfg: func(base string) provider.Config {
			return provider.Config{AuthURL: base + "/i/oauth2/authorize", TokenURL: base + "/2/oauth2/token", APIURL: base + "/2"}
		},
		want: auth.Identity{Subject: "2244994945", Name: "Jane Doe", ProfileURL: "https://x.com/janedoe",
			AvatarURL: "https://pbs.twimg.com/profile_images/1683325380441128960/yRsRRjGO_normal.jpg"},
		pkce: true,
	},
	{
		kind:   provider.GitHub,
		server: func(t *testing.T) (*httptest.Server, *fakeOAuth) { return githubServer(t, nil) },
		cfg: func(base string) provider.Config {
			return provider.Config{AuthURL: base + "/login/oauth/authorize", TokenURL: base + "/login/oauth/access_token", APIURL: base}
		},
		want: auth.Identity{Subject: "583231", Name: "Jane Doe", Email: "jane@example.com", EmailVerified: true,
			AvatarURL: "https://avatars.githubusercontent.com/u/583231?v=4", ProfileURL: "https://github.com/janedoe"},
		pkce: true,
	},
	{
		kind:   provider.WordPress,
		server: wordpressServer,
		cfg: func(base string) provider.Config {
			return provider.Config{AuthURL: base + "/oauth2/authorize", TokenURL: base + "/oauth2/token", APIURL: base + "/rest/v1.1"}
		},
		want: auth.Identity{Subject: "87654321", Name: "Jane Doe", Email: "jane@example.com", EmailVerified: true,
			AvatarURL: "https://0.gravatar.com/avatar/a1b2c3?s=96&d=identicon&r=G", ProfileURL: "https://gravatar.com/janedoe"},
	},
}

// oauthSetup starts a fake provider and the app with that provider.
func oauthSetup(t *testing.T, c oauthCase, edit func(*provider.Config)) (*app, *fakeOAuth) {
	t.Helper()
	srv, fake := c.server(t)
	t.Cleanup(srv.Close)
	cfg := c.cfg(srv.URL)
	cfg.Kind, cfg.ClientID, cfg.ClientSecret = c.kind, clientID, clientSecret
	if edit != nil {
		edit(&cfg)
	}
	ps, err := provider.New(ctx, []provider.Config{cfg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t)
	a.start(t, ps...)
	return a, fake
}

func TestOAuth_FullFlow(t *testing.T) {
	for _, c := range oauthCases {
		t.Run(string(c.kind), func(t *testing.T) {
			a, fake := oauthSetup(t, c, nil)
			b := newBrowser(t)
			status, body := b.login(a, string(c.kind), "redirect")
			res, err := a.result()
			if status != http.StatusOK || err != nil {
				t.Fatalf("log-in ended with %d %q, %v", status, body, err)
			}
			want := c.want
			want.Provider = string(c.kind)
			if res.Identity != want {
				t.Errorf("identity = %+v\nwant       %+v", res.Identity, want)
			}
			if res.Mode != auth.ModeRedirect || res.ReturnTo != articleURL {
				t.Errorf("pending = %+v", res.Pending)
			}
			fake.mu.Lock()
			sentPKCE := fake.authorize.Get("code_challenge") != ""
			fake.mu.Unlock()
			if sentPKCE != c.pkce {
				t.Errorf("PKCE sent = %v, want %v", sentPKCE, c.pkce)
			}
			if got := b.replay(); got != http.StatusForbidden {
				t.Errorf("replayed callback answered %d", got)
			}
		})
	}
}

func TestOAuth_WrongSecret(t *testing.T) {
	for _, c := range oauthCases {
		t.Run(string(c.kind), func(t *testing.T) {
			a, _ := oauthSetup(t, c, func(cfg *provider.Config) { cfg.ClientSecret = "not-the-secret" })
			status, _ := newBrowser(t).login(a, string(c.kind), "redirect")
			_, err := a.result()
			if status != http.StatusForbidden || !errors.Is(err, auth.ErrProvider) {
				t.Fatalf("got %d, %v; want ErrProvider", status, err)
			}
			if strings.Contains(err.Error(), "not-the-secret") {
				t.Errorf("error shows the client secret: %v", err)
			}
		})
	}
}

func TestOAuth_StolenCode(t *testing.T) {
	// A code that reached the attacker (not the browser that began the
	// log-in) is useless: the attacker's browser has no log-in cookie, and
	// with PKCE the code needs the verifier that only the cookie holds.
	for _, c := range oauthCases {
		t.Run(string(c.kind), func(t *testing.T) {
			a, _ := oauthSetup(t, c, nil)
			victim := newBrowser(t)
			victim.client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
				if strings.HasSuffix(req.URL.Path, "/callback") {
					victim.lastCallback = req.URL.String()
					return http.ErrUseLastResponse // the code leaks here
				}
				return nil
			}
			victim.login(a, string(c.kind), "redirect")
			resp := newBrowser(t).get(victim.lastCallback)
			resp.Body.Close()
			if _, err := a.result(); resp.StatusCode != http.StatusForbidden || !errors.Is(err, auth.ErrNoFlow) {
				t.Fatalf("stolen code: %d, %v", resp.StatusCode, err)
			}
		})
	}
}

func TestGitHub_PublicEmailUnverified(t *testing.T) {
	// Without access to /user/emails (the reader refused user:email) the
	// public profile email is used and is not claimed to be verified.
	srv, _ := githubServer(t, "public@example.com")
	defer srv.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /user/emails", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 404, map[string]any{"message": "Not Found"})
	})
	target, _ := url.Parse(srv.URL)
	mux.Handle("/", httputil.NewSingleHostReverseProxy(target))
	front := httptest.NewServer(mux)
	defer front.Close()
	c := oauthCases[2]
	c.server = func(t *testing.T) (*httptest.Server, *fakeOAuth) { return front, nil }
	a, _ := oauthSetup(t, c, nil)
	if status, _ := newBrowser(t).login(a, "github", "redirect"); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	res, err := a.result()
	if err != nil || res.Identity.Email != "public@example.com" || res.Identity.EmailVerified {
		t.Fatalf("identity = %+v, %v", res, err)
	}
}
