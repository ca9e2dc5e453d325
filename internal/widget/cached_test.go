package widget

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// hostile is text that every escaper treats differently: quotes, the
// characters html/template escapes in attributes (+ and NUL among them),
// a right-to-left name, and bytes that are not UTF-8.
const hostile = "Zoë \"<b>'&amp;+\x00 محمد \xff\xfe</b>"

// TestCached_sameAsRenderThread is the promise of Cached: for every kind of
// thread and reader, the page is byte for byte what RenderThread writes.
func TestCached_sameAsRenderThread(t *testing.T) {
	threads := map[string]func() *ThreadView{
		"sample":  sampleView,
		"arabic":  func() *ThreadView { v := sampleView(); v.Lang = "ar"; return v },
		"newest":  func() *ThreadView { v := sampleView(); v.Sort = "newest"; return v },
		"closed":  func() *ThreadView { v := sampleView(); v.Closed = true; return v },
		"empty":   func() *ThreadView { v := sampleView(); v.Comments, v.Total = nil, 0; return v },
		"login":   func() *ThreadView { v := sampleView(); v.Login = sampleLogin(); return v },
		"no-urls": func() *ThreadView { v := sampleView(); v.StyleURL, v.ReplyURL, v.SortURL = "", nil, nil; return v },
		"sorts": func() *ThreadView {
			v := sampleView()
			v.SortURL = func(s string) string { return "https://news.example/bus-line?sort=" + s + "#parley-comments" }
			return v
		},
		"login-only": func() *ThreadView {
			v := sampleView()
			v.Login = sampleLogin()
			v.Login.Guests = "login"
			return v
		},
		"anonymous": func() *ThreadView {
			v := sampleView()
			v.Login = sampleLogin()
			v.Login.Guests = "anonymous"
			return v
		},
		"hostile-title": func() *ThreadView {
			v := sampleView()
			v.Title, v.PageURL = hostile, "https://news.example/a?x="+hostile
			return v
		},
	}
	held := func(id, parent string) *CommentView {
		return &CommentView{ID: id, ParentID: parent, AuthorName: "Zoe", HTML: "<p>Mine.</p>", Created: t0.Add(3 * time.Hour), Pending: true}
	}
	readers := map[string]Reader{
		"guest":              {Token: "tok-123_ABC"},
		"hostile token":      {Token: hostile},
		"replying":           {Token: "t", ParentID: "c1", ParentName: "Ana"},
		"replying, hostile":  {Token: "t", ParentID: hostile, ParentName: hostile},
		"held under replies": {Token: "t", Held: held("c9", "c1")},
		"held, no replies":   {Token: "t", Held: held("c9", "c2")},
		"held top level":     {Token: "t", Held: held("c9", "")},
		"held, parent gone":  {Token: "t", Held: held("c9", "gone")},
		"held and replying":  {Token: "t", ParentID: "c3", ParentName: "Bob", Held: held("c9", "c3")},
		"logged in": {Token: "t", ParentID: "c1", ParentName: "Ana", Held: held("c9", "c1"),
			User: &UserView{Name: "Jane", Provider: "google", Account: "Google", Avatar: "https://c.example/avatars/k1", LogoutAction: "https://c.example/auth/logout"}},
		"logged in by email": {Token: "t", User: &UserView{Name: "Jane", Provider: "email", Email: hostile, LogoutAction: "https://c.example/auth/logout"}},
	}
	for tn, thread := range threads {
		c, err := Cache(thread())
		if err != nil {
			t.Fatal(err)
		}
		for rn, r := range readers {
			t.Run(tn+"/"+rn, func(t *testing.T) {
				v := thread()
				v.Token, v.ParentID, v.ParentName, v.Held, v.User = r.Token, r.ParentID, r.ParentName, r.Held, r.User
				want := render(t, v)
				pieces, err := c.Render(r)
				if err != nil {
					t.Fatal(err)
				}
				if got := string(bytes.Join(pieces, nil)); got != want {
					t.Errorf("cached page differs from RenderThread's:\n%s", firstDiff(got, want))
				}
			})
		}
	}
}

// TestCached_readersDoNotMix renders for one reader, then another, from
// the same Cached: nothing of the first may reach the second, and the
// shared pieces stay as they were.
func TestCached_readersDoNotMix(t *testing.T) {
	c, err := Cache(sampleView())
	if err != nil {
		t.Fatal(err)
	}
	top := string(c.top)
	first, err := c.Render(Reader{Token: "first-token", ParentID: "c1", ParentName: "Ana",
		Held: &CommentView{ID: "c9", ParentID: "c1", AuthorName: "Zoe", HTML: "<p>Secret draft.</p>", Created: t0}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Render(Reader{Token: "second-token"})
	if err != nil {
		t.Fatal(err)
	}
	a, b := string(bytes.Join(first, nil)), string(bytes.Join(second, nil))
	mustContain(t, a, "first-token", "Secret draft.", `value="c1"`)
	mustContain(t, b, "second-token")
	mustNotContain(t, b, "first-token", "Secret draft.", `value="c1"`, "Reply to <bdi>")
	if string(c.top) != top {
		t.Error("Render changed the shared page")
	}
}

func TestCache_ignoresReaderParts(t *testing.T) {
	v := sampleView()
	v.Token, v.ParentID, v.ParentName = "leaked-token", "c1", "Ana"
	v.Held = &CommentView{ID: "c9", AuthorName: "Zoe", HTML: "<p>Leaked draft.</p>", Created: t0}
	v.User = &UserView{Name: "Jane", Provider: "email", Email: "jane@example.org"}
	c, err := Cache(v)
	if err != nil {
		t.Fatal(err)
	}
	pieces, err := c.Render(Reader{Token: "mine"})
	if err != nil {
		t.Fatal(err)
	}
	mustNotContain(t, string(bytes.Join(pieces, nil)), "leaked-token", "Leaked draft.", "jane@example.org", `value="c1"`, "parleyhole")
	if _, err := Cache(nil); err == nil {
		t.Error("Cache(nil): want an error")
	}
}

// firstDiff shows where two long strings part.
func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-80)
	return fmt.Sprintf("at byte %d:\n got: %q\nwant: %q", i, got[from:min(len(got), i+80)], want[from:min(len(want), i+80)])
}
