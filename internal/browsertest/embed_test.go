package browsertest

import (
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// consoleErrors collects what the page logs with console.error.
func (b *browser) consoleErrors() func() []string {
	var mu sync.Mutex
	var got []string
	err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventConsoleAPICalled); ok && e.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			}
			mu.Lock()
			got = append(got, strings.Join(parts, " "))
			mu.Unlock()
		}
	})
	if err != nil {
		b.tb.Fatal(err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

var embedPage = template.Must(template.New("embed").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>Elsewhere</title></head><body>
<h1>An article</h1>
<div id="parley" data-site="{{.Site}}" data-page-id="story"></div>
<script src="{{.Script}}" async></script>
</body></html>
`))

// TestBrowser_RefusedEmbedding: a page on an origin its site does not
// allow, and one with a mistyped data-site, show readers a short message
// in their language, and the site's owner finds in the console exactly
// what is wrong and the command that fixes it.
func TestBrowser_RefusedEmbedding(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		embedPage.Execute(w, map[string]string{"Lang": r.URL.Query().Get("lang"), "Site": r.URL.Query().Get("site"), "Script": s.parley.URL + "/embed.js"})
	}))
	t.Cleanup(elsewhere.Close)
	b := newBrowser(t, 60*time.Second)
	logged := b.consoleErrors()
	failed := `!!` + shadowRoot + ` && !!` + widgetJS(".parley-retry")

	b.do(chromedp.Navigate(elsewhere.URL + "/?site=news&lang=de"))
	b.waitFor("the refusal", failed)
	if got := eval[string](b, widgetJS(".parley-status")+`.textContent`); !strings.HasPrefix(got, "Die Kommentare konnten nicht geladen werden.") {
		t.Errorf("the reader reads %q", got)
	}
	want := fmt.Sprintf("Parley: origin %s is not allowed for site 'news': parley site set --id news --add-origin %s", elsewhere.URL, elsewhere.URL)
	waitConsole(t, logged, want)
	b.screenshot("refused-origin.png")

	// A mistyped data-site on an allowed page.
	b.do(chromedp.Navigate(s.host.URL + "/article/x"))
	b.waitFor("the widget", widgetReady) // the right site id works
	s.host.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		embedPage.Execute(w, map[string]string{"Lang": "ar", "Site": "nwes", "Script": s.parley.URL + "/embed.js"})
	})
	b.do(chromedp.Navigate(s.host.URL + "/typo"))
	b.waitFor("the refusal", failed)
	if got := eval[string](b, widgetJS(".parley-status")+`.textContent`); !strings.HasPrefix(got, "تعذّر تحميل التعليقات") {
		t.Errorf("the Arabic reader reads %q", got)
	}
	waitConsole(t, logged, fmt.Sprintf("Parley: there is no site 'nwes' on %s: check data-site (parley site list shows the sites), or add it: parley site add --id nwes --origin %s", s.parley.URL, s.host.URL))
}

// waitConsole waits for the console line want.
func waitConsole(t *testing.T, logged func() []string, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, l := range logged() {
			if l == want {
				return
			}
		}
	}
	t.Fatalf("the console does not say %q; it says %q", want, logged())
}

var listingPage = template.Must(template.New("listing").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>Front page</title></head><body>
<h1>The Riverton Ledger</h1>
<ul>
{{range .Keys}}<li><a href="/article/{{.}}">{{.}}</a> · <span data-parley-count="{{.}}">comments</span></li>
{{end}}</ul>
<p>Elsewhere: <span data-parley-count="x" data-site="nwes">comments</span></p>
<script src="{{.Script}}" data-site="news" async></script>
</body></html>
`))

// TestBrowser_CountScript: count.js fills every data-parley-count span of
// a listing page with one request for the site's counts, in the page's
// language with its plural forms; a span of a site that does not exist
// stays as it was and the console says why.
func TestBrowser_CountScript(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	for i := 0; i < 5; i++ {
		s.post(t, "five", "", fmt.Sprintf("Reader %d", i), fmt.Sprintf("Comment %d on five.", i))
	}
	s.post(t, "one", "", "Only Reader", "The only comment.")
	s.post(t, "twentyone", "", "Reader", "x")
	for i := 1; i < 21; i++ {
		s.post(t, "twentyone", "", fmt.Sprintf("Reader %d", i), fmt.Sprintf("Comment %d.", i))
	}
	keys := []string{"five", "one", "none", "twentyone"}
	s.host.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		listingPage.Execute(w, map[string]any{"Lang": r.URL.Query().Get("lang"), "Keys": keys, "Script": s.parley.URL + "/count.js"})
	})
	b := newBrowser(t, 60*time.Second)
	logged := b.consoleErrors()
	counts := `[...document.querySelectorAll('li [data-parley-count]')].map(e => e.textContent).join('|')`
	for _, tc := range []struct{ lang, want string }{
		{"en", "5 comments|1 comment|No comments yet|21 comments"},
		{"ru", "5 комментариев|1 комментарий|Комментариев пока нет|21 комментарий"},
		{"ar", "5 تعليقات|تعليق واحد|لا توجد تعليقات بعد|21 تعليقًا"},
	} {
		b.do(chromedp.Navigate(s.host.URL + "/?lang=" + tc.lang))
		b.waitFor("the counts", `document.querySelectorAll('[data-parley-n]').length == 4`)
		if got := eval[string](b, counts); got != tc.want {
			t.Errorf("%s: counts %q, want %q", tc.lang, got, tc.want)
		}
		if tc.lang == "ru" {
			b.screenshot("counts-ru.png")
		}
	}
	if got := eval[string](b, `document.querySelector('[data-site=nwes]').textContent`); got != "comments" {
		t.Errorf("the unknown site's span says %q", got)
	}
	waitConsole(t, logged, fmt.Sprintf("Parley: there is no site 'nwes' on %s: check data-site (parley site list shows the sites), or add it: parley site add --id nwes --origin %s", s.parley.URL, s.host.URL))
	// One request per page (and site) of links.
	_, requests, _ := b.seen()
	n := 0
	for _, r := range requests {
		if strings.Contains(r, "/api/v1/sites/news/counts?") {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d count requests for 3 page views", n)
	}
	// Its own small file, cached and compressed.
	req, _ := http.NewRequest("GET", s.parley.URL+"/count.js", nil)
	req.Header.Set("Accept-Encoding", "br, gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Cache-Control") != "public, max-age=300" || resp.Header.Get("Content-Encoding") != "br" || resp.Header.Get("ETag") == "" || len(body) > 1500 {
		t.Errorf("count.js is served with %v, %d bytes", resp.Header, len(body))
	}
	t.Logf("count.js: %d bytes with Brotli", len(body))
}
