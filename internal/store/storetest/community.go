package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
	"parley/internal/store"
)

// communityTests cover the community controls: sanctions (and the
// comments a ban removes), community settings and rules, reports and
// auto-hiding, article controls and the article list, surges and alerts,
// featured comments, readers' notices, notes and an author's history.
var communityTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"sanctions", testSanctions},
	{"ban removes comments and lift restores them", testBanRemoves},
	{"community settings and rules", testCommunitySettings},
	{"reports", testReports},
	{"page controls and articles", testPageControls},
	{"surge", testSurge},
	{"featured", testFeatured},
	{"notices", testNotices},
	{"notes and author history", testNotesHistory},
}

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func testSanctions(t *testing.T, s store.Store) {
	mustSite(t, s, "a")
	mustSite(t, s, "b")
	v0, err := s.SanctionsVersion(ctx, "a")
	if err != nil || v0 != 0 {
		t.Fatalf("version of a site with none = %d, %v", v0, err)
	}
	add := func(id, site string, kind comment.SanctionKind, match comment.MatchKind, value string, until time.Time) *comment.Sanction {
		t.Helper()
		sn := &comment.Sanction{ID: id, SiteID: site, Kind: kind, Match: match, Value: value, Reason: "r " + id, Created: t0, Until: until, Actor: "mod@example.org"}
		if err := s.AddSanction(ctx, sn, nil, entry(site, "sanction.add")); err != nil {
			t.Fatalf("AddSanction %s: %v", id, err)
		}
		if sn.AuditID == 0 {
			t.Fatalf("AddSanction %s: no audit entry recorded", id)
		}
		return sn
	}
	add("s1", "a", comment.SanctionBan, comment.MatchEmail, "x@spam.example", time.Time{})
	add("s2", "a", comment.SanctionSuspend, comment.MatchIP, "203.0.113.0/24", t0.Add(24*time.Hour))
	warn := add("s3", "a", comment.SanctionWarn, comment.MatchIdentity, "github:7", time.Time{})
	add("s4", "b", comment.SanctionBan, comment.MatchEmailDomain, "spam.example", time.Time{})
	if err := s.AddSanction(ctx, &comment.Sanction{ID: "s5", SiteID: "nope", Kind: comment.SanctionBan, Match: comment.MatchEmail, Value: "q@q.q"}, nil, nil); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("sanction on a missing site: %v", err)
	}
	if err := s.AddSanction(ctx, &comment.Sanction{ID: "s1", SiteID: "a", Kind: comment.SanctionBan, Match: comment.MatchEmail, Value: "q@q.q"}, nil, nil); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("a second sanction with the same id: %v", err)
	}
	v1, _ := s.SanctionsVersion(ctx, "a")
	if v1 <= v0 {
		t.Fatalf("version did not change: %d", v1)
	}
	active, err := s.Sanctions(ctx, "a", true, t0.Add(time.Hour))
	if err != nil || len(active) != 3 {
		t.Fatalf("active sanctions = %d, %v", len(active), err)
	}
	// The suspension has ended a day later.
	active, _ = s.Sanctions(ctx, "a", true, t0.Add(25*time.Hour))
	if len(active) != 2 {
		t.Fatalf("active after the suspension ended = %d", len(active))
	}
	// A warning applies once: seen, it is no longer active.
	if err := s.SeeWarning(ctx, "a", warn.ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	active, _ = s.Sanctions(ctx, "a", true, t0.Add(time.Hour))
	if len(active) != 2 {
		t.Fatalf("active after the warning was seen = %d", len(active))
	}
	got, err := s.Sanction(ctx, "a", "s3")
	if err != nil || !got.Seen.Equal(t0.Add(time.Minute)) || got.Actor != "mod@example.org" || got.Reason != "r s3" {
		t.Fatalf("Sanction = %+v, %v", got, err)
	}
	if _, err := s.Sanction(ctx, "b", "s3"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("another site's sanction: %v", err)
	}
	all, _ := s.Sanctions(ctx, "a", false, t0)
	if len(all) != 3 {
		t.Fatalf("all sanctions of a = %d", len(all))
	}
	// Lifting: once.
	sn := &comment.Sanction{ID: "s1", SiteID: "a", Lifted: t0.Add(2 * time.Hour), LiftedBy: "admin@example.org"}
	if _, err := s.LiftSanction(ctx, sn, true, entry("a", "sanction.lift")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LiftSanction(ctx, sn, true, entry("a", "sanction.lift")); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("lifting twice: %v", err)
	}
	if _, err := s.LiftSanction(ctx, &comment.Sanction{ID: "s4", SiteID: "a", Lifted: t0}, false, nil); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("lifting another site's sanction: %v", err)
	}
	got, _ = s.Sanction(ctx, "a", "s1")
	if !got.Lifted.Equal(t0.Add(2*time.Hour)) || got.LiftedBy != "admin@example.org" || got.Active(t0.Add(3*time.Hour)) {
		t.Fatalf("lifted sanction = %+v", got)
	}
	list, err := s.AuthorSanctions(ctx, "a", []store.SanctionTarget{{Email: "x@spam.example"}, {Identity: "github:7"}})
	if err != nil || len(list) != 2 {
		t.Fatalf("AuthorSanctions = %d, %v", len(list), err)
	}
}

// communityComments posts comments by three authors on site "a".
func communityComments(t *testing.T, s store.Store) map[string]*comment.Comment {
	t.Helper()
	mustSite(t, s, "a")
	out := map[string]*comment.Comment{}
	post := func(id, key, name, email, identity, ip string, st comment.Status) {
		c := newComment("text of " + id)
		c.ID, c.Author.Name, c.Author.Email, c.Author.Identity, c.IPHash, c.Status = id, name, email, identity, ip, st
		c.Created = t0.Add(time.Duration(len(out)) * time.Minute)
		out[id] = mustPost(t, s, page("a", key), c)
	}
	post("c1", "https://a.example/1", "Troll", "troll@spam.example", "", "ipt", comment.StatusApproved)
	post("c2", "https://a.example/1", "Troll", "troll@spam.example", "", "ipt", comment.StatusPending)
	post("c3", "https://a.example/2", "Troll", "troll@mail.spam.example", "", "ipt", comment.StatusSpam)
	post("c4", "https://a.example/2", "Ana", "ana@example.org", "github:1", "ipa", comment.StatusApproved)
	post("c5", "https://a.example/2", "Ana", "ana@example.org", "github:1", "ipa", comment.StatusApproved)
	return out
}

func testBanRemoves(t *testing.T, s store.Store) {
	cs := communityComments(t, s)
	e := entry("a", "sanction.add")
	sn := &comment.Sanction{ID: "b1", SiteID: "a", Kind: comment.SanctionBan, Match: comment.MatchEmailDomain, Value: "spam.example", Created: t0}
	if err := s.AddSanction(ctx, sn, &store.SanctionTarget{EmailDomain: "spam.example"}, e); err != nil {
		t.Fatal(err)
	}
	// c1 and c2 (published and held) go; c3 was spam already and stays.
	if sn.Removed != 2 || e.Count != 2 || e.Comments["c1"] != "approved" || e.Comments["c2"] != "pending" {
		t.Fatalf("removed %d, audit %+v", sn.Removed, e)
	}
	for id, want := range map[string]comment.Status{"c1": comment.StatusDeleted, "c2": comment.StatusDeleted, "c3": comment.StatusSpam, "c4": comment.StatusApproved} {
		if c, _ := s.Comment(ctx, id); c.Status != want {
			t.Fatalf("%s is %s, want %s", id, c.Status, want)
		}
	}
	// Readers' pages heard c1 go.
	evs, _ := s.Events(ctx, cs["c1"].ThreadID, 0, 100)
	if len(evs) == 0 || evs[len(evs)-1].Kind != comment.EventRemove || evs[len(evs)-1].CommentID != "c1" {
		t.Fatalf("events after the ban: %+v", evs)
	}
	// The author's history shows the ban's removal.
	hist, err := s.AuthorAudit(ctx, "a", store.SanctionTarget{Email: "troll@spam.example"}, 10)
	if err != nil || len(hist) != 1 || hist[0].ID != e.ID {
		t.Fatalf("AuthorAudit = %+v, %v", hist, err)
	}
	// A moderator approves c2 meanwhile: lifting the ban with restore
	// puts back only c1; the later decision stands.
	s.Moderate(ctx, "a", []string{"c2"}, comment.StatusApproved, entry("a", "comment.approve"))
	lift := entry("a", "sanction.lift")
	restored, err := s.LiftSanction(ctx, &comment.Sanction{ID: "b1", SiteID: "a", Lifted: t0.Add(time.Hour)}, true, lift)
	if err != nil || len(restored) != 1 || restored[0].ID != "c1" {
		t.Fatalf("LiftSanction restored %+v, %v", restored, err)
	}
	if c, _ := s.Comment(ctx, "c1"); c.Status != comment.StatusApproved {
		t.Fatalf("c1 after lift: %s", c.Status)
	}
	if orig, _ := s.AuditEntry(ctx, e.ID); orig.UndoneBy != lift.ID {
		t.Fatalf("the ban's entry is not marked undone by the lift: %+v", orig)
	}
	// Nothing to match is an error, not a ban of everyone.
	if err := s.AddSanction(ctx, &comment.Sanction{ID: "b2", SiteID: "a", Kind: comment.SanctionBan, Match: comment.MatchEmail, Value: "q@q.q"}, &store.SanctionTarget{}, nil); err == nil {
		t.Fatal("a removal with an empty target succeeded")
	}
	// By address hash, and by log-in.
	sn2 := &comment.Sanction{ID: "b3", SiteID: "a", Kind: comment.SanctionBan, Match: comment.MatchIdentity, Value: "github:1"}
	if err := s.AddSanction(ctx, sn2, &store.SanctionTarget{Identity: "github:1"}, entry("a", "sanction.add")); err != nil || sn2.Removed != 2 {
		t.Fatalf("ban by identity removed %d, %v", sn2.Removed, err)
	}
}

func testCommunitySettings(t *testing.T, s store.Store) {
	mustSite(t, s, "a")
	c, r, err := s.Community(ctx, "a")
	if err != nil || c.ReportHide != 3 || c.SurgeAction != comment.SurgeHold || c.SurgeFor != comment.DefaultSurgeFor || len(r.BlockedWords) != 0 {
		t.Fatalf("defaults = %+v %+v %v", c, r, err)
	}
	v0, _ := s.SanctionsVersion(ctx, "a")
	want := &comment.Community{ReportHide: 5, CloseAfter: 14 * 24 * time.Hour, Message: "Be **kind**.", SurgeRate: 60, SurgeAction: comment.SurgeClose,
		SurgeFor: time.Hour, Reasons: []string{"Off topic", "Personal attack"}}
	if err := s.SetCommunity(ctx, "a", want, entry("a", "site.community")); err != nil {
		t.Fatal(err)
	}
	rules := &comment.SiteRules{BlockedWords: []string{"cheap pills"}, HoldWords: []string{"crypto*"}, BlockedDomains: []string{"spam.example"},
		BlockedEmails: []string{"@spam.example"}, BlockedIPs: []string{"203.0.113.0/24"}, HoldLinks: 1, SpamLinks: 3}
	if err := s.SetSiteRules(ctx, "a", rules, entry("a", "site.rules")); err != nil {
		t.Fatal(err)
	}
	c, r, err = s.Community(ctx, "a")
	if err != nil || fmt.Sprint(*c) != fmt.Sprint(*want) || fmt.Sprint(*r) != fmt.Sprint(*rules) {
		t.Fatalf("read back %+v %+v %v", c, r, err)
	}
	if v, _ := s.SanctionsVersion(ctx, "a"); v < v0+2 {
		t.Fatalf("version %d after two changes from %d", v, v0)
	}
	if err := s.SetSiteRules(ctx, "nope", rules, nil); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("rules of a missing site: %v", err)
	}
}

func testReports(t *testing.T, s store.Store) {
	cs := communityComments(t, s)
	hidden := comment.Verdict{Layer: "reports", Reason: "reported by 2 readers"}
	report := func(id, reporter, reader string, reason comment.ReportReason) (int, bool, error) {
		return s.AddReport(ctx, &comment.Report{SiteID: "a", CommentID: id, Reporter: reporter, Reader: reader, Reason: reason, Text: "from " + reporter, Created: t0},
			2, hidden, &staff.AuditEntry{SiteID: "a", ActorKind: staff.ActorSystem, ActorName: "reports", Action: "comment.pending", Target: "comment:" + id})
	}
	if n, hid, err := report("c4", "id:a", "r1", comment.ReportAbuse); err != nil || n != 1 || hid {
		t.Fatalf("first report = %d %v %v", n, hid, err)
	}
	// The same reporter again, or the same browser under another
	// network: one report each.
	if _, _, err := report("c4", "id:a", "r9", comment.ReportSpam); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("same reporter again: %v", err)
	}
	if _, _, err := report("c4", "net:x", "r1", comment.ReportSpam); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("same reader token again: %v", err)
	}
	if _, _, err := report("nope", "id:a", "", comment.ReportSpam); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("report of a missing comment: %v", err)
	}
	// The second distinct reader reaches the threshold: hidden pending review.
	n, hid, err := report("c4", "net:y", "", comment.ReportOffTopic)
	if err != nil || n != 2 || !hid {
		t.Fatalf("second report = %d %v %v", n, hid, err)
	}
	c, _ := s.Comment(ctx, "c4")
	if c.Status != comment.StatusPending || c.Verdict.Layer != "reports" {
		t.Fatalf("reported comment = %s %+v", c.Status, c.Verdict)
	}
	evs, _ := s.Events(ctx, c.ThreadID, 0, 100)
	if evs[len(evs)-1].Kind != comment.EventRemove {
		t.Fatalf("no remove event for the hidden comment: %+v", evs)
	}
	// A third report does not hide it again.
	if _, hid, err := report("c4", "net:z", "", comment.ReportOther); err != nil || hid {
		t.Fatalf("third report: %v %v", hid, err)
	}
	report("c5", "id:a", "r1", comment.ReportSpam)
	if n, err := s.CountReported(ctx, "a", 100); err != nil || n != 2 {
		t.Fatalf("CountReported = %d, %v", n, err)
	}
	page1, next, err := s.ReportedComments(ctx, "a", nil, 1)
	if err != nil || len(page1) != 1 || next == nil {
		t.Fatalf("first page = %+v %v %v", page1, next, err)
	}
	page2, next2, err := s.ReportedComments(ctx, "a", next, 1)
	if err != nil || len(page2) != 1 || next2 != nil || page2[0].CommentID == page1[0].CommentID {
		t.Fatalf("second page = %+v %v %v", page2, next2, err)
	}
	var r4 *comment.Reported
	for _, r := range append(page1, page2...) {
		if r.CommentID == "c4" {
			r4 = r
		}
	}
	if r4 == nil || r4.Count != 3 || r4.Reasons[comment.ReportAbuse] != 1 || r4.Reasons[comment.ReportOffTopic] != 1 || len(r4.Texts) != 3 {
		t.Fatalf("c4 summary = %+v", r4)
	}
	// The article list counts reported comments.
	arts, _, _ := s.Articles(ctx, store.ArticleFilter{SiteID: "a", ThreadID: cs["c4"].ThreadID})
	if len(arts) != 1 || arts[0].Reported != 2 {
		t.Fatalf("article's reported count = %+v", arts)
	}
	e := entry("a", "report.dismiss")
	if n, err := s.ResolveReports(ctx, "a", []string{"c4", "c5", "c1"}, t0.Add(time.Hour), "mod@example.org", e); err != nil || n != 4 || e.Count != 4 {
		t.Fatalf("ResolveReports = %d, %v", n, err)
	}
	if n, _ := s.CountReported(ctx, "a", 100); n != 0 {
		t.Fatalf("reported after resolving: %d", n)
	}
}

func testPageControls(t *testing.T, s store.Store) {
	cs := communityComments(t, s)
	th := cs["c1"].ThreadID
	pc, err := s.PageControls(ctx, th)
	if err != nil || pc.ThreadID != th || pc.CloseAfter != nil || pc.Premod || pc.Message != "" {
		t.Fatalf("controls of a plain article = %+v, %v", pc, err)
	}
	week := 7 * 24 * time.Hour
	pc = &comment.PageControls{ThreadID: th, CloseAfter: &week, Premod: true, Message: "Moderated.", Pinned: "c1"}
	if err := s.SetPageControls(ctx, pc, true, entry("a", "page.update")); err != nil {
		t.Fatal(err)
	}
	got, _ := s.PageControls(ctx, th)
	if got.CloseAfter == nil || *got.CloseAfter != week || !got.Premod || got.Message != "Moderated." || got.Pinned != "c1" {
		t.Fatalf("read back %+v", got)
	}
	if tt, _ := s.Thread(ctx, "a", "https://a.example/1"); !tt.Closed {
		t.Fatal("SetPageControls did not close the thread")
	}
	evs, _ := s.Events(ctx, th, 0, 100)
	if evs[len(evs)-1].Kind != comment.EventPage {
		t.Fatalf("no page event: %+v", evs)
	}
	never := time.Duration(0)
	pc.CloseAfter, pc.Premod = &never, false
	if err := s.SetPageControls(ctx, pc, false, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PageControls(ctx, th); got.CloseAfter == nil || *got.CloseAfter != 0 || got.Premod {
		t.Fatalf("after reopening %+v", got)
	}
	if err := s.SetPageControls(ctx, &comment.PageControls{ThreadID: "nope"}, false, nil); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("controls of a missing thread: %v", err)
	}
	// The list: latest comment first, with counts.
	arts, next, err := s.Articles(ctx, store.ArticleFilter{SiteID: "a"})
	if err != nil || len(arts) != 2 || next != nil {
		t.Fatalf("Articles = %d %v %v", len(arts), next, err)
	}
	a2, a1 := arts[0], arts[1]
	if a2.Thread.Key != "https://a.example/2" || a2.Comments != 2 || a2.Held != 0 || !a2.LastComment.Equal(cs["c5"].Created) {
		t.Fatalf("first article %+v (thread %+v)", a2, a2.Thread)
	}
	if a1.Comments != 1 || a1.Held != 1 || a1.Controls.Message != "Moderated." || a1.Thread.Title != "Title of https://a.example/1" {
		t.Fatalf("second article %+v", a1)
	}
	// Keyset pages, both orders, and a search.
	for _, order := range []string{"activity", "new"} {
		p1, next, err := s.Articles(ctx, store.ArticleFilter{SiteID: "a", Order: order, Limit: 1})
		if err != nil || len(p1) != 1 || next == nil {
			t.Fatalf("%s page 1: %v %v", order, next, err)
		}
		p2, next2, err := s.Articles(ctx, store.ArticleFilter{SiteID: "a", Order: order, Limit: 1, Cursor: next})
		if err != nil || len(p2) != 1 || next2 != nil || p2[0].Thread.ID == p1[0].Thread.ID {
			t.Fatalf("%s page 2: %+v %v %v", order, p2, next2, err)
		}
	}
	if found, _, _ := s.Articles(ctx, store.ArticleFilter{SiteID: "a", Text: "A.EXAMPLE/2"}); len(found) != 1 || found[0].Thread.Key != "https://a.example/2" {
		t.Fatalf("search found %+v", found)
	}
	if found, _, _ := s.Articles(ctx, store.ArticleFilter{SiteID: "a", Text: "100%_"}); len(found) != 0 {
		t.Fatalf("LIKE wildcards matched: %+v", found)
	}
}

func testSurge(t *testing.T, s store.Store) {
	cs := communityComments(t, s)
	th := cs["c1"].ThreadID
	if n, err := s.RecentComments(ctx, th, t0); err != nil || n != 2 {
		t.Fatalf("RecentComments = %d, %v", n, err)
	}
	alert := func() *comment.Alert {
		return &comment.Alert{SiteID: "a", Kind: "surge", ThreadID: th, Rate: 70, Threshold: 60, Action: comment.SurgeHold, Until: t0.Add(30 * time.Minute)}
	}
	a1 := alert()
	ok, err := s.StartSurge(ctx, a1, t0, &staff.AuditEntry{SiteID: "a", ActorKind: staff.ActorSystem, ActorName: "surge guard", Action: "page.surge", Target: "thread:" + th})
	if err != nil || !ok || a1.ID == 0 {
		t.Fatalf("StartSurge = %v %v %+v", ok, err, a1)
	}
	// Started already: a second instance's try does nothing.
	if ok, err := s.StartSurge(ctx, alert(), t0.Add(time.Minute), nil); err != nil || ok {
		t.Fatalf("second StartSurge = %v %v", ok, err)
	}
	pc, _ := s.PageControls(ctx, th)
	if !pc.SurgeUntil.Equal(t0.Add(30*time.Minute)) || pc.SurgeAction != comment.SurgeHold {
		t.Fatalf("controls during the surge = %+v", pc)
	}
	// After it ends, another can start.
	if ok, err := s.StartSurge(ctx, alert(), t0.Add(31*time.Minute), nil); err != nil || !ok {
		t.Fatalf("StartSurge after the first ended = %v %v", ok, err)
	}
	open, err := s.Alerts(ctx, "a", true, 10)
	if err != nil || len(open) != 2 || open[0].PageURL != "https://a.example/1" || open[1].Rate != 70 || open[1].Threshold != 60 {
		t.Fatalf("open alerts = %+v, %v", open, err)
	}
	if err := s.DismissAlert(ctx, "a", a1.ID, t0.Add(time.Hour), "mod@example.org", entry("a", "alert.dismiss")); err != nil {
		t.Fatal(err)
	}
	if err := s.DismissAlert(ctx, "a", a1.ID, t0.Add(time.Hour), "mod@example.org", nil); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("dismissing twice: %v", err)
	}
	if open, _ := s.Alerts(ctx, "a", true, 10); len(open) != 1 {
		t.Fatalf("open after dismissing one = %d", len(open))
	}
	if all, _ := s.Alerts(ctx, "a", false, 10); len(all) != 2 || all[1].DismissedBy != "mod@example.org" {
		t.Fatalf("all alerts = %+v", all)
	}
}

func testFeatured(t *testing.T, s store.Store) {
	cs := communityComments(t, s)
	c := cs["c4"]
	e := entry("a", "comment.feature")
	if err := s.SetFeatured(ctx, c, true, t0, e); err != nil || e.ID == 0 {
		t.Fatalf("SetFeatured = %v (audit %d)", err, e.ID)
	}
	// Featuring again changes nothing and records nothing.
	again := entry("a", "comment.feature")
	if err := s.SetFeatured(ctx, c, true, t0, again); err != nil || again.ID != 0 {
		t.Fatalf("featuring twice = %v, audit %d", err, again.ID)
	}
	f, err := s.Featured(ctx, c.ThreadID)
	if err != nil || len(f) != 1 || !f["c4"] {
		t.Fatalf("Featured = %v, %v", f, err)
	}
	if f, err := s.FeaturedOf(ctx, []string{"c1", "c4", "nope"}); err != nil || len(f) != 1 || !f["c4"] {
		t.Fatalf("FeaturedOf = %v, %v", f, err)
	}
	if err := s.SetFeatured(ctx, c, false, t0, entry("a", "comment.unfeature")); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.Featured(ctx, c.ThreadID); len(f) != 0 {
		t.Fatalf("after unfeaturing: %v", f)
	}
}

func testNotices(t *testing.T, s store.Store) {
	cs := communityComments(t, s)
	list := []*comment.Notice{
		{SiteID: "a", Reader: "rd1", CommentID: "c2", Approved: true, Created: t0},
		{SiteID: "a", Reader: "rd1", CommentID: "c3", Reason: "Off topic", Created: t0},
		{SiteID: "a", Reader: "rd2", CommentID: "c4", Approved: true, Created: t0},
	}
	if err := s.AddNotices(ctx, list); err != nil || list[0].ID == 0 {
		t.Fatalf("AddNotices = %v", err)
	}
	got, err := s.Notices(ctx, "a", "rd1", 10)
	if err != nil || len(got) != 2 || !got[0].Approved || got[1].Reason != "Off topic" || got[1].PageURL != "https://a.example/2" || got[0].PageTitle != "Title of https://a.example/1" {
		t.Fatalf("Notices = %+v, %v", got, err)
	}
	_ = cs
	if err := s.SeeNotices(ctx, "a", "rd1", []int64{got[0].ID}); err != nil {
		t.Fatal(err)
	}
	// Another reader's ids are not theirs to mark.
	s.SeeNotices(ctx, "a", "rd1", []int64{list[2].ID})
	if got, _ := s.Notices(ctx, "a", "rd1", 10); len(got) != 1 || got[0].CommentID != "c3" {
		t.Fatalf("after seeing one: %+v", got)
	}
	if got, _ := s.Notices(ctx, "a", "rd2", 10); len(got) != 1 {
		t.Fatalf("the other reader's notices: %+v", got)
	}
}

func testNotesHistory(t *testing.T, s store.Store) {
	cs := communityComments(t, s)
	n := &comment.Note{SiteID: "a", Author: "email:troll@spam.example", Text: "Warned by phone.", Actor: "mod@example.org", Created: t0}
	e := entry("a", "note.add")
	if err := s.AddNote(ctx, n, e); err != nil || n.ID == 0 || e.Target != fmt.Sprintf("note:%d", n.ID) {
		t.Fatalf("AddNote = %v, %+v", err, e)
	}
	s.AddNote(ctx, &comment.Note{SiteID: "a", Author: "email:ana@example.org", Text: "other", Actor: "x"}, nil)
	notes, err := s.Notes(ctx, "a", "email:troll@spam.example")
	if err != nil || len(notes) != 1 || notes[0].Text != "Warned by phone." || !notes[0].Created.Equal(t0) {
		t.Fatalf("Notes = %+v, %v", notes, err)
	}
	if err := s.DeleteNote(ctx, "a", n.ID, entry("a", "note.delete")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteNote(ctx, "a", n.ID, nil); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
	// History: a decision on two of Ana's comments and an edit of one.
	s.Moderate(ctx, "a", []string{"c4", "c5"}, comment.StatusSpam, entry("a", "comment.spam"))
	c := cs["c4"]
	c.Markdown, c.Edited, c.EditedBy = "edited", t0, "mod@example.org"
	edit := entry("a", "comment.edit")
	edit.Target = "comment:c4"
	s.EditCommentAs(ctx, c, edit)
	s.Moderate(ctx, "a", []string{"c1"}, comment.StatusSpam, entry("a", "comment.spam"))
	for _, target := range []store.SanctionTarget{{Identity: "github:1"}, {Email: "ana@example.org"}, {IPHash: "ipa"}} {
		hist, err := s.AuthorAudit(ctx, "a", target, 10)
		if err != nil || len(hist) != 2 || hist[0].Action != "comment.edit" || hist[1].Action != "comment.spam" {
			t.Fatalf("history by %+v = %+v, %v", target, hist, err)
		}
	}
}

// BenchArticles measures the desk's article list on a site with total
// articles (each with one comment): the first page, and a page deep in
// the list by its cursor.
func BenchArticles(b *testing.B, s store.Store, total int) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	site := &comment.Site{ID: "bench", Name: "Bench", Origins: []string{"https://bench.example"}, MaxDepth: 5, Moderation: comment.ModerateNone, Created: start}
	i := 0
	restore(b, s, []*store.Row{{Site: site}}, func() []*store.Row {
		if i == total {
			return nil
		}
		id := fmt.Sprintf("t%07d", i)
		at := start.Add(time.Duration(i) * time.Minute)
		c := &comment.Comment{ID: fmt.Sprintf("c%07d", i), SiteID: "bench", ThreadID: id,
			Author: comment.Author{Name: "Reader"}, Markdown: "A comment.", HTML: "<p>A comment.</p>", Status: comment.StatusApproved, Created: at}
		i++
		return []*store.Row{{Thread: &comment.Thread{ID: id, SiteID: "bench", Key: fmt.Sprintf("https://bench.example/%d", i), URL: fmt.Sprintf("https://bench.example/%d", i),
			Title: fmt.Sprintf("Article %d", i), Created: at}}, {Comment: c}}
	})
	deep := &store.Cursor{Time: start.Add(time.Duration(total/2) * time.Minute), ID: fmt.Sprintf("t%07d", total/2)}
	for _, tc := range []struct {
		name   string
		cursor *store.Cursor
	}{{"first-page", nil}, {"middle-page", deep}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				list, _, err := s.Articles(ctx, store.ArticleFilter{SiteID: "bench", Cursor: tc.cursor})
				if err != nil || len(list) != 50 || list[0].Comments != 1 {
					b.Fatalf("%d articles, %v", len(list), err)
				}
			}
		})
	}
}

// testCommunityDump: a site's sanctions, settings and rules, article
// controls, featured comments, notes and reports go into its dump and come
// back from it; alerts and readers' notices (runtime state) do not.
func testCommunityDump(t *testing.T, a, b store.Store) {
	cs := communityComments(t, a)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.AddSanction(ctx, &comment.Sanction{ID: "s1", SiteID: "a", Kind: comment.SanctionBan, Match: comment.MatchEmailDomain, Value: "spam.example",
		Reason: "spam", Created: t0, Until: t0.Add(24 * time.Hour), Actor: "mod@example.org"}, &store.SanctionTarget{EmailDomain: "spam.example"}, entry("a", "sanction.add")))
	must(a.AddSanction(ctx, &comment.Sanction{ID: "s2", SiteID: "a", Kind: comment.SanctionWarn, Match: comment.MatchIdentity, Value: "github:1",
		Message: "Be kind.", Created: t0, Actor: "mod@example.org"}, nil, entry("a", "sanction.add")))
	must(a.SetCommunity(ctx, "a", &comment.Community{ReportHide: 4, CloseAfter: 72 * time.Hour, Message: "Be **kind**.", SurgeRate: 60,
		SurgeAction: comment.SurgeClose, SurgeFor: time.Hour, Reasons: []string{"Off topic"}}, nil))
	must(a.SetSiteRules(ctx, "a", &comment.SiteRules{BlockedWords: []string{"cheap pills"}, BlockedIPs: []string{"203.0.113.0/24"}, HoldLinks: 2}, nil))
	week := 7 * 24 * time.Hour
	must(a.SetPageControls(ctx, &comment.PageControls{ThreadID: cs["c4"].ThreadID, CloseAfter: &week, Premod: true, Message: "Moderated.", Pinned: "c4"}, true, nil))
	must(a.SetFeatured(ctx, cs["c5"], true, t0, nil))
	must(a.AddNote(ctx, &comment.Note{SiteID: "a", Author: "email:ana@example.org", Text: "Regular.", Actor: "mod@example.org", Created: t0}, nil))
	if _, _, err := a.AddReport(ctx, &comment.Report{SiteID: "a", CommentID: "c4", Reporter: "net:x", Reader: "r1", Reason: comment.ReportSpam, Text: "ad", Created: t0}, 0, comment.Verdict{}, nil); err != nil {
		t.Fatal(err)
	}
	must(a.AddNotices(ctx, []*comment.Notice{{SiteID: "a", Reader: "rd1", CommentID: "c4", Approved: true, Created: t0}}))
	if _, err := a.StartSurge(ctx, &comment.Alert{SiteID: "a", ThreadID: cs["c5"].ThreadID, Kind: "surge", Action: comment.SurgeHold, Until: t0.Add(time.Hour), Created: t0}, t0, nil); err != nil {
		t.Fatal(err)
	}

	dump := dumpSiteJSON(t, a, "a")
	// Site, two threads, five comments; two sanctions, settings, the
	// article's controls (set here, with the surge), a featured comment,
	// a note and a report.
	if len(dump) != 1+2+5+2+1+1+1+1+1 {
		t.Fatalf("dump has %d rows:\n%s", len(dump), strings.Join(dump, "\n"))
	}
	if err := b.Restore(ctx, restoreFrom(dump)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	again := dumpSiteJSON(t, b, "a")
	if strings.Join(again, "\n") != strings.Join(dump, "\n") {
		t.Fatalf("restored site differs:\n got %s\nwant %s", strings.Join(again, "\n"), strings.Join(dump, "\n"))
	}
	// What it restored works: the ban is in force, the report counts.
	if list, err := b.Sanctions(ctx, "a", true, t0.Add(time.Hour)); err != nil || len(list) != 2 {
		t.Fatalf("restored sanctions = %d, %v", len(list), err)
	}
	if v, _ := b.SanctionsVersion(ctx, "a"); v == 0 {
		t.Fatal("restored sanctions have no version: instances would not compile them")
	}
	if n, _ := b.CountReported(ctx, "a", 10); n != 1 {
		t.Fatalf("restored reports: %d", n)
	}
	if alerts, _ := b.Alerts(ctx, "a", false, 10); len(alerts) != 0 {
		t.Fatalf("alerts came along: %+v", alerts)
	}
}
