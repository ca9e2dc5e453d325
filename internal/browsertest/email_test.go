package browsertest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/internal/auth/authtest"
	"parley/internal/i18n"
	"parley/internal/login"
	"parley/internal/mail"
)

// emailStack is the log-in stack with email links, mailed through a real
// SMTP server.
func emailStack(t *testing.T) (*loginStack, *authtest.SMTP) {
	smtp := authtest.StartSMTP(t)
	s := newLoginStack(t, func(c *login.Config) {
		c.SMTP = &mail.Config{Host: smtp.Host(), Port: smtp.Port(), TLS: mail.TLSNone, From: "Comments <comments@news.test>"}
	})
	return s, smtp
}

var linkInMail = regexp.MustCompile(`https?://\S+/auth/email\?\S*token=\S+`)

// mailedLink waits for the next message and returns the link in it.
func mailedLink(t *testing.T, smtp *authtest.SMTP, to string) string {
	t.Helper()
	m := smtp.WaitMail(t, 15*time.Second)
	if len(m.To) != 1 || m.To[0] != to {
		t.Fatalf("mail to %v, want %s", m.To, to)
	}
	link := linkInMail.FindString(m.Body())
	if link == "" {
		t.Fatalf("no link in the mail:\n%s", m.Body())
	}
	return link
}

// visible is a JavaScript expression: the widget's element is on show.
func visible(css string) string {
	return `(e => !!e && e.offsetParent !== null)(` + widgetJS(css) + `)`
}

// viewShot saves what the window shows, as screenshot does for the whole
// page. FullScreenshot draws a right-to-left page with scripts off cut at
// its right edge, though the page itself is laid out right.
func (b *browser) viewShot(name string) {
	b.tb.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.tb.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv(screenshotEnv)
	if dir == "" {
		dir = b.tb.TempDir()
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.tb.Fatal(err)
	}
	b.tb.Logf("screenshot %s (%d bytes)", path, len(png))
}

// colour is the computed text colour of the widget's element.
func colour(b *browser, css string) string {
	return eval[string](b, `getComputedStyle(`+widgetJS(css)+`).color`)
}

// TestBrowser_EmailBox: asking for a log-in link in the widget, in
// Chromium. News ("Connecting to …", "We sent a log-in link…") is shown as
// news, not in the error style; with the email box open only its own
// Email field is on show, not the guest's beside it; asking for link
// after link is answered in words about links, not "You are commenting
// too quickly".
func TestBrowser_EmailBox(t *testing.T) {
	needChromium(t)
	s, smtp := emailStack(t)
	b := thirdPartyCookiesBlocked(t)
	b.openWidget(s.hostURL + "/article/bus-line")

	errColour := colour(b, ".parley-err")
	_, cancel := b.popup(t, func() { b.click(widgetJS(`[data-provider="newsroom"]`)) })
	b.waitFor("Connecting…", visible(".parley-connecting"))
	if got := colour(b, ".parley-connecting"); got == errColour || eval[string](b, widgetJS(".parley-connecting")+`.parentNode.className`) != "parley-form-note" {
		t.Errorf("Connecting… is shown as an error (%s)", got)
	}
	b.screenshot("connecting.png")
	b.click(widgetJS(".parley-stop"))
	cancel()

	b.click(widgetJS(`[data-provider="email"]`))
	b.waitFor("the email box", visible("#parley-login-email"))
	if n := eval[int](b, `[...`+shadowRoot+`.querySelectorAll('input[type=email]')].filter(e => e.offsetParent !== null).length`); n != 1 {
		t.Errorf("%d Email fields on show with the email box open", n)
	}
	b.screenshot("email-box.png")
	const addr = "noor@example.org"
	b.do(chromedp.SendKeys(inWidget("#parley-login-email"), addr))
	b.click(widgetJS(".parley-send"))
	b.waitFor("the link sent", `(`+shadowRoot+`.textContent || '').includes('We sent a log-in link to `+addr+`')`)
	if got := eval[string](b, `(e => e ? e.textContent : '')(`+widgetJS(".parley-form-note")+`)`); !strings.Contains(got, "We sent a log-in link") || colour(b, ".parley-form-note") == errColour {
		t.Errorf("the sent message is not shown as news: %q", got)
	}
	b.screenshot("email-sent.png")
	mailedLink(t, smtp, addr)
	// The box closes again: the guest fields are back.
	b.click(widgetJS(`[data-provider="email"]`))
	b.waitFor("the guest's Email field", visible("input[name=email]")+` && !`+visible("#parley-login-email"))

	b.click(widgetJS(`[data-provider="email"]`))
	limited := `(` + shadowRoot + `.textContent || '').includes('You have asked for several log-in links')`
	for i := 0; i < login.LinkLimitPerEmail.Burst && !eval[bool](b, limited); i++ {
		b.click(widgetJS(".parley-send"))
		b.waitFor("an answer", `(`+shadowRoot+`.textContent || '').includes('We sent a log-in link') || `+limited)
		b.do(chromedp.Sleep(200 * time.Millisecond))
	}
	b.waitFor("the link limit", limited)
	if eval[string](b, `(e => e ? e.textContent : '')(`+widgetJS(".parley-form-error")+`)`) == "" || strings.Contains(eval[string](b, shadowRoot+`.textContent`), "commenting too quickly") {
		t.Error("the link limit is not said in its own words, as an error")
	}
	b.screenshot("email-limit.png")
}

// TestBrowser_EmailLogIn: the whole log-in by email in Chromium, as a
// reader with JavaScript does it: the widget asks for a link, the link
// arrives by SMTP, and its page's button logs the reader in (with the
// browser's own Origin and referrer handling: a real browser, not Go's
// client, which sends no Origin). Back on the article the logged-in line
// names them: the address they logged in with, and in bold the name they
// type and post as, which the widget keeps for their next visit.
func TestBrowser_EmailLogIn(t *testing.T) {
	needChromium(t)
	s, smtp := emailStack(t)
	b := thirdPartyCookiesBlocked(t)
	article := s.hostURL + "/article/bus-line"
	b.openWidget(article)
	const addr = "noor@example.org"
	b.click(widgetJS(`[data-provider="email"]`))
	b.waitFor("the email box", visible("#parley-login-email"))
	b.do(chromedp.SendKeys(inWidget("#parley-login-email"), addr))
	b.click(widgetJS(".parley-send"))
	b.waitFor("the link sent", `(`+shadowRoot+`.textContent || '').includes('We sent a log-in link to `+addr+`')`)

	// The reader opens the link, in this browser, and presses the button.
	link := mailedLink(t, smtp, addr)
	b.do(chromedp.Navigate(link), chromedp.WaitVisible(`button[type=submit]`))
	b.screenshot("email-link-page.png")
	b.do(chromedp.Click(`button[type=submit]`))
	b.waitLocation("back on the article", func(u string) bool { return u == article })
	b.waitFor("the widget", widgetReady)
	b.waitFor("logged in by email", visible(".parley-user")+` && `+widgetJS(".parley-user")+`.textContent.includes("You are logged in with `+addr+`.")`)
	if eval[bool](b, visible("input[name=email]")) || !eval[bool](b, visible("input[name=name]")) {
		t.Error("want the name field, and no email field, for a reader logged in by email")
	}
	// The name they type is the name they post as, in bold on the line.
	b.do(chromedp.SendKeys(inWidget("input[name=name]"), "Noor Haddad"))
	b.waitFor("the name on the logged-in line", widgetJS(".parley-name")+`.textContent == "Noor Haddad"`)
	b.do(chromedp.SendKeys(inWidget("textarea[name=body]"), "The 5:40 bus suits me."))
	b.screenshot("email-logged-in.png")
	b.click(widgetJS(".parley-submit"))
	b.waitFor("the comment", `[...`+shadowRoot+`.querySelectorAll('.parley-author')].some(a => a.textContent == "Noor Haddad")`)
	cs := s.stored(t, "bus-line")
	if len(cs) != 1 || cs[0].Author.Name != "Noor Haddad" || cs[0].Author.Email != addr || !strings.HasPrefix(cs[0].Author.Identity, "email:") {
		t.Fatalf("stored = %+v", cs)
	}
	// Next visit: still logged in, under the same name.
	b.do(chromedp.Reload())
	b.waitFor("the widget after reload", widgetReady)
	b.waitFor("the name kept", widgetJS(".parley-name")+`.textContent == "Noor Haddad" && `+widgetJS("input[name=name]")+`.value == "Noor Haddad"`)
}

// TestBrowser_EmailLogInWithoutJavaScript: the same in Arabic with
// scripts off: from the article's server-rendered form to Parley's log-in
// page, the link by SMTP, its button, Parley's reply page showing the
// reader logged in with their address and asking the name they post as,
// and back to the article at the comment. "Back to the article" on the
// log-in page leads to the article, and the reply page names it.
func TestBrowser_EmailLogInWithoutJavaScript(t *testing.T) {
	needChromium(t)
	s, smtp := emailStack(t)
	ar := i18n.Get("ar")
	b := thirdPartyCookiesBlocked(t)
	b.withoutJavaScript()
	article := s.includeURL("bus-line") + "?lang=ar"
	b.do(chromedp.Navigate(article), chromedp.WaitVisible(inWidget(`a[data-provider="email"]`)))
	b.do(chromedp.Click(inWidget(`a[data-provider="email"]`)))
	b.waitLocation("Parley's log-in page", func(u string) bool { return strings.HasPrefix(u, s.parleyURL+"/sites/news/login?") })
	if got := eval[string](b, `[...document.querySelectorAll('a')].find(a => a.textContent == `+js(ar.T("reply.back"))+`).href`); got != s.includeURL("bus-line") {
		t.Errorf("the log-in page's way back leads to %q, want the article %s", got, s.includeURL("bus-line"))
	}
	b.viewShot("nojs-login-page.png")
	const addr = "layla@example.org"
	b.do(chromedp.SendKeys(chromedp.CSS("#email"), addr), chromedp.Click(chromedp.CSS("form button[type=submit]")))
	b.waitLocation("the page after sending", func(u string) bool { return strings.HasPrefix(u, s.parleyURL+"/sites/news/login/email") })
	b.do(chromedp.WaitVisible(chromedp.CSS("p[role=status]")))
	if got := eval[string](b, `document.querySelector('p[role=status]').textContent`); got != ar.T("login.sent", "email", addr) {
		t.Errorf("after sending: %q", got)
	}
	b.viewShot("nojs-link-sent.png")

	link := mailedLink(t, smtp, addr)
	b.do(chromedp.Navigate(link), chromedp.WaitVisible(`button[type=submit]`))
	if got := eval[string](b, `document.querySelector('button[type=submit]').textContent`); got != ar.T("login") {
		t.Errorf("the link page's button says %q", got)
	}
	b.do(chromedp.Click(`button[type=submit]`))
	b.waitLocation("Parley's reply page", func(u string) bool { return strings.HasPrefix(u, s.parleyURL+"/sites/news/reply?") })
	b.do(chromedp.WaitVisible(chromedp.CSS(".parley-user")))
	if got := eval[string](b, `document.querySelector('.parley-user').textContent`); !strings.Contains(got, addr) {
		t.Errorf("reply page says %q", got)
	}
	if eval[bool](b, `!!document.querySelector('input[name=email]')`) || !eval[bool](b, `!!document.querySelector('input[name=name]')`) {
		t.Error("the reply page should ask the name, not the address")
	}
	b.viewShot("nojs-email-logged-in.png")
	b.do(
		chromedp.SendKeys(chromedp.CSS("input[name=name]"), "ليلى"),
		chromedp.SendKeys(chromedp.CSS("textarea[name=body]"), "الخط الجديد ممتاز."),
		chromedp.Click(chromedp.CSS(".parley-submit")),
	)
	at := b.waitLocation("the article", func(u string) bool {
		return strings.HasPrefix(u, s.includeURL("bus-line")) && strings.Contains(u, "#comment-")
	})
	cs := s.stored(t, "bus-line")
	if len(cs) != 1 || cs[0].Author.Name != "ليلى" || cs[0].Author.Email != addr || !strings.HasSuffix(at, "#comment-"+cs[0].ID) {
		t.Fatalf("stored = %+v, at %s", cs, at)
	}
}
