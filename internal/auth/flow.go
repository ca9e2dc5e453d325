package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/keys"
)

// Errors a log-in can end with. They say what went wrong in terms a
// handler can map to a message for the reader; none carries secrets.
var (
	// ErrUnknownProvider: no provider with that id is configured.
	ErrUnknownProvider = errors.New("unknown log-in provider")
	// ErrBadBind: a browser key that is not one (see ValidBind), or none
	// where one is needed.
	ErrBadBind = errors.New("malformed browser key")
	// ErrBadReturn: the return address is not one the site allows.
	ErrBadReturn = errors.New("return address not allowed")
	// ErrNoFlow: the browser has no valid log-in cookie, because it was
	// never set (another browser), has expired, or was tampered with.
	ErrNoFlow = errors.New("no log-in in progress in this browser")
	// ErrExpired: the log-in, email link or token is older than allowed.
	ErrExpired = errors.New("log-in expired")
	// ErrState: the state the provider sent back is not this browser's.
	ErrState = errors.New("log-in state does not match")
	// ErrReplay: this callback or link was used before.
	ErrReplay = errors.New("log-in already used")
	// ErrDenied: the reader declined at the provider.
	ErrDenied = errors.New("log-in declined at the provider")
	// ErrProvider: the provider answered with an error or unusable data.
	ErrProvider = errors.New("log-in provider failed")
	// ErrIDToken: an OpenID Connect ID token failed verification.
	ErrIDToken = errors.New("ID token not valid")
)

// Mode says how a log-in window reports back to the widget.
type Mode string

// The two ways a log-in runs in the browser.
const (
	// ModePopup: the provider opened in a small window; the callback page
	// hands the session to the widget (postMessage to the return origin)
	// and closes.
	ModePopup Mode = "popup"
	// ModeRedirect: the whole page went to the provider and comes back to
	// the return address; this is also the flow without JavaScript.
	ModeRedirect Mode = "redirect"
	// ModeStaff: a staff member logging in to the moderation desk, by
	// redirect; the log-in makes no reader session (package admin makes
	// a desk session of the identity).
	ModeStaff Mode = "staff"
)

// ReturnChecker reports whether url is an address a log-in for siteID may
// send the reader back to, typically "its origin is one of the site's
// allowed origins". Everything it refuses is refused: Parley never
// redirects to an address a site did not allow.
type ReturnChecker func(siteID, url string) bool

// OnceStore remembers single-use values (a log-in's state, an email link)
// until they expire, so that each is accepted once. Several Parley
// instances must share one store.
type OnceStore interface {
	// UseOnce records key as used until expires. It returns
	// comment.ErrConflict if key was recorded before and has not expired.
	// Keys are at most 80 bytes of ASCII.
	UseOnce(ctx context.Context, key string, expires time.Time) error
}

// FlowMaxAge is how long a reader has between starting a log-in and
// coming back from the provider.
const FlowMaxAge = 10 * time.Minute

// DefaultFlowCookie and DefaultFlowPath name and scope the log-in cookie.
const (
	DefaultFlowCookie = "parley_login"
	DefaultFlowPath   = "/auth/"
)

// FlowConfig configures a Flow. Secret, Providers, Once and ReturnOK are
// required.
type FlowConfig struct {
	Secret    []byte // the server secret
	Providers []Provider
	Once      OnceStore
	ReturnOK  ReturnChecker
	// CookieName and CookiePath default to DefaultFlowCookie and
	// DefaultFlowPath. The path must cover every provider's callback.
	CookieName string
	CookiePath string
	Now        func() time.Time // for tests; time.Now by default
}

// Flow runs the browser side of an OAuth 2.0 / OpenID Connect log-in:
// Begin sends the reader to the provider and Finish takes them back. It is
// safe by construction: state, PKCE verifier and nonce are bound to the
// browser in a sealed, HttpOnly, SameSite=Lax cookie; the return address
// is checked by the site's ReturnChecker; each callback is accepted once.
//
// The log-in cookie belongs to Parley's own origin: in popup mode the
// provider window is a top-level page on Parley, and in redirect mode the
// whole tab is, so the flow works in browsers that block third-party
// cookies.
type Flow struct {
	keys      *keys.Keys
	providers map[string]Provider
	order     []Provider
	once      OnceStore
	returnOK  ReturnChecker
	name      string
	path      string
	now       func() time.Time
}

// NewFlow checks c and returns a Flow.
func NewFlow(c FlowConfig) (*Flow, error) {
	k, err := newKeys(c.Secret)
	if err != nil {
		return nil, err
	}
	if c.Once == nil || c.ReturnOK == nil {
		return nil, errors.New("auth: a flow needs a OnceStore and a ReturnChecker")
	}
	f := &Flow{keys: k, providers: map[string]Provider{}, once: c.Once, returnOK: c.ReturnOK,
		name: c.CookieName, path: c.CookiePath, now: c.Now}
	if f.name == "" {
		f.name = DefaultFlowCookie
	}
	if f.path == "" {
		f.path = DefaultFlowPath
	}
	if f.now == nil {
		f.now = time.Now
	}
	for _, p := range c.Providers {
		if _, dup := f.providers[p.ID()]; dup {
			return nil, fmt.Errorf("auth: provider %q configured twice", p.ID())
		}
		f.providers[p.ID()] = p
		f.order = append(f.order, p)
	}
	return f, nil
}

// Providers returns the configured providers in configuration order, for
// drawing the row of log-in icons.
func (f *Flow) Providers() []Provider { return append([]Provider(nil), f.order...) }

// Provider returns the provider with the given id.
func (f *Flow) Provider(id string) (Provider, bool) {
	p, ok := f.providers[id]
	return p, ok
}

// BeginRequest is a reader's wish to log in.
type BeginRequest struct {
	Provider string // provider id
	SiteID   string
	// ReturnTo is the page to go back to (redirect mode) or the page that
	// opened the window (popup mode: its origin is where the session is
	// posted). ReturnChecker must allow it.
	ReturnTo string
	Mode     Mode // ModePopup or ModeRedirect; empty means redirect
	// Bind is the browser key of the widget that started the log-in (see
	// ValidBind): the hand-off code at the end can only be redeemed with
	// it. "" for a browser without JavaScript, which gets a cookie instead.
	Bind string
	// CallbackURL is Parley's absolute callback address for this provider,
	// as registered with it, e.g. https://comments.example/auth/google/callback.
	// An https callback makes the cookie Secure.
	CallbackURL string
	// Lang is the language the reader sees the comments in, such as "ar";
	// Parley's own pages at the end of the log-in speak it. "" means the
	// browser's.
	Lang string
}

// Pending is what Begin stored and Finish gives back.
type Pending struct {
	Provider string
	SiteID   string
	ReturnTo string
	Mode     Mode
	Bind     string // BeginRequest.Bind, or what the email link was sent with
	Lang     string // BeginRequest.Lang, or the email link's; "" if not given
	Started  time.Time
}

// Result is a finished log-in: who the reader is, and what Begin stored.
type Result struct {
	Pending
	Identity Identity
}

// flowCookie is the sealed content of the log-in cookie.
type flowCookie struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Verifier string `json:"v"`
	Nonce    string `json:"n"`
	Site     string `json:"site"`
	Return   string `json:"ret"`
	Mode     Mode   `json:"m"`
	Bind     string `json:"b,omitempty"`
	Callback string `json:"cb"`
	Lang     string `json:"l,omitempty"`
	Started  int64  `json:"t"`
}

const (
	flowPurpose   = "login-flow"
	maxURLLen     = 2048
	maxCookieSize = 4096
)

// Begin starts a log-in: it sets the log-in cookie on w and returns the
// provider URL to redirect the browser to. It returns ErrUnknownProvider
// or ErrBadReturn, or an error for a malformed request.
func (f *Flow) Begin(w http.ResponseWriter, r BeginRequest) (string, error) {
	p, ok := f.providers[r.Provider]
	if !ok {
		return "", ErrUnknownProvider
	}
	if r.Mode == "" {
		r.Mode = ModeRedirect
	}
	if r.Mode != ModePopup && r.Mode != ModeRedirect && r.Mode != ModeStaff {
		return "", fmt.Errorf("auth: unknown mode %q", r.Mode)
	}
	if r.Bind != "" && !ValidBind(r.Bind) || r.Mode == ModePopup && r.Bind == "" {
		// Only the widget opens the log-in window, and it has a key.
		return "", ErrBadBind
	}
	if !absoluteHTTP(r.CallbackURL) {
		return "", errors.New("auth: the callback URL must be an absolute http(s) URL")
	}
	if !absoluteHTTP(r.ReturnTo) || !f.returnOK(r.SiteID, r.ReturnTo) {
		return "", ErrBadReturn
	}
	st := flowCookie{
		Provider: p.ID(),
		State:    randomString(),
		Verifier: randomString(),
		Nonce:    randomString(),
		Site:     r.SiteID,
		Return:   r.ReturnTo,
		Mode:     r.Mode,
		Bind:     r.Bind,
		Callback: r.CallbackURL,
		Lang:     knownLang(r.Lang),
		Started:  f.now().Unix(),
	}
	b, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	value := f.keys.Seal(flowPurpose, b)
	if len(value) > maxCookieSize {
		return "", errors.New("auth: log-in cookie too large")
	}
	http.SetCookie(w, &http.Cookie{
		Name:     f.name,
		Value:    value,
		Path:     f.path,
		MaxAge:   int(FlowMaxAge / time.Second),
		HttpOnly: true,
		Secure:   strings.HasPrefix(r.CallbackURL, "https://"),
		// Lax: the browser sends it on the provider's top-level redirect
		// back to the callback, and on no cross-site subrequest.
		SameSite: http.SameSiteLaxMode,
	})
	return p.AuthCodeURL(AuthCodeRequest{
		RedirectURL:   st.Callback,
		State:         st.State,
		Nonce:         st.Nonce,
		CodeChallenge: pkceChallenge(st.Verifier),
	}), nil
}

// Finish completes a log-in on the provider's callback request r: it
// checks the state against this browser's log-in cookie (in constant
// time), the cookie's age (FlowMaxAge) and that this callback was not used
// before, clears the cookie, exchanges the code (which verifies the ID
// token and nonce for OpenID Connect) and returns the reader's identity.
//
// Errors: ErrNoFlow, ErrExpired, ErrState, ErrReplay, ErrDenied,
// ErrBadReturn, ErrUnknownProvider, or an error wrapping ErrProvider or
// ErrIDToken. Once the cookie has been read, the Result is returned even
// with an error (without an Identity), so the handler can answer in the
// right mode and send the reader back to the right page.
func (f *Flow) Finish(w http.ResponseWriter, r *http.Request) (*Result, error) {
	c, err := r.Cookie(f.name)
	if err != nil {
		return nil, ErrNoFlow
	}
	b, ok := f.keys.Unseal(flowPurpose, c.Value, maxCookieSize)
	var st flowCookie
	if ok && json.Unmarshal(b, &st) != nil {
		ok = false
	}
	// The cookie is spent whatever happens next.
	http.SetCookie(w, &http.Cookie{Name: f.name, Value: "", Path: f.path, MaxAge: -1,
		HttpOnly: true, Secure: strings.HasPrefix(st.Callback, "https://"), SameSite: http.SameSiteLaxMode})
	if !ok {
		return nil, ErrNoFlow
	}
	res := &Result{Pending: Pending{Provider: st.Provider, SiteID: st.Site, ReturnTo: st.Return,
		Mode: st.Mode, Bind: st.Bind, Lang: st.Lang, Started: time.Unix(st.Started, 0)}}
	now := f.now()
	if age := now.Sub(res.Started); age > FlowMaxAge || age < -time.Minute {
		return res, ErrExpired
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		return res, ErrState
	}
	if err := f.once.UseOnce(r.Context(), "flow:"+f.keys.Hash("flow-state", st.State, 32)[:64], res.Started.Add(FlowMaxAge+time.Minute)); err != nil {
		if errors.Is(err, comment.ErrConflict) {
			return res, ErrReplay
		}
		return res, fmt.Errorf("record log-in state: %w", err)
	}
	if e := q.Get("error"); e != "" {
		if e == "access_denied" {
			return res, ErrDenied
		}
		return res, fmt.Errorf("%w: %s", ErrProvider, cleanCode(e))
	}
	code := q.Get("code")
	if code == "" {
		return res, fmt.Errorf("%w: no code in the callback", ErrProvider)
	}
	p, ok := f.providers[st.Provider]
	if !ok {
		return res, ErrUnknownProvider
	}
	if !f.returnOK(st.Site, st.Return) {
		return res, ErrBadReturn
	}
	id, err := p.Exchange(r.Context(), ExchangeRequest{
		RedirectURL:  st.Callback,
		Code:         code,
		CodeVerifier: st.Verifier,
		Nonce:        st.Nonce,
	})
	if err != nil {
		return res, err
	}
	if id.Subject == "" {
		return res, fmt.Errorf("%w: %s did not say who the reader is", ErrProvider, p.ID())
	}
	id.Provider = p.ID()
	res.Identity = *id
	return res, nil
}

// ValidBind reports whether s can be a browser key: 22 to 64 characters of
// the URL-safe base64 alphabet (the widget makes 128 random bits or more).
func ValidBind(s string) bool {
	if len(s) < 22 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// absoluteHTTP reports whether s is an absolute http or https URL with a
// host and no user information, short enough to carry around.
func absoluteHTTP(s string) bool {
	if len(s) > maxURLLen {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}

// cleanCode keeps an error code from a query string printable and short,
// since it ends up in logs.
func cleanCode(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' {
			return r
		}
		return '?'
	}, s)
}

// knownLang returns the language Parley has a table for that best fits
// tag, or "" for "": what the reader asked for, never free text.
func knownLang(tag string) string {
	if tag == "" {
		return ""
	}
	return i18n.Get(tag).Lang()
}
