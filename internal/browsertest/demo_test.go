package browsertest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/internal/comment"
	"parley/internal/demo"
	"parley/internal/httpapi"
	"parley/internal/login"
	"parley/internal/notify"
	"parley/internal/service"
	"parley/internal/store/sqlite"
	"parley/internal/widget"
)

// demoServer is Parley as parley serve --demo runs it: the demo article
// at /, the demo site, Demo ID and the demo mailbox on the same server.
type demoServer struct {
	url string
	svc *service.Service
	box *demo.Mailbox
}

func newDemoServer(t *testing.T) *demoServer {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "parley.db"), sqlite.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	verified, err := login.NewVerified(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	// Signed links, as parley serve always has them (a logged-in reader's
	// grant to their data is one).
	links, err := notify.NewLinks(bytes.Repeat([]byte("d"), 32), base)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(ctx, st, service.Options{Verified: verified.Verified, Notify: &service.NotifyOptions{Links: links}})
	if err != nil {
		t.Fatal(err)
	}
	assets, err := widget.New()
	if err != nil {
		t.Fatal(err)
	}
	d, err := demo.New(base, []string{base}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var lc login.Config
	d.Configure(&lc, base, "")
	l, err := login.New(ctx, svc, st, lc)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.CreateSite(ctx, service.OperatorActor(), &comment.Site{ID: "demo", Name: "The Riverton Ledger", Origins: []string{base}, EditWindow: comment.DefaultEditWindow}); err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(svc, assets, nil, httpapi.Config{Demo: true, DemoSite: "demo", DemoRoutes: d.Handler(), Login: l})
	srv.Config.Handler = api.Handler()
	srv.Start()
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); svc.Run(runCtx) }()
	t.Cleanup(func() { api.StopStreams(); srv.Close(); stopRun(); <-ran; st.Close() })
	return &demoServer{url: base, svc: svc, box: d.Mailbox()}
}

// TestBrowser_DemoLogIns: on the demo article, the Demo ID icon logs a
// reader in through the provider's pick-a-reader page, and the email
// icon's link arrives in the demo mailbox, whose link logs the reader in;
// both post under the identity they logged in with.
func TestBrowser_DemoLogIns(t *testing.T) {
	needChromium(t)
	s := newDemoServer(t)
	b := newBrowser(t, 120*time.Second)
	b.openWidget(s.url + "/")
	icon := `[data-provider="demo-id"]`
	b.waitFor("the Demo ID icon", has(icon))
	b.screenshot("demo-guest.png")

	// Demo ID: a popup with the readers to pick from.
	pctx, cancel := b.popup(t, func() { b.click(widgetJS(icon)) })
	var names []string
	if err := chromedp.Do(pctx, chromedp.WaitVisible(`button[data-reader="amira"]`)); err != nil {
		t.Fatal(err)
	}
	names, err := chromedp.Run(pctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('button[data-reader]')].map(b => b.querySelector('bdi').textContent)`))
	if err != nil || len(names) != len(demo.Readers) || names[0] != "Ana Lima" {
		t.Fatalf("Demo ID offers %q (%v)", names, err)
	}
	if png, err := chromedp.Run(pctx, chromedp.FullScreenshot(100)); err == nil {
		saveShot(t, "demo-id-page.png", png)
	}
	if err := chromedp.Do(pctx, chromedp.Click(`button[data-reader="amira"]`)); err != nil {
		t.Fatal(err)
	}
	// (Closing the window's context closes it: only once the widget has the log-in.)
	b.waitFor("logged in with Demo ID", has(".parley-user")+` && `+widgetJS(".parley-user")+`.textContent.includes("Demo ID") && `+widgetJS(".parley-name")+`.textContent == "أميرة حداد"`)
	cancel()
	b.do(chromedp.SendKeys(inWidget("textarea[name=body]"), "Logged in with Demo ID."))
	b.click(widgetJS(".parley-submit"))
	b.waitFor("the posted comment", `[...`+shadowRoot+`.querySelectorAll('.parley-author')].some(a => a.textContent == "أميرة حداد")`)
	b.screenshot("demo-logged-in.png")
	b.click(widgetJS(".parley-logout"))
	b.waitGuest()

	// The email link: sent to the demo mailbox, not to SMTP.
	const addr = "reader@example.org"
	b.click(widgetJS(`[data-provider="email"]`))
	b.waitFor("the email box", visible("#parley-login-email"))
	b.do(chromedp.SendKeys(inWidget("#parley-login-email"), addr))
	b.click(widgetJS(".parley-send"))
	b.waitFor("the link sent", `(`+shadowRoot+`.textContent || '').includes('We sent a log-in link to `+addr+`')`)
	if got := eval[string](b, `document.querySelector('#demo-mailbox').href`); got != s.url+demo.MailboxPath {
		t.Fatalf("the demo page's mailbox link is %q", got)
	}
	b.click(`document.querySelector('#demo-mailbox')`)
	b.waitFor("the letter", `!!document.querySelector('article.letter a[href*="/auth/email"]')`)
	if got := eval[string](b, `document.querySelector('article.letter .meta bdi').textContent`); got != addr {
		t.Fatalf("the letter is to %q", got)
	}
	b.screenshot("demo-mailbox.png")
	b.click(`document.querySelector('article.letter a[href*="/auth/email"]')`)
	b.do(chromedp.WaitVisible(`button[type=submit]`))
	b.do(chromedp.Click(`button[type=submit]`))
	b.waitLocation("back on the article", func(u string) bool { return u == s.url+"/" })
	b.waitFor("the widget", widgetReady)
	b.waitFor("logged in by email", visible(".parley-user")+` && `+widgetJS(".parley-user")+`.textContent.includes("You are logged in with `+addr+`.")`)
	b.do(chromedp.SendKeys(inWidget("input[name=name]"), "Mailbox Reader"),
		chromedp.SendKeys(inWidget("textarea[name=body]"), "Logged in by the demo mailbox."))
	b.click(widgetJS(".parley-submit"))
	b.waitFor("the second comment", `[...`+shadowRoot+`.querySelectorAll('.parley-author')].some(a => a.textContent == "Mailbox Reader")`)
	th, err := s.svc.Thread(context.Background(), "demo", httpapi.DemoPageID, comment.SortOldest)
	if err != nil || len(th.Comments) != 2 || th.Comments[0].Author.Identity != "demo-id:demo-amira" || !strings.HasPrefix(th.Comments[1].Author.Identity, "email:") {
		t.Fatalf("stored thread: %v %+v", err, th)
	}
}

// TestBrowser_DemoSwitches: the language and theme switches above the
// demo article are links, so they work with and without JavaScript;
// ?lang=ar shows the comment section in Arabic, right to left, and the
// dark theme darkens the page and the section.
func TestBrowser_DemoSwitches(t *testing.T) {
	needChromium(t)
	s := newDemoServer(t)
	b := newBrowser(t, 90*time.Second)
	b.openWidget(s.url + "/")
	// Every language of the switch reaches the widget.
	for _, l := range []struct{ code, submit string }{{"de", "Kommentar abschicken"}, {"ar", "إرسال التعليق"}} {
		b.click(`document.querySelector('#demo-lang a[hreflang=` + l.code + `]')`)
		b.waitLocation("the "+l.code+" page", func(u string) bool { return strings.Contains(u, "lang="+l.code) })
		b.waitFor("the widget", widgetReady)
		if got := eval[string](b, widgetJS(".parley-submit")+`.textContent`); got != l.submit {
			t.Errorf("%s: submit button %q, want %q", l.code, got, l.submit)
		}
	}
	if got := eval[string](b, widgetJS(".parley")+`.getAttribute('dir') + ' ' + getComputedStyle(`+widgetJS(".parley-form")+`).direction`); got != "rtl rtl" {
		t.Errorf("Arabic section direction %q", got)
	}
	b.click(`document.querySelector('#demo-theme a:last-child')`)
	b.waitLocation("the dark page", func(u string) bool { return strings.Contains(u, "theme=dark") && strings.Contains(u, "lang=ar") })
	b.waitFor("the widget", widgetReady)
	if got := eval[string](b, `getComputedStyle(document.body).backgroundColor + ' ' + `+widgetJS(".parley")+`.dataset.theme`); got != "rgb(18, 20, 23) dark" {
		t.Errorf("dark theme: %q", got)
	}
	b.screenshot("demo-ar-dark.png")
}

// saveShot keeps a screenshot taken in another tab, as screenshot does.
func saveShot(t *testing.T, name string, png []byte) {
	b := &browser{tb: t}
	b.keep(name, png)
}

// TestDemoRoutesOnlyWithDemo: Demo ID and the mailbox exist only on the
// demo server.
func TestDemoRoutesOnlyWithDemo(t *testing.T) {
	s := newStack(t)
	for _, p := range []string{demo.IDPath + "/.well-known/openid-configuration", demo.MailboxPath, "/"} {
		resp, err := http.Get(s.parley.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("without the demo, %s = %d", p, resp.StatusCode)
		}
	}
}
