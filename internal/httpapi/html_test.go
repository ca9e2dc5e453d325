package httpapi

import (
	"compress/gzip"
	"context"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/service"
	"parley/internal/widget"
)

// formFields fetches the no-JS thread and returns the hidden token of its form.
func (ts *testServer) formToken(t *testing.T) string {
	t.Helper()
	resp, body := ts.do(t, "GET", "/sites/news/thread?page="+url.QueryEscape(origin+"/story"), nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("thread fragment = %d %s", resp.StatusCode, body)
	}
	m := regexp.MustCompile(`name="token" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no token field in the form:\n%s", body)
	}
	return string(m[1])
}

func formPost(token string, fields map[string]string) url.Values {
	v := url.Values{"token": {token}}
	for k, s := range post(fields) {
		v.Set(k, s)
	}
	return v
}

func TestFormPost(t *testing.T) {
	ts := newTestServer(t)
	tok := ts.formToken(t)
	resp, body := ts.do(t, "POST", "/sites/news/comments", formPost(tok, map[string]string{"body": "Posted *without* JavaScript", "url": origin + "/story?replytocom=abc"}), map[string]string{"Origin": origin})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form post = %d %s", resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	m := regexp.MustCompile(`^` + regexp.QuoteMeta(origin) + `/story#comment-([0-9a-z]+)$`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("redirect to %q, want the page at the new comment", loc)
	}
	resp, body = ts.do(t, "GET", "/sites/news/thread?page="+url.QueryEscape(origin+"/story"), nil, nil)
	if !strings.Contains(string(body), `id="comment-`+m[1]+`"`) || !strings.Contains(string(body), "<em>without</em>") {
		t.Fatalf("fragment does not show the new comment:\n%s", body)
	}
	if strings.Contains(string(body), "noor@example.org") {
		t.Fatal("email address in the public fragment")
	}
}

func TestFormPost_Reply(t *testing.T) {
	ts := newTestServer(t)
	_, body := ts.do(t, "POST", "/api/v1/sites/news/comments", post(nil), nil)
	parent := decode[apiComment](t, body)
	resp, _ := ts.do(t, "GET", "/sites/news/thread?replytocom="+parent.ID+"&page="+url.QueryEscape(origin+"/story"), nil, nil)
	if resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	resp, body = ts.do(t, "POST", "/sites/news/comments", formPost(ts.formToken(t), map[string]string{"parent": parent.ID, "body": "reply"}), map[string]string{"Origin": origin})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reply = %d %s", resp.StatusCode, body)
	}
	_, body = ts.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/story"), nil, nil)
	th := decode[apiThread](t, body)
	if len(th.Comments) != 1 || len(th.Comments[0].Replies) != 1 {
		t.Fatalf("reply not nested: %s", body)
	}
}

func TestFormPost_Refused(t *testing.T) {
	ts := newTestServer(t)
	tok := ts.formToken(t)
	tests := []struct {
		name   string
		form   url.Values
		header map[string]string
		status int
		want   string
	}{
		{"cross-site origin", formPost(tok, nil), map[string]string{"Origin": "https://evil.example"}, 403, "does not accept comments from here"},
		{"cross-site referer", formPost(tok, nil), map[string]string{"Referer": "https://evil.example/page"}, 403, "does not accept comments from here"},
		{"no token", formPost("", nil), map[string]string{"Origin": origin}, 400, "could not be verified"},
		{"missing name keeps the text", formPost(tok, map[string]string{"name": "", "body": "My long thoughts &lt;kept&gt;"}), map[string]string{"Origin": origin}, 400, "Please enter your name."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := ts.do(t, "POST", "/sites/news/comments", tt.form, tt.header)
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.want) {
				t.Fatalf("= %d, want %d with %q:\n%s", resp.StatusCode, tt.status, tt.want, body)
			}
			if strings.Contains(tt.name, "keeps the text") && !strings.Contains(string(body), "My long thoughts &amp;lt;kept&amp;gt;") {
				t.Fatalf("the reader's text was not kept (escaped) in the form:\n%s", body)
			}
		})
	}
	_, body := ts.do(t, "GET", "/api/v1/sites/news/counts?page="+url.QueryEscape(origin+"/story"), nil, nil)
	if !strings.Contains(string(body), ":0}") {
		t.Fatalf("refused form posts were stored: %s", body)
	}
}

func TestFormPost_NoOpenRedirect(t *testing.T) {
	ts := newTestServer(t)
	// The page id is ours, but the return address names another site: the
	// post is refused rather than redirected there.
	resp, _ := ts.do(t, "POST", "/sites/news/comments", formPost(ts.formToken(t), map[string]string{"page": "story-1", "url": "https://evil.example/"}), map[string]string{"Origin": origin})
	if resp.StatusCode == http.StatusSeeOther {
		t.Fatalf("redirected to %q", resp.Header.Get("Location"))
	}
}

func TestFormPost_Held(t *testing.T) {
	ts := newTestServer(t)
	site, _ := ts.svc.Site(context.Background(), "news")
	held := *site
	held.Moderation = comment.ModerateAll
	ts.svc.UpdateSite(context.Background(), service.OperatorActor(), &held)
	resp, body := ts.do(t, "POST", "/sites/news/comments", formPost(ts.formToken(t), map[string]string{"body": "Hold me"}), map[string]string{"Origin": origin})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("= %d %s", resp.StatusCode, body)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	tok := loc.Query().Get("parley_held")
	if tok == "" {
		t.Fatalf("redirect %q carries no held token", loc)
	}
	// The author, coming back with the token, sees the comment and the notice...
	_, body = ts.do(t, "GET", "/sites/news/thread?parley_held="+url.QueryEscape(tok)+"&page="+url.QueryEscape(origin+"/story"), nil, nil)
	if !strings.Contains(string(body), "Hold me") || !strings.Contains(string(body), "awaiting moderation") {
		t.Fatalf("author does not see the held comment:\n%s", body)
	}
	// ...and nobody else does.
	_, body = ts.do(t, "GET", "/sites/news/thread?page="+url.QueryEscape(origin+"/story"), nil, nil)
	if strings.Contains(string(body), "Hold me") {
		t.Fatal("held comment shown to everyone")
	}
}

func TestThreadHTML_Errors(t *testing.T) {
	ts := newTestServer(t)
	resp, body := ts.do(t, "GET", "/sites/nope/thread?page=x", nil, nil)
	if resp.StatusCode != 404 || !strings.Contains(string(body), "no such site") {
		t.Fatalf("unknown site = %d %s", resp.StatusCode, body)
	}
	resp, _ = ts.do(t, "GET", "/sites/news/thread?page=x&lang=ar", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("arabic fragment = %d", resp.StatusCode)
	}
}

func TestPrivacyPage(t *testing.T) {
	ts := newTestServer(t)
	resp, body := ts.do(t, "GET", "/sites/news/privacy", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "How your comment data is processed on News") {
		t.Fatalf("privacy = %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "Akismet") {
		t.Fatal("privacy page mentions Akismet though it is not configured")
	}
}

// TestThreadHTML_cachedPageIsTheFullRender checks the server-rendered
// thread served from the rendered-page cache against a full render of the
// same request, for the parameters that change what a reader sees: only
// the token may differ (it is made for each request), and it is valid.
func TestThreadHTML_cachedPageIsTheFullRender(t *testing.T) {
	ts := newTestServer(t)
	seedThread(t, ts, 12)
	site, parent, heldTok := heldReply(t, ts)
	srv := New(ts.svc, mustAssets(t), nil, Config{})
	h := srv.Handler()
	token := regexp.MustCompile(`name="(token|key)" value="[^"]*"`) // fresh for each reader
	page := "/sites/news/thread?page=" + url.QueryEscape(origin+"/bench")
	for _, q := range []string{"", "&lang=ar", "&sort=newest", "&replytocom=" + parent, "&parley_held=" + url.QueryEscape(heldTok),
		"&title=" + url.QueryEscape(`A "title" + more`) + "&url=" + url.QueryEscape(origin+"/bench?x=1")} {
		for range 2 { // the second read is served from the cache
			req := httptest.NewRequest("GET", "http://parley.example"+page+q, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Body.String()
			if rec.Code != 200 || rec.Header().Get("Content-Length") != strconv.Itoa(len(got)) {
				t.Fatalf("%s: %d, Content-Length %q for %d bytes", q, rec.Code, rec.Header().Get("Content-Length"), len(got))
			}
			m := regexp.MustCompile(`name="token" value="([^"]*)"`).FindStringSubmatch(got)
			if m == nil {
				t.Fatalf("%s: no token", q)
			}
			if _, err := ts.svc.CheckFormToken("news", m[1]); err != nil {
				t.Errorf("%s: token %q: %v", q, m[1], err)
			}
			order, _ := comment.ParseSort(req.URL.Query().Get("sort"))
			th, _ := ts.svc.Thread(context.Background(), "news", origin+"/bench", order)
			pageURL := req.URL.Query().Get("url")
			if pageURL == "" {
				pageURL = th.Key
			}
			var want strings.Builder
			if err := widget.IsolatedThread(&want, srv.threadView(req, site, th, pageURL)); err != nil {
				t.Fatal(err)
			}
			if g, w := token.ReplaceAllString(got, ""), token.ReplaceAllString(want.String(), ""); g != w {
				t.Fatalf("%s: cached page differs from the full render:\n%s", q, g)
			}
		}
	}
}

// heldReply posts a reply, held for moderation, to the second comment
// of the seeded thread through the form, and returns the site as it was,
// the parent's id and the held comment's token (?parley_held).
func heldReply(t *testing.T, ts *testServer) (site *comment.Site, parent, heldTok string) {
	t.Helper()
	site, _ = ts.svc.Site(context.Background(), "news")
	held := *site
	held.Moderation = comment.ModerateAll
	ts.svc.UpdateSite(context.Background(), service.OperatorActor(), &held)
	th, _ := ts.svc.Thread(context.Background(), "news", origin+"/bench", comment.SortOldest)
	parent = th.Comments[1].ID
	resp, body := ts.do(t, "POST", "/sites/news/comments", formPost(ts.formToken(t), map[string]string{"page": origin + "/bench", "url": origin + "/bench", "parent": parent, "body": "Held reply"}), map[string]string{"Origin": origin})
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Query().Get("parley_held") == "" {
		t.Fatalf("held post = %d %s", resp.StatusCode, body)
	}
	return site, parent, loc.Query().Get("parley_held")
}

func TestHTMLCache_bounded(t *testing.T) {
	v := &widget.ThreadView{Lang: "en", SiteID: "news", Page: "p", Comments: []*widget.CommentView{{ID: "c1", AuthorName: "A", HTML: template.HTML(strings.Repeat("x", 10_000))}}}
	c := newHTMLCache(5, 35_000)
	th, site := &service.Thread{}, &comment.Site{}
	for i := range 20 {
		e, err := c.get(htmlKey{title: strconv.Itoa(i)}, th, site, func() (*widget.Cached, map[string]string, error) {
			p, err := widget.Cache(v)
			return p, nil, err
		})
		if err != nil || e.page == nil {
			t.Fatal(err)
		}
		if len(c.entries) > 5 || c.bytes > 35_000 {
			t.Fatalf("after %d pages: %d entries, %d bytes", i+1, len(c.entries), c.bytes)
		}
	}
	if len(c.entries) < 2 {
		t.Errorf("%d entries kept", len(c.entries))
	}
	sum := 0
	for _, e := range c.entries {
		sum += e.size
	}
	if sum != c.bytes {
		t.Errorf("counted %d bytes, entries hold %d", c.bytes, sum)
	}
}

func TestHeldCache(t *testing.T) {
	finds := 0
	find := func(found bool) func() (*widget.CommentView, bool) {
		return func() (*widget.CommentView, bool) {
			finds++
			if !found {
				return nil, false
			}
			return &widget.CommentView{ID: "c1"}, true
		}
	}
	c := newHeldCache(time.Hour, 2)
	k := heldKey{"news", "https://c.example", "tok"}
	for range 3 {
		if cv, ok := c.get(k, find(true)); !ok || cv.ID != "c1" {
			t.Fatalf("get = %v, %v", cv, ok)
		}
	}
	if finds != 1 {
		t.Errorf("looked up %d times within the time it is remembered, want 1", finds)
	}
	// A token that finds nothing is asked again every time.
	for range 2 {
		if _, ok := c.get(heldKey{"news", "https://c.example", "bad"}, find(false)); ok {
			t.Fatal("found a comment for a bad token")
		}
	}
	if finds != 3 {
		t.Errorf("%d lookups, want 3", finds)
	}
	for i := range 5 {
		c.get(heldKey{"news", "b", strconv.Itoa(i)}, find(true))
	}
	if len(c.entries) > 2 {
		t.Errorf("%d entries kept, bound 2", len(c.entries))
	}
	// Past its time an entry is looked up again.
	c = newHeldCache(0, 2)
	c.get(k, find(true))
	c.get(k, find(true))
	if finds != 10 {
		t.Errorf("%d lookups, want 10: an expired entry is looked up again", finds)
	}
}

// TestPagePolicies: the server-rendered thread may be framed by the site's
// pages only; it and Parley's own pages run no script at all, and load
// styles and pictures from Parley only.
func TestPagePolicies(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	site, _ := ts.st.Site(ctx, "news")
	site.Origins = append(site.Origins, "https://www.news.example:8443")
	if err := ts.svc.UpdateSite(ctx, service.OperatorActor(), site); err != nil {
		t.Fatal(err)
	}
	noScript := []string{"script-src 'none'", "default-src 'none'", "style-src 'self' 'unsafe-inline'", "img-src 'self'", "base-uri 'none'"}
	for _, c := range []struct {
		path   string
		status int
		frame  string
	}{
		{"/sites/news/thread?page=a&url=https://news.example/a", 200, "frame-ancestors https://news.example https://www.news.example:8443"},
		{"/sites/news/reply?page=a&url=https://news.example/a", 200, "frame-ancestors 'none'"},
		{"/sites/news/privacy", 200, "frame-ancestors 'none'"},
		{"/sites/nope/thread?page=a", 404, "frame-ancestors 'none'"},
		{"/sites/news/reply?page=a&url=https://elsewhere.example/a", 400, "frame-ancestors 'none'"},
	} {
		resp, _ := ts.do(t, "GET", c.path, nil, nil)
		csp := resp.Header.Get("Content-Security-Policy")
		if resp.StatusCode != c.status || !strings.Contains(csp, c.frame) {
			t.Errorf("%s: %d, policy %q; want %d and %s", c.path, resp.StatusCode, csp, c.status, c.frame)
		}
		for _, want := range noScript {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: policy %q lacks %s", c.path, csp, want)
			}
		}
	}
}

// TestThreadHTML_isolatedWhenIncluded: a site's server fetching the thread
// to include gets it in a declarative shadow root followed by the anchors
// of its comments and form; a browser framing or opening it (Sec-Fetch-Dest
// iframe, document) gets a page of its own, without either.
func TestThreadHTML_isolatedWhenIncluded(t *testing.T) {
	ts := newTestServer(t)
	seedThread(t, ts, 2)
	th, _ := ts.svc.Thread(context.Background(), "news", origin+"/bench", comment.SortOldest)
	page := "/sites/news/thread?page=" + url.QueryEscape(origin+"/bench")
	resp, body := ts.do(t, "GET", page, nil, nil)
	out := string(body)
	if resp.StatusCode != 200 || !strings.HasPrefix(out, `<template shadowrootmode="open">`) || !strings.Contains(resp.Header.Get("Vary"), "Sec-Fetch-Dest") {
		t.Fatalf("included: %d, Vary %q:\n%.300s", resp.StatusCode, resp.Header.Get("Vary"), out)
	}
	_, after, _ := strings.Cut(out, "</template>")
	for _, id := range []string{"comment-" + th.Comments[0].ID, "comment-" + th.Comments[1].ID, "respond"} {
		if !strings.Contains(after, `<a id="`+id+`" slot="`+id+`"></a>`) {
			t.Errorf("no anchor for #%s after the shadow root: %q", id, after)
		}
	}
	for _, dest := range []string{"iframe", "document"} {
		resp, body := ts.do(t, "GET", page, nil, map[string]string{"Sec-Fetch-Dest": dest})
		if resp.StatusCode != 200 || strings.Contains(string(body), "<template") || strings.Contains(string(body), `slot="`) || !strings.Contains(string(body), `id="comment-`+th.Comments[0].ID+`"`) {
			t.Errorf("%s: %d\n%.300s", dest, resp.StatusCode, body)
		}
	}
}

// TestThreadHTML_gzip: a reader whose browser takes gzip gets the
// server-rendered thread compressed, as the page is cached (shared parts
// compressed once, the reader's own stored): one valid gzip member that
// decodes to the page a reader without gzip gets, token aside, for every
// kind of request, included or opened, from the cache or not.
func TestThreadHTML_gzip(t *testing.T) {
	ts := newTestServer(t)
	seedThread(t, ts, 60)
	_, parent, heldTok := heldReply(t, ts)
	h := New(ts.svc, mustAssets(t), nil, Config{}).Handler()
	token := regexp.MustCompile(`name="(token|key)" value="[^"]*"`)
	page := "/sites/news/thread?page=" + url.QueryEscape(origin+"/bench")
	get := func(q, dest, enc string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "http://parley.example"+page+q, nil)
		if dest != "" {
			req.Header.Set("Sec-Fetch-Dest", dest)
		}
		if strings.Contains(q, "&saved") { // a guest whose details the form refills: rendered for them
			req.AddCookie(&http.Cookie{Name: guestCookie, Value: url.Values{"name": {"Ann Saved"}, "email": {"ann@example.org"}}.Encode()})
		}
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%s %s %s: %d", q, dest, enc, rec.Code)
		}
		return rec
	}
	for _, q := range []string{"", "&lang=ar", "&replytocom=" + parent, "&parley_held=" + url.QueryEscape(heldTok), "&saved"} {
		for _, dest := range []string{"", "document"} {
			for round := range 2 { // the second from the compressed parts kept
				plain := get(q, dest, "")
				gz := get(q, dest, "gzip, deflate, br, zstd")
				if plain.Header().Get("Content-Encoding") != "" || gz.Header().Get("Content-Encoding") != "gzip" ||
					!strings.Contains(gz.Header().Get("Vary"), "Accept-Encoding") || !strings.Contains(plain.Header().Get("Vary"), "Accept-Encoding") {
					t.Fatalf("%s %s: headers %v and %v", q, dest, plain.Header(), gz.Header())
				}
				if gz.Header().Get("Content-Length") != strconv.Itoa(gz.Body.Len()) {
					t.Fatalf("%s %s: Content-Length %s for %d bytes", q, dest, gz.Header().Get("Content-Length"), gz.Body.Len())
				}
				compressed := gz.Body.Len()
				zr, err := gzip.NewReader(gz.Body)
				if err != nil {
					t.Fatal(err)
				}
				zr.Multistream(false)
				got, err := io.ReadAll(zr)
				if err != nil {
					t.Fatalf("%s %s: %v", q, dest, err)
				}
				if rest, _ := io.ReadAll(gz.Body); len(rest) > 0 {
					t.Fatalf("%s %s: %d bytes after the gzip member", q, dest, len(rest))
				}
				m := regexp.MustCompile(`name="token" value="([^"]*)"`).FindSubmatch(got)
				if m == nil {
					t.Fatalf("%s %s: no token in the decoded page", q, dest)
				}
				if _, err := ts.svc.CheckFormToken("news", string(m[1])); err != nil {
					t.Errorf("%s %s: token %q: %v", q, dest, m[1], err)
				}
				if g, w := token.ReplaceAllString(string(got), ""), token.ReplaceAllString(plain.Body.String(), ""); g != w {
					t.Fatalf("%s %s round %d: the decoded page differs from the plain one", q, dest, round)
				}
				if q == "&saved" && !strings.Contains(string(got), `value="ann@example.org"`) {
					t.Fatalf("%s %s: the saved guest's form is not refilled", q, dest)
				}
				if compressed*5 > len(got) {
					t.Errorf("%s %s: %d bytes compressed to %d", q, dest, len(got), compressed)
				}
			}
		}
	}
	// Refused gzip: plain.
	if rec := get("", "", "gzip;q=0, br"); rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 answered with %q", rec.Header().Get("Content-Encoding"))
	}
}
