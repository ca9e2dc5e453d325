package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"parley/internal/httpapi"
	"parley/internal/service"
	"parley/internal/widget"
)

// TestBrowser_ThreadFraming: the server-rendered thread holds a form that
// posts as the reader, so only the site's own pages may frame it; a page
// of any other origin gets an empty frame. Parley's own pages and the
// thread run no script, yet load their styles and pictures.
func TestBrowser_ThreadFraming(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	s.post(t, "framed", "", "Ada Reader", "Framed or not?")
	thread := s.parley.URL + "/sites/news/thread?" + url.Values{"page": {"framed"}, "url": {s.articleURL("framed")}}.Encode()
	framing := fmt.Sprintf(`<!doctype html><html><head><title>frame</title></head><body><iframe id="f" src=%q width="800" height="600"></iframe></body></html>`, thread)
	serveFrame := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, framing)
	}
	// The site's own origin is s.host; an attacker's page is on another.
	evil := httptest.NewServer(http.HandlerFunc(serveFrame))
	t.Cleanup(evil.Close)
	own := http.NewServeMux()
	own.HandleFunc("GET /framing", serveFrame)
	own.Handle("/", s.host.Config.Handler)
	s.host.Config.Handler = own

	b := newBrowser(t, 60*time.Second)
	for _, c := range []struct {
		name, page string
		shown      bool
	}{
		{"the site's page", s.host.URL + "/framing", true},
		{"another origin", evil.URL + "/", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			b.do(chromedp.Navigate(c.page))
			frameURL := ""
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				res, err := chromedp.Call(b.ctx, page.GetFrameTree, cdp.Empty{})
				tree := res.FrameTree
				if err == nil && tree != nil && len(tree.ChildFrames) == 1 && tree.ChildFrames[0].Frame.URL != "about:blank" && tree.ChildFrames[0].Frame.URL != "" {
					frameURL = tree.ChildFrames[0].Frame.URL
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Logf("the frame is at %q", frameURL)
			if frameURL == "" {
				t.Fatal("the frame never navigated")
			}
			if shown := strings.HasPrefix(frameURL, s.parley.URL); shown != c.shown {
				t.Errorf("frame at %q: shown = %v, want %v", frameURL, shown, c.shown)
			}
		})
	}

	// The thread and Parley's pages load what they need under their policy.
	for _, p := range []string{thread, s.parley.URL + "/sites/news/privacy?lang=ar"} {
		b.do(chromedp.Navigate(p))
		b.waitFor("the page's style", `[...document.styleSheets].length > 0`)
		if p == thread {
			b.waitFor("the stylesheet and avatar", `getComputedStyle(document.querySelector('.parley-submit')).backgroundColor == 'rgb(11, 87, 208)' && document.querySelector('.parley-avatar').complete && document.querySelector('.parley-avatar').naturalWidth > 0`)
			// Sent gzip-compressed from parts compressed apart (gzjoin), and
			// decoded by the browser: the comment is there.
			b.waitFor("the thread sent compressed and shown", `(() => { const n = performance.getEntriesByType('navigation')[0];
				return n && n.encodedBodySize > 0 && n.encodedBodySize * 2 < n.decodedBodySize && document.body.textContent.includes('Framed or not?') })()`)
			b.screenshot("thread-gzip.png")
		}
	}
}

// TestBrowser_DemoUnderItsPolicy: the demo article allows script from
// Parley only; the widget runs there and posts.
func TestBrowser_DemoUnderItsPolicy(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	assets, err := widget.New()
	if err != nil {
		t.Fatal(err)
	}
	var demo *httptest.Server
	demo = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.New(s.svc, assets, nil, httpapi.Config{Demo: true, DemoSite: "news"}).Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(demo.Close)
	site, _ := s.st.Site(context.Background(), "news")
	site.Origins = append(site.Origins, demo.URL)
	if err := s.svc.UpdateSite(context.Background(), service.OperatorActor(), site); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(demo.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("demo page policy %q", csp)
	}
	b := newBrowser(t, 60*time.Second)
	b.do(chromedp.Navigate(demo.URL + "/"))
	b.waitFor("the widget", `(r => !!r && !!r.querySelector('.parley-status') && r.querySelector('.parley-status').hidden)(document.querySelector('#parley').shadowRoot)`)
	b.do(
		chromedp.SendKeys(inWidget("textarea[name=body]"), "Under the policy."),
		chromedp.SendKeys(inWidget("input[name=email]"), "p@example.org"),
		chromedp.SendKeys(inWidget("input[name=name]"), "Policy Reader"),
	)
	b.click(widgetJS(".parley-submit"))
	b.waitFor("the posted comment", `[...`+shadowRoot+`.querySelectorAll('.parley-body')].some(e => e.textContent.includes('Under the policy.'))`)
	b.screenshot("demo-under-policy.png")
}
