package service

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/ratelimit"
	"parley/internal/spam"
	"parley/internal/store"
	"parley/internal/store/sqlite"
)

var ctx = context.Background()

// newService returns a Service over a fresh SQLite store with one site,
// "news", whose pages live at https://news.example.
func newService(tb testing.TB, opt Options) *Service {
	tb.Helper()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "s.db"), sqlite.Options{Migrate: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	s, err := New(ctx, st, opt)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.CreateSite(ctx, OperatorActor(), &comment.Site{ID: "news", Name: "News", Origins: []string{"https://News.Example/"}}); err != nil {
		tb.Fatal(err)
	}
	return s
}

func draft(body string) comment.Draft {
	return comment.Draft{SiteID: "news", Page: "https://news.example/a", Name: "Lena", Email: "lena@example.org", Body: body}
}

func TestPost(t *testing.T) {
	s := newService(t, Options{})
	c, err := s.Post(ctx, draft("Hello **world**"), Meta{IP: "203.0.113.9", UserAgent: "UA"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != comment.StatusApproved || !strings.Contains(c.HTML, "<strong>world</strong>") {
		t.Fatalf("posted %+v", c)
	}
	if c.IPHash == "" || strings.Contains(c.IPHash, "203.0.113.9") {
		t.Fatalf("IP stored as %q; want a keyed hash", c.IPHash)
	}
	stored, err := s.store.Comment(ctx, c.ID)
	if err != nil || stored.Markdown != "Hello **world**" || stored.Author.Email != "lena@example.org" {
		t.Fatalf("stored %+v, %v", stored, err)
	}
}

func TestPost_Invalid(t *testing.T) {
	s := newService(t, Options{})
	tests := []struct {
		name  string
		edit  func(d *comment.Draft)
		field string
	}{
		{"empty body", func(d *comment.Draft) { d.Body = "  \n " }, "body"},
		{"no name", func(d *comment.Draft) { d.Name = "" }, "name"},
		{"no email", func(d *comment.Draft) { d.Email = "" }, "email"},
		{"bad email", func(d *comment.Draft) { d.Email = "lena@" }, "email"},
		{"javascript website", func(d *comment.Draft) { d.Website = "javascript:alert(1)" }, "website"},
		{"name with newline", func(d *comment.Draft) { d.Name = "a\nb" }, "name"},
		{"body too long", func(d *comment.Draft) { d.Body = strings.Repeat("é", comment.MaxBodyLen+1) }, "body"},
		{"invalid utf-8", func(d *comment.Draft) { d.Body = "a\xffb" }, "body"},
		{"NUL byte", func(d *comment.Draft) { d.Body = "a\x00b" }, "body"},
		{"page of another origin", func(d *comment.Draft) { d.Page = "https://evil.example/a" }, "page"},
		{"page id from another origin", func(d *comment.Draft) { d.Page = "article-7"; d.PageURL = "https://evil.example/a" }, "page"},
		{"no page", func(d *comment.Draft) { d.Page = "" }, "page"},
		{"missing parent", func(d *comment.Draft) { d.ParentID = "nope" }, "parent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := draft("text")
			tt.edit(&d)
			_, err := s.Post(ctx, d, Meta{})
			var ve *comment.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field || ve.Message == "" {
				t.Fatalf("Post = %v, want a validation error on %q", err, tt.field)
			}
		})
	}
	if _, err := s.Post(ctx, comment.Draft{SiteID: "nope", Page: "https://news.example/a", Name: "a", Email: "a@b.c", Body: "x"}, Meta{}); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("post to unknown site = %v, want ErrNotFound", err)
	}
	counts, _ := s.Counts(ctx, "news", []string{"https://news.example/a"})
	if counts["https://news.example/a"] != 0 {
		t.Fatalf("refused posts stored %d comments", counts["https://news.example/a"])
	}
}

func TestPost_WebsiteWithoutScheme(t *testing.T) {
	s := newService(t, Options{})
	d := draft("hi")
	d.Website = "lena.example/blog"
	c, err := s.Post(ctx, d, Meta{})
	if err != nil || c.Author.Website != "https://lena.example/blog" {
		t.Fatalf("website = %q, %v", c.Author.Website, err)
	}
}

func TestPost_ExplicitPageID(t *testing.T) {
	s := newService(t, Options{})
	d := draft("hi")
	d.Page, d.PageURL = "article-7", "https://news.example/2026/article-7?utm=x"
	if _, err := s.Post(ctx, d, Meta{}); err != nil {
		t.Fatal(err)
	}
	th, err := s.Thread(ctx, "news", "article-7", comment.SortOldest)
	if err != nil || th.Total != 1 {
		t.Fatalf("thread by page id: %+v, %v", th, err)
	}
}

func TestPost_ModerateAll(t *testing.T) {
	s := newService(t, Options{})
	site, _ := s.Site(ctx, "news")
	held := *site
	held.Moderation = comment.ModerateAll
	if err := s.UpdateSite(ctx, OperatorActor(), &held); err != nil {
		t.Fatal(err)
	}
	c, err := s.Post(ctx, draft("wait for me"), Meta{})
	if err != nil || c.Status != comment.StatusPending || c.Verdict.Layer != "moderation" {
		t.Fatalf("Post under moderation = %+v, %v", c, err)
	}
	th, _ := s.Thread(ctx, "news", "https://news.example/a", comment.SortOldest)
	if th.Total != 0 {
		t.Fatal("held comment is shown to everyone")
	}
	got, ok := s.HeldComment(ctx, "news", s.HeldToken(c))
	if !ok || got.ID != c.ID {
		t.Fatal("held token does not show the author their comment")
	}
	if _, ok := s.HeldComment(ctx, "news", s.HeldToken(c)+"x"); ok {
		t.Fatal("tampered held token accepted")
	}
}

// checkerFunc adapts a function to Checker.
type checkerFunc func(ctx context.Context, c *comment.Comment, m Meta) (comment.Status, comment.Verdict, error)

func (f checkerFunc) Check(ctx context.Context, c *comment.Comment, m Meta) (comment.Status, comment.Verdict, error) {
	return f(ctx, c, m)
}

func TestPost_Checkers(t *testing.T) {
	spammy := checkerFunc(func(_ context.Context, c *comment.Comment, _ Meta) (comment.Status, comment.Verdict, error) {
		if strings.Contains(c.Markdown, "casino") {
			return comment.StatusSpam, comment.Verdict{Layer: "words", Score: 0.99, Reason: "blocked word"}, nil
		}
		return "", comment.Verdict{Layer: "words"}, nil
	})
	broken := checkerFunc(func(_ context.Context, c *comment.Comment, _ Meta) (comment.Status, comment.Verdict, error) {
		if strings.Contains(c.Markdown, "timeout") {
			return "", comment.Verdict{Layer: "remote"}, errors.New("deadline exceeded")
		}
		return "", comment.Verdict{}, nil
	})
	s := newService(t, Options{Checkers: []Checker{spammy, broken}})
	tests := []struct {
		body, layer string
		stored      comment.Status
	}{
		{"a fine comment", "words", comment.StatusApproved},
		{"cheap casino", "words", comment.StatusSpam},
		{"remote timeout", "remote", comment.StatusPending},
	}
	for _, tt := range tests {
		c, err := s.Post(ctx, draft(tt.body), Meta{})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := s.store.Comment(ctx, c.ID)
		if got.Status != tt.stored || got.Verdict.Layer != tt.layer {
			t.Errorf("%q stored as %s by %q, want %s by %q", tt.body, got.Status, got.Verdict.Layer, tt.stored, tt.layer)
		}
		if tt.stored != comment.StatusApproved && c.Status != comment.StatusPending {
			t.Errorf("%q answered as %s; the poster must only learn it is held", tt.body, c.Status)
		}
	}
}

func TestThread_TreeAndDepth(t *testing.T) {
	s := newService(t, Options{})
	site, _ := s.Site(ctx, "news")
	shallow := *site
	shallow.MaxDepth = 2
	if err := s.UpdateSite(ctx, OperatorActor(), &shallow); err != nil {
		t.Fatal(err)
	}
	post := func(parent, name string) *comment.Comment {
		d := draft("by " + name)
		d.ParentID, d.Name = parent, name
		c, err := s.Post(ctx, d, Meta{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := post("", "A")
	b := post(a.ID, "B")
	c := post(b.ID, "C") // depth 3 > 2: shown under A, "in reply to B"
	post("", "D")
	th, err := s.Thread(ctx, "news", "https://news.example/a", comment.SortOldest)
	if err != nil {
		t.Fatal(err)
	}
	if th.Total != 4 || len(th.Comments) != 2 || th.Comments[0].ID != a.ID {
		t.Fatalf("thread = %d total, %d top", th.Total, len(th.Comments))
	}
	replies := th.Comments[0].Replies
	if len(replies) != 2 || replies[0].ID != b.ID || replies[1].ID != c.ID || replies[1].InReplyTo != "B" || len(replies[0].Replies) != 0 {
		t.Fatalf("replies of A = %s", dump(replies))
	}
	newest, _ := s.Thread(ctx, "news", "https://news.example/a", comment.SortNewest)
	if newest.Comments[0].Author.Name != "D" {
		t.Fatalf("newest first = %s", newest.Comments[0].Author.Name)
	}
}

func dump(ns []*Node) string {
	var b strings.Builder
	for _, n := range ns {
		fmt.Fprintf(&b, "[%s %s in-reply-to=%q replies=%d] ", n.ID, n.Author.Name, n.InReplyTo, len(n.Replies))
	}
	return b.String()
}

func TestThread_CacheSeesWrites(t *testing.T) {
	s := newService(t, Options{})
	page := "https://news.example/a"
	first, _ := s.Thread(ctx, "news", page, comment.SortTop)
	again, _ := s.Thread(ctx, "news", page, comment.SortTop)
	if first != again {
		t.Fatal("second read was not served from memory")
	}
	c, err := s.Post(ctx, draft("one"), Meta{})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := s.Thread(ctx, "news", page, comment.SortTop)
	if after.Total != 1 {
		t.Fatalf("after a post the thread shows %d comments, want 1", after.Total)
	}
	reader := s.NewReader()
	if n, err := s.Like(ctx, "news", c.ID, true, Meta{Reader: reader}); err != nil || n != 1 {
		t.Fatalf("Like = %d, %v", n, err)
	}
	liked, _ := s.Thread(ctx, "news", page, comment.SortTop)
	if liked.Comments[0].Likes != 1 {
		t.Fatalf("after a like the thread shows %d likes, want 1", liked.Comments[0].Likes)
	}
	// One like per reader; liking again changes nothing.
	if n, _ := s.Like(ctx, "news", c.ID, true, Meta{Reader: reader}); n != 1 {
		t.Fatalf("second like by the same reader gave %d", n)
	}
	if n, _ := s.Like(ctx, "news", c.ID, true, Meta{Reader: s.NewReader()}); n != 2 {
		t.Fatalf("like by another reader gave %d, want 2", n)
	}
	if _, err := s.Like(ctx, "news", c.ID, true, Meta{Reader: "forged.token"}); err == nil {
		t.Fatal("forged reader token accepted")
	}
	if n, _ := s.Like(ctx, "news", c.ID, false, Meta{Reader: reader}); n != 1 {
		t.Fatalf("unlike gave %d, want 1", n)
	}
}

func TestFormToken(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s := newService(t, Options{Now: func() time.Time { return now }})
	tok := s.FormToken("news")
	now = now.Add(42 * time.Second)
	if age, err := s.CheckFormToken("news", tok); err != nil || age != 42*time.Second {
		t.Fatalf("fresh token = %v, %v; want age 42s", age, err)
	}
	if _, err := s.CheckFormToken("other", tok); err == nil {
		t.Fatal("token for another site accepted")
	}
	if _, err := s.CheckFormToken("news", tok[:len(tok)-2]+"AA"); err == nil {
		t.Fatal("tampered token accepted")
	}
	now = now.Add(FormTokenMaxAge + time.Minute)
	var ve *comment.ValidationError
	if _, err := s.CheckFormToken("news", tok); !errors.As(err, &ve) || ve.Code != "invalid_token" || !strings.Contains(ve.Message, "expired") {
		t.Fatalf("old token = %v, want an expired invalid_token", err)
	}
}

func TestCounts(t *testing.T) {
	s := newService(t, Options{})
	s.Post(ctx, draft("x"), Meta{})
	got, err := s.Counts(ctx, "news", []string{"https://news.example/a#comments", "https://news.example/b"})
	if err != nil {
		t.Fatal(err)
	}
	if got["https://news.example/a#comments"] != 1 || got["https://news.example/b"] != 0 {
		t.Fatalf("Counts = %v", got)
	}
}

func TestNormalizeOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://News.Example/":  "https://news.example",
		"http://localhost:8080":  "http://localhost:8080",
		"ftp://x.example":        "",
		"https://x.example/path": "",
		"news.example":           "",
	} {
		got, err := NormalizeOrigin(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

type learnerFunc func(c *comment.Comment, spam bool)

func (f learnerFunc) Learn(_ context.Context, c *comment.Comment, spam bool) error {
	f(c, spam)
	return nil
}

func TestModerate(t *testing.T) {
	var lessons []string
	learn := learnerFunc(func(c *comment.Comment, spam bool) { lessons = append(lessons, fmt.Sprintf("%s:%v", c.Markdown, spam)) })
	s := newService(t, Options{Learners: []Learner{learn}})
	site, _ := s.Site(ctx, "news")
	held := *site
	held.Moderation = comment.ModerateAll
	s.UpdateSite(ctx, OperatorActor(), &held)
	a, _ := s.Post(ctx, draft("good one"), Meta{})
	b, _ := s.Post(ctx, draft("buy pills"), Meta{})
	qp, err := s.Queue(ctx, OperatorActor(), "news", Query{Status: comment.StatusPending, Limit: 10})
	var q []*comment.Comment
	if qp != nil {
		for _, c := range qp.Cards {
			q = append(q, c.Comment)
		}
	}
	if err != nil || len(q) != 2 || q[0].ID != b.ID {
		t.Fatalf("queue = %v, %v", commentIDsOf(q), err)
	}
	if _, err := s.Decide(ctx, OperatorActor(), "news", []string{a.ID}, Approve); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decide(ctx, OperatorActor(), "news", []string{b.ID}, Spam); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(lessons) != "[good one:false buy pills:true]" {
		t.Fatalf("filters learned %v", lessons)
	}
	th, _ := s.Thread(ctx, "news", "https://news.example/a", comment.SortOldest)
	if th.Total != 1 || th.Comments[0].ID != a.ID {
		t.Fatalf("after moderation the thread shows %d", th.Total)
	}
	if _, err := s.Decide(ctx, OperatorActor(), "other", []string{a.ID}, Spam); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("moderating through another site = %v", err)
	}
	if _, err := ParseDecision("bogus"); err == nil {
		t.Fatal("bogus decision accepted")
	}
}

func commentIDsOf(cs []*comment.Comment) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestEditAndDelete(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s := newService(t, Options{Now: func() time.Time { return now }})
	site, _ := s.Site(ctx, "news")
	w := *site
	w.EditWindow = 10 * time.Minute
	s.UpdateSite(ctx, OperatorActor(), &w)
	me, other := s.NewReader(), s.NewReader()
	c, err := s.Post(ctx, draft("tpyo"), Meta{Reader: me})
	if err != nil {
		t.Fatal(err)
	}
	var ve *comment.ValidationError
	if _, err := s.Edit(ctx, "news", c.ID, "hijack", Meta{Reader: other}); !errors.As(err, &ve) || ve.Code != "not_author" {
		t.Fatalf("edit by another reader = %v", err)
	}
	if _, err := s.Edit(ctx, "news", c.ID, " ", Meta{Reader: me}); !errors.As(err, &ve) || ve.Field != "body" {
		t.Fatalf("edit to empty = %v", err)
	}
	now = now.Add(5 * time.Minute)
	e, err := s.Edit(ctx, "news", c.ID, "typo **fixed**", Meta{Reader: me})
	if err != nil || !strings.Contains(e.HTML, "<strong>fixed</strong>") || e.Edited.IsZero() {
		t.Fatalf("edit = %+v, %v", e, err)
	}
	th, _ := s.Thread(ctx, "news", "https://news.example/a", comment.SortOldest)
	if th.Comments[0].Markdown != "typo **fixed**" {
		t.Fatal("thread shows the old text after an edit")
	}
	now = now.Add(6 * time.Minute)
	if _, err := s.Edit(ctx, "news", c.ID, "too late", Meta{Reader: me}); !errors.As(err, &ve) || ve.Code != "edit_window_closed" {
		t.Fatalf("edit after the window = %v", err)
	}
	if err := s.Delete(ctx, "news", c.ID, me); !errors.As(err, &ve) || ve.Code != "edit_window_closed" {
		t.Fatalf("delete after the window = %v", err)
	}
	d, _ := s.Post(ctx, draft("regret"), Meta{Reader: me})
	if err := s.Delete(ctx, "news", d.ID, me); err != nil {
		t.Fatal(err)
	}
	th, _ = s.Thread(ctx, "news", "https://news.example/a", comment.SortOldest)
	if th.Total != 1 {
		t.Fatalf("thread after delete has %d comments, want 1", th.Total)
	}
	if _, err := s.Edit(ctx, "news", d.ID, "back", Meta{Reader: me}); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("edit of a deleted comment = %v", err)
	}
}

func spamService(t *testing.T, limit ratelimit.Limit) *Service {
	t.Helper()
	model, err := spam.Default()
	if err != nil {
		t.Fatal(err)
	}
	s := newService(t, Options{Spam: &SpamOptions{Model: model, Buckets: ratelimit.NewMemory(1000), PerIP: limit, PerEmail: spam.DefaultEmailLimit}})
	return s
}

func TestPost_SpamDefence(t *testing.T) {
	s := spamService(t, ratelimit.Limit{Burst: 100, Every: time.Second})
	post := func(body string, m Meta) *comment.Comment {
		t.Helper()
		d := draft(body)
		d.Email = fmt.Sprintf("r%d@example.org", time.Now().UnixNano()) // stay under the per-email limit
		c, err := s.Post(ctx, d, m)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := s.store.Comment(ctx, c.ID)
		return got
	}
	if c := post("The new bus line saved me twenty minutes this morning, and the driver waited for a woman with a pram.", Meta{}); c.Status != comment.StatusApproved {
		t.Fatalf("ordinary comment stored as %s (%+v)", c.Status, c.Verdict)
	}
	if c := post("CHECK OUT MY CHANNEL!!! subscribe to me http://a.example http://b.example http://c.example http://d.example http://e.example http://f.example http://g.example", Meta{}); c.Status != comment.StatusSpam || c.Verdict.Layer == "" {
		t.Fatalf("link spam stored as %s (%+v)", c.Status, c.Verdict)
	}
	if c := post("The timetable for the evening buses looks sensible to me.", Meta{Honeypot: "http://bot.example"}); c.Status != comment.StatusSpam || c.Verdict.Layer != "traps" {
		t.Fatalf("honeypot comment stored as %s (%+v)", c.Status, c.Verdict)
	}
	if c := post("The new shelters look warm and the timetable at Mill Street is clear.", Meta{FormAge: 200 * time.Millisecond}); c.Status != comment.StatusPending || c.Verdict.Layer != "traps" {
		t.Fatalf("instant post stored as %s (%+v)", c.Status, c.Verdict)
	}
}

func TestPost_RateLimit(t *testing.T) {
	s := spamService(t, ratelimit.Limit{Burst: 2, Every: time.Hour})
	for i := 0; i < 2; i++ {
		d := draft(fmt.Sprintf("comment number %d about the buses", i))
		d.Email = fmt.Sprintf("r%d@example.org", i)
		if _, err := s.Post(ctx, d, Meta{IP: "198.51.100.7"}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.Post(ctx, draft("one too many"), Meta{IP: "198.51.100.7"})
	var rl *spam.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter <= 0 {
		t.Fatalf("third post = %v, want a rate limit", err)
	}
	th, _ := s.Thread(ctx, "news", "https://news.example/a", comment.SortOldest)
	if th.Total != 2 {
		t.Fatalf("refused post was stored: %d comments", th.Total)
	}
}

func TestModerate_TeachesClassifier(t *testing.T) {
	s := spamService(t, ratelimit.Limit{Burst: 100, Every: time.Second})
	text := "Fresh sourdough at the Tanner Street bakery stall every morning, ask for Marta"
	c, err := s.Post(ctx, draft(text), Meta{})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := s.store.Comment(ctx, c.ID)
	for i := 0; i < 3; i++ {
		if _, err := s.Decide(ctx, OperatorActor(), "news", []string{c.ID}, Spam); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.store.SpamModel(ctx, "news"); err != nil {
		t.Fatalf("learned model not saved: %v", err)
	}
	d := draft(text)
	d.Email = "other@example.org"
	again, err := s.Post(ctx, d, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := s.store.Comment(ctx, again.ID)
	if after.Verdict.Score <= before.Verdict.Score || after.Status == comment.StatusApproved {
		t.Fatalf("after marking spam the same text scores %.3f (%s), before %.3f", after.Verdict.Score, after.Status, before.Verdict.Score)
	}
}

func TestPost_ModerateFirst(t *testing.T) {
	s := newService(t, Options{})
	site, _ := s.Site(ctx, "news")
	first := *site
	first.Moderation = comment.ModerateFirst
	s.UpdateSite(ctx, OperatorActor(), &first)
	c, _ := s.Post(ctx, draft("my first comment"), Meta{})
	if c.Status != comment.StatusPending {
		t.Fatalf("first comment = %s, want held", c.Status)
	}
	second, _ := s.Post(ctx, draft("still new here"), Meta{})
	if second.Status != comment.StatusPending {
		t.Fatalf("second comment before approval = %s, want held", second.Status)
	}
	s.Decide(ctx, OperatorActor(), "news", []string{c.ID}, Approve)
	third, _ := s.Post(ctx, draft("now I am known"), Meta{})
	if third.Status != comment.StatusApproved {
		t.Fatalf("comment after an approved one = %s, want published", third.Status)
	}
}

// TestPost_ModerateFirst_LoggedIn: logged-in readers are known by their
// log-in, not by an address their provider gives; a site's own accounts
// (SSO) and confirmed addresses are known at once.
func TestPost_ModerateFirst_LoggedIn(t *testing.T) {
	verified := map[string]bool{"noor@example.org": true}
	s := newService(t, Options{Verified: func(_ context.Context, email string) (bool, error) { return verified[email], nil }})
	site, _ := s.Site(ctx, "news")
	first := *site
	first.Moderation = comment.ModerateFirst
	s.UpdateSite(ctx, OperatorActor(), &first)
	as := func(identity, email, body string) comment.Status {
		d := draft(body)
		d.Identity, d.Email = identity, email
		c, err := s.Post(ctx, d, Meta{})
		if err != nil {
			t.Fatal(err)
		}
		return c.Status
	}
	// Lena, a known guest (an approved comment under her address).
	c, _ := s.Post(ctx, draft("a guest's comment"), Meta{})
	s.Decide(ctx, OperatorActor(), "news", []string{c.ID}, Approve)

	if got := as("github:583231", "lena@example.org", "a new GitHub account with Lena's address"); got != comment.StatusPending {
		t.Errorf("a provider's address stood for a known guest: %s", got)
	}
	if got := as("github:1", "", "first by GitHub user 1"); got != comment.StatusPending {
		t.Errorf("first comment of a log-in = %s, want held", got)
	}
	held, _ := s.store.ListComments(ctx, store.ListFilter{SiteID: "news", Status: comment.StatusPending})
	for _, h := range held {
		if h.Author.Identity == "github:1" {
			s.Decide(ctx, OperatorActor(), "news", []string{h.ID}, Approve)
		}
	}
	if got := as("github:1", "", "GitHub user 1 again"); got != comment.StatusApproved {
		t.Errorf("a known log-in = %s, want published", got)
	}
	if got := as("sso-news:42", "", "a reader of the site's own accounts"); got != comment.StatusApproved {
		t.Errorf("the site's own account = %s, want published", got)
	}
	if got := as("sso-other:42", "", "another site's account"); got != comment.StatusPending {
		t.Errorf("another site's SSO account = %s, want held", got)
	}
	if got := as("email:abc", "noor@example.org", "a confirmed address"); got != comment.StatusApproved {
		t.Errorf("a log-in by email link = %s, want published", got)
	}
}

func TestAPIKeysAndClassify(t *testing.T) {
	s := spamService(t, ratelimit.Limit{})
	key, err := s.NewAPIKey(ctx, OperatorActor(), "news")
	if err != nil || len(key) < 32 {
		t.Fatalf("NewAPIKey = %q, %v", key, err)
	}
	if site, err := s.SiteByAPIKey(ctx, key); err != nil || site.ID != "news" {
		t.Fatalf("SiteByAPIKey = %v, %v", site, err)
	}
	if _, err := s.SiteByAPIKey(ctx, key+"x"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("wrong key = %v", err)
	}
	again, _ := s.NewAPIKey(ctx, OperatorActor(), "news")
	if _, err := s.SiteByAPIKey(ctx, key); !errors.Is(err, comment.ErrNotFound) || again == key {
		t.Fatal("the old key still works after a new one was made")
	}
	ham, err := s.Classify(ctx, "news", &spam.Input{Body: "The council should publish the evening timetable before the line opens."})
	if err != nil || ham.Action != spam.Publish {
		t.Fatalf("ham = %+v, %v", ham, err)
	}
	sp, _ := s.Classify(ctx, "news", &spam.Input{Body: "CHECK OUT MY CHANNEL subscribe http://a.example http://b.example http://c.example http://d.example http://e.example http://f.example http://g.example"})
	if sp.Action < spam.Spam {
		t.Fatalf("spam = %+v", sp)
	}
	text := &spam.Input{Body: "Marta's sourdough stall on Tanner Street opens at seven"}
	before, _ := s.Classify(ctx, "news", text)
	for i := 0; i < 3; i++ {
		if err := s.Teach(ctx, "news", text, true); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := s.Classify(ctx, "news", text)
	if after.Score <= before.Score || after.Action == spam.Publish {
		t.Fatalf("after submit-spam: %+v (before %+v)", after, before)
	}
}

func TestEdit_SpamIsHeld(t *testing.T) {
	s := spamService(t, ratelimit.Limit{})
	site, _ := s.Site(ctx, "news")
	w := *site
	w.EditWindow = time.Hour
	s.UpdateSite(ctx, OperatorActor(), &w)
	me := s.NewReader()
	c, err := s.Post(ctx, draft("The timetable for the evening buses looks sensible to me."), Meta{Reader: me})
	if err != nil || c.Status != comment.StatusApproved {
		t.Fatalf("post = %+v, %v", c, err)
	}
	e, err := s.Edit(ctx, "news", c.ID, "CHECK OUT MY CHANNEL subscribe http://a.example http://b.example http://c.example http://d.example http://e.example http://f.example http://g.example", Meta{Reader: me})
	if err != nil || e.Status != comment.StatusPending {
		t.Fatalf("spammy edit = %+v, %v; want it held", e, err)
	}
	th, _ := s.Thread(ctx, "news", "https://news.example/a", comment.SortOldest)
	if th.Total != 0 {
		t.Fatal("the spammy edit is still shown")
	}
}

func TestUpdateSite_RebuildsThreads(t *testing.T) {
	s := newService(t, Options{})
	a, _ := s.Post(ctx, draft("a"), Meta{})
	b := draft("b")
	b.ParentID = a.ID
	s.Post(ctx, b, Meta{})
	th, _ := s.Thread(ctx, "news", "https://news.example/a", comment.SortOldest)
	if len(th.Comments) != 1 {
		t.Fatalf("nested thread has %d top-level comments", len(th.Comments))
	}
	site, _ := s.Site(ctx, "news")
	flat := *site
	flat.MaxDepth = 1
	if err := s.UpdateSite(ctx, OperatorActor(), &flat); err != nil {
		t.Fatal(err)
	}
	th, _ = s.Thread(ctx, "news", "https://news.example/a", comment.SortOldest)
	if len(th.Comments) != 2 || th.Comments[1].InReplyTo == "" {
		t.Fatalf("after setting depth 1 the thread still nests: %d top-level", len(th.Comments))
	}
}

// FuzzBuildTree: whatever the parent links and depth, every comment is
// placed exactly once and no reply nests deeper than the site allows.
func FuzzBuildTree(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 1, 0}, uint8(2))
	f.Add([]byte{0, 1, 1, 1}, uint8(1))
	f.Fuzz(func(t *testing.T, parents []byte, depth uint8) {
		maxDepth := int(depth%6) + 1
		var cs []*comment.Comment
		for i, p := range parents {
			c := &comment.Comment{ID: fmt.Sprint("c", i), Author: comment.Author{Name: fmt.Sprint("n", i)}}
			if p > 0 && int(p) <= len(parents) {
				c.ParentID = fmt.Sprint("c", int(p)-1) // may point forward or at itself: treated as missing
			}
			cs = append(cs, c)
		}
		seen := map[string]bool{}
		var walk func(ns []*Node, d int)
		walk = func(ns []*Node, d int) {
			for _, n := range ns {
				if d > maxDepth {
					t.Fatalf("comment %s at depth %d > %d", n.ID, d, maxDepth)
				}
				if seen[n.ID] {
					t.Fatalf("comment %s placed twice", n.ID)
				}
				seen[n.ID] = true
				walk(n.Replies, d+1)
			}
		}
		walk(buildTree(cs, comment.SortTop, maxDepth), 1)
		if len(seen) != len(cs) {
			t.Fatalf("placed %d of %d comments", len(seen), len(cs))
		}
	})
}

// slowListener is a store whose change listener takes its time to start.
type slowListener struct {
	store.Store
	release chan struct{}
}

func (s slowListener) Listen(ctx context.Context, fn func(comment.Event), ready func()) {
	select {
	case <-s.release:
	case <-ctx.Done():
		return
	}
	s.Store.Listen(ctx, fn, ready)
}

// TestPing_WaitsForTheListener: an instance is not healthy until it hears
// changes, so that no reader's live page is left without updates.
func TestPing_WaitsForTheListener(t *testing.T) {
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"), sqlite.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	slow := slowListener{Store: st, release: make(chan struct{})}
	s, err := New(ctx, slow, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("before Run: %v", err)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.Run(rctx)
	deadline := time.Now().Add(5 * time.Second)
	for s.listening.Load() != listenStarting && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("healthy before the listener is in place")
	}
	close(slow.release)
	for s.Ping(ctx) != nil && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("once listening: %v", err)
	}
}

// TestSpam_RetryAfterRefusedStoreIsNoRepeat: a comment the store refused
// (here, its thread was closed) is forgotten by the duplicate rule, so the
// reader's retry is judged afresh, not held as a repeat of nothing.
func TestSpam_RetryAfterRefusedStoreIsNoRepeat(t *testing.T) {
	s := spamService(t, ratelimit.Limit{})
	first, err := s.Post(ctx, draft("A first comment opens the thread."), Meta{IP: "198.51.100.9"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.SetThreadClosed(ctx, first.ThreadID, true); err != nil {
		t.Fatal(err)
	}
	text := "The bridge closure should come with a shuttle bus for the market days."
	if _, err := s.Post(ctx, draft(text), Meta{IP: "198.51.100.9"}); !errors.Is(err, comment.ErrClosed) {
		t.Fatalf("post to a closed thread = %v", err)
	}
	s.store.SetThreadClosed(ctx, first.ThreadID, false)
	c, err := s.Post(ctx, draft(text), Meta{IP: "198.51.100.9"})
	if err != nil || c.Status != comment.StatusApproved {
		t.Fatalf("the retry is %v (%+v), %v; want it published", c.Status, c.Verdict, err)
	}
	// A real repeat is still caught.
	if again, _ := s.Post(ctx, draft(text), Meta{IP: "198.51.100.9"}); again.Status == comment.StatusApproved {
		t.Fatal("posting the same text again from the same sender was published")
	}
}
