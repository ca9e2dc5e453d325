package provider_test

// The Parley side of the tests: a small app with the two routes the HTTP
// layer will have (start and callback), and a browser (an http.Client with
// a cookie jar) that walks the whole flow.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"parley/internal/auth"
)

const (
	siteID     = "news"
	siteOrigin = "https://news.example"
	articleURL = siteOrigin + "/2026/riverton-bus-line"
)

// app is Parley, as far as logging in goes.
type app struct {
	srv  *httptest.Server
	flow *auth.Flow
	mu   sync.Mutex
	res  *auth.Result
	err  error
	skew time.Duration // added to the app's clock
}

// wait moves the app's clock forward.
func (a *app) wait(d time.Duration) {
	a.mu.Lock()
	a.skew += d
	a.mu.Unlock()
}

func (a *app) now() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return time.Now().Add(a.skew)
}

// newApp reserves the app's address, so providers can be registered with
// its callback URL before the flow exists; start finishes the set-up.
func newApp(t *testing.T) *app {
	t.Helper()
	a := &app{srv: httptest.NewUnstartedServer(nil)}
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) url() string { return "http://" + a.srv.Listener.Addr().String() }

func (a *app) callback(provider string) string { return a.url() + "/auth/" + provider + "/callback" }

func (a *app) start(t *testing.T, providers ...auth.Provider) {
	t.Helper()
	flow, err := auth.NewFlow(auth.FlowConfig{
		Secret:    []byte("server secret for the tests, 32b"),
		Providers: providers,
		Once:      auth.NewMemoryStoreClock(a.now),
		Now:       a.now,
		ReturnOK: func(site, u string) bool {
			p, err := url.Parse(u)
			return err == nil && site == siteID && p.Scheme+"://"+p.Host == siteOrigin
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	a.flow = flow
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth/{provider}/start", func(w http.ResponseWriter, r *http.Request) {
		p := r.PathValue("provider")
		to, err := a.flow.Begin(w, auth.BeginRequest{Provider: p, SiteID: siteID, ReturnTo: r.FormValue("return"),
			Mode: auth.Mode(r.FormValue("mode")), Bind: r.FormValue("bind"), CallbackURL: a.callback(p)})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, to, http.StatusFound)
	})
	mux.HandleFunc("GET /auth/{provider}/callback", func(w http.ResponseWriter, r *http.Request) {
		res, err := a.flow.Finish(w, r)
		a.mu.Lock()
		a.res, a.err = res, err
		a.mu.Unlock()
		if err != nil {
			http.Error(w, "log-in failed", http.StatusForbidden)
			return
		}
		io.WriteString(w, "logged in")
	})
	a.srv.Config.Handler = mux
	a.srv.Start()
}

func (a *app) result() (*auth.Result, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, err := a.res, a.err
	a.res, a.err = nil, nil
	return r, err
}

// browser is a reader's browser: it keeps cookies and follows redirects.
type browser struct {
	t      *testing.T
	client *http.Client
	// lastCallback is the last URL the browser was sent to on the app's
	// callback route, for replay tests.
	lastCallback string
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t}
	b.client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.Contains(req.URL.Path, "/callback") && strings.HasPrefix(req.URL.Path, "/auth/") {
			b.lastCallback = req.URL.String()
		}
		if len(via) > 10 {
			return errors.New("too many redirects")
		}
		return nil
	}}
	return b
}

// login starts a log-in with provider at the app and follows it to the
// end, signing in at the provider's login page when one is shown. It
// returns the final response's status and body.
func (b *browser) login(a *app, provider, mode string) (int, string) {
	b.t.Helper()
	start := a.url() + "/auth/" + provider + "/start?" + url.Values{"return": {articleURL}, "mode": {mode}, "bind": {"k3y-of-a-reader_browser01"}}.Encode()
	return b.follow(b.get(start))
}

func (b *browser) get(u string) *http.Response {
	b.t.Helper()
	resp, err := b.client.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	return resp
}

// follow reads resp; if it is a sign-in form, fills it in as Jane and
// submits it, and goes on with the answer.
func (b *browser) follow(resp *http.Response) (int, string) {
	b.t.Helper()
	for range 3 {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		action, fields, ok := loginForm(string(body))
		if !ok {
			return resp.StatusCode, string(body)
		}
		fields.Set("username", "jane")
		fields.Set("password", "correct horse")
		target := resp.Request.URL.ResolveReference(&url.URL{Path: action})
		r, err := b.client.PostForm(target.String(), fields)
		if err != nil {
			b.t.Fatalf("POST %s: %v", target, err)
		}
		resp = r
	}
	b.t.Fatal("the sign-in form keeps coming back")
	return 0, ""
}

// loginForm finds a form with a password field and returns its action and
// its hidden fields.
func loginForm(page string) (string, url.Values, bool) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return "", nil, false
	}
	var action string
	fields := url.Values{}
	password := false
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := func(k string) string {
				for _, a := range n.Attr {
					if a.Key == k {
						return a.Val
					}
				}
				return ""
			}
			switch n.Data {
			case "form":
				action = attr("action")
			case "input":
				switch attr("type") {
				case "hidden":
					fields.Set(attr("name"), attr("value"))
				case "password":
					password = true
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return action, fields, password && action != ""
}

// replay sends the browser to the last callback URL again.
func (b *browser) replay() int {
	b.t.Helper()
	if b.lastCallback == "" {
		b.t.Fatal("no callback to replay")
	}
	resp := b.get(b.lastCallback)
	resp.Body.Close()
	return resp.StatusCode
}

var ctx = context.Background()

func authCodeRequest() auth.AuthCodeRequest {
	return auth.AuthCodeRequest{RedirectURL: "https://comments.example/auth/x/callback", State: "s", Nonce: "n", CodeChallenge: "c"}
}
