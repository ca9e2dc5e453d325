package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/xml"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"parley/internal/comment"
	"parley/internal/service"
)

// feedparser finds a Python with the feedparser package (Debian's
// python3-feedparser, which .ci/run installs), or skips the test.
func feedparser(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exe, err := exec.LookPath(py); err == nil && exec.Command(exe, "-c", "import feedparser").Run() == nil {
			return exe
		}
	}
	t.Skip("no python3 with the feedparser package (Debian's python3-feedparser); feed validation skipped")
	return ""
}

// parsed is what feedparser makes of a feed.
type parsed struct {
	Bozo      bool   `json:"bozo"`
	BozoError string `json:"bozo_exception"`
	Version   string `json:"version"`
	Title     string `json:"title"`
	Entries   []struct {
		Title   string `json:"title"`
		Link    string `json:"link"`
		ID      string `json:"id"`
		Author  string `json:"author"`
		Content string `json:"content"`
	} `json:"entries"`
}

// parseFeed runs feedparser, an independent, widely used feed parser, on
// a feed and returns what it found; bozo means the feed is not well formed.
func parseFeed(t *testing.T, py string, body []byte) parsed {
	t.Helper()
	f := filepath.Join(t.TempDir(), "feed.xml")
	os.WriteFile(f, body, 0o644)
	script := `
import feedparser, json, sys
d = feedparser.parse(sys.argv[1])
print(json.dumps({"bozo": bool(d.bozo), "bozo_exception": str(d.get("bozo_exception", "")), "version": d.version,
  "title": d.feed.get("title", ""),
  "entries": [{"title": e.get("title", ""), "link": e.get("link", ""), "id": e.get("id", ""), "author": e.get("author", ""),
               "content": (e.get("content") or [{"value": e.get("summary", "")}])[0]["value"]} for e in d.entries]}))`
	out, err := exec.Command(py, "-c", script, f).Output()
	if err != nil {
		t.Fatalf("feedparser: %v", err)
	}
	var p parsed
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("feedparser output %s: %v", out, err)
	}
	return p
}

func TestFeeds(t *testing.T) {
	py := feedparser(t)
	ts := newTestServer(t)
	ctx := context.Background()
	// Two pages; a held comment and a hostile one among them.
	post := func(page, title, name, body string) *comment.Comment {
		c, err := ts.svc.Post(ctx, comment.Draft{SiteID: "news", Page: origin + page, PageURL: origin + page, Title: title, Name: name, Email: "x@example.org", Body: body}, service.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := post("/bridge", "The bridge & the river", "Ana", "The **bridge** is <script>alert(1)</script> long overdue.")
	post("/bridge", "The bridge & the river", "Ben", "Second comment on the bridge")
	post("/market", "Market day", "Cleo", "A comment on another page")
	site, _ := ts.svc.Site(ctx, "news")
	held := *site
	held.Moderation = comment.ModerateAll
	ts.svc.UpdateSite(ctx, service.OperatorActor(), &held)
	post("/bridge", "The bridge & the river", "Dan", "Held, so never in a feed")

	for _, tc := range []struct {
		path, version, title string
		entries              int
	}{
		{"/sites/news/feed.atom?page=" + url.QueryEscape(origin+"/bridge"), "atom10", "Comments on The bridge & the river", 2},
		{"/sites/news/feed.rss?page=" + url.QueryEscape(origin+"/bridge"), "rss20", "Comments on The bridge & the river", 2},
		{"/sites/news/feed.atom", "atom10", "Comments on News", 3},
		{"/sites/news/feed.rss", "rss20", "Comments on News", 3},
		{"/sites/news/feed.atom?page=" + url.QueryEscape(origin+"/nothing-yet"), "atom10", "Comments on " + origin + "/nothing-yet", 0},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := ts.do(t, "GET", tc.path, nil, nil)
			if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "xml") {
				t.Fatalf("= %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if err := xml.Unmarshal(body, new(struct{})); err != nil {
				t.Fatalf("not XML: %v", err)
			}
			p := parseFeed(t, py, body)
			if p.Bozo || p.Version != tc.version || p.Title != tc.title || len(p.Entries) != tc.entries {
				t.Fatalf("feedparser: bozo %v (%s), version %q, title %q, %d entries\n%s", p.Bozo, p.BozoError, p.Version, p.Title, len(p.Entries), body)
			}
			for _, e := range p.Entries {
				if strings.Contains(e.Content, "Held") || strings.Contains(e.Content, "<script") || e.Author == "" || !strings.Contains(e.Link, "#comment-") {
					t.Fatalf("entry %+v", e)
				}
			}
			if tc.entries == 2 && strings.HasPrefix(tc.path, "/sites/news/feed.atom?") {
				// Newest first, the text as readers see it.
				if !strings.Contains(p.Entries[1].Content, "<strong>bridge</strong>") || !strings.HasSuffix(p.Entries[1].Link, "#comment-"+first.ID) {
					t.Fatalf("oldest entry %+v", p.Entries[1])
				}
			}
			// A second request with the ETag is a 304.
			resp2, _ := ts.do(t, "GET", tc.path, nil, map[string]string{"If-None-Match": resp.Header.Get("ETag")})
			if resp2.StatusCode != http.StatusNotModified {
				t.Fatalf("revalidation = %d", resp2.StatusCode)
			}
		})
	}
	if resp, _ := ts.do(t, "GET", "/sites/nosuch/feed.atom", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown site: %d", resp.StatusCode)
	}
}

// TestThreadFeedLinks: the server-rendered thread announces the thread's
// Atom and RSS feeds with <link rel="alternate">, titled in its language,
// and they are this thread's feeds.
func TestThreadFeedLinks(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	for _, p := range []struct{ page, name string }{{"/bridge", "Ana"}, {"/bridge", "Ben"}, {"/market", "Cleo"}} {
		if _, err := ts.svc.Post(ctx, comment.Draft{SiteID: "news", Page: origin + p.page, PageURL: origin + p.page, Name: p.name, Email: "x@example.org", Body: "A comment by " + p.name}, service.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	// The server-rendered thread announces its two feeds, which parse.
	_, thread := ts.do(t, "GET", "/sites/news/thread?page="+url.QueryEscape(origin+"/bridge")+"&lang=de&title="+url.QueryEscape("The bridge"), nil, nil)
	links := regexp.MustCompile(`<link rel="alternate" type="(application/(?:atom|rss)(?:\+|&#43;)xml)" title="([^"]+)" href="([^"]+)">`).FindAllStringSubmatch(string(thread), -1)
	if len(links) != 2 {
		t.Fatalf("thread has %d feed links:\n%s", len(links), thread)
	}
	for _, l := range links {
		u, err := url.Parse(html.UnescapeString(l[3]))
		if err != nil || !strings.HasPrefix(l[2], "Kommentare zu The bridge") {
			t.Fatalf("feed link %q %q", l[2], l[3])
		}
		resp, body := ts.do(t, "GET", u.RequestURI(), nil, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != html.UnescapeString(l[1])+"; charset=utf-8" || strings.Count(string(body), "Ana") == 0 || strings.Contains(string(body), "Cleo") {
			t.Fatalf("%s = %d %s:\n%s", u, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}

// A built feed is served as it is for feedFresh, then built again; a
// failed build is not kept, and a clock that went back builds again.
func TestFeedCache(t *testing.T) {
	c := newFeedCache()
	builds := 0
	build := func(body string, err error) func() ([]byte, error) {
		return func() ([]byte, error) {
			builds++
			return []byte(body), err
		}
	}
	k := feedKey{site: "news", format: "atom", self: "https://c.example/sites/news/feed.atom"}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := c.get(k, t0, build("", comment.ErrNotFound)); err != comment.ErrNotFound {
		t.Fatalf("error = %v", err)
	}
	a, err := c.get(k, t0, build("one", nil))
	if err != nil || string(a.plain) != "one" || builds != 2 {
		t.Fatalf("first build: %q %v, %d builds", a.plain, err, builds)
	}
	if b, _ := c.get(k, t0.Add(feedFresh-time.Millisecond), build("two", nil)); b != a || builds != 2 {
		t.Fatalf("within feedFresh: %q, %d builds", b.plain, builds)
	}
	if b, _ := c.get(feedKey{site: "news", format: "rss", self: k.self}, t0, build("rss", nil)); string(b.plain) != "rss" {
		t.Fatalf("another format shared the entry: %q", b.plain)
	}
	if b, _ := c.get(k, t0.Add(feedFresh), build("three", nil)); string(b.plain) != "three" || b.etag == a.etag {
		t.Fatalf("after feedFresh: %q (etag %s, before %s)", b.plain, b.etag, a.etag)
	}
	if b, _ := c.get(k, t0.Add(-time.Hour), build("four", nil)); string(b.plain) != "four" {
		t.Fatalf("clock went back: %q", b.plain)
	}
}

// Feeds come compressed to clients that ask, the same feed in every
// encoding, and a cache-busting parameter neither changes the feed's own
// address nor makes a new one.
func TestFeedEncodings(t *testing.T) {
	ts := newTestServer(t)
	if _, err := ts.svc.Post(context.Background(), comment.Draft{SiteID: "news", Page: origin + "/bridge", Name: "Ana", Email: "a@example.org",
		Body: strings.Repeat("The bridge is long overdue. ", 20)}, service.Meta{}); err != nil {
		t.Fatal(err)
	}
	path := "/sites/news/feed.atom?page=" + url.QueryEscape(origin+"/bridge")
	_, plain := ts.do(t, "GET", path, nil, map[string]string{"Accept-Encoding": "identity"})
	for _, enc := range []string{"gzip", "br"} {
		resp, body := ts.do(t, "GET", path+"&nocache=123", nil, map[string]string{"Accept-Encoding": enc})
		if resp.Header.Get("Content-Encoding") != enc || len(body) >= len(plain) {
			t.Fatalf("%s: Content-Encoding %q, %d bytes (plain %d)", enc, resp.Header.Get("Content-Encoding"), len(body), len(plain))
		}
		got := unencode(t, enc, body)
		if !bytes.Equal(got, plain) {
			t.Fatalf("%s: the decoded feed differs from the plain one", enc)
		}
	}
	if bytes.Contains(plain, []byte("nocache")) || !bytes.Contains(plain, []byte(`rel="self"`)) {
		t.Fatalf("self link:\n%s", plain)
	}
}

// unencode undoes a Content-Encoding.
func unencode(t *testing.T, enc string, b []byte) []byte {
	t.Helper()
	var r io.Reader = brotli.NewReader(bytes.NewReader(b))
	if enc == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", enc, err)
	}
	return out
}
