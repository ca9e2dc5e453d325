package browsertest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/internal/comment"
	"parley/internal/publicdata"
	"parley/internal/service"
)

// TestBrowser_StoredXSS posts every XSS payload of the shared list as a
// comment (and a few hundred as author names and websites), all in one
// thread, and opens it in the widget and as a server-side include with
// JavaScript on. No payload may run script, open a dialog, load anything
// from another host, navigate the page, or break out of its comment.
func TestBrowser_StoredXSS(t *testing.T) {
	needChromium(t)
	payloads := publicdata.XSSPayloads(t)
	s := newStack(t)
	const key = "hostile"
	ctx := context.Background()

	start := time.Now()
	var names, websites, refusedNames, refusedWebsites int
	post := func(d comment.Draft) error {
		d.SiteID, d.Page, d.PageURL = "news", key, s.articleURL(key)
		if d.Email == "" {
			d.Email = "reader@example.org"
		}
		_, err := s.svc.Post(ctx, d, service.Meta{})
		return err
	}
	var first []string // a few payload comments to hang payload replies on
	for i, p := range payloads {
		c, err := s.svc.Post(ctx, comment.Draft{SiteID: "news", Page: key, PageURL: s.articleURL(key),
			Name: fmt.Sprintf("Reader %d", i), Email: "reader@example.org", Body: p}, service.Meta{})
		if err != nil {
			t.Fatalf("payload %d %q as a body: %v", i, p, err)
		}
		if i < 20 {
			first = append(first, c.ID)
		}
	}
	// Replies carrying payloads, so nesting is exercised too.
	for i, id := range first {
		if err := post(comment.Draft{ParentID: id, Name: "Replier", Body: payloads[len(payloads)-1-i]}); err != nil {
			t.Fatalf("payload reply: %v", err)
		}
	}
	// Every 15th payload as an author name and inside a website's query,
	// and every payload as a website (almost all are refused at once: a
	// website is a plain http(s) URL). A refusal must be a validation error.
	for i, p := range payloads {
		var ve *comment.ValidationError
		if i%15 == 0 {
			switch err := post(comment.Draft{Name: p, Body: fmt.Sprintf("name payload %d", i)}); {
			case err == nil:
				names++
			case errors.As(err, &ve):
				refusedNames++
			default:
				t.Fatalf("payload %d as a name: %v", i, err)
			}
			// A payload can also hide in a website's query string.
			if err := post(comment.Draft{Name: "Query String", Website: "http://xss.example/?q=" + url.QueryEscape(p), Body: fmt.Sprintf("website query payload %d", i)}); err == nil {
				websites++
			} else if !errors.As(err, &ve) {
				t.Fatalf("payload %d in a website's query: %v", i, err)
			}
		}
		switch err := post(comment.Draft{Name: "Web Site", Website: p, Body: fmt.Sprintf("website payload %d", i)}); {
		case err == nil:
			websites++
		case errors.As(err, &ve):
			refusedWebsites++
		default:
			t.Fatalf("payload %d as a website: %v", i, err)
		}
	}
	total := len(s.stored(t, key))
	t.Logf("stored %d comments in %v: %d payload bodies, %d payload replies, %d payload names (%d refused), %d payload websites (%d raw payloads refused)",
		total, time.Since(start).Round(time.Millisecond), len(payloads), len(first), names, refusedNames, websites, refusedWebsites)
	if names < 100 {
		t.Errorf("only %d payloads were accepted as names; the test wants a few hundred", names)
	}

	t.Run("widget", func(t *testing.T) {
		b := newBrowser(t, 90*time.Second)
		pageURL := s.articleURL(key)
		b.openWidget(pageURL)
		// Show every page of top-level comments.
		clicks := eval[int](b, `(m => { let n = 0; while (!m.hidden && n < 1000) { m.click(); n++ } return n })(`+widgetJS(".parley-more")+`)`)
		t.Logf("clicked Load more %d times", clicks)
		checkInert(t, b, s, pageURL, shadowRoot, total)
	})
	t.Run("include", func(t *testing.T) {
		b := newBrowser(t, 90*time.Second)
		pageURL := s.includeURL(key)
		b.do(chromedp.Navigate(pageURL))
		// The server-rendered thread is in the div's declarative shadow root.
		b.waitFor("the thread", `!!`+shadowRoot)
		checkInert(t, b, s, pageURL, shadowRoot, total)
	})
}

// canaryHTML runs script, loads a resource from another host and breaks
// out of its comment, if a page takes it as it is.
const canaryHTML = `<img src="http://tracker.example/pixel.gif"><img src="x" onerror="alert('canary')"></div></article></li><li id="comment-fake">out</li>`

// storeCanary stores a comment whose HTML is html, bypassing the
// sanitiser (as a tampered database, or a bug, would).
func storeCanary(t *testing.T, s *stack, key, html string) {
	t.Helper()
	now := time.Now().UTC()
	c := &comment.Comment{ID: comment.NewID(now), SiteID: "news", Author: comment.Author{Name: "Canary", Email: "canary@example.org"},
		Markdown: "canary", Status: comment.StatusApproved, Created: now, HTML: html}
	if err := s.st.CreateComment(context.Background(), comment.Page{SiteID: "news", Key: key, URL: s.articleURL(key)}, c); err != nil {
		t.Fatal(err)
	}
}

// TestBrowser_XSSDetectorsWork stores markup that runs script, loads a
// resource from another host and breaks out of its comment, bypassing the
// sanitiser, and checks that the detectors TestBrowser_StoredXSS relies
// on see each of these, on the server-rendered thread (which shows the
// store's HTML as it is; every way into the store sanitises).
func TestBrowser_XSSDetectorsWork(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	const key = "canary"
	storeCanary(t, s, key, canaryHTML)
	for _, tc := range []struct{ name, url, root string }{
		{"include", s.includeURL(key), shadowRoot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t, 30*time.Second)
			b.do(chromedp.Navigate(tc.url))
			b.waitFor("the canary to run", `window.__xss === true`)
			tracked := func() bool {
				_, requests, _ := b.seen()
				return slices.ContainsFunc(requests, func(r string) bool { return hostOf(r) == "tracker.example" })
			}
			for deadline := time.Now().Add(5 * time.Second); !tracked() && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
			if !tracked() {
				t.Error("the request to tracker.example was not seen")
			}
			if dialogs, _, _ := b.seen(); len(dialogs) == 0 {
				t.Error("no dialog was seen")
			}
			// The page's parser lets the stray <li> out of the comment body.
			if got := eval[int](b, tc.root+`.querySelectorAll('li[id^="comment-"]').length`); got != 2 {
				t.Errorf("%d comment elements, want the real one and the fake", got)
			}
		})
	}
}

// checkInert asserts that the page at pageURL, whose comments are under
// root, shows want comments and ran none of their payloads.
func checkInert(t *testing.T, b *browser, s *stack, pageURL, root string, want int) {
	t.Helper()
	// Give timers, load and error events of anything injected time to fire.
	b.do(chromedp.Sleep(time.Second))

	if got := eval[int](b, root+`.querySelectorAll('li[id^="comment-"]').length`); got != want {
		t.Errorf("rendered %d comments, stored %d: a payload broke out of its comment", got, want)
	}
	if eval[bool](b, `window.__xss !== false`) {
		t.Errorf("a payload ran script: %s", eval[string](b, `JSON.stringify(window.__xssCalls)`))
	}
	// Only the markup the sanitiser allows, with no handlers or script URLs,
	// inside comment bodies and author names.
	bad := eval[[]string](b, `(() => {
		const ok = new Set(['P','BR','EM','STRONG','DEL','BLOCKQUOTE','CODE','PRE','UL','OL','LI','A']);
		const out = [];
		for (const e of `+root+`.querySelectorAll('.parley-body *, .parley-author, .parley-author *')) {
			if (!e.closest('.parley-author') && !ok.has(e.tagName)) out.push('element ' + e.tagName);
			for (const a of e.attributes) {
				if (/^on/i.test(a.name)) out.push(e.tagName + ' ' + a.name);
				if (/^(href|src|action|formaction|xlink:href|data)$/i.test(a.name) && !/^(https?:|mailto:)/i.test(a.value.trim())) out.push(e.tagName + ' ' + a.name + '=' + a.value);
			}
		}
		return out.slice(0, 20);
	})()`)
	if len(bad) > 0 {
		t.Errorf("unsafe markup in comments: %q", bad)
	}
	if n := eval[int](b, `document.scripts.length + `+root+`.querySelectorAll('script, iframe, object, embed, frame, base, meta').length`); n > 2 {
		t.Errorf("%d script-like elements on the page; the host page has at most 2", n)
	}
	if loc := eval[string](b, `location.href`); loc != pageURL {
		t.Errorf("the page moved to %s", loc)
	}

	dialogs, requests, navigations := b.seen()
	if len(dialogs) > 0 {
		t.Errorf("%d JavaScript dialogs opened: %q", len(dialogs), first(dialogs, 10))
	}
	allowed := map[string]bool{hostOf(s.parley.URL): true, hostOf(s.host.URL): true}
	var foreign []string
	for _, r := range requests {
		if !allowed[hostOf(r)] {
			foreign = append(foreign, r)
		}
	}
	if len(foreign) > 0 {
		t.Errorf("%d requests left the two test servers: %q", len(foreign), first(foreign, 10))
	}
	if len(navigations) != 1 || navigations[0] != pageURL {
		t.Errorf("main-frame navigations = %q, want only %s", first(navigations, 10), pageURL)
	}
	t.Logf("%d requests, all to the test servers", len(requests))
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return u.Scheme + ":"
	}
	return strings.ToLower(u.Host)
}

func first(list []string, n int) []string {
	if len(list) > n {
		return list[:n]
	}
	return list
}

// TestBrowser_WidgetKeepsStoredHTMLInert: the widget shows nothing from
// the store without the sanitiser's guarantee. HTML that never went
// through the sanitiser (a tampered database) reaches the page as the
// sanitiser's allow-list and text only: the canary that the detectors
// above catch on a page that trusts the store runs no script, loads
// nothing and stays inside its comment, here and in a live update.
func TestBrowser_WidgetKeepsStoredHTMLInert(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	const key = "canary"
	hostile := canaryHTML + `<a href="javascript:alert(1)">js link</a> <a href=" https://ok.example/" onclick="alert(2)" target="_top">spaced</a>` +
		`<a href="https://ok.example/a?b=1&amp;c=2" rel="opener">fine link</a><p style="position:fixed;inset:0" class="parley-user">styled</p>` +
		`<svg><script>alert(3)</script></svg><math><mtext><style><img src=x onerror=alert(4)></style></mtext></math><form action="https://evil.example/"><button>Go</button></form>` +
		`<ol start="3"><li>third</li></ol><ol start="x"><li>bad start</li></ol><iframe src="https://evil.example/"></iframe><template><img src=y onerror=alert(5)></template>`
	storeCanary(t, s, key, hostile)
	b := newBrowser(t, 60*time.Second)
	pageURL := s.articleURL(key)
	b.openWidget(pageURL)
	// A second one arrives live, through the same rendering.
	storeCanary(t, s, key, hostile)
	b.waitFor("the live comment", shadowRoot+`.querySelectorAll('.parley-body').length == 2`)
	checkInert(t, b, s, pageURL, shadowRoot, 2)
	body := eval[string](b, shadowRoot+`.querySelector('.parley-body').innerHTML`)
	for _, want := range []string{`<a href="https://ok.example/a?b=1&amp;c=2" rel="nofollow ugc noopener">fine link</a>`, `<ol start="3"><li>third</li></ol>`, `<ol><li>bad start</li></ol>`, "js link", "styled", "out"} {
		if !strings.Contains(body, want) {
			t.Errorf("the comment lacks %q: %s", want, body)
		}
	}
	for _, never := range []string{"style=", "class=", "target=", "<form", "<button", "<svg", "<math", "<template", "<img", "javascript:"} {
		if strings.Contains(body, never) {
			t.Errorf("the comment keeps %s: %s", never, body)
		}
	}
	b.screenshot("stored-html-inert.png")
}
