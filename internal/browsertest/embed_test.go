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

// styleSignature is, for every element of the comment section's shadow
// root and for the anchors the page keeps beside it (shown inside through
// slots), the computed styles a host stylesheet could change, and where
// each anchor is drawn; "no shadow root" when the section has none.
const styleSignature = `(() => {
	const r = document.querySelector('#parley').shadowRoot;
	if (!r) return 'no shadow root';
	const anchors = [...document.querySelectorAll('#parley > a')];
	const at = e => { const b = e.getBoundingClientRect(), s = e.assignedSlot.parentNode.getBoundingClientRect(); return [b.left - s.left, b.top - s.top, b.width - s.width, b.height - s.height].join(' ') };
	return [...r.querySelectorAll('*'), ...anchors].filter(e => !/^(link|style|slot)$/.test(e.localName)).map(e => {
		const c = getComputedStyle(e), before = getComputedStyle(e, '::before').content;
		return e.localName + '.' + e.getAttribute('class') + ' ' + [c.color, c.backgroundColor, c.borderBottomWidth, c.borderBottomStyle, c.borderBottomColor,
			c.textTransform, c.textDecorationLine, c.listStyleType, c.display, c.width, c.fontSize, c.fontWeight, c.marginTop, c.marginLeft, before].join(',') +
			(anchors.includes(e) ? ' at ' + at(e) : '');
	}).join('\n');
})()`

// TestBrowser_HostileHostStyles: a host page whose stylesheet would
// restyle headers, paragraphs, links, buttons, lists, pictures, text
// boxes and margins changes nothing inside the comment section, whether
// it is the server-rendered thread (scripts off: the browser puts it in a
// declarative shadow root) or the widget that takes it over: every
// element's computed style is what it is on a plain page, and so are the
// page-side anchors of #comment-ID and #respond, which still take the
// reader to the comment and highlight it. The one value
// the section takes from the page on purpose is the font family
// (--parley-font, documented as "the page's" by default), inherited by
// the div, not set on anything inside.
func TestBrowser_HostileHostStyles(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	first := s.post(t, "styles", "", "Ana Lima", "A first comment with a [link](https://example.org).")
	reply := s.post(t, "styles", first.ID, "Ben Okafor", "A reply.\n\nWith two paragraphs.")
	for _, js := range []bool{false, true} {
		t.Run(map[bool]string{false: "without JavaScript", true: "with JavaScript"}[js], func(t *testing.T) {
			b := newBrowser(t, 60*time.Second)
			page := s.includeURL("styles") + "?serif&"
			if js {
				page += "widget&"
			} else {
				b.withoutJavaScript()
			}
			open := func(url string) string {
				b.do(chromedp.Navigate(url))
				if js {
					b.waitFor("the widget", widgetReady)
				} else {
					b.waitFor("the thread", `!!document.querySelector('#parley').shadowRoot && !!document.querySelector('#parley').shadowRoot.querySelector('.parley-list li') && !!document.querySelector('#parley').shadowRoot.querySelector('textarea')`)
				}
				return eval[string](b, styleSignature)
			}
			plain := open(page)
			anchors := eval[int](b, `document.querySelectorAll('#parley > a[slot]').length`)
			hostile := open(page + "hostile")
			// The hostile sheet is on: it restyles the page's own parts.
			if got := eval[string](b, `getComputedStyle(document.querySelector('header')).borderBottomColor + ' ' + getComputedStyle(document.querySelector('article p')).color`); got != "rgb(255, 0, 0) rgb(255, 0, 0)" {
				t.Fatalf("the hostile sheet is not in force: %q", got)
			}
			if plain == "no shadow root" || strings.Count(plain, "\n") < 20 {
				t.Fatalf("the section's shadow root:\n%s", plain)
			}
			// Without scripts the page keeps an anchor for each comment and
			// the form; the widget removes them with the thread it replaces.
			if want := map[bool]int{false: 3, true: 0}[js]; anchors != want {
				t.Errorf("%d anchors beside the shadow root, want %d", anchors, want)
			}
			if plain != hostile {
				pl, ho := strings.Split(plain, "\n"), strings.Split(hostile, "\n")
				for i := range min(len(pl), len(ho)) {
					if pl[i] != ho[i] {
						t.Errorf("the host's styles reach inside:\n plain   %s\n hostile %s", pl[i], ho[i])
						break
					}
				}
				t.Fatalf("%d and %d elements", len(pl), len(ho))
			}
			// Only the font family comes from the page, by inheritance.
			if got := eval[string](b, `getComputedStyle(`+shadowRoot+`.querySelector('.parley')).fontFamily`); got != "serif" {
				t.Errorf("the section's font is %q, want the page's", got)
			}
			b.screenshot(map[bool]string{false: "hostile-nojs.png", true: "hostile-js.png"}[js])
			if js {
				return
			}
			// A link to the reply scrolls to it and highlights it, the
			// hostile sheet notwithstanding.
			b.do(chromedp.Navigate(page + "hostile#comment-" + reply.ID))
			b.waitFor("the thread", `!!document.querySelector('#parley').shadowRoot`)
			sel := `document.getElementById('comment-` + reply.ID + `')`
			if a, c := rect(b, sel), rect(b, widgetJS("#comment-"+reply.ID+" > article")); a != c || c.Top < 0 || c.Top >= eval[float64](b, `innerHeight`) {
				t.Errorf("the reply's anchor is at %+v, the reply at %+v", a, c)
			}
			if got := eval[string](b, `getComputedStyle(`+sel+`).backgroundColor + ' ' + `+sel+`.matches(':target')`); got != "rgb(255, 244, 206) true" {
				t.Errorf("the linked reply's highlight and :target: %q", got)
			}
			b.viewShot("hostile-nojs-target.png") // the window as the reader sees it, scrolled to the reply
		})
	}
}
