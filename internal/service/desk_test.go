package service

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
	"parley/internal/store"
	"parley/internal/store/sqlite"
	"parley/internal/store/storetest"
)

// deskService is a service whose site "news" holds every comment, a
// second site "other", and a moderator of news, an admin of other.
func deskService(t *testing.T) (*Service, Actor, Actor) {
	t.Helper()
	s := newService(t, Options{})
	site, _ := s.Site(ctx, "news")
	held := *site
	held.Moderation = comment.ModerateAll
	if err := s.UpdateSite(ctx, OperatorActor(), &held); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSite(ctx, OperatorActor(), &comment.Site{ID: "other", Origins: []string{"https://other.example"}}); err != nil {
		t.Fatal(err)
	}
	mod, err := s.AddMember(ctx, OperatorActor(), NewMember{Email: "Mod@Example.org", Password: "correct horse battery", SiteID: "news", Role: staff.RoleModerator})
	if err != nil {
		t.Fatal(err)
	}
	adm, err := s.AddMember(ctx, OperatorActor(), NewMember{Email: "adm@example.org", Password: "correct horse battery", SiteID: "other", Role: staff.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	return s, MemberActor(mod), MemberActor(adm)
}

func postAs(t *testing.T, s *Service, name, body, ip string) *comment.Comment {
	t.Helper()
	d := draft(body)
	d.Name, d.Email = name, name+"@example.org"
	c, err := s.Post(ctx, d, Meta{IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ids(p *QueuePage) []string {
	var out []string
	for _, c := range p.Cards {
		out = append(out, c.Comment.ID)
	}
	return out
}

func TestDesk_DecideAndUndo(t *testing.T) {
	s, mod, other := deskService(t)
	a := postAs(t, s, "ana", "a good comment", "198.51.100.1")
	b := postAs(t, s, "bot", "buy pills", "203.0.113.9")

	q, err := s.Queue(ctx, mod, "news", Query{Status: comment.StatusPending})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ids(q)); got != fmt.Sprint([]string{b.ID, a.ID}) {
		t.Fatalf("queue = %v, want newest first", got)
	}
	if q.Counts[comment.StatusPending] != 2 || !q.Cards[0].Private || q.Cards[0].Thread == nil || q.Cards[0].History.Counts[comment.StatusPending] != 1 {
		t.Fatalf("queue details: %+v %+v", q.Counts, q.Cards[0])
	}

	changed, err := s.Decide(ctx, mod, "news", []string{a.ID}, Approve)
	if err != nil || len(changed) != 1 || changed[0].Status != comment.StatusApproved {
		t.Fatalf("approve = %v, %v", changed, err)
	}
	if _, err := s.Decide(ctx, mod, "news", []string{b.ID}, Spam); err != nil {
		t.Fatal(err)
	}
	// Undo takes back the latest decision only: b is pending again, a stays.
	e, err := s.Undo(ctx, mod, "news")
	if err != nil || e.Action != "comment.spam" {
		t.Fatalf("undo = %+v, %v", e, err)
	}
	for id, want := range map[string]comment.Status{a.ID: comment.StatusApproved, b.ID: comment.StatusPending} {
		if c, _ := s.Comment(ctx, "news", id); c.Status != want {
			t.Errorf("%s is %s after undo, want %s", id, c.Status, want)
		}
	}
	// The next undo reverses the approval; then there is nothing left.
	if e, err := s.Undo(ctx, mod, "news"); err != nil || e.Action != "comment.approve" {
		t.Fatalf("second undo = %+v, %v", e, err)
	}
	if _, err := s.Undo(ctx, mod, "news"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("third undo = %v, want nothing to undo", err)
	}
	log, _, err := s.AuditLog(ctx, mod, "news", store.AuditFilter{ActorID: mod.ID}, "")
	if err != nil || len(log) != 4 {
		t.Fatalf("the moderator's audit log has %d entries (%v), want approve, spam, undo, undo", len(log), err)
	}
	if log[3].Action != "comment.approve" || log[3].ActorName != "mod@example.org" || log[3].UndoneBy == 0 || log[0].Action != "undo" || log[0].Count != 1 {
		t.Fatalf("audit log = %+v %+v", log[3], log[0])
	}
	if decisions, _, _ := s.AuditLog(ctx, mod, "news", store.AuditFilter{Action: "comment."}, ""); len(decisions) != 2 {
		t.Fatalf("filtering by kind of action gave %d entries, want the two decisions", len(decisions))
	}

	// Another site's staff learns nothing, not even that the site exists.
	for _, err := range []error{
		func() error { _, err := s.Queue(ctx, other, "news", Query{}); return err }(),
		func() error { _, err := s.Decide(ctx, other, "news", []string{a.ID}, Spam); return err }(),
		func() error { _, err := s.Card(ctx, other, "news", a.ID); return err }(),
		func() error { _, _, err := s.AuditLog(ctx, other, "news", store.AuditFilter{}, ""); return err }(),
	} {
		if !errors.Is(err, comment.ErrNotFound) {
			t.Errorf("other site's admin: %v, want not found", err)
		}
	}
	// A comment of another site named on this one: not found, nothing changes.
	if _, err := s.Decide(ctx, other, "other", []string{a.ID}, Spam); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("deciding news's comment through other = %v", err)
	}
	// A moderator may not change settings or make tokens.
	site, _ := s.Site(ctx, "news")
	if err := s.UpdateSite(ctx, mod, site); !errors.Is(err, comment.ErrForbidden) {
		t.Errorf("moderator changing settings = %v", err)
	}
	if _, _, err := s.AddToken(ctx, mod, "news", "cms", staff.RoleModerator); !errors.Is(err, comment.ErrForbidden) {
		t.Errorf("moderator making a token = %v", err)
	}
}

func TestDesk_Filters(t *testing.T) {
	s, mod, _ := deskService(t)
	wave := make([]string, 0, 30)
	for i := range 30 {
		wave = append(wave, postAs(t, s, "winbig", fmt.Sprintf("casino bonus number %d", i), "203.0.113.9").ID)
	}
	ana := postAs(t, s, "ana", "Ponte Vecchio was **rebuilt** in 1345", "198.51.100.1")
	for _, tc := range []struct {
		name string
		q    Query
		want int
	}{
		{"by address", Query{IP: "203.0.113.9"}, 30},
		{"by the address's hash", Query{IP: ana.IPHash}, 1},
		{"by email", Query{Email: "ANA@example.org"}, 1},
		{"by author name, any case", Query{Author: "WinBig"}, 30},
		{"by text", Query{Text: "casino"}, 30},
		{"by text, a prefix", Query{Text: "rebui"}, 1},
		{"by two words", Query{Text: "casino 17"}, 1},
		{"by text with operators typed", Query{Text: `"casino" (bonus*`}, 30},
		{"by page", Query{Page: "https://news.example/a#comment-1"}, 31},
		{"by a page without comments", Query{Page: "https://news.example/none"}, 0},
		{"in the last hour", Query{Since: time.Now().Add(-time.Hour)}, 31},
		{"before they were posted", Query{Until: time.Now().Add(-time.Hour)}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Status = comment.StatusPending
			p, err := s.Queue(ctx, mod, "news", tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if n := p.Counts[comment.StatusPending]; n != tc.want {
				t.Fatalf("count = %d, want %d", n, tc.want)
			}
			if len(p.Cards) != min(tc.want, 50) {
				t.Fatalf("page has %d cards, want %d", len(p.Cards), min(tc.want, 50))
			}
		})
	}

	// Keyset pages: 31 comments in pages of 10, each once, newest first.
	var seen []string
	cursor := ""
	for range 10 {
		p, err := s.Queue(ctx, mod, "news", Query{Status: comment.StatusPending, Limit: 10, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, ids(p)...)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if len(seen) != 31 || seen[0] != ana.ID || seen[30] != wave[0] {
		t.Fatalf("pages gave %d comments, first %s last %s", len(seen), seen[0], seen[len(seen)-1])
	}

	// Bad input is a clear error.
	for _, q := range []Query{{IP: "not an address!"}, {Cursor: "%%%"}, {Status: "bogus"}, {Since: time.Now(), Until: time.Now().Add(-time.Hour)}} {
		var ve *comment.ValidationError
		if _, err := s.Queue(ctx, mod, "news", q); !errors.As(err, &ve) {
			t.Errorf("query %+v: %v, want a validation error", q, err)
		}
	}

	// Everything from the address in the last hour, across pages, at once.
	matched, changed, err := s.DecideMatching(ctx, mod, "news", Query{Status: comment.StatusPending, IP: "203.0.113.9", Since: time.Now().Add(-time.Hour)}, Spam)
	if err != nil || matched != 30 || changed != 30 {
		t.Fatalf("bulk spam = %d, %d, %v", matched, changed, err)
	}
	p, _ := s.Queue(ctx, mod, "news", Query{Status: comment.StatusPending})
	if p.Counts[comment.StatusPending] != 1 || p.Counts[comment.StatusSpam] != 30 {
		t.Fatalf("after the bulk spam: %v", p.Counts)
	}
	// Matching nothing is an answer, not an error.
	if m, c, err := s.DecideMatching(ctx, mod, "news", Query{Status: comment.StatusPending, Text: "nothing like this"}, Spam); err != nil || m != 0 || c != 0 {
		t.Fatalf("bulk on nothing = %d %d %v", m, c, err)
	}
	if e, err := s.Undo(ctx, mod, "news"); err != nil || e.Count != 30 {
		t.Fatalf("undo of the bulk = %+v %v", e, err)
	}
	p, _ = s.Queue(ctx, mod, "news", Query{Status: comment.StatusPending})
	if p.Counts[comment.StatusPending] != 31 {
		t.Fatalf("after undo: %v", p.Counts)
	}
}

func TestDesk_HidePrivateFromModerators(t *testing.T) {
	s, mod, _ := deskService(t)
	postAs(t, s, "ana", "hello", "198.51.100.1")
	site, _ := s.Site(ctx, "news")
	hide := *site
	hide.HidePrivate = true
	if err := s.UpdateSite(ctx, OperatorActor(), &hide); err != nil {
		t.Fatal(err)
	}
	p, err := s.Queue(ctx, mod, "news", Query{Status: comment.StatusPending})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Cards[0]
	if c.Private || c.Comment.Author.Email != "" || c.Comment.IPHash != "" {
		t.Fatalf("a moderator sees %q / %q on a site that hides them", c.Comment.Author.Email, c.Comment.IPHash)
	}
	// Admins still do.
	p, _ = s.Queue(ctx, OperatorActor(), "news", Query{Status: comment.StatusPending})
	if p.Cards[0].Comment.Author.Email == "" {
		t.Fatal("the operator does not see the email")
	}
}

func TestDesk_EditAndReplyAsStaff(t *testing.T) {
	s, mod, _ := deskService(t)
	c := postAs(t, s, "ana", "teh typo", "198.51.100.1")
	edited, err := s.EditAs(ctx, mod, "news", c.ID, "the typo")
	if err != nil || edited.EditedBy != "mod@example.org" || edited.Markdown != "the typo" {
		t.Fatalf("edit = %+v %v", edited, err)
	}
	reply, err := s.ReplyAs(ctx, mod, "news", c.ID, "Thanks, fixed.")
	if err != nil || !reply.Staff || reply.Status != comment.StatusApproved || reply.ParentID != c.ID {
		t.Fatalf("reply = %+v %v", reply, err)
	}
	// Replying approves the held comment it answers, as WordPress does.
	if got, _ := s.Comment(ctx, "news", c.ID); got.Status != comment.StatusApproved || got.EditedBy != "mod@example.org" {
		t.Fatalf("the answered comment is %s, edited by %q", got.Status, got.EditedBy)
	}
	log, _, _ := s.AuditLog(ctx, mod, "news", store.AuditFilter{CommentID: c.ID}, "")
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	if fmt.Sprint(actions) != "[comment.approve comment.edit]" {
		t.Fatalf("the comment's history = %v", actions)
	}
	if _, err := s.ReplyAs(ctx, OperatorActor(), "news", c.ID, "from the CLI"); err == nil {
		t.Fatal("a staff reply without a staff member was accepted")
	}
}

func TestDesk_StaffLogIn(t *testing.T) {
	s, _, _ := deskService(t)
	m, secret, err := s.LogInStaff(ctx, " MOD@example.org ", "correct horse battery", "UA")
	if err != nil || m.Account.Email != "mod@example.org" || secret == "" {
		t.Fatalf("log-in = %v %v", m, err)
	}
	if got, sess, err := s.StaffSession(ctx, secret); err != nil || got.Account.ID != m.Account.ID || sess.UserAgent != "UA" {
		t.Fatalf("session = %v %v", got, err)
	}
	for _, bad := range [][2]string{{"mod@example.org", "wrong password"}, {"nobody@example.org", "correct horse battery"}} {
		if _, _, err := s.LogInStaff(ctx, bad[0], bad[1], ""); !errors.Is(err, comment.ErrForbidden) {
			t.Errorf("log-in %v = %v, want forbidden", bad, err)
		}
	}
	if err := s.LogOutStaff(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.StaffSession(ctx, secret); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("session after log-out: %v", err)
	}
	// Idle sessions end.
	_, secret, _ = s.LogInStaff(ctx, "mod@example.org", "correct horse battery", "")
	s.now = func() time.Time { return time.Now().Add(staff.IdleTimeout + time.Minute) }
	if _, _, err := s.StaffSession(ctx, secret); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("idle session: %v", err)
	}
}

func TestDesk_Tokens(t *testing.T) {
	s, _, _ := deskService(t)
	secret, tok, err := s.AddToken(ctx, OperatorActor(), "news", "newsroom CMS", staff.RoleModerator)
	if err != nil || tok.Hash == secret {
		t.Fatalf("token = %+v %v", tok, err)
	}
	a, err := s.TokenActorFor(ctx, secret)
	if err != nil || a.Role("news") != staff.RoleModerator || a.Role("other") != "" {
		t.Fatalf("token actor = %+v %v", a, err)
	}
	if err := s.RevokeToken(ctx, OperatorActor(), "news", tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenActorFor(ctx, secret); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("revoked token: %v", err)
	}
}

// BenchmarkDeskQueue is what the desk's queue page asks of the service
// at 100,000 pending comments: a page of 50 cards (each with its article,
// parent and author's history) and the counts of every view, unfiltered
// and filtered.
func BenchmarkDeskQueue(b *testing.B) {
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "q.db"), sqlite.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	storetest.FillQueue(b, st, 100_000)
	s, err := New(ctx, st, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		q    Query
	}{
		{"first-page", Query{}},
		{"address", Query{IP: storetest.WaveIP}},
		{"text", Query{Text: "casinowave"}},
		{"article", Query{Page: "https://bench.example/50"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tc.q.Status = comment.StatusPending
			for b.Loop() {
				p, err := s.Queue(ctx, OperatorActor(), "bench", tc.q)
				if err != nil || len(p.Cards) == 0 {
					b.Fatalf("%v %v", p, err)
				}
			}
		})
	}
}
