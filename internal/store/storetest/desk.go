package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
	"parley/internal/store"
)

// deskTests cover the moderation desk's queries: staff accounts, desk
// sessions, API tokens, the queue's filters and pages, decisions one by
// one and by query, undo, and the audit log.
var deskTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"staff accounts", testStaffAccounts},
	{"staff sessions and tokens", testStaffSessionsTokens},
	{"find comments", testFindComments},
	{"moderate with audit", testModerate},
	{"moderate matching and revert", testModerateMatching},
	{"edit as staff", testEditCommentAs},
}

func entry(site, action string) *staff.AuditEntry {
	return &staff.AuditEntry{SiteID: site, ActorKind: staff.ActorStaff, ActorID: "acc1", ActorName: "mod@example.org", Action: action, Target: "test"}
}

func testStaffAccounts(t *testing.T, s store.Store) {
	mustSite(t, s, "a")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := &staff.Account{ID: "acc1", Email: "mod@example.org", Name: "Mona", PasswordHash: "$argon2id$…", Created: now}
	if err := s.CreateAccount(ctx, a, []staff.Grant{{SiteID: "a", Role: staff.RoleModerator}}, entry("a", "staff.add")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, &staff.Account{ID: "acc2", Email: "mod@example.org", Created: now}, nil, nil); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("second account with the same email: %v", err)
	}
	m, err := s.AccountByEmail(ctx, "mod@example.org")
	if err != nil || m.Account.Name != "Mona" || !m.Account.Created.Equal(now) || m.RoleOn("a") != staff.RoleModerator {
		t.Fatalf("AccountByEmail = %+v, %v", m, err)
	}
	owner := &staff.Account{ID: "own1", Email: "owner@example.org", Identity: "github:42", Created: now}
	if err := s.CreateAccount(ctx, owner, []staff.Grant{{Role: staff.RoleOwner}}, nil); err != nil {
		t.Fatal(err)
	}
	if m, err := s.AccountByIdentity(ctx, "github:42"); err != nil || !m.IsOwner() {
		t.Fatalf("AccountByIdentity = %+v, %v", m, err)
	}
	if _, err := s.AccountByIdentity(ctx, ""); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("empty identity: %v", err)
	}
	// The site's staff include its owners.
	members, err := s.Members(ctx, "a")
	if err != nil || len(members) != 2 {
		t.Fatalf("Members(a) = %d, %v", len(members), err)
	}
	// Grants change and go.
	if err := s.SetGrant(ctx, staff.Grant{AccountID: "acc1", SiteID: "a", Role: staff.RoleAdmin}, entry("a", "staff.role")); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Account(ctx, "acc1"); m.RoleOn("a") != staff.RoleAdmin || len(m.Grants) != 1 {
		t.Fatalf("after SetGrant: %+v", m.Grants)
	}
	if err := s.SetGrant(ctx, staff.Grant{AccountID: "acc1", SiteID: "a"}, nil); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Account(ctx, "acc1"); len(m.Grants) != 0 {
		t.Fatalf("grant not removed: %+v", m.Grants)
	}
	if err := s.SetGrant(ctx, staff.Grant{AccountID: "nobody", SiteID: "a", Role: staff.RoleAdmin}, nil); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("grant to nobody: %v", err)
	}
	// Disabling ends the account's sessions.
	s.CreateStaffSession(ctx, &staff.Session{Hash: "h1", AccountID: "acc1", Created: now, Seen: now})
	a.Disabled = true
	if err := s.UpdateAccount(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.StaffSession(ctx, "h1"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("session of a disabled account: %v", err)
	}
	// The audit log has the entries written with the changes.
	log, _, err := s.AuditEntries(ctx, store.AuditFilter{SiteID: "a"})
	if err != nil || len(log) != 2 || log[0].Action != "staff.role" || log[1].Action != "staff.add" || log[1].ID == 0 {
		t.Fatalf("audit = %+v, %v", log, err)
	}
}

func testStaffSessionsTokens(t *testing.T, s store.Store) {
	mustSite(t, s, "a")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.CreateAccount(ctx, &staff.Account{ID: "acc1", Email: "m@example.org", Created: now}, nil, nil)
	for i, h := range []string{"h1", "h2", "h3"} {
		if err := s.CreateStaffSession(ctx, &staff.Session{Hash: h, AccountID: "acc1", Created: now.Add(time.Duration(i) * time.Hour), Seen: now, UserAgent: "UA " + h}); err != nil {
			t.Fatal(err)
		}
	}
	sess, m, err := s.StaffSession(ctx, "h2")
	if err != nil || m.Account.ID != "acc1" || sess.UserAgent != "UA h2" || !sess.Created.Equal(now.Add(time.Hour)) {
		t.Fatalf("StaffSession = %+v %v", sess, err)
	}
	if err := s.TouchStaffSession(ctx, "h2", now.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if sess, _, _ := s.StaffSession(ctx, "h2"); !sess.Seen.Equal(now.Add(30 * time.Minute)) {
		t.Fatalf("seen = %v", sess.Seen)
	}
	list, _ := s.StaffSessions(ctx, "acc1")
	if len(list) != 3 || list[0].Hash != "h3" {
		t.Fatalf("sessions newest first = %v", list)
	}
	if n, err := s.DeleteStaffSessions(ctx, "acc1", "h1"); err != nil || n != 1 {
		t.Fatalf("delete one = %d %v", n, err)
	}
	// h2 (created +1h, seen +30m) and h3 (created +2h, seen +0) are
	// left; only h3 was last seen before the idle cut-off.
	if n, err := s.PruneStaffSessions(ctx, now.Add(30*time.Minute), now.Add(10*time.Minute)); err != nil || n != 1 {
		t.Fatalf("prune = %d %v", n, err)
	}
	if n, _ := s.DeleteStaffSessions(ctx, "acc1", ""); n != 1 {
		t.Fatalf("delete all = %d", n)
	}

	tok := &staff.Token{ID: "t1", SiteID: "a", Name: "CMS", Role: staff.RoleModerator, Hash: "th1", Created: now}
	if err := s.CreateToken(ctx, tok, entry("a", "token.add")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, &staff.Token{ID: "t2", SiteID: "nosite", Name: "x", Role: staff.RoleAdmin, Hash: "th2", Created: now}, nil); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("token of a missing site: %v", err)
	}
	got, err := s.TokenByHash(ctx, "th1")
	if err != nil || got.Name != "CMS" || got.Role != staff.RoleModerator || !got.LastUsed.IsZero() {
		t.Fatalf("TokenByHash = %+v %v", got, err)
	}
	s.TouchToken(ctx, "t1", now.Add(time.Minute))
	if list, _ := s.Tokens(ctx, "a"); len(list) != 1 || !list[0].LastUsed.Equal(now.Add(time.Minute)) {
		t.Fatalf("Tokens = %+v", list)
	}
	if err := s.DeleteToken(ctx, "other", "t1", nil); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("revoking through another site: %v", err)
	}
	if err := s.DeleteToken(ctx, "a", "t1", entry("a", "token.remove")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenByHash(ctx, "th1"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("revoked token: %v", err)
	}
}

// deskComments posts n comments to site a's pages: every third from the
// address hash "ip-b" by "Bot" with "casino" in it, the rest from "ip-a"
// by "Ana", one second apart, all pending.
func deskComments(t *testing.T, s store.Store, n int) []*comment.Comment {
	t.Helper()
	mustSite(t, s, "a")
	mustSite(t, s, "b")
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var out []*comment.Comment
	for i := range n {
		c := &comment.Comment{ID: fmt.Sprintf("c%04d", i), Author: comment.Author{Name: "Ana", Email: "ana@example.org"}, IPHash: "ip-a",
			Markdown: fmt.Sprintf("An honest comment number %d", i), HTML: "<p>x</p>", Status: comment.StatusPending, Created: start.Add(time.Duration(i) * time.Second)}
		if i%3 == 0 {
			c.Author = comment.Author{Name: "Bot", Email: "bot@spam.example", Identity: "github:7"}
			c.IPHash, c.Markdown = "ip-b", fmt.Sprintf("Win at the casino, number %d", i)
		}
		page := comment.Page{SiteID: "a", Key: fmt.Sprintf("https://a.example/%d", i%2), URL: "https://a.example/"}
		if err := s.CreateComment(ctx, page, c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	// A comment of another site, with the same words, never shows.
	s.CreateComment(ctx, comment.Page{SiteID: "b", Key: "https://b.example/"}, &comment.Comment{ID: "b1", Author: comment.Author{Name: "Bot"}, IPHash: "ip-b", Markdown: "casino", HTML: "x", Status: comment.StatusPending})
	return out
}

func testFindComments(t *testing.T, s store.Store) {
	cs := deskComments(t, s, 30)
	th, _ := s.Thread(ctx, "a", "https://a.example/0")
	for _, tc := range []struct {
		name string
		f    store.CommentFilter
		want int
	}{
		{"all of a site", store.CommentFilter{}, 30},
		{"by status", store.CommentFilter{Status: comment.StatusPending}, 30},
		{"by another status", store.CommentFilter{Status: comment.StatusSpam}, 0},
		{"by address", store.CommentFilter{IPHash: "ip-b"}, 10},
		{"by email", store.CommentFilter{Email: "ana@example.org"}, 20},
		{"by name, any case", store.CommentFilter{Author: "BOT"}, 10},
		{"by identity", store.CommentFilter{Author: "github:7"}, 10},
		{"by thread", store.CommentFilter{ThreadID: th.ID}, 15},
		{"by text", store.CommentFilter{Text: "casino"}, 10},
		{"by text, every word", store.CommentFilter{Text: "casino number 3"}, 1},
		{"by text, a prefix", store.CommentFilter{Text: "hones"}, 20},
		{"by text and address", store.CommentFilter{Text: "honest", IPHash: "ip-b"}, 0},
		{"since", store.CommentFilter{Since: cs[20].Created}, 10},
		{"until", store.CommentFilter{Until: cs[20].Created}, 20},
		{"by ids", store.CommentFilter{IDs: []string{cs[0].ID, cs[1].ID, "b1"}}, 2},
		{"by no ids", store.CommentFilter{IDs: []string{}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.SiteID = "a"
			counts, err := s.CountComments(ctx, tc.f, 0)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, n := range counts {
				total += n
			}
			if tc.f.Status == "" && total != tc.want || tc.f.Status != "" && counts[tc.f.Status] != tc.want {
				t.Fatalf("counts = %v, want %d", counts, tc.want)
			}
			list, _, err := s.FindComments(ctx, tc.f)
			if err != nil || len(list) != tc.want {
				t.Fatalf("FindComments = %d, %v; want %d", len(list), err, tc.want)
			}
			for i := 1; i < len(list); i++ {
				if !list[i].Created.Before(list[i-1].Created) {
					t.Fatalf("not newest first at %d", i)
				}
			}
		})
	}
	// Counts stop at the cap.
	if counts, _ := s.CountComments(ctx, store.CommentFilter{SiteID: "a"}, 7); counts[comment.StatusPending] != 7 {
		t.Fatalf("capped count = %v", counts)
	}
	// Keyset pages of 7 give every comment once.
	var seen []string
	f := store.CommentFilter{SiteID: "a", Limit: 7}
	for {
		list, next, err := s.FindComments(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			seen = append(seen, c.ID)
		}
		if next == nil {
			break
		}
		f.Cursor = next
	}
	if len(seen) != 30 || seen[0] != "c0029" || seen[29] != "c0000" || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != 30 {
		t.Fatalf("pages gave %v", seen)
	}
	// History of an author, by identity, then email.
	bot, ana, nobody := comment.Author{Name: "Bot", Identity: "github:7"}, comment.Author{Email: "ANA@example.org"}, comment.Author{Name: "Nobody"}
	hs, err := s.AuthorHistories(ctx, "a", []comment.Author{bot, ana, nobody, bot})
	if err != nil || len(hs) != 2 {
		t.Fatalf("histories = %v %v", hs, err)
	}
	if h := hs[store.AuthorKey(bot)]; h.Counts[comment.StatusPending] != 10 || !h.FirstSeen.Equal(cs[0].Created) {
		t.Fatalf("history by identity = %+v", h)
	}
	if h := hs[store.AuthorKey(ana)]; h.Counts[comment.StatusPending] != 20 {
		t.Fatalf("history by email = %+v", h)
	}
	threads, err := s.ThreadsByID(ctx, []string{th.ID, "nosuch"})
	if err != nil || len(threads) != 1 || threads[th.ID].Key != "https://a.example/0" {
		t.Fatalf("ThreadsByID = %v %v", threads, err)
	}
	byID, err := s.CommentsByID(ctx, []string{cs[3].ID, "nosuch"})
	if err != nil || len(byID) != 1 || byID[cs[3].ID].Author.Identity != "github:7" {
		t.Fatalf("CommentsByID = %v %v", byID, err)
	}
}

func testModerate(t *testing.T, s store.Store) {
	cs := deskComments(t, s, 3)
	th, _ := s.Thread(ctx, "a", "https://a.example/0")
	last, _ := s.LastEvent(ctx, th.ID)
	e := entry("a", "comment.approve")
	before, err := s.Moderate(ctx, "a", []string{cs[0].ID, cs[1].ID, "b1"}, comment.StatusApproved, e)
	if err != nil || len(before) != 2 || before[0].Status != comment.StatusPending {
		t.Fatalf("Moderate = %v, %v (another site's comment must be left alone)", before, err)
	}
	if e.ID == 0 || e.Count != 2 || e.Comments[cs[0].ID] != "pending" {
		t.Fatalf("audit entry = %+v", e)
	}
	if c, _ := s.Comment(ctx, "b1"); c.Status != comment.StatusPending {
		t.Fatal("another site's comment changed")
	}
	// Readers' pages hear of the newly visible comment.
	evs, _ := s.Events(ctx, th.ID, last, 10)
	if len(evs) != 1 || evs[0].Kind != comment.EventNew || evs[0].CommentID != cs[0].ID {
		t.Fatalf("events = %+v", evs)
	}
	// Again: nothing changes, the entry counts none.
	again := entry("a", "comment.approve")
	if before, _ := s.Moderate(ctx, "a", []string{cs[0].ID}, comment.StatusApproved, again); len(before) != 0 || again.Count != 0 {
		t.Fatalf("approving an approved comment changed %v", before)
	}
	full, err := s.AuditEntry(ctx, e.ID)
	if err != nil || len(full.Comments) != 2 || full.ActorName != "mod@example.org" {
		t.Fatalf("AuditEntry = %+v %v", full, err)
	}
	if log, _, _ := s.AuditEntries(ctx, store.AuditFilter{SiteID: "a", CommentID: cs[1].ID}); len(log) != 1 || log[0].ID != e.ID {
		t.Fatalf("a comment's history = %+v", log)
	}
	// Revert: back to pending, once.
	undo := entry("a", "undo")
	restored, err := s.Revert(ctx, "a", e.ID, comment.StatusApproved, undo)
	if err != nil || len(restored) != 2 {
		t.Fatalf("Revert = %v %v", restored, err)
	}
	if c, _ := s.Comment(ctx, cs[1].ID); c.Status != comment.StatusPending {
		t.Fatalf("after revert: %s", c.Status)
	}
	if full, _ := s.AuditEntry(ctx, e.ID); full.UndoneBy != undo.ID {
		t.Fatalf("undone by %d, want %d", full.UndoneBy, undo.ID)
	}
	if _, err := s.Revert(ctx, "a", e.ID, comment.StatusApproved, entry("a", "undo")); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("second revert: %v", err)
	}
	if _, err := s.Revert(ctx, "b", e.ID, comment.StatusApproved, entry("b", "undo")); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("revert through another site: %v", err)
	}
}

func testModerateMatching(t *testing.T, s store.Store) {
	deskComments(t, s, 30)
	e := entry("a", "comment.spam")
	matched, changed, err := s.ModerateMatching(ctx, store.CommentFilter{SiteID: "a", IPHash: "ip-b", Text: "casino"}, comment.StatusSpam, e)
	if err != nil || matched != 10 || changed != 10 || e.Count != 10 {
		t.Fatalf("ModerateMatching = %d %d %v %+v", matched, changed, err, e)
	}
	if c, _ := s.Comment(ctx, "b1"); c.Status != comment.StatusPending {
		t.Fatal("another site's matching comment changed")
	}
	// One of them is approved by a later decision: undoing the bulk
	// leaves that one alone.
	s.Moderate(ctx, "a", []string{"c0003"}, comment.StatusApproved, entry("a", "comment.approve"))
	restored, err := s.Revert(ctx, "a", e.ID, comment.StatusSpam, entry("a", "undo"))
	if err != nil || len(restored) != 9 {
		t.Fatalf("revert = %d %v", len(restored), err)
	}
	counts, _ := s.CountComments(ctx, store.CommentFilter{SiteID: "a"}, 0)
	if counts[comment.StatusPending] != 29 || counts[comment.StatusApproved] != 1 || counts[comment.StatusSpam] != 0 {
		t.Fatalf("after revert: %v", counts)
	}
	// Matching what is already in the status: matched, not changed.
	if m, c, err := s.ModerateMatching(ctx, store.CommentFilter{SiteID: "a", Status: comment.StatusApproved}, comment.StatusApproved, entry("a", "comment.approve")); err != nil || m != 1 || c != 0 {
		t.Fatalf("no-op bulk = %d %d %v", m, c, err)
	}
}

func testEditCommentAs(t *testing.T, s store.Store) {
	cs := deskComments(t, s, 1)
	c := cs[0]
	c.Markdown, c.HTML, c.Edited, c.EditedBy = "cleaned", "<p>cleaned</p>", time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), "mod@example.org"
	if err := s.EditCommentAs(ctx, c, entry("a", "comment.edit")); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Comment(ctx, c.ID)
	if got.Markdown != "cleaned" || got.EditedBy != "mod@example.org" || !got.Edited.Equal(c.Edited) {
		t.Fatalf("after edit: %+v", got)
	}
	// Search sees the new text, not the old.
	if n, _ := s.CountComments(ctx, store.CommentFilter{SiteID: "a", Text: "cleaned"}, 0); n[comment.StatusPending] != 1 {
		t.Fatalf("search for the new text: %v", n)
	}
	if n, _ := s.CountComments(ctx, store.CommentFilter{SiteID: "a", Text: "casino"}, 0); n[comment.StatusPending] != 0 {
		t.Fatalf("search for the old text: %v", n)
	}
	if err := s.EditCommentAs(ctx, &comment.Comment{ID: "nosuch"}, nil); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("editing nothing: %v", err)
	}
}
