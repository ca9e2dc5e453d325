package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/internal/auth"
)

type flowEnv struct {
	flow  *auth.Flow
	clock *clock
	prov  *fakeProvider
	// seen is the last exchange request the provider got.
	seen auth.ExchangeRequest
	// sent is what the provider's authorization URL carried.
	sent url.Values
}

func newFlowEnv(t *testing.T) *flowEnv {
	t.Helper()
	e := &flowEnv{clock: newClock()}
	e.prov = &fakeProvider{id: "fake", exchange: func(ctx context.Context, r auth.ExchangeRequest) (*auth.Identity, error) {
		e.seen = r
		if r.Code != "good-code" {
			return nil, auth.ErrProvider
		}
		return &auth.Identity{Subject: "u1", Name: "Jane", Email: "jane@example.com", EmailVerified: true}, nil
	}}
	e.flow = must[*auth.Flow](t)(auth.NewFlow(auth.FlowConfig{
		Secret:    testSecret,
		Providers: []auth.Provider{e.prov},
		Once:      auth.NewMemoryStoreClock(e.clock.Now),
		ReturnOK:  allowOrigin("news", "https://news.example"),
		Now:       e.clock.Now,
	}))
	return e
}

// begin starts a log-in and returns the cookie set and the state sent.
func (e *flowEnv) begin(t *testing.T, req auth.BeginRequest) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	u, err := e.flow.Begin(w, req)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	pu, _ := url.Parse(u)
	e.sent = pu.Query()
	cs := w.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("Begin set %d cookies, want 1", len(cs))
	}
	return cs[0]
}

func (e *flowEnv) finish(query url.Values, c *http.Cookie) (*auth.Result, *httptest.ResponseRecorder, error) {
	r := httptest.NewRequest("GET", "https://comments.example/auth/fake/callback?"+query.Encode(), nil)
	if c != nil {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	w := httptest.NewRecorder()
	res, err := e.flow.Finish(w, r)
	return res, w, err
}

var goodBegin = auth.BeginRequest{
	Provider:    "fake",
	SiteID:      "news",
	ReturnTo:    "https://news.example/2026/bus-line",
	Mode:        auth.ModePopup,
	Bind:        browserKey,
	CallbackURL: "https://comments.example/auth/fake/callback",
}

func TestFlow_Begin(t *testing.T) {
	e := newFlowEnv(t)
	c := e.begin(t, goodBegin)

	if c.Name != auth.DefaultFlowCookie || c.Path != "/auth/" || !c.HttpOnly || !c.Secure ||
		c.SameSite != http.SameSiteLaxMode || c.MaxAge != 600 {
		t.Errorf("cookie = %+v; want %s, path /auth/, HttpOnly, Secure, SameSite=Lax, Max-Age 600", c, auth.DefaultFlowCookie)
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(e.sent.Get(k)) < 43 {
			t.Errorf("%s = %q, want 32 random bytes in base64url", k, e.sent.Get(k))
		}
	}
	if strings.Contains(c.Value, e.sent.Get("state")) || strings.Contains(c.Value, "news.example") {
		t.Error("the cookie shows its content; it must be sealed")
	}
	if got := e.sent.Get("redirect_uri"); got != goodBegin.CallbackURL {
		t.Errorf("redirect_uri = %q", got)
	}

	// Two log-ins never share state, nonce or verifier.
	first := e.sent
	e.begin(t, goodBegin)
	if first.Get("state") == e.sent.Get("state") || first.Get("nonce") == e.sent.Get("nonce") {
		t.Error("state or nonce repeated between log-ins")
	}

	plain := goodBegin
	plain.CallbackURL = "http://127.0.0.1:8080/auth/fake/callback"
	if c := e.begin(t, plain); c.Secure {
		t.Error("cookie is Secure on a plain-http development callback; the browser would drop it")
	}
}

func TestFlow_BeginRefuses(t *testing.T) {
	e := newFlowEnv(t)
	tests := []struct {
		name string
		edit func(*auth.BeginRequest)
		want error
	}{
		{"unknown provider", func(r *auth.BeginRequest) { r.Provider = "myspace" }, auth.ErrUnknownProvider},
		{"return to another site", func(r *auth.BeginRequest) { r.ReturnTo = "https://evil.example/" }, auth.ErrBadReturn},
		{"return to a look-alike host", func(r *auth.BeginRequest) { r.ReturnTo = "https://news.example.evil.example/" }, auth.ErrBadReturn},
		{"return with user info", func(r *auth.BeginRequest) { r.ReturnTo = "https://news.example@evil.example/" }, auth.ErrBadReturn},
		{"relative return", func(r *auth.BeginRequest) { r.ReturnTo = "//evil.example/" }, auth.ErrBadReturn},
		{"javascript return", func(r *auth.BeginRequest) { r.ReturnTo = "javascript:alert(1)" }, auth.ErrBadReturn},
		{"return for another site id", func(r *auth.BeginRequest) { r.SiteID = "other" }, auth.ErrBadReturn},
		{"empty return", func(r *auth.BeginRequest) { r.ReturnTo = "" }, auth.ErrBadReturn},
		{"unknown mode", func(r *auth.BeginRequest) { r.Mode = "iframe" }, nil},
		{"popup without a browser key", func(r *auth.BeginRequest) { r.Bind = "" }, auth.ErrBadBind},
		{"malformed browser key", func(r *auth.BeginRequest) { r.Bind = "short" }, auth.ErrBadBind},
		{"browser key with odd characters", func(r *auth.BeginRequest) { r.Bind = "k3y-of-a-reader_browser01&x=1" }, auth.ErrBadBind},
		{"relative callback", func(r *auth.BeginRequest) { r.CallbackURL = "/auth/fake/callback" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := goodBegin
			tt.edit(&req)
			w := httptest.NewRecorder()
			u, err := e.flow.Begin(w, req)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("Begin = %q, %v; want error %v", u, err, tt.want)
			}
			if len(w.Result().Cookies()) != 0 {
				t.Error("a refused log-in set a cookie")
			}
		})
	}
}

func TestFlow_Finish(t *testing.T) {
	e := newFlowEnv(t)
	c := e.begin(t, goodBegin)
	state := e.sent.Get("state")

	res, w, err := e.finish(url.Values{"state": {state}, "code": {"good-code"}}, c)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	want := auth.Identity{Provider: "fake", Subject: "u1", Name: "Jane", Email: "jane@example.com", EmailVerified: true}
	if res.Identity != want {
		t.Errorf("identity = %+v, want %+v", res.Identity, want)
	}
	if res.SiteID != "news" || res.ReturnTo != goodBegin.ReturnTo || res.Mode != auth.ModePopup || res.Provider != "fake" || res.Bind != browserKey {
		t.Errorf("pending = %+v; want what Begin stored", res.Pending)
	}
	// The provider got the verifier that matches the challenge it was
	// sent, the nonce it was sent, and the same redirect URI.
	sum := sha256.Sum256([]byte(e.seen.CodeVerifier))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != e.sent.Get("code_challenge") {
		t.Error("code verifier does not match the S256 challenge")
	}
	if e.seen.Nonce != e.sent.Get("nonce") || e.seen.RedirectURL != goodBegin.CallbackURL {
		t.Errorf("exchange got %+v", e.seen)
	}
	cleared := w.Result().Cookies()
	if len(cleared) != 1 || cleared[0].MaxAge >= 0 || cleared[0].Path != "/auth/" {
		t.Errorf("Finish did not clear the log-in cookie: %+v", cleared)
	}
}

func TestFlow_FinishRefuses(t *testing.T) {
	tests := []struct {
		name string
		// run begins a log-in and returns the callback query and cookie.
		run  func(t *testing.T, e *flowEnv) (url.Values, *http.Cookie)
		want error
	}{
		{"no cookie: another browser", func(t *testing.T, e *flowEnv) (url.Values, *http.Cookie) {
			e.begin(t, goodBegin)
			return url.Values{"state": {e.sent.Get("state")}, "code": {"good-code"}}, nil
		}, auth.ErrNoFlow},
		{"wrong state", func(t *testing.T, e *flowEnv) (url.Values, *http.Cookie) {
			c := e.begin(t, goodBegin)
			return url.Values{"state": {"AAAA" + e.sent.Get("state")[4:]}, "code": {"good-code"}}, c
		}, auth.ErrState},
		{"no state", func(t *testing.T, e *flowEnv) (url.Values, *http.Cookie) {
			c := e.begin(t, goodBegin)
			return url.Values{"code": {"good-code"}}, c
		}, auth.ErrState},
		{"state of another browser's log-in", func(t *testing.T, e *flowEnv) (url.Values, *http.Cookie) {
			e.begin(t, goodBegin)
			theirs := e.sent.Get("state")
			mine := e.begin(t, goodBegin)
			return url.Values{"state": {theirs}, "code": {"good-code"}}, mine
		}, auth.ErrState},
		{"expired cookie", func(t *testing.T, e *flowEnv) (url.Values, *http.Cookie) {
			c := e.begin(t, goodBegin)
			e.clock.Add(auth.FlowMaxAge + time.Second)
			return url.Values{"state": {e.sent.Get("state")}, "code": {"good-code"}}, c
		}, auth.ErrExpired},
		{"tampered cookie", func(t *testing.T, e *flowEnv) (url.Values, *http.Cookie) {
			c := e.begin(t, goodBegin)
			b := []byte(c.Value)
			b[len(b)/2] ^= 1
			c.Value = string(b)
			return url.Values{"state": {e.sent.Get("state")}, "code": {"good-code"}}, c
		}, auth.ErrNoFlow},
		{"cookie sealed with another secret", func(t *testing.T, e *flowEnv) (url.Values, *http.Cookie) {
			other := newFlowEnvSecret(t, []byte("another secret, 32 bytes long..."))
			c := other.begin(t, goodBegin)
			return url.Values{"state": {other.sent.Get("state")}, "code": {"good-code"}}, c
		}, auth.ErrNoFlow},
		{"reader declined", func(t *testing.T, e *flowEnv) (url.Values, *http.Cookie) {
			c := e.begin(t, goodBegin)
			return url.Values{"state": {e.sent.Get("state")}, "error": {"access_denied"}}, c
		}, auth.ErrDenied},
		{"provider error", func(t *testing.T, e *flowEnv) (url.Values, *http.Cookie) {
			c := e.begin(t, goodBegin)
			return url.Values{"state": {e.sent.Get("state")}, "error": {"server_error\r\nX: y"}}, c
		}, auth.ErrProvider},
		{"bad code", func(t *testing.T, e *flowEnv) (url.Values, *http.Cookie) {
			c := e.begin(t, goodBegin)
			return url.Values{"state": {e.sent.Get("state")}, "code": {"stolen"}}, c
		}, auth.ErrProvider},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFlowEnv(t)
			q, c := tt.run(t, e)
			res, w, err := e.finish(q, c)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Finish = %v, want %v", err, tt.want)
			}
			if res != nil && res.Identity != (auth.Identity{}) {
				t.Errorf("a refused log-in returned an identity: %+v", res.Identity)
			}
			if c != nil && len(w.Result().Cookies()) != 1 {
				t.Error("a refused log-in did not clear the cookie")
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("error %q carries control characters from the query", err)
			}
		})
	}
}

func newFlowEnvSecret(t *testing.T, secret []byte) *flowEnv {
	e := newFlowEnv(t)
	e.flow = must[*auth.Flow](t)(auth.NewFlow(auth.FlowConfig{Secret: secret, Providers: []auth.Provider{e.prov},
		Once: auth.NewMemoryStoreClock(e.clock.Now), ReturnOK: allowOrigin("news", "https://news.example"), Now: e.clock.Now}))
	return e
}

func TestFlow_FinishReplay(t *testing.T) {
	e := newFlowEnv(t)
	c := e.begin(t, goodBegin)
	q := url.Values{"state": {e.sent.Get("state")}, "code": {"good-code"}}
	if _, _, err := e.finish(q, c); err != nil {
		t.Fatal(err)
	}
	// The browser dropped the cookie; someone who kept a copy of it and
	// of the callback URL replays both.
	if _, _, err := e.finish(q, c); !errors.Is(err, auth.ErrReplay) {
		t.Fatalf("replayed callback: %v, want ErrReplay", err)
	}
}

func TestFlow_ReturnRevoked(t *testing.T) {
	// A site that removes an origin while a reader is at the provider:
	// the return address is checked again.
	allowed := true
	e := newFlowEnv(t)
	e.flow = must[*auth.Flow](t)(auth.NewFlow(auth.FlowConfig{Secret: testSecret, Providers: []auth.Provider{e.prov},
		Once: auth.NewMemoryStoreClock(e.clock.Now), ReturnOK: func(string, string) bool { return allowed }, Now: e.clock.Now}))
	c := e.begin(t, goodBegin)
	allowed = false
	if _, _, err := e.finish(url.Values{"state": {e.sent.Get("state")}, "code": {"good-code"}}, c); !errors.Is(err, auth.ErrBadReturn) {
		t.Fatalf("Finish = %v, want ErrBadReturn", err)
	}
}

func TestNewFlow(t *testing.T) {
	p := &fakeProvider{id: "fake"}
	ok := allowOrigin("a", "https://a.example")
	tests := []struct {
		name string
		c    auth.FlowConfig
	}{
		{"short secret", auth.FlowConfig{Secret: []byte("short"), Once: auth.NewMemoryStore(), ReturnOK: ok}},
		{"no once store", auth.FlowConfig{Secret: testSecret, ReturnOK: ok}},
		{"no return checker", auth.FlowConfig{Secret: testSecret, Once: auth.NewMemoryStore()}},
		{"duplicate provider", auth.FlowConfig{Secret: testSecret, Once: auth.NewMemoryStore(), ReturnOK: ok, Providers: []auth.Provider{p, p}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := auth.NewFlow(tt.c); err == nil {
				t.Fatal("NewFlow accepted a bad configuration")
			}
		})
	}
}
