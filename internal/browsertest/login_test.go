package browsertest

import (
	"bytes"
	"context"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"parley/internal/admin"
	"parley/internal/auth"
	"parley/internal/auth/authtest"
	"parley/internal/auth/provider"
	"parley/internal/comment"
	"parley/internal/httpapi"
	"parley/internal/login"
	"parley/internal/service"
	"parley/internal/store/sqlite"
	"parley/internal/widget"
)

// loginStack is a deployment as it is in real life: the article on one
// site (news.test), Parley on another (comments.test), and an OpenID
// Connect provider on a third (127.0.0.1), so that everything Parley does
// inside the article is third-party.
type loginStack struct {
	stack
	parleyURL, hostURL string
	op                 *authtest.OP
}

// siteServer serves h on a loopback port under the given host name, which
// the browser maps to 127.0.0.1.
func siteServer(tb testing.TB, host string, h http.Handler) (*httptest.Server, string) {
	srv := httptest.NewUnstartedServer(h)
	srv.Start()
	tb.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return srv, "http://" + host + ":" + port
}

// newLoginStack runs the three sites; opts change Parley's log-in
// configuration (an SMTP server for email links, say).
func newLoginStack(t *testing.T, opts ...func(*login.Config)) *loginStack {
	t.Helper()
	ctx := context.Background()
	// The provider's picture of Jane, on yet another server.
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 8 {
		img.Set(i, i, color.RGBA{0, 90, 200, 255})
	}
	var pic bytes.Buffer
	png.Encode(&pic, img)
	pics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(pic.Bytes())
	}))
	t.Cleanup(pics.Close)
	user := authtest.DefaultUser()
	user.Picture = pics.URL + "/jane.png"
	op := authtest.StartOP(t, authtest.OPConfig{Users: []authtest.OPUser{user}})

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "parley.db"), sqlite.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	verified, err := login.NewVerified(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(ctx, st, service.Options{Verified: verified.Verified})
	if err != nil {
		t.Fatal(err)
	}
	assets, err := widget.New()
	if err != nil {
		t.Fatal(err)
	}
	s := &loginStack{stack: stack{svc: svc, st: st}, op: op}
	var handler http.Handler
	s.parley, s.parleyURL = siteServer(t, "comments.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	lc := login.Config{
		PublicURL: s.parleyURL,
		Providers: []provider.Config{{Kind: provider.OIDC, ID: "newsroom", Name: "Newsroom ID", Issuer: op.Issuer(),
			ClientID: op.ClientID(), ClientSecret: auth.Secret(op.ClientSecret())}},
		Avatars: &auth.AvatarFetcher{AllowPrivate: true},
	}
	for _, o := range opts {
		o(&lc)
	}
	l, err := login.New(ctx, svc, st, lc)
	if err != nil {
		t.Fatal(err)
	}
	op.AllowRedirect(s.parleyURL + "/auth/newsroom/callback")
	// The desk, whose staff may log in with the same providers.
	deskCfg := admin.Config{PublicURL: s.parleyURL, StartProvider: func(w http.ResponseWriter, r *http.Request, id, lang string) (string, error) {
		return l.BeginStaff(w, id, lang)
	}}
	for _, p := range l.StaffProviders() {
		deskCfg.Providers = append(deskCfg.Providers, admin.Provider{ID: p.ID, Name: p.Name})
	}
	desk, err := admin.New(svc, deskCfg)
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(svc, assets, nil, httpapi.Config{PublicURL: s.parleyURL, Login: l, Admin: desk.Handler(), StaffLogin: desk.FinishProvider})
	handler = api.Handler()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /article/{key}", func(w http.ResponseWriter, r *http.Request) {
		v := hostView{Guard: guardJS, Key: r.PathValue("key"), Script: s.parleyURL + "/embed.js"}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		hostPage.Execute(w, v)
	})
	mux.HandleFunc("GET /ssi/{key}", s.handleInclude)
	s.host, s.hostURL = siteServer(t, "news.test", mux)
	s.hostBase = s.hostURL
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); svc.Run(runCtx) }()
	t.Cleanup(func() { api.StopStreams(); stopRun(); <-ran; st.Close() })
	if err := svc.CreateSite(ctx, service.OperatorActor(), &comment.Site{ID: "news", Name: "The Riverton Ledger", Origins: []string{s.hostURL}, EditWindow: comment.DefaultEditWindow}); err != nil {
		t.Fatal(err)
	}
	return s
}

// thirdPartyCookiesBlocked starts Chromium as a privacy-minded reader
// runs it: third-party cookies blocked, and the test sites' names mapped
// to loopback.
func thirdPartyCookiesBlocked(t *testing.T) *browser {
	b := newBrowser(t, 90*time.Second,
		chromedp.Flag("host-resolver-rules", "MAP news.test 127.0.0.1, MAP comments.test 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("test-third-party-cookie-phaseout", true),
	)
	if _, err := chromedp.Call(b.ctx, network.SetCookieControls, network.SetCookieControlsParams{EnableThirdPartyCookieRestriction: true}); err != nil {
		t.Fatal(err)
	}
	return b
}

// popup waits for the log-in window the widget opens when the action
// runs, and returns a context driving it.
func (b *browser) popup(t *testing.T, open func()) (context.Context, context.CancelFunc) {
	t.Helper()
	ch := chromedp.WaitNewTarget(b.ctx, func(info *target.Info) bool { return info.Type == "page" && info.OpenerID != "" })
	open()
	select {
	case id := <-ch:
		return chromedp.NewContext(b.ctx, chromedp.WithTargetID(id))
	case <-time.After(15 * time.Second):
		t.Fatal("no log-in window opened")
	}
	return nil, nil
}

func TestBrowser_LogInWithPopup(t *testing.T) {
	needChromium(t)
	s := newLoginStack(t)
	b := thirdPartyCookiesBlocked(t)
	article := s.hostURL + "/article/bus-line"
	b.openWidget(article)

	// Guest: the invitation and one icon per provider, with its name.
	if got := text(b, ".parley-intro"); got != "Fill in your details below or click an icon to log in:" {
		t.Errorf("guest intro = %q", got)
	}
	icon := `[data-provider="newsroom"]`
	if got := eval[string](b, widgetJS(icon)+`.getAttribute('aria-label') || `+widgetJS(icon)+`.textContent.trim()`); got != "Log in with Newsroom ID" {
		t.Errorf("icon name = %q", got)
	}
	if src := eval[string](b, widgetJS(icon+" img")+".src"); !strings.HasPrefix(src, s.parleyURL+"/widget/icons/") {
		t.Errorf("icon from %q, want Parley", src)
	}

	// Closing the window before logging in returns to Guest and says why.
	pctx, cancel := b.popup(t, func() { b.click(widgetJS(icon)) })
	b.waitFor("Connecting…", has(".parley-connecting")+` && `+widgetJS(".parley-connecting")+`.textContent.includes("Connecting to Newsroom ID")`)
	if err := chromedp.Do(pctx, chromedp.WaitVisible("#username")); err != nil {
		t.Fatal(err)
	}
	// The reader closes the window.
	if _, err := chromedp.CallBrowser(pctx, target.CloseTarget, target.CloseTargetParams{TargetID: chromedp.FromContext(pctx).Target.TargetID}); err != nil {
		t.Fatal(err)
	}
	cancel()
	b.waitFor("the closed-window message", `(`+shadowRoot+`.textContent || '').includes("The log-in window was closed before you logged in.")`)
	if !eval[bool](b, has("input[name=email]")) {
		t.Error("guest fields gone after a cancelled log-in")
	}

	// The real thing: sign in at the provider in the small window.
	b.logInByPopup(t, icon)
	if eval[bool](b, has("input[name=email]")+` && `+widgetJS("input[name=email]")+`.offsetParent !== null`) {
		t.Error("guest fields still shown when logged in")
	}
	// The line names the reader: the name their comments will show, in bold.
	if got := eval[string](b, `(e => e && e.offsetParent !== null ? e.textContent + '|' + getComputedStyle(e).fontWeight : '')(`+widgetJS(".parley-user .parley-name")+`)`); got != "Jane Doe|600" {
		t.Errorf("the logged-in line names %q, want Jane Doe in bold", got)
	}
	b.screenshot("logged-in.png")
	avatar := eval[string](b, `[...`+shadowRoot+`.querySelectorAll('img')].map(i => i.src).find(s => s.includes('/avatars/')) || ''`)
	if !strings.HasPrefix(avatar, s.parleyURL+"/avatars/") {
		t.Errorf("logged-in avatar %q is not served by Parley", avatar)
	}

	// The comment posts under Jane's identity.
	b.do(chromedp.SendKeys(inWidget("textarea[name=body]"), "Logged in through the newsroom."))
	b.click(widgetJS(".parley-submit"))
	b.waitFor("the posted comment", `[...`+shadowRoot+`.querySelectorAll('li[id^="comment-"] .parley-author')].some(a => a.textContent == "Jane Doe")`)
	cs := s.stored(t, "bus-line")
	if len(cs) != 1 || cs[0].Author.Identity != "newsroom:user-7f3a" || cs[0].Author.Email != "jane@example.org" {
		t.Fatalf("stored = %+v", cs)
	}

	// The log-in survives a reload: it lives in the article's own storage,
	// not in a third-party cookie.
	b.do(chromedp.Reload())
	b.waitFor("the widget after reload", widgetReady)
	b.waitFor("still logged in", has(".parley-user"))

	// Change opens the choice of log-ins again, the reader still logged in.
	if eval[bool](b, widgetJS(icon)+`.offsetParent !== null`) {
		t.Error("provider icons shown to a logged-in reader before Change")
	}
	b.click(widgetJS(".parley-change"))
	b.waitFor("the choice of log-ins", widgetJS(icon)+`.offsetParent !== null && `+widgetJS(".parley-user")+`.offsetParent !== null`)
	if got := eval[string](b, widgetJS(".parley-logout-all")+`.offsetParent && `+widgetJS(".parley-logout-all")+`.textContent`); got != "Log out everywhere" {
		t.Errorf("Change shows log out everywhere as %q", got)
	}
	b.click(widgetJS(".parley-change"))
	b.waitFor("the choice closed again", widgetJS(icon)+`.offsetParent === null`)

	// Log out returns to Guest, and the session is gone on the server.
	token := s.sessionToken(t, b)
	b.click(widgetJS(".parley-logout"))
	b.waitGuest()
	if got := s.meSettles(t, token, http.StatusUnauthorized); got != http.StatusUnauthorized {
		t.Errorf("session still alive after log out: %d", got)
	}

	// Everything the article page loaded came from the article's site or
	// Parley: a reader's browser talks to nobody else.
	_, requests, _ := b.seen()
	for _, r := range requests {
		if !strings.HasPrefix(r, s.hostURL) && !strings.HasPrefix(r, s.parleyURL) && !strings.HasPrefix(r, s.op.Issuer()) && !strings.HasPrefix(r, "data:") {
			t.Errorf("the page requested %s", r)
		}
		if strings.HasPrefix(r, s.parleyURL+"/widget/") && strings.HasSuffix(r, ".json") {
			t.Errorf("an English page fetched a language table: %s", r)
		}
	}
	b.screenshot("logged-out.png")
}

// TestBrowser_LogInWithoutJavaScript: a reader with scripts off (and
// third-party cookies blocked) logs in from the article's server-rendered
// form by full-page redirect, comments from Parley's reply page as that
// identity, and is sent back to the article at their comment.
func TestBrowser_LogInWithoutJavaScript(t *testing.T) {
	needChromium(t)
	s := newLoginStack(t)
	b := thirdPartyCookiesBlocked(t)
	b.withoutJavaScript()
	article := s.includeURL("bus-line")
	b.do(chromedp.Navigate(article), chromedp.WaitVisible(inWidget(`a[data-provider="newsroom"]`)))
	if eval[bool](b, `document.documentElement.dataset.js == 'on'`) {
		t.Fatal("the page ran its script; JavaScript is not disabled")
	}
	if got := eval[string](b, widgetJS(".parley-intro")+`.textContent`); got != "Fill in your details below or click an icon to log in:" {
		t.Errorf("guest intro = %q", got)
	}

	// The icon is a link: the provider's sign-in page, in this tab.
	b.do(chromedp.Click(inWidget(`a[data-provider="newsroom"]`)), chromedp.WaitVisible("#username"))
	b.do(
		chromedp.SendKeys("#username", "jane"),
		chromedp.SendKeys("#password", "correct horse"),
		chromedp.Click("#login"),
	)
	b.waitLocation("Parley's reply page", func(u string) bool { return strings.HasPrefix(u, s.parleyURL+"/sites/news/reply?") })
	b.do(chromedp.WaitVisible(chromedp.CSS(".parley-user")))
	if got := eval[string](b, `document.querySelector('.parley-user').textContent`); !strings.Contains(got, "You are commenting using your Newsroom ID account.") ||
		!strings.Contains(got, "Log out") || !strings.Contains(got, "Change") {
		t.Errorf("reply page says %q", got)
	}
	if got := eval[string](b, `(e => e ? e.textContent : '')(document.querySelector('.parley-user .parley-name'))`); got != "Jane Doe" {
		t.Errorf("the reply page's logged-in line names %q, want Jane Doe", got)
	}
	if eval[bool](b, `!!document.querySelector('input[name=email]')`) {
		t.Error("the logged-in reader is asked for an email address")
	}
	if got := eval[string](b, `[...document.querySelectorAll('a')].find(a => a.textContent == 'Back to the article').href`); got != article {
		t.Errorf("back link = %q, want %q", got, article)
	}
	b.screenshot("nojs-logged-in.png")

	// The comment goes in under Jane's identity; the reader is back on the
	// article, at their comment, which the site's page now shows.
	b.do(
		chromedp.SendKeys(chromedp.CSS("textarea[name=body]"), "Logged in without JavaScript."),
		chromedp.Click(chromedp.CSS(".parley-submit")),
	)
	at := b.waitLocation("the article", func(u string) bool { return strings.HasPrefix(u, article+"#comment-") })
	cs := s.stored(t, "bus-line")
	if len(cs) != 1 || cs[0].Author.Identity != "newsroom:user-7f3a" || !strings.HasSuffix(at, "#comment-"+cs[0].ID) {
		t.Fatalf("stored = %+v, at %s", cs, at)
	}
	b.do(chromedp.WaitVisible(inWidget("#comment-" + cs[0].ID)))
	if got := eval[string](b, widgetJS("#comment-"+cs[0].ID+" .parley-author")+`.textContent`); got != "Jane Doe" {
		t.Errorf("author shown = %q", got)
	}
}

// logInByPopup presses the provider's icon and signs in as Jane in the
// window it opens (unless the provider still knows her), then waits for
// the widget to say she is logged in.
func (b *browser) logInByPopup(t *testing.T, icon string) {
	t.Helper()
	pctx, cancel := b.popup(t, func() { b.click(widgetJS(icon)) })
	defer cancel()
	if err := chromedp.Do(pctx,
		chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", "jane"),
		chromedp.SendKeys("#password", "correct horse"),
		chromedp.Click("#login"),
	); err != nil {
		t.Fatal(err)
	}
	b.waitFor("logged in", has(".parley-user")+` && `+widgetJS(".parley-user")+`.textContent.includes("You are commenting using your Newsroom ID account")`)
}

// waitGuest waits for the widget to show the guest form again.
func (b *browser) waitGuest() {
	b.waitFor("guest again", `!`+has(".parley-user")+` || `+widgetJS(".parley-user")+`.offsetParent === null`)
	b.waitFor("guest fields", has("input[name=email]")+` && `+widgetJS("input[name=email]")+`.offsetParent !== null`)
}

// sessionToken is the session the widget keeps in the article's storage.
func (s *loginStack) sessionToken(t *testing.T, b *browser) string {
	t.Helper()
	tok := eval[string](b, `localStorage.getItem(`+js("parley-session:"+s.parleyURL)+`) || ''`)
	if tok == "" {
		t.Fatal("the widget kept no session token in the page's storage")
	}
	return tok
}

// me asks Parley who a session token is, and returns the status.
func (s *loginStack) me(t *testing.T, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", s.parley.URL+"/api/v1/sites/news/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// meSettles asks /me until it answers want or five seconds pass, and
// returns the last answer. The widget shows Guest at once and tells the
// server in the background, so the server may hear of a log-out a moment
// after the page has changed.
func (s *loginStack) meSettles(t *testing.T, token string, want int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := s.me(t, token)
		if got == want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrowser_LogOutEverywhere: Jane logged in on two devices (here, one
// browser that forgot its first log-in) ends both from the widget.
func TestBrowser_LogOutEverywhere(t *testing.T) {
	needChromium(t)
	s := newLoginStack(t)
	b := thirdPartyCookiesBlocked(t)
	icon := `[data-provider="newsroom"]`
	b.openWidget(s.hostURL + "/article/bus-line")
	b.logInByPopup(t, icon)
	first := s.sessionToken(t, b)

	// "Another device": the page forgets the first session, which stays
	// alive on the server, and Jane logs in again.
	eval[bool](b, `localStorage.clear(), true`)
	b.do(chromedp.Reload())
	b.waitFor("the widget after reload", widgetReady)
	b.waitGuest()
	b.logInByPopup(t, icon)
	second := s.sessionToken(t, b)
	if first == second || s.me(t, first) != http.StatusOK || s.me(t, second) != http.StatusOK {
		t.Fatal("want two live sessions before logging out everywhere")
	}

	b.click(widgetJS(".parley-change"))
	b.click(widgetJS(".parley-logout-all"))
	b.waitGuest()
	for i, tok := range []string{first, second} {
		if got := s.meSettles(t, tok, http.StatusUnauthorized); got != http.StatusUnauthorized {
			t.Errorf("session %d still alive after logging out everywhere: %d", i+1, got)
		}
	}
}

// TestBrowser_LogInInThisTab: the log-in by redirect in the article's own
// tab (when the browser blocks the small window) comes back with a code
// that the widget redeems; words planted in a link's fragment by someone
// else are not shown as a log-in message.
func TestBrowser_LogInInThisTab(t *testing.T) {
	needChromium(t)
	s := newLoginStack(t)
	b := thirdPartyCookiesBlocked(t)
	article := s.hostURL + "/article/bus-line"

	b.openWidget(article + "#parley-login-error=Your+account+is+locked.+Call+555-0100")
	b.waitFor("the guest form", has("input[name=email]"))
	if eval[bool](b, `(`+shadowRoot+`.textContent || '').includes('555-0100')`) {
		t.Error("the widget showed a message planted in the link")
	}
	if loc := eval[string](b, `location.href`); loc != article {
		t.Errorf("the fragment stayed in the address bar: %s", loc)
	}

	key := eval[string](b, `localStorage.getItem(`+js("parley-key:"+s.parleyURL)+`) || ''`)
	if len(key) < 22 {
		t.Fatalf("browser key = %q", key)
	}
	start := s.parleyURL + "/auth/newsroom/start?" + url.Values{"site": {"news"}, "mode": {"redirect"}, "bind": {key}, "return": {article}}.Encode()
	b.do(chromedp.Navigate(start), chromedp.WaitVisible("#username"))
	b.do(
		chromedp.SendKeys("#username", "jane"),
		chromedp.SendKeys("#password", "correct horse"),
		chromedp.Click("#login"),
	)
	b.waitLocation("back on the article", func(u string) bool { return u == article })
	b.waitFor("logged in", has(".parley-user")+` && `+widgetJS(".parley-user")+`.textContent.includes("You are commenting using your Newsroom ID account")`)
	if got := s.me(t, s.sessionToken(t, b)); got != http.StatusOK {
		t.Errorf("the redeemed session: %d", got)
	}
}

// TestBrowser_SSOOnce: a site's SSO token logs its reader in once. Two
// sections on one page share the one exchange, and a reload that brings
// the same token again (a cached page) keeps the session the token
// started, though the server refuses the token the second time.
func TestBrowser_SSOOnce(t *testing.T) {
	needChromium(t)
	s := newLoginStack(t)
	ctx := context.Background()
	site, err := s.st.Site(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	site.SSOSecret = "a-site-sso-secret-of-32-bytes-00"
	if err := s.svc.UpdateSite(ctx, service.OperatorActor(), site); err != nil {
		t.Fatal(err)
	}
	tok, err := auth.SignSSO(auth.SSOUser{ID: "42", Name: "Jane Reporter", Expires: time.Now().Add(10 * time.Minute)}, []byte(site.SSOSecret))
	if err != nil {
		t.Fatal(err)
	}
	page := template.Must(template.New("sso").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Two sections</title></head><body>
<h1>Letters</h1><div data-parley data-site="news" data-page-id="letters-1" data-sso="{{.Token}}"></div>
<h1>More letters</h1><div data-parley data-site="news" data-page-id="letters-2" data-sso="{{.Token}}"></div>
<script src="{{.Script}}" async></script></body></html>`))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /letters", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page.Execute(w, map[string]string{"Token": tok, "Script": s.parleyURL + "/embed.js"})
	})
	_, hostURL := siteServer(t, "news.test", mux)
	site.Origins = append(site.Origins, hostURL)
	if err := s.svc.UpdateSite(ctx, service.OperatorActor(), site); err != nil {
		t.Fatal(err)
	}

	b := thirdPartyCookiesBlocked(t)
	both := `[...document.querySelectorAll('[data-parley]')].every(d => d.shadowRoot && d.shadowRoot.querySelector('.parley-user') && !d.shadowRoot.querySelector('.parley-user').hidden && d.shadowRoot.querySelector('.parley-user').textContent.includes('The Riverton Ledger account'))`
	b.do(chromedp.Navigate(hostURL + "/letters"))
	b.waitFor("both sections logged in", both)
	exchanges := func() int {
		b.mu.Lock()
		defer b.mu.Unlock()
		n := 0
		for _, r := range b.methods {
			if strings.HasPrefix(r, "POST ") && strings.HasSuffix(r, "/api/v1/sites/news/auth/sso") {
				n++
			}
		}
		return n
	}
	if n := exchanges(); n != 1 {
		t.Errorf("two sections exchanged the token %d times, want once", n)
	}
	b.do(chromedp.Reload())
	b.waitFor("the sections after reload", `document.querySelectorAll('[data-parley]')[1].shadowRoot && document.querySelectorAll('[data-parley]')[1].shadowRoot.querySelector('.parley-status') && document.querySelectorAll('[data-parley]')[1].shadowRoot.querySelector('.parley-status').hidden`)
	b.waitFor("both sections still logged in", both)
	b.screenshot("sso-two-sections.png")
}
