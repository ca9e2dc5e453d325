package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"parley/internal/admin"
	"parley/internal/auth/authtest"
	"parley/internal/comment"
	"parley/internal/httpapi"
	"parley/internal/mail"
	"parley/internal/notify"
	"parley/internal/outbox"
	"parley/internal/safehttp"
	"parley/internal/service"
	"parley/internal/store"
	"parley/internal/store/sqlite"
	"parley/internal/webhook"
	"parley/internal/widget"
)

// chromiumEnv names the Chromium binary the tests drive; CI sets it.
const chromiumEnv = "PARLEY_TEST_CHROMIUM"

// screenshotEnv, when set, names a folder that keeps the screenshots the
// tests take (by default they go to the test's temporary folder and are
// removed with it).
const screenshotEnv = "PARLEY_TEST_SCREENSHOTS"

// needChromium skips the test when no browser is configured.
func needChromium(tb testing.TB) string {
	tb.Helper()
	exe := os.Getenv(chromiumEnv)
	if exe == "" {
		tb.Skip("PARLEY_TEST_CHROMIUM is not set; browser tests skipped")
	}
	// A wrong path would otherwise leave chromedp waiting for a browser
	// that never starts.
	if _, err := exec.LookPath(exe); err != nil {
		tb.Fatalf("PARLEY_TEST_CHROMIUM=%s: %v", exe, err)
	}
	return exe
}

// stack is Parley and a news site that embeds it, each on its own
// loopback origin, as in a real deployment.
type stack struct {
	parley *httptest.Server // Parley: API, widget, server-rendered thread
	host   *httptest.Server // the news site with the article pages
	svc    *service.Service
	st     store.Store // the same store, for tests to look at what is stored
	// smtp receives Parley's email, when the stack has notifications
	// (newNotifyStack); links are their signed links.
	smtp  *authtest.SMTP
	links *notify.Links
	// hostBase is the news site's address as the browser knows it, when
	// it has a name of its own; host.URL if "".
	hostBase string
}

// newStack runs the real Parley handler over a temporary SQLite store, and
// a host site "news" whose only allowed origin is the host server. Authors
// may edit their comments for the default 15 minutes, and changes reach
// open pages live.
//
// The host serves two kinds of article page for a page key KEY:
//
//	/article/KEY      the widget: <div id="parley" data-page-id=KEY> and embed.js
//	/ssi/KEY          a "server-side include": the host fetches Parley's
//	                  HTML thread and puts it in the div, with no script
//	                  (with ?widget, and the widget's script too)
//
// Both take ?lang=, ?hostile for a stylesheet that would restyle the
// comments if it reached them and ?serif for a page font; /ssi passes replytocom, parley_held and sort
// on to Parley.
func newStack(tb testing.TB, opts ...func(*httpapi.Config)) *stack {
	return newStackWith(tb, false, opts...)
}

// newNotifyStack is newStack with email notifications and webhooks on: a
// real SMTP server (authtest) receives the mail, the outbox worker runs,
// webhooks may go to 127.0.0.1, and readers email each other at most
// once a minute.
func newNotifyStack(tb testing.TB) *stack { return newStackWith(tb, true) }

func newStackWith(tb testing.TB, notifications bool, opts ...func(*httpapi.Config)) *stack {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "parley.db"), sqlite.Options{Migrate: true})
	if err != nil {
		tb.Fatal(err)
	}
	s := &stack{}
	s.parley = httptest.NewUnstartedServer(nil)
	var opt service.Options
	var worker *outbox.Worker
	var mailer *mail.SMTP
	if notifications {
		s.smtp = authtest.StartSMTP(tb)
		if mailer, err = mail.NewSMTP(mail.Config{Host: s.smtp.Host(), Port: s.smtp.Port(), TLS: mail.TLSNone, From: "The Riverton Ledger <comments@ledger.example>"}); err != nil {
			tb.Fatal(err)
		}
		if s.links, err = notify.NewLinks([]byte("browser tests' notification key!"), "http://"+s.parley.Listener.Addr().String()); err != nil {
			tb.Fatal(err)
		}
		policy := safehttp.Policy{Hosts: []string{"127.0.0.1"}}
		n, err := notify.New(notify.Config{Store: st, Links: s.links, Mailer: mailer, Hooks: webhook.NewClient(webhook.Options{Policy: policy}), DigestEvery: time.Minute})
		if err != nil {
			tb.Fatal(err)
		}
		if worker, err = n.Worker(st, outbox.Config{Poll: 50 * time.Millisecond}); err != nil {
			tb.Fatal(err)
		}
		opt.Notify = &service.NotifyOptions{Notifier: n, Links: s.links, Webhooks: policy, Wake: worker.Wake}
	}
	svc, err := service.New(ctx, st, opt)
	if err != nil {
		tb.Fatal(err)
	}
	s.svc, s.st = svc, st
	assets, err := widget.New()
	if err != nil {
		tb.Fatal(err)
	}
	desk, err := admin.New(svc, admin.Config{AvatarURL: func(a comment.Author) string { return "/avatars/" + svc.AvatarFile(a) }})
	if err != nil {
		tb.Fatal(err)
	}
	cfg := httpapi.Config{Admin: desk.Handler()}
	if notifications {
		cfg.PublicURL = "http://" + s.parley.Listener.Addr().String()
	}
	for _, o := range opts {
		o(&cfg)
	}
	api := httpapi.New(svc, assets, nil, cfg)
	s.parley.Config.Handler = api.Handler()
	s.parley.Start()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /article/{key}", s.handleArticle)
	mux.HandleFunc("GET /ssi/{key}", s.handleInclude)
	s.host = httptest.NewServer(mux)
	// Run passes committed changes on to the live streams, as in the
	// server; StopStreams ends the streams of pages still open, which
	// Close would otherwise wait for.
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); svc.Run(runCtx) }()
	sent := make(chan struct{})
	if worker != nil {
		go func() { defer close(sent); worker.Run(runCtx) }()
	} else {
		close(sent)
	}
	tb.Cleanup(func() {
		api.StopStreams()
		s.host.Close()
		s.parley.Close()
		stopRun()
		<-ran
		<-sent
		if mailer != nil {
			mailer.Close()
		}
		st.Close()
	})
	if err := svc.CreateSite(ctx, service.OperatorActor(), &comment.Site{ID: "news", Name: "The Riverton Ledger", Origins: []string{s.host.URL}, EditWindow: comment.DefaultEditWindow}); err != nil {
		tb.Fatal(err)
	}
	return s
}

// articleURL is the widget page of a page key.
func (s *stack) articleURL(key string) string { return s.host.URL + "/article/" + url.PathEscape(key) }

// includeURL is the server-side-include page of a page key.
func (s *stack) includeURL(key string) string {
	base := s.hostBase
	if base == "" {
		base = s.host.URL
	}
	return base + "/ssi/" + url.PathEscape(key)
}

// post stores a comment through the service, as if posted from the
// article page of key, and returns it. It fails tb on any error.
func (s *stack) post(tb testing.TB, key, parent, name, body string) *comment.Comment {
	tb.Helper()
	c, err := s.svc.Post(context.Background(), comment.Draft{SiteID: "news", Page: key, PageURL: s.articleURL(key),
		ParentID: parent, Name: name, Email: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.org", Body: body}, service.Meta{})
	if err != nil {
		tb.Fatalf("post %q: %v", body, err)
	}
	return c
}

// stored returns the approved comments of a page, oldest first.
func (s *stack) stored(tb testing.TB, key string) []*comment.Comment {
	tb.Helper()
	ctx := context.Background()
	th, err := s.st.Thread(ctx, "news", key)
	if err != nil {
		tb.Fatalf("thread %q: %v", key, err)
	}
	cs, err := s.st.ThreadComments(ctx, th.ID, comment.StatusApproved)
	if err != nil {
		tb.Fatal(err)
	}
	return cs
}

// guardJS runs first on every host page. It replaces the functions XSS
// payloads call to prove they ran, so that a call sets window.__xss (and
// records what was called) before the original opens its dialog, which
// the browser helper counts and dismisses. html[data-js] shows that
// scripts ran at all.
const guardJS = `window.__xss = false; window.__xssCalls = [];
for (const f of ['alert', 'confirm', 'prompt', 'print']) {
	const orig = window[f];
	window[f] = function (m) {
		window.__xss = true;
		window.__xssCalls.push(f + '(' + String(m).slice(0, 80) + ')');
		if (f != 'print') return orig.apply(window, arguments);
	};
}
document.documentElement.dataset.js = 'on';`

var hostPage = template.Must(template.New("article").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Riverton's new bus line opens — The Riverton Ledger</title>
<script>{{.Guard}}</script>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#222;background:#fff}</style>
{{with .Style}}<style>{{.}}</style>
{{end}}</head><body>
<header><p>The Riverton Ledger</p></header>
<article>
<h1>Riverton's new bus line opens</h1>
<p>The number 7 bus now runs from the station to the hospital every twelve minutes,
the town council <a href="#council">announced</a> on Monday.</p>
</article>
<div id="parley" data-site="news" data-page-id="{{.Key}}"{{with .Lang}} data-lang="{{.}}"{{end}}>{{.Include}}</div>
{{with .Script}}<script src="{{.}}" async></script>{{end}}
</body></html>
`))

type hostView struct {
	Guard   template.JS
	Key     string
	Lang    string
	Include template.HTML
	Script  string
	// Style is more of the page's CSS: hostileCSS with ?hostile.
	Style template.CSS
}

// hostileCSS is a host page's stylesheet that would restyle the comments
// if it reached them: ?hostile on /article and /ssi adds it. ?serif adds
// fontCSS, a page font the comments are meant to take (--parley-font's
// default is the page's).
const hostileCSS = `header,li,article{border-bottom:5px solid red} #parley *{margin:40px!important}
p,h2,h3,a,button,label{color:red!important;background:yellow!important;text-transform:uppercase!important} a{text-decoration:line-through;display:block;padding:1em}
a::before{content:"(link) "} li{list-style:square} ol{list-style:square!important} img{display:none!important} textarea{width:50px!important}`

const fontCSS = `*{font-family:serif!important}`

// hostStyle is the extra CSS a host page's query asks for (?hostile, ?serif).
func hostStyle(q url.Values) template.CSS {
	var css template.CSS
	if q.Has("serif") {
		css += fontCSS + "\n"
	}
	if q.Has("hostile") {
		css += hostileCSS
	}
	return css
}

func (s *stack) handleArticle(w http.ResponseWriter, r *http.Request) {
	v := hostView{Guard: guardJS, Key: r.PathValue("key"), Lang: r.URL.Query().Get("lang"), Script: s.parley.URL + "/embed.js"}
	v.Style = hostStyle(r.URL.Query())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := hostPage.Execute(w, v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// handleInclude renders the article with Parley's thread fetched on the
// server, as a CMS would, and no script.
func (s *stack) handleInclude(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	in := r.URL.Query()
	q := url.Values{"page": {key}, "url": {s.includeURL(key)}}
	for _, k := range []string{"replytocom", "parley_held", "sort", "lang"} {
		if v := in.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), "GET", s.parley.URL+"/sites/news/thread?"+q.Encode(), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	frag, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		http.Error(w, fmt.Sprintf("parley thread: %d %v %s", resp.StatusCode, err, frag), http.StatusBadGateway)
		return
	}
	v := hostView{Guard: guardJS, Key: key, Lang: in.Get("lang"), Include: template.HTML(frag)}
	v.Style = hostStyle(in)
	if in.Has("widget") { // the thread included, and the widget too
		v.Script = s.parley.URL + "/embed.js"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := hostPage.Execute(w, v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// browser is one headless Chromium with one tab, and what it saw: the
// JavaScript dialogs it dismissed, every request and every main-frame
// navigation.
type browser struct {
	tb  testing.TB
	ctx context.Context // the tab, limited to the test's time budget

	mu          sync.Mutex
	dialogs     []string
	requests    []string
	methods     []string // METHOD URL of each request, preflights included
	navigations []string
}

// newBrowser starts Chromium with a fresh profile. Everything is closed
// when the test ends; the whole test must finish within budget. extra
// options add to (or override) the defaults.
func newBrowser(tb testing.TB, budget time.Duration, extra ...chromedp.ExecAllocatorOption) *browser {
	tb.Helper()
	exe := needChromium(tb)
	profile := tb.TempDir() // removed after the browser has closed (cleanups run last-in first-out)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("lang", "en-US"),
		// Nothing but the loopback test servers resolves, so a request that
		// leaks (from a payload, or Chromium's own services) is seen by the
		// tests but never leaves the machine.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1000, 900),
	}
	opts = append(opts, extra...)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	tb.Cleanup(func() {
		// Close the browser gracefully, but do not hang the test run on it.
		cctx, cancel := context.WithTimeout(bctx, 10*time.Second)
		defer cancel()
		chromedp.Cancel(cctx)
		bcancel()
		acancel()
	})
	if err := chromedp.Do(bctx); err != nil {
		tb.Fatalf("start %s: %v", exe, err)
	}
	b := &browser{tb: tb}
	err := chromedp.Listen(bctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			b.dialogs = append(b.dialogs, string(ev.Type)+": "+ev.Message)
			// A dialog blocks the page until it is answered; answer it
			// outside the listener, which must not run commands.
			go chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{})
		case *network.EventRequestWillBeSent:
			b.requests = append(b.requests, ev.Request.URL)
			b.methods = append(b.methods, ev.Request.Method+" "+ev.Request.URL)
		case *page.EventFrameNavigated:
			if ev.Frame.ParentID == "" {
				b.navigations = append(b.navigations, ev.Frame.URL)
			}
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bctx, budget)
	tb.Cleanup(cancel)
	b.ctx = ctx
	return b
}

// do runs actions in the tab and fails the test on an error.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.tb.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.tb.Fatal(err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	b.tb.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.tb.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until the JavaScript expression is truthy.
func (b *browser) waitFor(what, expr string) {
	b.tb.Helper()
	b.waitWithin(20*time.Second, what, expr)
}

// withoutJavaScript turns JavaScript off in the tab, as for a reader
// whose browser runs none.
func (b *browser) withoutJavaScript() {
	b.tb.Helper()
	if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		b.tb.Fatal(err)
	}
}

// waitWithin waits at most d until the JavaScript expression is truthy.
func (b *browser) waitWithin(d time.Duration, what, expr string) {
	b.tb.Helper()
	deadline := time.Now().Add(d)
	for {
		_, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](expr,
			chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(max(time.Until(deadline), time.Millisecond))))
		if err == nil {
			return
		}
		// Just after a navigation (Reload) chromedp can still hold the old
		// document's JavaScript context; it is gone a moment later.
		// A form that was just sent navigates the tab while the poll runs.
		if (strings.Contains(err.Error(), "Cannot find context with specified id") || strings.Contains(err.Error(), "Inspected target navigated or closed")) && time.Until(deadline) > 25*time.Millisecond {
			time.Sleep(25 * time.Millisecond)
			continue
		}
		b.tb.Fatalf("waiting %v for %s: %v", d, what, err)
	}
}

// waitLocation waits, across navigations, until the tab's address
// satisfies ok, and returns it.
func (b *browser) waitLocation(what string, ok func(string) bool) string {
	b.tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var loc string
	for time.Now().Before(deadline) {
		l, err := chromedp.Run(b.ctx, chromedp.Location())
		if err == nil {
			loc = l
			if ok(l) {
				ready, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.readyState`))
				if err == nil && ready == "complete" {
					return l
				}
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	b.tb.Fatalf("waiting for %s: the tab is at %s", what, loc)
	return ""
}

// click clicks the element the JavaScript expression gives, with the
// mouse, once it has stopped moving: the widget scrolls smoothly to a
// comment it has just shown, and a click during the scroll would land
// where the element was.
func (b *browser) click(elem string) {
	b.tb.Helper()
	pos := `(e => { const r = e.getBoundingClientRect(); return r.left + ',' + r.top + ',' + scrollX + ',' + scrollY })(` + elem + `)`
	last := ""
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		p := eval[string](b, pos)
		if p == last {
			break
		}
		last = p
		time.Sleep(60 * time.Millisecond)
	}
	b.do(chromedp.Click(chromedp.JSPath(elem)))
}

// seen returns copies of what the browser saw so far.
func (b *browser) seen() (dialogs, requests, navigations []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.dialogs...), append([]string(nil), b.requests...), append([]string(nil), b.navigations...)
}

// screenshot saves a PNG of the whole page and returns its path.
func (b *browser) screenshot(name string) string {
	b.tb.Helper()
	// A page that was just sent to or navigated to can be found by a wait
	// before it is laid out, and Chromium refuses to shoot a page of no
	// width: wait for the loaded, laid-out page, and try again a few times.
	b.waitFor("a loaded page to shoot", `document.readyState === 'complete' && document.documentElement.getBoundingClientRect().width > 0`)
	var err error
	for try := 0; try < 20; try++ {
		var png []byte
		if png, err = chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
			return b.keep(name, png)
		}
		if !strings.Contains(err.Error(), "0 width") && !strings.Contains(err.Error(), "Inspected target navigated") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.tb.Fatalf("screenshot: %v", err)
	return ""
}

// keep saves a screenshot where screenshot does and returns its path.
func (b *browser) keep(name string, png []byte) string {
	b.tb.Helper()
	dir := os.Getenv(screenshotEnv)
	if dir == "" {
		dir = b.tb.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		b.tb.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.tb.Fatal(err)
	}
	b.tb.Logf("screenshot %s (%d bytes)", path, len(png))
	return path
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// shadowRoot is the widget's shadow root in the host page.
const shadowRoot = `document.querySelector('#parley').shadowRoot`

// inWidget selects the first element matching css inside the widget's
// shadow root.
func inWidget(css string) chromedp.JSPath {
	return chromedp.JSPath(shadowRoot + `.querySelector(` + js(css) + `)`)
}

// inThread selects the first element matching css in the thread, wherever
// it is: inside the section's shadow root on a site's page (the widget, or
// the server-rendered thread's declarative shadow root), or in the document
// on Parley's own pages (reply, form errors).
func inThread(css string) chromedp.JSPath {
	return chromedp.JSPath(`((p => p && p.shadowRoot)(document.querySelector('#parley')) || document).querySelector(` + js(css) + `)`)
}

// widgetJS is a JavaScript expression for the first element matching css
// inside the widget.
func widgetJS(css string) string { return shadowRoot + `.querySelector(` + js(css) + `)` }

// widgetReady is true once the widget has loaded and drawn the thread.
const widgetReady = `(r => !!r && !!r.querySelector('.parley-status') && r.querySelector('.parley-status').hidden && !r.querySelector('.parley').hidden)(document.querySelector('#parley').shadowRoot)`

// openWidget loads the widget page of key and waits until it has drawn.
func (b *browser) openWidget(pageURL string) {
	b.tb.Helper()
	b.do(chromedp.Navigate(pageURL))
	b.waitFor("the widget to load", widgetReady)
}
