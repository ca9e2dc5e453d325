package browsertest

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestBrowser_RememberMe_Widget: "Save my name, email, and website…" is
// unticked by default; a guest who posts without ticking it leaves
// nothing in the page's storage; ticked, their details are there and fill
// the form on the next visit; unticked again, they are gone at once.
func TestBrowser_RememberMe_Widget(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	b := newBrowser(t, 60*time.Second)
	const key = "remember-me"
	b.openWidget(s.articleURL(key))
	box := widgetJS(".parley-remember input[type=checkbox]")
	if got := eval[string](b, box+".checked + ' ' + "+widgetJS(".parley-remember label")+".textContent"); got != "false Save my name, email, and website in this browser for the next time I comment." {
		t.Fatalf("the box = %q, want unticked with WordPress's words", got)
	}
	saved := `localStorage.getItem('parley:guest')`
	b.do(
		chromedp.SendKeys(inWidget("textarea[name=body]"), "First, without saving."),
		chromedp.SendKeys(inWidget("input[name=email]"), "amara@example.org"),
		chromedp.SendKeys(inWidget("input[name=name]"), "Amara Okafor"),
	)
	b.click(widgetJS(".parley-submit"))
	b.waitFor("the first comment", `[...`+shadowRoot+`.querySelectorAll('.parley-body')].some(e => e.textContent.includes('First, without saving.'))`)
	if got := eval[any](b, saved); got != nil {
		t.Fatalf("unticked, the page's storage holds %v", got)
	}

	// Ticked: kept, and back on the next visit.
	b.do(
		chromedp.SendKeys(inWidget("textarea[name=body]"), "Second, saving my details."),
		chromedp.SendKeys(inWidget("input[name=website]"), "https://amara.example"),
	)
	b.click(box)
	b.click(widgetJS(".parley-submit"))
	b.waitFor("the second comment", `[...`+shadowRoot+`.querySelectorAll('.parley-body')].some(e => e.textContent.includes('Second, saving'))`)
	if got := eval[string](b, saved); got != `{"name":"Amara Okafor","email":"amara@example.org","website":"https://amara.example"}` {
		t.Fatalf("ticked, the page's storage holds %q", got)
	}
	b.openWidget(s.articleURL(key))
	if got := eval[string](b, `['name', 'email', 'website'].map(n => `+shadowRoot+`.querySelector('[name=' + n + ']').value).join(' | ') + ' ' + `+box+`.checked`); got != "Amara Okafor | amara@example.org | https://amara.example true" {
		t.Fatalf("the next visit's form = %q, want it filled in and ticked", got)
	}
	eval[any](b, box+`.scrollIntoView({block: 'center'})`)
	shot := b.screenshot("remember-widget.png")
	t.Logf("look at %s: the form filled in, the box ticked under Website", shot)

	// Unticked: forgotten at once, before any post.
	b.click(box)
	if got := eval[any](b, saved); got != nil {
		t.Fatalf("unticked, the page's storage still holds %v", got)
	}
	b.openWidget(s.articleURL(key))
	if got := eval[string](b, widgetJS("[name=name]")+".value + ' ' + "+box+".checked"); got != " false" {
		t.Fatalf("after unticking, the next visit's form = %q, want empty and unticked", got)
	}
}

// TestBrowser_RememberMe_NoJavaScript: the form without JavaScript sets
// Parley's cookie only when the box is ticked; Parley's own pages then
// show the form filled in, and unticking deletes it.
func TestBrowser_RememberMe_NoJavaScript(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	b := newBrowser(t, 60*time.Second)
	const key = "remember-nojs"
	b.withoutJavaScript()
	replyPage := s.parley.URL + "/sites/news/reply?" + url.Values{"page": {key}, "url": {s.includeURL(key)}}.Encode()
	cookies := func() string {
		t.Helper()
		r, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.parley.URL}})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range r.Cookies {
			out = append(out, c.Name+"="+c.Value)
		}
		return strings.Join(out, "; ")
	}
	send := func(body string, tick bool) {
		t.Helper()
		b.do(chromedp.SendKeys(inThread("textarea[name=body]"), body))
		if tick {
			b.do(chromedp.Click(inThread("input[name=remember]")))
		}
		before := eval[string](b, `location.href`)
		b.do(chromedp.Click(inThread(".parley-submit")))
		b.waitLocation("the article at the new comment", func(l string) bool { return l != before && strings.Contains(l, "#comment-") })
	}

	b.do(chromedp.Navigate(s.includeURL(key)), chromedp.WaitVisible(inWidget("textarea[name=body]")))
	if eval[bool](b, widgetJS("input[name=remember]")+`.checked`) {
		t.Fatal("the box is ticked by default")
	}
	b.do(
		chromedp.SendKeys(inWidget("input[name=email]"), "chidi@example.org"),
		chromedp.SendKeys(inWidget("input[name=name]"), "Chidi Eze"),
	)
	send("Unticked: no cookie.", false)
	if c := cookies(); strings.Contains(c, "parley_guest") {
		t.Fatalf("unticked, Parley set %s", c)
	}

	b.do(chromedp.WaitVisible(inWidget("textarea[name=body]")),
		chromedp.SendKeys(inWidget("input[name=email]"), "chidi@example.org"),
		chromedp.SendKeys(inWidget("input[name=name]"), "Chidi Eze"),
		chromedp.SendKeys(inWidget("input[name=website]"), "https://chidi.example"))
	send("Ticked: remember me.", true)
	if c := cookies(); !strings.Contains(c, "parley_guest=") || !strings.Contains(c, "Chidi+Eze") {
		t.Fatalf("ticked, Parley's cookies are %q", c)
	}
	// Parley's own page (where a reader without JavaScript replies)
	// shows the form filled in and ticked.
	b.do(chromedp.Navigate(replyPage), chromedp.WaitVisible(chromedp.CSS("#parley-name")))
	if got := eval[string](b, `['name', 'email', 'website'].map(n => document.querySelector('#parley-' + n).value).join(' | ') + ' ' + document.querySelector('#parley-remember').checked`); got != "Chidi Eze | chidi@example.org | https://chidi.example true" {
		t.Fatalf("Parley's reply page form = %q, want it filled in and ticked", got)
	}
	eval[any](b, `document.querySelector('#parley-remember').scrollIntoView({block: 'center'})`)
	shot := b.screenshot("remember-nojs.png")
	t.Logf("look at %s: the plain form filled in from the cookie, the box ticked", shot)

	// Unticking and posting deletes the cookie.
	send("Forget me now.", true) // the click unticks the ticked box
	if c := cookies(); strings.Contains(c, "parley_guest") {
		t.Fatalf("unticked again, Parley's cookies are %q", c)
	}
	b.do(chromedp.Navigate(replyPage), chromedp.WaitVisible(chromedp.CSS("#parley-name")))
	if got := eval[string](b, `document.querySelector('#parley-name').value + ' ' + document.querySelector('#parley-remember').checked`); got != " false" {
		t.Fatalf("after unticking, the form = %q, want empty and unticked", got)
	}
}
