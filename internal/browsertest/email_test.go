package browsertest

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/internal/auth"
	"parley/internal/auth/authtest"
	"parley/internal/login"
)

// emailStack is the log-in stack with email links, mailed through a real
// SMTP server.
func emailStack(t *testing.T) (*loginStack, *authtest.SMTP) {
	smtp := authtest.StartSMTP(t)
	s := newLoginStack(t, func(c *login.Config) {
		c.SMTP = &auth.SMTPConfig{Host: smtp.Host(), Port: smtp.Port(), TLS: auth.SMTPNone, From: "Comments <comments@news.test>"}
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
