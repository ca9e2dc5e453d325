package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/internal/auth"
	"parley/internal/auth/authtest"
	"parley/internal/comment"
	"parley/internal/gravatar"
	"parley/internal/login"
	"parley/internal/mail"
	"parley/internal/service"
	"parley/internal/store/sqlite"
	"parley/internal/widget"
)

const ssoSecret = "a-site-sso-secret-of-32-bytes-00"

// authServer is the whole stack with log-in: a site "news" with an SSO
// secret, and whatever providers and mail the test configures.
type authServer struct {
	*testServer
	login *login.Login
}

func newAuthServer(t testing.TB, lc login.Config, opt service.Options, site func(*comment.Site)) *authServer {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"), sqlite.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	verified, err := login.NewVerified(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	opt.Verified = verified.Verified
	pictures, _ := opt.Pictures.(*picturesAt)
	if pictures != nil {
		// The finder keeps what it finds in this server's store.
		if pictures.Finder, err = gravatar.New(gravatar.Config{URL: pictures.url, Store: st}); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := service.New(ctx, st, opt)
	if err != nil {
		t.Fatal(err)
	}
	s := &comment.Site{ID: "news", Name: "The News", Origins: []string{origin}, EditWindow: comment.DefaultEditWindow, SSOSecret: ssoSecret}
	if site != nil {
		site(s)
	}
	if err := svc.CreateSite(ctx, service.OperatorActor(), s); err != nil {
		t.Fatal(err)
	}
	assets, err := widget.New()
	if err != nil {
		t.Fatal(err)
	}
	// The server's address is known once it listens; providers and email
	// links need it before the handler exists.
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	if lc.PublicURL == "" {
		lc.PublicURL = base
	}
	l, err := login.New(ctx, svc, st, lc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{PublicURL: lc.PublicURL, Login: l}
	runCtx, stop := context.WithCancel(ctx)
	if pictures != nil {
		cfg.Gravatar = pictures.url
		go pictures.Run(runCtx)
	}
	api := New(svc, assets, nil, cfg)
	srv.Config.Handler = api.Handler()
	srv.Start()
	go svc.Run(runCtx)
	t.Cleanup(func() { api.StopStreams(); srv.Close(); stop(); st.Close() })
	return &authServer{testServer: &testServer{srv, svc, st}, login: l}
}

// picturesAt, as service.Options.Pictures of newAuthServer, gives the
// server a gravatar.Finder over its own store that asks the service at url.
type picturesAt struct {
	*gravatar.Finder
	url string
}

func ssoToken(t testing.TB, u auth.SSOUser) string {
	t.Helper()
	if u.Expires.IsZero() {
		u.Expires = time.Now().Add(10 * time.Minute)
	}
	tok, err := auth.SignSSO(u, []byte(ssoSecret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type apiSession struct {
	Token string            `json:"token"`
	User  map[string]string `json:"user"`
}

// ssoLogin logs a reader of the site's own accounts in and returns the
// session token.
func (as *authServer) ssoLogin(t testing.TB, id, name, email string) apiSession {
	t.Helper()
	resp, b := as.do(t, "POST", "/api/v1/sites/news/auth/sso", map[string]string{"token": ssoToken(t, auth.SSOUser{ID: id, Name: name, Email: email})}, map[string]string{"Origin": origin})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sso: %d %s", resp.StatusCode, b)
	}
	return decode[apiSession](t, b)
}

func bearer(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok, "Origin": origin}
}

func TestSSOLogInPostsAsTheReader(t *testing.T) {
	as := newAuthServer(t, login.Config{}, service.Options{}, nil)
	s := as.ssoLogin(t, "42", "Jane Reporter", "jane@news.example")
	if s.Token == "" || s.User["name"] != "Jane Reporter" || s.User["provider"] != "sso-news" || s.User["account"] != "The News" {
		t.Fatalf("session = %+v", s)
	}

	// /me says who the bearer is, and only to the bearer.
	resp, b := as.do(t, "GET", "/api/v1/sites/news/me", nil, bearer(s.Token))
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"Jane Reporter"`) || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("me: %d %s %v", resp.StatusCode, b, resp.Header)
	}
	resp, _ = as.do(t, "GET", "/api/v1/sites/news/me", nil, map[string]string{"Origin": origin})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("me without a token: %d", resp.StatusCode)
	}

	// A comment posted with the token is the reader's, whatever the body
	// says about name and email.
	resp, b = as.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"name": "Someone Else", "email": "", "body": "From the newsroom."}), bearer(s.Token))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("post: %d %s", resp.StatusCode, b)
	}
	c := decode[apiComment](t, b)
	if c.Author["name"] != "Jane Reporter" {
		t.Errorf("author = %v", c.Author)
	}
	// Logged-in readers' avatars are served by Parley under their own key.
	if !strings.HasPrefix(c.Author["avatar"], as.URL+"/avatars/") || strings.HasSuffix(c.Author["avatar"], ".svg") {
		t.Errorf("avatar = %q", c.Author["avatar"])
	}
	stored, err := as.st.Comment(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Author.Identity != "sso-news:42" || stored.Author.Email != "jane@news.example" {
		t.Errorf("stored author = %+v", stored.Author)
	}
	// The avatar answers (an identicon: the token named no picture).
	resp, _ = as.do(t, "GET", strings.TrimPrefix(c.Author["avatar"], as.URL), nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("avatar: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestSSOTokensRefused(t *testing.T) {
	as := newAuthServer(t, login.Config{}, service.Options{}, nil)
	forged, err := auth.SignSSO(auth.SSOUser{ID: "1", Name: "Mallory", Expires: time.Now().Add(time.Minute)}, []byte("another-secret-of-thirty-two-byt"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		token string
		code  string
	}{
		"forged":   {forged, "sso_invalid"},
		"expired":  {ssoToken(t, auth.SSOUser{ID: "1", Name: "Old", Expires: time.Now().Add(-time.Minute)}), "sso_expired"},
		"garbage":  {"not-a-token", "sso_invalid"},
		"too long": {ssoToken(t, auth.SSOUser{ID: "1", Name: "Later", Expires: time.Now().Add(48 * time.Hour)}), "sso_invalid"},
	}
	for name, c := range cases {
		resp, b := as.do(t, "POST", "/api/v1/sites/news/auth/sso", map[string]string{"token": c.token}, map[string]string{"Origin": origin})
		e := decode[apiErr](t, b)
		if resp.StatusCode != http.StatusUnauthorized || e.Error.Code != c.code {
			t.Errorf("%s: %d %s", name, resp.StatusCode, b)
		}
	}
	// A token logs its reader in once: a copy of it (from a cached page, a
	// log) is refused until it expires. Without a jti, the token itself is
	// what is remembered.
	raw := func() string {
		claims := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"id":"9","name":"Pat","exp":%d}`, time.Now().Add(5*time.Minute).Unix())))
		m := hmac.New(sha256.New, []byte(ssoSecret))
		m.Write([]byte(claims))
		return claims + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}()
	for i, tok := range []string{ssoToken(t, auth.SSOUser{ID: "9", Name: "Pat"}), raw} {
		resp, b := as.do(t, "POST", "/api/v1/sites/news/auth/sso", map[string]string{"token": tok}, map[string]string{"Origin": origin})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("token %d, first use: %d %s", i, resp.StatusCode, b)
		}
		resp, b = as.do(t, "POST", "/api/v1/sites/news/auth/sso", map[string]string{"token": tok}, map[string]string{"Origin": origin})
		if e := decode[apiErr](t, b); resp.StatusCode != http.StatusUnauthorized || e.Error.Code != "sso_used" {
			t.Errorf("token %d, replayed: %d %s", i, resp.StatusCode, b)
		}
	}

	// A site without a secret has no SSO.
	ctx := context.Background()
	site, _ := as.st.Site(ctx, "news")
	site.SSOSecret = ""
	if err := as.svc.UpdateSite(ctx, service.OperatorActor(), site); err != nil {
		t.Fatal(err)
	}
	resp, b := as.do(t, "POST", "/api/v1/sites/news/auth/sso", map[string]string{"token": ssoToken(t, auth.SSOUser{ID: "1", Name: "A"})}, map[string]string{"Origin": origin})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("no secret: %d %s", resp.StatusCode, b)
	}
}

func TestLogoutAndLogoutEverywhere(t *testing.T) {
	as := newAuthServer(t, login.Config{}, service.Options{}, nil)
	a := as.ssoLogin(t, "7", "Sam", "")
	b := as.ssoLogin(t, "7", "Sam", "") // the same reader in another browser
	other := as.ssoLogin(t, "8", "Kim", "")

	resp, _ := as.do(t, "POST", "/auth/logout", nil, bearer(a.Token))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	// The token no longer works; posting with it is refused with 401 so
	// the widget forgets it, and nothing is stored.
	resp, body := as.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"body": "after logout"}), bearer(a.Token))
	if resp.StatusCode != http.StatusUnauthorized || decode[apiErr](t, body).Error.Code != "not_logged_in" {
		t.Fatalf("post after logout: %d %s", resp.StatusCode, body)
	}
	if resp, _ := as.do(t, "GET", "/api/v1/sites/news/me", nil, bearer(b.Token)); resp.StatusCode != 200 {
		t.Fatalf("the other browser was logged out too: %d", resp.StatusCode)
	}

	resp, body = as.do(t, "POST", "/auth/logout-all", nil, bearer(b.Token))
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"sessions":1`) {
		t.Fatalf("logout-all: %d %s", resp.StatusCode, body)
	}
	if resp, _ := as.do(t, "GET", "/api/v1/sites/news/me", nil, bearer(b.Token)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("logout-all left a session: %d", resp.StatusCode)
	}
	if resp, _ := as.do(t, "GET", "/api/v1/sites/news/me", nil, bearer(other.Token)); resp.StatusCode != 200 {
		t.Errorf("logout-all ended another reader's session: %d", resp.StatusCode)
	}
	// A forged token is a 401, not a guest post.
	resp, _ = as.do(t, "POST", "/api/v1/sites/news/comments", post(nil), bearer(other.Token+"x"))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged token: %d", resp.StatusCode)
	}
}

func TestGuestPolicies(t *testing.T) {
	t.Run("login", func(t *testing.T) {
		as := newAuthServer(t, login.Config{}, service.Options{}, func(s *comment.Site) { s.Guests = comment.GuestsLogin })
		resp, b := as.do(t, "POST", "/api/v1/sites/news/comments", post(nil), map[string]string{"Origin": origin})
		if resp.StatusCode != http.StatusForbidden || decode[apiErr](t, b).Error.Code != "login_required" {
			t.Fatalf("guest post: %d %s", resp.StatusCode, b)
		}
		s := as.ssoLogin(t, "1", "Ada", "")
		if resp, b := as.do(t, "POST", "/api/v1/sites/news/comments", post(nil), bearer(s.Token)); resp.StatusCode != http.StatusCreated {
			t.Fatalf("logged-in post: %d %s", resp.StatusCode, b)
		}
		_, b = as.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/story"), nil, nil)
		if !strings.Contains(string(b), `"guests":"login"`) || !strings.Contains(string(b), `"sso":true`) {
			t.Errorf("thread JSON does not describe the log-in: %s", b)
		}
		// The form without JavaScript offers no guest fields.
		_, b = as.do(t, "GET", "/sites/news/thread?page="+url.QueryEscape(origin+"/story"), nil, nil)
		if strings.Contains(string(b), `name="email"`) {
			t.Errorf("login-only form has guest fields")
		}
	})
	t.Run("anonymous", func(t *testing.T) {
		as := newAuthServer(t, login.Config{}, service.Options{}, func(s *comment.Site) { s.Guests = comment.GuestsAnonymous })
		resp, b := as.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"name": "", "email": ""}), map[string]string{"Origin": origin})
		if resp.StatusCode != http.StatusCreated || decode[apiComment](t, b).Author["name"] != "Anonymous" {
			t.Fatalf("anonymous post: %d %s", resp.StatusCode, b)
		}
	})
	t.Run("name_email", func(t *testing.T) {
		as := newAuthServer(t, login.Config{}, service.Options{}, nil)
		resp, b := as.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"email": ""}), map[string]string{"Origin": origin})
		if resp.StatusCode != http.StatusBadRequest || decode[apiErr](t, b).Error.Field != "email" {
			t.Fatalf("post without email: %d %s", resp.StatusCode, b)
		}
	})
}

func TestPreflightAllowsBearer(t *testing.T) {
	as := newAuthServer(t, login.Config{}, service.Options{}, nil)
	for _, path := range []string{"/api/v1/sites/news/comments", "/auth/logout"} {
		resp, _ := as.do(t, "OPTIONS", path, nil, map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"})
		if resp.StatusCode != http.StatusNoContent || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Errorf("%s: %d %v", path, resp.StatusCode, resp.Header)
		}
	}
}

func TestPrivacyPageTellsAboutLogIn(t *testing.T) {
	smtp := authtest.StartSMTP(t)
	as := newAuthServer(t, login.Config{SMTP: &mail.Config{Host: smtp.Host(), Port: smtp.Port(), TLS: mail.TLSNone, From: "c@news.example"}, SessionTTL: 7 * 24 * time.Hour}, service.Options{}, nil)
	_, b := as.do(t, "GET", "/sites/news/privacy", nil, nil)
	page := string(b)
	for _, want := range []string{"If you log in", "You can log in with: a link sent to your email address, your The News account.", "for up to 7 days,"} {
		if !strings.Contains(page, want) {
			t.Errorf("privacy page does not say %q:\n%s", want, page)
		}
	}
	// A site without any log-in says nothing about it.
	plain := newTestServer(t)
	_, b = plain.do(t, "GET", "/sites/news/privacy", nil, nil)
	if strings.Contains(string(b), "If you log in") {
		t.Errorf("privacy page of a site without log-in talks about it")
	}
}

// TestSessionsBelongToTheirSite: a session is good only on the site it
// was started on, and only while that site still offers its log-in; on
// another site it does not get past the guest policy or moderation.
func TestSessionsBelongToTheirSite(t *testing.T) {
	as := newAuthServer(t, login.Config{}, service.Options{}, nil)
	const other = "https://other.example"
	strict := &comment.Site{ID: "strict", Name: "Strict", Origins: []string{other}, Guests: comment.GuestsLogin, Moderation: comment.ModerateFirst}
	if err := as.svc.CreateSite(context.Background(), service.OperatorActor(), strict); err != nil {
		t.Fatal(err)
	}
	s := as.ssoLogin(t, "42", "Jane Reporter", "jane@news.example")

	// On the other site the token is refused, nothing is stored.
	h := bearer(s.Token)
	h["Origin"] = other
	resp, b := as.do(t, "POST", "/api/v1/sites/strict/comments", post(map[string]string{"page": other + "/a", "url": other + "/a"}), h)
	if resp.StatusCode != http.StatusUnauthorized || decode[apiErr](t, b).Error.Code != "not_logged_in" {
		t.Fatalf("post on another site with news's session: %d %s", resp.StatusCode, b)
	}
	if resp, _ := as.do(t, "GET", "/api/v1/sites/strict/me", nil, h); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/me on another site: %d", resp.StatusCode)
	}
	if n, _ := as.svc.Counts(context.Background(), "strict", []string{other + "/a"}); n[other+"/a"] != 0 {
		t.Errorf("stored on the other site: %v", n)
	}

	// On its own site it works, until the site stops offering its log-in.
	if resp, _ := as.do(t, "GET", "/api/v1/sites/news/me", nil, bearer(s.Token)); resp.StatusCode != 200 {
		t.Fatalf("/me on its own site: %d", resp.StatusCode)
	}
	site, err := as.svc.Site(context.Background(), "news")
	if err != nil {
		t.Fatal(err)
	}
	site.SSOSecret = ""
	if err := as.svc.UpdateSite(context.Background(), service.OperatorActor(), site); err != nil {
		t.Fatal(err)
	}
	if resp, b := as.do(t, "POST", "/api/v1/sites/news/comments", post(nil), bearer(s.Token)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("SSO session after the site removed its SSO secret: %d %s", resp.StatusCode, b)
	}
}
