package service

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/spam"
	"parley/internal/staff"
	"parley/internal/store"
)

func storeAudit(action string) store.AuditFilter {
	return store.AuditFilter{Action: action, Limit: 100}
}

// clock is a settable clock for tests. Each reading moves it on by a
// microsecond, so comments posted one after another are in order.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Microsecond)
	return c.t
}
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// communityService is a service on a settable clock with site "news"
// (publishing everything), a moderator and an admin of it.
func communityService(t testing.TB) (*Service, *clock, Actor, Actor) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	s := newService(t, Options{Now: clk.now})
	mod, err := s.AddMember(ctx, OperatorActor(), NewMember{Email: "mod@example.org", Password: "correct horse battery", SiteID: "news", Role: staff.RoleModerator})
	if err != nil {
		t.Fatal(err)
	}
	adm, err := s.AddMember(ctx, OperatorActor(), NewMember{Email: "adm@example.org", Password: "correct horse battery", SiteID: "news", Role: staff.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk, MemberActor(mod), MemberActor(adm)
}

func postBy(s *Service, page, name, email, body, ip string) (*comment.Comment, error) {
	d := comment.Draft{SiteID: "news", Page: "https://news.example/" + page, Name: name, Email: email, Body: body}
	return s.Post(ctx, d, Meta{IP: ip, Reader: s.NewReader()})
}

func TestSanctions_RefusePolitely(t *testing.T) {
	s, clk, mod, _ := communityService(t)
	ban := func(n NewSanction) *comment.Sanction {
		t.Helper()
		sn, err := s.AddSanction(ctx, mod, "news", n)
		if err != nil {
			t.Fatalf("AddSanction %+v: %v", n, err)
		}
		return sn
	}
	ban(NewSanction{Kind: comment.SanctionBan, Match: comment.MatchEmail, Value: "Troll@Example.org", Reason: "abuse"})
	ban(NewSanction{Kind: comment.SanctionBan, Match: comment.MatchEmailDomain, Value: "@spam.example"})
	ban(NewSanction{Kind: comment.SanctionBan, Match: comment.MatchIP, Value: "203.0.113.0/24"})
	ban(NewSanction{Kind: comment.SanctionBan, Match: comment.MatchIP, Value: "2001:db8::/32"})
	susp := ban(NewSanction{Kind: comment.SanctionSuspend, Match: comment.MatchEmail, Value: "hothead@example.org", Until: clk.now().Add(48 * time.Hour)})

	for _, tc := range []struct {
		name, email, ip string
		until           time.Time
	}{
		{"email in another case", "TROLL@example.org", "192.0.2.1", time.Time{}},
		{"email domain", "x@eu.spam.example", "192.0.2.1", time.Time{}},
		{"IPv4 range", "a@example.org", "203.0.113.77", time.Time{}},
		{"IPv6 range", "a@example.org", "2001:db8:aa::1", time.Time{}},
		{"suspended until", "hothead@example.org", "192.0.2.1", susp.Until},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := postBy(s, "a", "X", tc.email, "Hello there", tc.ip)
			var be *comment.BannedError
			if !errors.As(err, &be) || !be.Until.Equal(tc.until) {
				t.Fatalf("post = %v, want BannedError until %v", err, tc.until)
			}
		})
	}
	if _, err := postBy(s, "a", "Ana", "ana@example.org", "Hello there", "198.51.100.1"); err != nil {
		t.Fatalf("an ordinary reader: %v", err)
	}
	// The suspension ends by itself.
	clk.add(49 * time.Hour)
	if _, err := postBy(s, "a", "H", "hothead@example.org", "I'm back, calmer", "192.0.2.1"); err != nil {
		t.Fatalf("after the suspension: %v", err)
	}
	// Bad sanctions are refused with reasons.
	for _, n := range []NewSanction{
		{Kind: "exile", Match: comment.MatchEmail, Value: "a@b.example"},
		{Kind: comment.SanctionBan, Match: comment.MatchEmail, Value: "not an email"},
		{Kind: comment.SanctionBan, Match: comment.MatchIP, Value: "203.0.113.0/33"},
		{Kind: comment.SanctionSuspend, Match: comment.MatchEmail, Value: "a@b.example"},
		{Kind: comment.SanctionBan, Match: comment.MatchEmail, Value: "a@b.example", Until: clk.now().Add(-time.Hour)},
		{Kind: comment.SanctionWarn, Match: comment.MatchEmail, Value: "a@b.example"},
		{Kind: comment.SanctionWarn, Match: comment.MatchEmail, Value: "a@b.example", Message: "m", RemoveComments: true},
		{Kind: comment.SanctionBan, Match: comment.MatchIP, Value: "198.51.100.0/24", RemoveComments: true},
	} {
		var ve *comment.ValidationError
		if _, err := s.AddSanction(ctx, mod, "news", n); !errors.As(err, &ve) {
			t.Errorf("AddSanction(%+v) = %v, want a validation error", n, err)
		}
	}
	// Another site's staff learn nothing.
	if err := s.CreateSite(ctx, OperatorActor(), &comment.Site{ID: "other", Origins: []string{"https://other.example"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddSanction(ctx, mod, "other", NewSanction{Match: comment.MatchEmail, Value: "a@b.example"}); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("a moderator of news banning on other: %v", err)
	}
	list, err := s.Sanctions(ctx, mod, "news", true)
	if err != nil || len(list) != 5 {
		t.Fatalf("Sanctions = %d, %v", len(list), err)
	}
	entries, _, _ := s.AuditLog(ctx, mod, "news", storeAudit("sanction."), "")
	if len(entries) != 5 || entries[4].Action != "sanction.ban" || !strings.Contains(entries[4].After, "troll@example.org") {
		t.Fatalf("audit: %d entries, last %+v", len(entries), entries[len(entries)-1])
	}
}

func TestSanctions_WarnPremodAndIdentity(t *testing.T) {
	s, _, mod, _ := communityService(t)
	c, err := postBy(s, "a", "Ana", "ana@example.org", "First comment", "198.51.100.1")
	if err != nil {
		t.Fatal(err)
	}
	// A warning made from the comment's card: the next post waits for it.
	if _, err := s.AddSanction(ctx, mod, "news", NewSanction{Kind: comment.SanctionWarn, FromComment: c.ID, Message: "Please keep it civil."}); err != nil {
		t.Fatal(err)
	}
	_, err = postBy(s, "a", "Ana", "ana@example.org", "Second comment", "198.51.100.1")
	var we *comment.WarnedError
	if !errors.As(err, &we) || we.Message != "Please keep it civil." {
		t.Fatalf("post after a warning = %v", err)
	}
	if c2, err := postBy(s, "a", "Ana", "ana@example.org", "Second comment", "198.51.100.1"); err != nil || c2.Status != comment.StatusApproved {
		t.Fatalf("post after reading the warning = %v, %v", c2, err)
	}
	// Always pre-moderate: held, and the card says why.
	if _, err := s.AddSanction(ctx, mod, "news", NewSanction{Kind: comment.SanctionPremod, FromComment: c.ID, Match: comment.MatchEmail}); err != nil {
		t.Fatal(err)
	}
	c3, err := postBy(s, "a", "Ana", "ana@example.org", "Third comment", "198.51.100.1")
	if err != nil || c3.Status != comment.StatusPending {
		t.Fatalf("pre-moderated post = %+v, %v", c3, err)
	}
	if stored, _ := s.store.Comment(ctx, c3.ID); stored.Verdict.Layer != "sanction" {
		t.Fatalf("verdict = %+v", stored.Verdict)
	}
	// By log-in identity: a guest with the same name is not affected.
	d := comment.Draft{SiteID: "news", Page: "https://news.example/a", Body: "logged in", Identity: "github:42", Name: "Gus"}
	if _, err := s.AddSanction(ctx, mod, "news", NewSanction{Match: comment.MatchIdentity, Value: "github:42"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Post(ctx, d, Meta{}); !errors.As(err, new(*comment.BannedError)) {
		t.Fatalf("banned log-in posted: %v", err)
	}
	if _, err := postBy(s, "a", "Gus", "gus@example.org", "guest Gus", ""); err != nil {
		t.Fatalf("a guest named like the banned log-in: %v", err)
	}
}

func TestSanctions_BanRemovesAndLiftRestores(t *testing.T) {
	s, _, mod, _ := communityService(t)
	var mine []*comment.Comment
	for i := range 3 {
		c, err := postBy(s, fmt.Sprint("p", i), "Troll", "troll@example.org", fmt.Sprint("nasty ", i), "203.0.113.5")
		if err != nil {
			t.Fatal(err)
		}
		mine = append(mine, c)
	}
	other, _ := postBy(s, "p0", "Ana", "ana@example.org", "fine", "198.51.100.1")
	th, _ := s.Thread(ctx, "news", "https://news.example/p0", comment.SortOldest)
	if th.Total != 2 {
		t.Fatalf("thread before = %d", th.Total)
	}
	sn, err := s.AddSanction(ctx, mod, "news", NewSanction{FromComment: mine[0].ID, Match: comment.MatchIPHash, RemoveComments: true, Reason: "wave"})
	if err != nil || sn.Removed != 3 || sn.Match != comment.MatchIPHash {
		t.Fatalf("ban = %+v, %v", sn, err)
	}
	if th, _ := s.Thread(ctx, "news", "https://news.example/p0", comment.SortOldest); th.Total != 1 || th.Comments[0].ID != other.ID {
		t.Fatalf("thread after the ban = %+v", th)
	}
	if _, err := postBy(s, "p0", "Troll", "new@example.org", "again", "203.0.113.5"); !errors.As(err, new(*comment.BannedError)) {
		t.Fatalf("post from the banned address: %v", err)
	}
	// Lifting with restore is the ban's undo.
	_, n, err := s.LiftSanction(ctx, mod, "news", sn.ID, true)
	if err != nil || n != 3 {
		t.Fatalf("lift = %d, %v", n, err)
	}
	if th, _ := s.Thread(ctx, "news", "https://news.example/p0", comment.SortOldest); th.Total != 2 {
		t.Fatalf("thread after lifting = %d", th.Total)
	}
	if _, err := postBy(s, "p0", "Troll", "new@example.org", "again", "203.0.113.5"); err != nil {
		t.Fatalf("post after lifting: %v", err)
	}
	if _, _, err := s.LiftSanction(ctx, mod, "news", sn.ID, true); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("lifting twice: %v", err)
	}
	// A single address typed in removes that address's comments.
	sn2, err := s.AddSanction(ctx, mod, "news", NewSanction{Match: comment.MatchIP, Value: "203.0.113.5", RemoveComments: true})
	if err != nil || sn2.Removed != 4 {
		t.Fatalf("ban of one address removed %d, %v", sn2.Removed, err)
	}
}

func TestSiteRules_WholeWords(t *testing.T) {
	s, _, mod, adm := communityService(t)
	r := comment.SiteRules{BlockedWords: []string{"press", "cheap pills"}, HoldWords: []string{"crypto*"}, BlockedDomains: []string{"spam.example"}}
	if err := s.SetSiteRules(ctx, mod, "news", r); !errors.Is(err, comment.ErrForbidden) {
		t.Fatalf("a moderator setting rules: %v", err)
	}
	if err := s.SetSiteRules(ctx, adm, "news", comment.SiteRules{BlockedIPs: []string{"not an ip"}}); err == nil || !strings.Contains(err.Error(), "not an ip") {
		t.Fatalf("bad rule: %v", err)
	}
	if err := s.SetSiteRules(ctx, adm, "news", r); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		body  string
		want  comment.Status
		layer string
	}{
		{"I built my site with WordPress.", comment.StatusApproved, ""},
		{"The press conference was short.", comment.StatusSpam, "site_rules"},
		{"Buy cheap pills", comment.StatusSpam, "site_rules"},
		{"Cryptocurrency is a fad", comment.StatusPending, "site_rules"},
		{"Read https://www.spam.example/x", comment.StatusSpam, "site_rules"},
	} {
		c, err := postBy(s, "a", "Ana", "ana@example.org", tc.body, "198.51.100.1")
		if err != nil {
			t.Fatalf("%q: %v", tc.body, err)
		}
		stored, _ := s.store.Comment(ctx, c.ID)
		if stored.Status != tc.want || stored.Verdict.Layer != tc.layer {
			t.Errorf("%q is %s by %q, want %s by %q", tc.body, stored.Status, stored.Verdict.Layer, tc.want, tc.layer)
		}
	}
	_, got, _ := s.CommunitySettings(ctx, mod, "news")
	if len(got.BlockedWords) != 2 || got.HoldWords[0] != "crypto*" {
		t.Fatalf("rules read back %+v", got)
	}
}

func TestClassify_BansAndRules(t *testing.T) {
	s, _, mod, adm := communityService(t)
	s.AddSanction(ctx, mod, "news", NewSanction{Match: comment.MatchEmail, Value: "troll@example.org"})
	s.AddSanction(ctx, mod, "news", NewSanction{Match: comment.MatchIP, Value: "203.0.113.0/24"})
	s.AddSanction(ctx, mod, "news", NewSanction{Kind: comment.SanctionWarn, Match: comment.MatchEmail, Value: "warned@example.org", Message: "Mind your manners."})
	s.SetSiteRules(ctx, adm, "news", comment.SiteRules{HoldWords: []string{"crypto"}})
	for _, tc := range []struct {
		in   spam.Input
		want spam.Action
	}{
		{spam.Input{Body: "hello", Email: "Troll@example.org"}, spam.Spam},
		{spam.Input{Body: "hello", IP: "203.0.113.9"}, spam.Spam},
		{spam.Input{Body: "crypto is here", Email: "ana@example.org"}, spam.Hold},
		{spam.Input{Body: "hello", Email: "warned@example.org"}, spam.Publish},
		{spam.Input{Body: "hello", Email: "ana@example.org", IP: "198.51.100.1"}, spam.Publish},
	} {
		v, err := s.Classify(ctx, "news", &tc.in)
		if err != nil || v.Action != tc.want {
			t.Errorf("Classify(%+v) = %v, %v; want %v", tc.in, v.Action, err, tc.want)
		}
	}
}

func TestReports_DistinctReadersHide(t *testing.T) {
	s, _, mod, adm := communityService(t)
	c, _ := postBy(s, "a", "Ana", "ana@example.org", "A heated opinion", "198.51.100.1")
	report := func(ip, identity string) (bool, error) {
		return s.Report(ctx, ReportInput{SiteID: "news", CommentID: c.ID, Reason: "abuse", Reader: s.NewReader(), IP: ip, Identity: identity})
	}
	// Many tokens from one network count once.
	for i := range 5 {
		if hid, err := report(fmt.Sprintf("192.0.2.%d", i+1), ""); err != nil || hid {
			t.Fatalf("report %d from one network = %v, %v", i, hid, err)
		}
	}
	if n, _ := s.CountReported(ctx, mod, "news"); n != 1 {
		t.Fatalf("reported comments = %d", n)
	}
	if hid, err := report("198.51.100.200", "github:1"); err != nil || hid {
		t.Fatalf("second reader = %v %v", hid, err)
	}
	// The third distinct reader hides it (the default threshold).
	if hid, err := report("192.0.2.9", "google:2"); err != nil || !hid {
		t.Fatalf("third reader = %v %v", hid, err)
	}
	if th, _ := s.Thread(ctx, "news", "https://news.example/a", comment.SortOldest); th.Total != 0 {
		t.Fatal("the hidden comment is still in the thread")
	}
	// Reporting a hidden comment is not possible any more.
	if _, err := report("10.0.0.1", ""); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("report of a hidden comment: %v", err)
	}
	page, err := s.Reported(ctx, mod, "news", "", 0)
	if err != nil || len(page.Cards) != 1 || page.Cards[0].Reports.Count != 3 || page.Cards[0].Reports.Reasons[comment.ReportAbuse] != 3 || page.Cards[0].Comment.Status != comment.StatusPending {
		t.Fatalf("Reported = %+v, %v", page, err)
	}
	// Approving it closes the reports.
	if _, err := s.Decide(ctx, mod, "news", []string{c.ID}, Approve); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountReported(ctx, mod, "news"); n != 0 {
		t.Fatalf("reported after approving = %d", n)
	}
	// Bad reports.
	for _, in := range []ReportInput{
		{SiteID: "news", CommentID: c.ID, Reason: "boring", IP: "10.1.1.1"},
		{SiteID: "news", CommentID: c.ID, Reason: "other", IP: "10.1.1.1"},
		{SiteID: "news", CommentID: c.ID, Reason: "other", Text: strings.Repeat("x", 501), IP: "10.1.1.1"},
	} {
		var ve *comment.ValidationError
		if _, err := s.Report(ctx, in); !errors.As(err, &ve) {
			t.Errorf("Report(%+v) = %v", in, err)
		}
	}
	// Rate limit per reader.
	var last error
	for i := 0; i < 20 && last == nil; i++ {
		c, _ := postBy(s, "b", "Bo", "bo@example.org", fmt.Sprint("comment ", i), "198.51.100.1")
		_, last = s.Report(ctx, ReportInput{SiteID: "news", CommentID: c.ID, Reason: "spam", IP: "10.9.9.9"})
	}
	if !errors.As(last, new(*spam.RateLimitError)) {
		t.Fatalf("20 reports a moment: %v", last)
	}
	// A site that never hides.
	cm, _, _ := s.CommunitySettings(ctx, adm, "news")
	cm.ReportHide = 0
	if err := s.SetCommunitySettings(ctx, adm, "news", *cm); err != nil {
		t.Fatal(err)
	}
	c2, _ := postBy(s, "c", "Ana", "ana@example.org", "Another", "198.51.100.1")
	for i := range 5 {
		if hid, err := s.Report(ctx, ReportInput{SiteID: "news", CommentID: c2.ID, Reason: "spam", Identity: fmt.Sprint("github:", i)}); err != nil || hid {
			t.Fatalf("report on a site that never hides: %v %v", hid, err)
		}
	}
}

func TestPages_CloseAutoClosePremodMessagePin(t *testing.T) {
	s, clk, mod, adm := communityService(t)
	first, _ := postBy(s, "story", "Ana", "ana@example.org", "First", "198.51.100.1")
	second, _ := postBy(s, "story", "Bo", "bo@example.org", "Second", "198.51.100.2")
	reply := comment.Draft{SiteID: "news", Page: "https://news.example/story", Name: "Cy", Email: "cy@example.org", Body: "reply", ParentID: first.ID}
	r, err := s.Post(ctx, reply, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	closed := true
	if _, err := s.SetPage(ctx, mod, "news", "https://news.example/story", PageChange{Closed: &closed}); err != nil {
		t.Fatal(err)
	}
	if _, err := postBy(s, "story", "Ana", "ana@example.org", "Can I?", ""); !errors.Is(err, comment.ErrClosed) {
		t.Fatalf("post to a closed article: %v", err)
	}
	if th, _ := s.Thread(ctx, "news", "https://news.example/story", comment.SortOldest); !th.Closed || th.Total != 3 {
		t.Fatalf("closed thread = %+v", th)
	}
	open := false
	if _, err := s.SetPage(ctx, mod, "news", "https://news.example/story", PageChange{Closed: &open}); err != nil {
		t.Fatal(err)
	}
	if _, err := postBy(s, "story", "Ana", "ana@example.org", "Now I can", ""); err != nil {
		t.Fatalf("post after reopening: %v", err)
	}
	// The site closes articles 7 days after their first comment.
	cm, _, _ := s.CommunitySettings(ctx, adm, "news")
	cm.CloseAfter, cm.Message = 7*24*time.Hour, "Please read our **guidelines**."
	if err := s.SetCommunitySettings(ctx, adm, "news", *cm); err != nil {
		t.Fatal(err)
	}
	th, _ := s.Thread(ctx, "news", "https://news.example/story", comment.SortOldest)
	if th.Closed || !strings.Contains(th.Message, "<strong>guidelines</strong>") {
		t.Fatalf("thread under the new settings = %+v", th)
	}
	clk.add(8 * 24 * time.Hour)
	if th, _ := s.Thread(ctx, "news", "https://news.example/story", comment.SortOldest); !th.Closed {
		t.Fatal("the article did not close after 7 days")
	}
	clk.add(PageStateTTL) // the article's state in memory is read again
	if _, err := postBy(s, "story", "Ana", "ana@example.org", "too late", ""); !errors.Is(err, comment.ErrClosed) {
		t.Fatalf("post to an auto-closed article: %v", err)
	}
	art, err := s.Article(ctx, mod, "news", "https://news.example/story")
	if err != nil || !art.Closed || !art.AutoClosed {
		t.Fatalf("article = %+v, %v", art, err)
	}
	// Reopening an auto-closed article keeps it open.
	art, err = s.SetPage(ctx, mod, "news", "https://news.example/story", PageChange{Closed: &open})
	if err != nil || art.Closed || art.CloseAfter != 0 {
		t.Fatalf("reopened = %+v, %v", art, err)
	}
	// Pre-moderate this article only; a message of its own; pin Bo.
	premod, msg := true, "Comments on this story are moderated."
	if _, err := s.SetPage(ctx, mod, "news", art.Thread.ID, PageChange{Premod: &premod, Message: &msg}); err != nil {
		t.Fatal(err)
	}
	if c, _ := postBy(s, "story", "Ana", "ana@example.org", "held?", ""); c.Status != comment.StatusPending {
		t.Fatalf("post on a pre-moderated article: %s", c.Status)
	}
	if c, _ := postBy(s, "elsewhere", "Ana", "ana@example.org", "not held", ""); c.Status != comment.StatusApproved {
		t.Fatalf("post on another article: %s", c.Status)
	}
	if _, err := s.Pin(ctx, mod, "news", r.ID, true); err == nil {
		t.Fatal("a reply was pinned")
	}
	if _, err := s.Pin(ctx, mod, "news", second.ID, true); err != nil {
		t.Fatal(err)
	}
	th, _ = s.Thread(ctx, "news", "https://news.example/story", comment.SortNewest)
	if th.Pinned != second.ID || th.Comments[0].ID != second.ID || th.Message != "<p>Comments on this story are moderated.</p>\n" {
		t.Fatalf("thread = pinned %q, first %s, message %q", th.Pinned, th.Comments[0].ID, th.Message)
	}
	// Featured: a badge, and the tab of picks alone.
	if _, err := s.Feature(ctx, mod, "news", r.ID, true); err != nil {
		t.Fatal(err)
	}
	th, _ = s.Thread(ctx, "news", "https://news.example/story", comment.SortOldest)
	if th.Featured != 1 || len(th.Comments) < 2 || len(th.Comments[1].Replies) == 0 || !th.Comments[1].Replies[0].Featured {
		for _, n := range th.Comments {
			t.Logf("%s %s %d", n.ID, n.Markdown, len(n.Replies))
		}
		t.Fatalf("featured in the thread: %d", th.Featured)
	}
	th, _ = s.Thread(ctx, "news", "https://news.example/story", comment.SortFeatured)
	if len(th.Comments) != 1 || th.Comments[0].ID != r.ID || len(th.Comments[0].Replies) != 0 {
		t.Fatalf("featured tab = %+v", th.Comments)
	}
	// Everything is in the audit log.
	entries, _, _ := s.AuditLog(ctx, mod, "news", storeAudit(""), "")
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"page.close", "page.open", "site.community", "page.update", "comment.pin", "comment.feature"} {
		if !strings.Contains(strings.Join(actions, " "), want) {
			t.Errorf("audit log lacks %s: %v", want, actions)
		}
	}
}

func TestSurge_HoldsAndAlerts(t *testing.T) {
	s, clk, mod, adm := communityService(t)
	cm, _, _ := s.CommunitySettings(ctx, adm, "news")
	cm.SurgeRate, cm.SurgeFor = 10, 20*time.Minute
	if err := s.SetCommunitySettings(ctx, adm, "news", *cm); err != nil {
		t.Fatal(err)
	}
	published, held := 0, 0
	for i := range 100 {
		clk.add(500 * time.Millisecond) // 100 comments in 50 seconds
		c, err := postBy(s, "hot", fmt.Sprint("Reader ", i), fmt.Sprintf("r%d@example.org", i), fmt.Sprint("Take ", i), fmt.Sprintf("192.0.2.%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == comment.StatusApproved {
			published++
		} else {
			held++
		}
	}
	// The bucket holds 10 and refills 10 a minute: about 18 in 50 s.
	if published < 10 || published > 20 || held != 100-published {
		t.Fatalf("published %d, held %d", published, held)
	}
	alerts, err := s.Alerts(ctx, mod, "news", false)
	if err != nil || len(alerts) != 1 || alerts[0].Threshold != 10 || alerts[0].Action != comment.SurgeHold || alerts[0].Rate < 10 {
		t.Fatalf("alerts = %+v, %v", alerts, err)
	}
	entries, _, _ := s.AuditLog(ctx, mod, "news", storeAudit("page.surge"), "")
	if len(entries) != 1 || entries[0].ActorKind != staff.ActorSystem {
		t.Fatalf("audit = %+v", entries)
	}
	// Other articles are not affected, and the guard ends by itself.
	if c, _ := postBy(s, "calm", "Ana", "ana@example.org", "elsewhere", ""); c.Status != comment.StatusApproved {
		t.Fatal("the surge held another article's comment")
	}
	clk.add(21 * time.Minute)
	if c, _ := postBy(s, "hot", "Ana", "ana@example.org", "later", ""); c.Status != comment.StatusApproved {
		t.Fatal("the surge guard did not end")
	}
	if err := s.DismissAlert(ctx, mod, "news", alerts[0].ID); err != nil {
		t.Fatal(err)
	}
	if open, _ := s.Alerts(ctx, mod, "news", false); len(open) != 0 {
		t.Fatal("dismissed alert still open")
	}
	// A guard that closes.
	cm.SurgeAction = comment.SurgeClose
	s.SetCommunitySettings(ctx, adm, "news", *cm)
	var closedErr error
	for i := 0; i < 30 && closedErr == nil; i++ {
		_, closedErr = postBy(s, "hotter", "R", fmt.Sprintf("q%d@example.org", i), fmt.Sprint("x", i), "")
	}
	if !errors.Is(closedErr, comment.ErrClosed) {
		t.Fatalf("closing surge: %v", closedErr)
	}
	if th, _ := s.Thread(ctx, "news", "https://news.example/hotter", comment.SortOldest); !th.Closed || th.Until.IsZero() {
		t.Fatalf("thread during a closing surge = closed %v until %v", th.Closed, th.Until)
	}
}

func TestNotices_ApprovedAndRejected(t *testing.T) {
	s, _, mod, adm := communityService(t)
	cm, _, _ := s.CommunitySettings(ctx, adm, "news")
	cm.Reasons = []string{"Off topic", "Personal attack"}
	s.SetCommunitySettings(ctx, adm, "news", *cm)
	premod := true
	postBy(s, "held", "Ana", "ana@example.org", "first", "")
	s.SetPage(ctx, mod, "news", "https://news.example/held", PageChange{Premod: &premod})
	reader := s.NewReader()
	post := func(body string) *comment.Comment {
		c, err := s.Post(ctx, comment.Draft{SiteID: "news", Page: "https://news.example/held", Name: "Ana", Email: "ana@example.org", Body: body}, Meta{Reader: reader})
		if err != nil || c.Status != comment.StatusPending {
			t.Fatalf("post = %+v, %v", c, err)
		}
		return c
	}
	ok, bad := post("a fine point"), post("an insult")
	if _, err := s.DecideWithReason(ctx, mod, "news", []string{bad.ID}, Delete, "Not a reason"); err == nil {
		t.Fatal("a reason not on the site's list was taken")
	}
	if _, err := s.DecideWithReason(ctx, mod, "news", []string{bad.ID}, Delete, "Personal attack"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decide(ctx, mod, "news", []string{ok.ID}, Approve); err != nil {
		t.Fatal(err)
	}
	got, err := s.Notices(ctx, "news", reader)
	if err != nil || len(got) != 2 || got[0].CommentID != bad.ID || got[0].Approved || got[0].Reason != "Personal attack" || !got[1].Approved || got[1].PageURL != "https://news.example/held" {
		t.Fatalf("Notices = %+v, %v", got, err)
	}
	if again, _ := s.Notices(ctx, "news", reader); len(again) != 0 {
		t.Fatalf("told twice: %+v", again)
	}
	if others, _ := s.Notices(ctx, "news", s.NewReader()); len(others) != 0 {
		t.Fatalf("another reader was told: %+v", others)
	}
	if _, err := s.Notices(ctx, "news", "forged"); err == nil {
		t.Fatal("a forged reader token was answered")
	}
}

func TestAuthor_HistoryNotesSanctions(t *testing.T) {
	s, _, mod, _ := communityService(t)
	c, _ := postBy(s, "a", "Troll", "troll@example.org", "one", "203.0.113.5")
	postBy(s, "b", "Troll", "troll@example.org", "two", "203.0.113.5")
	s.Decide(ctx, mod, "news", []string{c.ID}, Spam)
	s.AddSanction(ctx, mod, "news", NewSanction{Kind: comment.SanctionSuspend, FromComment: c.ID, Until: s.now().Add(time.Hour), Reason: "cool off"})
	n, err := s.AddNote(ctx, mod, "news", c.ID, "", "Called them; they apologised.")
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Author(ctx, mod, "news", c.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if v.Key != "email:troll@example.org" || len(v.Recent) != 2 || v.History.Counts[comment.StatusSpam] != 1 {
		t.Fatalf("author = %+v", v)
	}
	if len(v.Decisions) != 1 || v.Decisions[0].Action != "comment.spam" || v.Decisions[0].ActorName != "mod@example.org" {
		t.Fatalf("decisions = %+v", v.Decisions)
	}
	if len(v.Sanctions) != 1 || v.Sanctions[0].Reason != "cool off" || v.Sanctions[0].Actor != "mod@example.org" {
		t.Fatalf("sanctions = %+v", v.Sanctions)
	}
	if len(v.Notes) != 1 || v.Notes[0].ID != n.ID {
		t.Fatalf("notes = %+v", v.Notes)
	}
	if err := s.DeleteNote(ctx, mod, "news", n.ID); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Author(ctx, mod, "news", "", "email:troll@example.org"); len(v.Notes) != 0 || len(v.Recent) != 2 {
		t.Fatalf("by key after deleting the note = %+v", v)
	}
}

func TestImport_BansExempt(t *testing.T) {
	s, _, mod, _ := communityService(t)
	s.AddSanction(ctx, mod, "news", NewSanction{Match: comment.MatchEmail, Value: "r1@example.org"})
	file := wxrHead + wxrItem(1, wxrComment(1, 0, "1", "", "From the old blog")) + "</channel></rss>"
	sum, err := s.Import(ctx, "news", "wxr", strings.NewReader(file), ImportOptions{})
	if err != nil || sum.Comments != 1 {
		t.Fatalf("import of a banned author's old comment = %+v, %v", sum, err)
	}
}

// BenchmarkGuard is what a new comment pays for the community controls on
// a site with 10,000 sanctions and rules, with the site's book and the
// article's state in memory: the sanctions and the rules. (The surge
// guard, when on, adds one token bucket: a map in memory, a row in
// PostgreSQL.)
func BenchmarkGuard(b *testing.B) {
	s, _, _, adm := communityService(b)
	var r comment.SiteRules
	for i := range 2500 {
		r.BlockedWords = append(r.BlockedWords, fmt.Sprintf("spamword%d", i))
		r.HoldWords = append(r.HoldWords, fmt.Sprintf("cheap thing%d", i))
	}
	if err := s.SetSiteRules(ctx, adm, "news", r); err != nil {
		b.Fatal(err)
	}
	for i := range 5000 {
		m, v := comment.MatchEmail, fmt.Sprintf("troll%d@example.org", i)
		switch i % 4 {
		case 1:
			m, v = comment.MatchIP, fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)
		case 2:
			m, v = comment.MatchIdentity, fmt.Sprintf("github:%d", i)
		case 3:
			m, v = comment.MatchEmailDomain, fmt.Sprintf("spam%d.example", i)
		}
		if _, err := s.AddSanction(ctx, OperatorActor(), "news", NewSanction{Match: m, Value: v}); err != nil {
			b.Fatal(err)
		}
	}
	site, _ := s.Site(ctx, "news")
	body := strings.Repeat("The council voted on the new bus line without asking the people who ride it every day. ", 6)
	c := &comment.Comment{SiteID: "news", Author: comment.Author{Name: "Ana", Email: "ana@example.org", Identity: "google:1"}, Markdown: body, IPHash: "0123456789ab"}
	c.HTML = "<p>" + body + "</p>"
	if _, err := s.guardPost(ctx, site, c, "https://news.example/a", Meta{IP: "192.0.2.1"}); err != nil {
		b.Fatal(err)
	}
	snap, _ := s.book(ctx, "news")
	if snap.book.Size() != 10_000 {
		b.Fatalf("book of %d", snap.book.Size())
	}
	b.ReportAllocs()
	for b.Loop() {
		g, err := s.guardPost(ctx, site, c, "https://news.example/a", Meta{IP: "192.0.2.1"})
		if err != nil || g.hold != nil || g.spam != nil {
			b.Fatalf("guard = %+v, %v", g, err)
		}
	}
}

// TestEdit_MeetsSanctionsAndRules: an author's edit meets the site's
// rules (a blocked word makes it spam, out of the thread) and their
// sanctions (a banned author cannot edit).
func TestEdit_MeetsSanctionsAndRules(t *testing.T) {
	s, _, mod, adm := communityService(t)
	reader := s.NewReader()
	post := func(email, body string) *comment.Comment {
		c, err := s.Post(ctx, comment.Draft{SiteID: "news", Page: "https://news.example/a", Name: "Ana", Email: email, Body: body}, Meta{Reader: reader})
		if err != nil || c.Status != comment.StatusApproved {
			t.Fatalf("post = %+v, %v", c, err)
		}
		return c
	}
	if err := s.SetSiteRules(ctx, adm, "news", comment.SiteRules{BlockedWords: []string{"casino"}}); err != nil {
		t.Fatal(err)
	}
	site, _ := s.Site(ctx, "news")
	editable := *site
	editable.EditWindow = time.Hour
	if err := s.UpdateSite(ctx, adm, &editable); err != nil {
		t.Fatal(err)
	}
	c := post("ana@example.org", "A fine first version.")
	if e, err := s.Edit(ctx, "news", c.ID, "Now with a casino link.", Meta{Reader: reader}); err != nil || e.Status != comment.StatusPending {
		t.Fatalf("edit with a blocked word = %+v, %v", e, err)
	}
	if stored, _ := s.store.Comment(ctx, c.ID); stored.Status != comment.StatusSpam || stored.Verdict.Layer != "site_rules" {
		t.Fatalf("stored after the edit: %s %+v", stored.Status, stored.Verdict)
	}
	d := post("bo@example.org", "Another fine comment.")
	if _, err := s.AddSanction(ctx, mod, "news", NewSanction{Match: comment.MatchEmail, Value: "bo@example.org"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Edit(ctx, "news", d.ID, "Changed after the ban.", Meta{Reader: reader}); !errors.As(err, new(*comment.BannedError)) {
		t.Fatalf("a banned author's edit = %v", err)
	}
}
