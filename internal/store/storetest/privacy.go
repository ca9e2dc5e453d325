package storetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/internal/auth"
	"parley/internal/comment"
	"parley/internal/staff"
	"parley/internal/store"
)

var privacyTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"privacy: erasure reaches every table", testEraseEverywhere},
	{"privacy: export", testExportReader},
	{"privacy: anonymise and one site", testEraseAnonymiseOneSite},
	{"privacy: audit entries of exact values on one site", testEraseAuditExact},
	{"privacy: anonymised reply keeps a deleted parent", testEraseAnonymisedReplyKeepsParent},
	{"privacy: anonymised comments keep no client data", testEraseAnonymisedClientData},
	{"privacy: one site leaves the others", testEraseOneSiteLeavesOthers},
}

// TextFinder is what the privacy tests need of a store beyond
// store.Store: where a string is stored, in every column of every table.
type TextFinder interface {
	FindText(ctx context.Context, needle string) ([]string, error)
}

// The reader the privacy tests erase: every value identifies them.
const (
	zEmail    = "zelda.quux@example.net"
	zName     = "Zelda Quuxworth"
	zIdentity = "github:zq4417"
	zText     = "Xylophonic marmalade confession"
	zWebsite  = "https://zelda-quux.example"
)

// zSubject is the reader, with the keyed hashes a service would compute.
func zSubject(site string) *store.PrivacySubject {
	return &store.PrivacySubject{SiteID: site, Email: zEmail, Identity: zIdentity, EmailKey: "zkey-email", VerifiedKey: "zkey-verified",
		AvatarKeys: []string{"zkey-avatar-guest", "zkey-avatar-login"}, Reporters: []string{"id:zkey-reporter"},
		Authors: []string{"email:" + zEmail, "identity:" + zIdentity}}
}

// zelda makes the reader use every feature on site: comments as a guest
// and logged in (a reply from someone else under one, a held one, an
// edited one), a like, a report, a subscription with its emails, a
// session, a confirmed address, pictures, a sanction, a moderator's note,
// a notice about a held comment, stopped decision emails, webhook
// deliveries and audit entries. It returns the comment others replied to
// and the reply.
func zelda(t *testing.T, s store.Store, site string) (mine, reply *comment.Comment) {
	t.Helper()
	now := time.Now().UTC()
	p := page(site, "https://"+site+".example/article")
	guest := func(body string) *comment.Comment {
		c := newComment(body)
		c.Author = comment.Author{Name: zName, Email: zEmail, Website: zWebsite}
		c.Reader, c.IPHash, c.UserAgent = "zreader-"+site, "zip-"+site, "ZeldaBrowser/1.0"
		c.PostKey = "zpost-" + comment.NewID(now)
		return c
	}
	mine = guest(zText + " one")
	sub := &store.Subscription{ID: "zsub-" + site, Email: zEmail, EmailKey: "zkey-email", Scope: store.ScopeReplies, Created: now}
	confirm := &store.Message{Key: "zconfirm-" + site, Kind: store.KindEmail, Stream: "c:" + site + ":zkey-email", SiteID: site,
		Target: "zkey-email", Payload: `{"type":"confirm","email_key":"zkey-email"}`, Deadline: now.Add(time.Hour)}
	if err := s.CreateCommentSubscribed(ctx, p, mine, sub, confirm); err != nil {
		t.Fatal(err)
	}
	reply = newComment("A reply by someone else")
	reply.ParentID = mine.ID
	mustPost(t, s, p, reply)
	own := guest(zText + " replying to myself")
	own.ParentID = reply.ID
	mustPost(t, s, p, own)
	held := guest(zText + " held")
	held.Status = comment.StatusPending
	mustPost(t, s, p, held)
	if err := s.SetHeldLang(ctx, held.ID, "de", now); err != nil {
		t.Fatal(err)
	}
	edited := guest(zText + " edited")
	mustPost(t, s, p, edited)
	if err := s.EditComment(ctx, edited.ID, zText+" edited again", "<p>"+zText+" edited again</p>", now); err != nil {
		t.Fatal(err)
	}
	logged := newComment(zText + " logged in")
	logged.Author = comment.Author{Name: zName, Email: zEmail, Identity: zIdentity}
	logged.Reader = "zreader-login-" + site
	mustPost(t, s, p, logged)
	if _, err := s.Like(ctx, reply.ID, "zreader-"+site); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddReport(ctx, &comment.Report{SiteID: site, CommentID: reply.ID, Reporter: "id:zkey-reporter", Reader: "zreader-" + site,
		Reason: comment.ReportOther, Text: zText + " report", Created: now}, 0, comment.Verdict{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddNotices(ctx, []*comment.Notice{{SiteID: site, Reader: "zreader-" + site, CommentID: held.ID, Reason: zText + " notice", Created: now}}); err != nil {
		t.Fatal(err)
	}
	sn := &comment.Sanction{ID: "zsanction-" + site, SiteID: site, Kind: comment.SanctionWarn, Match: comment.MatchEmail, Value: zEmail,
		Message: "Be kind", Created: now}
	e := entry(site, "sanction.add")
	e.Target, e.After = "author:email:"+zEmail, `{"value":"`+zEmail+`"}`
	if err := s.AddSanction(ctx, sn, nil, e); err != nil {
		t.Fatal(err)
	}
	if err := s.AddNote(ctx, &comment.Note{SiteID: site, Author: "email:" + zEmail, Text: zText + " note", Created: now, Actor: "mod"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDecisionMail(ctx, site, "zkey-email", true, now); err != nil {
		t.Fatal(err)
	}
	// A webhook delivery carries the comment, base64-encoded in the payload.
	body, _ := json.Marshal(map[string]any{"type": "comment.created", "data": map[string]any{"id": mine.ID, "author": zName, "text": zText}})
	payload, _ := json.Marshal(map[string]any{"id": "msg_1", "body": base64.StdEncoding.EncodeToString(body)})
	if _, err := s.Enqueue(ctx, &store.Message{Key: "zhook-" + site, Kind: store.KindWebhook, Stream: "w:hook1", SiteID: site, Target: "hook1",
		Payload: string(payload), Deadline: now.Add(time.Hour)}, nil); err != nil {
		t.Fatal(err)
	}
	// A staff edit of the reader's comment, recorded with its text.
	ae := entry(site, "comment.edit")
	ae.Target, ae.Before = "comment:"+edited.ID, `{"markdown":"`+zText+` by `+zName+`"}`
	if err := s.AddAudit(ctx, ae); err != nil {
		t.Fatal(err)
	}
	return mine, reply
}

// zeldaLogin gives the reader the server-wide rows: a session, a
// confirmed address and cached pictures.
func zeldaLogin(t *testing.T, s store.Store) {
	t.Helper()
	now := time.Now().UTC()
	if err := s.CreateSession(ctx, &auth.Session{ID: "zsession", Identity: auth.Identity{Provider: "github", Subject: "zq4417", Name: zName,
		Email: zEmail, AvatarURL: zWebsite + "/me.png", ProfileURL: zWebsite}, Created: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkEmailVerified(ctx, "zkey-verified", now); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"zkey-avatar-guest", "zkey-avatar-login"} {
		if err := s.SaveAvatar(ctx, &store.Avatar{Key: k, ContentType: "image/png", Data: []byte("\x89PNG " + zName)}); err != nil {
			t.Fatal(err)
		}
	}
}

// mustFindNothing fails if any column of any table holds one of needles.
func mustFindNothing(t *testing.T, s store.Store, needles ...string) {
	t.Helper()
	f, ok := s.(TextFinder)
	if !ok {
		t.Fatalf("%T has no FindText: the privacy suite cannot search its tables", s)
	}
	for _, n := range needles {
		found, err := f.FindText(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(found) > 0 {
			t.Errorf("%q is still stored in %v", n, found)
		}
	}
}

func testEraseEverywhere(t *testing.T, s store.Store) {
	mustSite(t, s, "pa")
	mustSite(t, s, "pb")
	mine, reply := zelda(t, s, "pa")
	zelda(t, s, "pb")
	zeldaLogin(t, s)
	if f, ok := s.(TextFinder); ok {
		// The search must be able to fail: before the erasure it finds the
		// reader in the tables the test filled.
		found, err := f.FindText(ctx, zEmail)
		if err != nil || !slices.Contains(found, "comments.author_email") || !slices.Contains(found, "sessions.email") {
			t.Fatalf("before erasure FindText(email) = %v, %v", found, err)
		}
	}
	var audited store.EraseCounts
	n, err := s.EraseReader(ctx, zSubject(""), nil, func(n store.EraseCounts) *staff.AuditEntry {
		audited = n
		e := entry("", "privacy.erase")
		e.Target, e.After = "reader:zhash", fmt.Sprint(n.Deleted)
		return e
	})
	if err != nil {
		t.Fatal(err)
	}
	if es, _, err := s.AuditEntries(ctx, store.AuditFilter{All: true, Action: "privacy.erase"}); err != nil || len(es) != 1 || es[0].After != "10" || audited != n {
		t.Errorf("audit entries = %v, %v (counted %+v)", es, err, audited)
	}
	if n.Deleted != 10 || n.Anonymised != 0 || n.Likes != 2 || n.Subscriptions != 2 || n.Sessions != 1 || n.Reports != 2 {
		t.Errorf("EraseCounts = %+v", n)
	}
	mustFindNothing(t, s, zEmail, zName, zIdentity, zText, "Xylophonic", zWebsite, "zq4417", "zkey-", "zreader-", "zip-pa", "ZeldaBrowser")
	// The comment replied to keeps its place, without author or text;
	// the reply stays under it with its like gone.
	got, err := s.Comment(ctx, mine.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != comment.TypeErased || got.Markdown != "" || got.HTML != "" || got.Author != (comment.Author{}) || got.Status != comment.StatusApproved {
		t.Errorf("erased comment with a reply = %+v", got)
	}
	r, err := s.Comment(ctx, reply.ID)
	if err != nil || r.ParentID != mine.ID || r.Likes != 0 {
		t.Errorf("reply after erasure = %+v, %v", r, err)
	}
	// Readers of the page are told once to load it again; the change log
	// keeps nothing about the erased comments.
	evs, err := s.Events(ctx, mine.ThreadID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var pageEvents int
	for _, ev := range evs {
		if ev.CommentID == mine.ID {
			t.Errorf("the change log still has %s about the erased comment", ev.Kind)
		}
		if ev.Kind == comment.EventPage {
			pageEvents++
		}
	}
	if pageEvents != 1 {
		t.Errorf("%d page events, want 1: %+v", pageEvents, evs)
	}
	// Erasing again finds nothing.
	if n, err := s.EraseReader(ctx, zSubject(""), nil, nil); err != nil || n != (store.EraseCounts{}) {
		t.Errorf("second erasure = %+v, %v", n, err)
	}
	// An old export imported again does not bring the comments back.
	rows := []*store.Row{{Comment: &comment.Comment{ID: mine.ID, ThreadID: "https://pa.example/article", Author: comment.Author{Name: zName, Email: zEmail},
		Markdown: zText, HTML: zText, Status: comment.StatusApproved, Created: time.Now().UTC()}},
		{Comment: &comment.Comment{ID: "fresh-1", ThreadID: "https://pa.example/article", Author: comment.Author{Name: "Other"},
			Markdown: "new", HTML: "new", Status: comment.StatusApproved, Created: time.Now().UTC()}}}
	ic, err := s.Import(ctx, "pa", func() (*store.Row, error) {
		if len(rows) == 0 {
			return nil, io.EOF
		}
		r := rows[0]
		rows = rows[1:]
		return r, nil
	})
	if err != nil || ic.Erased != 1 || ic.Comments != 1 || ic.Existing != 0 {
		t.Errorf("re-import = %+v, %v; want 1 erased, 1 added", ic, err)
	}
	mustFindNothing(t, s, zEmail, zText)
}

func testExportReader(t *testing.T, s store.Store) {
	mustSite(t, s, "ea")
	mustSite(t, s, "eb")
	mine, _ := zelda(t, s, "ea")
	zelda(t, s, "eb")
	zeldaLogin(t, s)
	other := mustPost(t, s, page("ea", "x"), newComment("not hers"))
	count := func(subj *store.PrivacySubject) map[string]int {
		got := map[string]int{}
		var order []string
		err := s.ExportReader(ctx, subj, func(kind string, v any) error {
			if len(order) == 0 || order[len(order)-1] != kind {
				order = append(order, kind)
			}
			got[kind]++
			if c, ok := v.(*store.ExportedComment); ok {
				if c.ID == other.ID {
					t.Errorf("exported someone else's comment %s", c.ID)
				}
				if c.ID == mine.ID && (c.PageURL != "https://ea.example/article" || c.Email != zEmail || c.Markdown != zText+" one") {
					t.Errorf("exported comment = %+v", c)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Kinds come grouped, in RecordKinds order.
		var want []string
		for _, k := range store.RecordKinds {
			if got[k] > 0 {
				want = append(want, k)
			}
		}
		if !slices.Equal(order, want) {
			t.Errorf("kinds in order %v, want %v", order, want)
		}
		return got
	}
	all := count(zSubject(""))
	want := map[string]int{store.RecordComment: 10, store.RecordLike: 2, store.RecordSubscription: 2, store.RecordSession: 1,
		store.RecordReport: 2, store.RecordNotice: 2, store.RecordSanction: 2, store.RecordNote: 2, store.RecordVerified: 1, store.RecordAvatar: 2}
	for k, n := range want {
		if all[k] != n {
			t.Errorf("every site: %d %s, want %d", all[k], k, n)
		}
	}
	one := count(zSubject("ea"))
	if one[store.RecordComment] != 5 || one[store.RecordLike] != 1 || one[store.RecordSubscription] != 1 || one[store.RecordSanction] != 1 {
		t.Errorf("one site: %v", one)
	}
	// By log-in alone: the logged-in comments and the session.
	byLogin := count(&store.PrivacySubject{Identity: zIdentity})
	if byLogin[store.RecordComment] != 2 || byLogin[store.RecordSession] != 1 || byLogin[store.RecordSubscription] != 0 {
		t.Errorf("by identity: %v", byLogin)
	}
	// Nobody: nothing.
	if none := count(&store.PrivacySubject{Email: "nobody@example.net"}); len(none) != 0 {
		t.Errorf("unknown address exported %v", none)
	}
}

func testEraseAnonymiseOneSite(t *testing.T, s store.Store) {
	mustSite(t, s, "na")
	mustSite(t, s, "nb")
	mine, reply := zelda(t, s, "na")
	theirs, _ := zelda(t, s, "nb")
	n, err := s.EraseReader(ctx, zSubject("na"), map[string]bool{"na": true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Published comments keep their text without author; the held one goes.
	if n.Anonymised != 4 || n.Deleted != 1 {
		t.Errorf("EraseCounts = %+v, want 4 anonymised, 1 deleted", n)
	}
	got, err := s.Comment(ctx, mine.ID)
	if err != nil || got.Markdown != zText+" one" || got.Author != (comment.Author{}) || got.Type != "" || got.Reader != "" || got.IPHash != "" {
		t.Errorf("anonymised comment = %+v, %v", got, err)
	}
	if r, _ := s.Comment(ctx, reply.ID); r == nil || r.ParentID != mine.ID {
		t.Errorf("reply = %+v", r)
	}
	// The other site keeps everything.
	if got, err := s.Comment(ctx, theirs.ID); err != nil || got.Author.Email != zEmail {
		t.Errorf("other site's comment = %+v, %v", got, err)
	}
	if sn, err := s.Sanction(ctx, "nb", "zsanction-nb"); err != nil || sn.Value != zEmail {
		t.Errorf("other site's sanction = %+v, %v", sn, err)
	}
	if _, err := s.Sanction(ctx, "na", "zsanction-na"); !errors.Is(err, comment.ErrNotFound) {
		t.Errorf("erased site's sanction: %v", err)
	}
}

// testErasedDump: a dump carries the tombstones of erased comments, so a
// store restored from it (migrate-db, a site's export) still refuses to
// import them from an old export; importing an export also brings its
// tombstones.
func testErasedDump(t *testing.T, a, b store.Store) {
	mustSite(t, a, "ta")
	mine, _ := zelda(t, a, "ta")
	if _, err := a.EraseReader(ctx, zSubject("ta"), nil, nil); err != nil {
		t.Fatal(err)
	}
	dump := dumpSiteJSON(t, a, "ta")
	if !slices.ContainsFunc(dump, func(l string) bool { return strings.Contains(l, `"erased":{"id":"`+mine.ID+`","site":"ta"`) }) {
		t.Fatalf("no tombstone of %s in the dump:\n%s", mine.ID, strings.Join(dump, "\n"))
	}
	if err := b.Restore(ctx, restoreFrom(dump)); err != nil {
		t.Fatal(err)
	}
	old := func(site string) func() (*store.Row, error) {
		rows := []*store.Row{{Comment: &comment.Comment{ID: mine.ID, SiteID: site, ThreadID: "https://ta.example/article", Author: comment.Author{Name: zName, Email: zEmail},
			Markdown: zText, HTML: zText, Status: comment.StatusApproved, Created: time.Now().UTC()}}}
		return func() (*store.Row, error) {
			if len(rows) == 0 {
				return nil, io.EOF
			}
			r := rows[0]
			rows = rows[1:]
			return r, nil
		}
	}
	if ic, err := b.Import(ctx, "ta", old("ta")); err != nil || ic.Erased != 1 || ic.Comments != 0 {
		t.Errorf("import into the restored store = %+v, %v; want the comment skipped as erased", ic, err)
	}
	// Import: an export's tombstones join the store's.
	mustSite(t, b, "tb")
	var tomb *store.Row
	for _, l := range dump {
		var r store.Row
		if json.Unmarshal([]byte(l), &r) == nil && r.Erased != nil {
			tomb = &r
		}
	}
	if _, err := b.Import(ctx, "tb", restoreFrom([]string{mustJSON(t, tomb)})); err != nil {
		t.Fatal(err)
	}
	if ic, err := b.Import(ctx, "tb", old("tb")); err != nil || ic.Erased != 1 {
		t.Errorf("import after importing the tombstone = %+v, %v", ic, err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testEraseAuditExact: audit entries are emptied only where they quote
// the reader's address or log-in as a whole value, on the erased site.
func testEraseAuditExact(t *testing.T, s store.Store) {
	mustSite(t, s, "aa")
	mustSite(t, s, "ab")
	add := func(site, value string) {
		t.Helper()
		kind := "email"
		if !strings.Contains(value, "@") {
			kind = "identity"
		}
		e := entry(site, "sanction.add")
		e.Target, e.After = "author:"+kind+":"+value, `{"value":"`+strings.ReplaceAll(value, `"`, `\"`)+`"}`
		if err := s.AddAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"ann@example.org", "joann@example.org", "github:1234", "github:12345"} {
		add("aa", v)
		add("ab", v)
	}
	audit := func() map[string]string { // site + target -> after
		t.Helper()
		es, _, err := s.AuditEntries(ctx, store.AuditFilter{All: true, Action: "sanction.add", Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, e := range es {
			m[e.SiteID+" "+e.Target] += e.After
		}
		return m
	}
	if _, err := s.EraseReader(ctx, &store.PrivacySubject{SiteID: "aa", Email: "ann@example.org", Identity: "github:1234"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	// An identity of punctuation matches no one else's entries.
	if _, err := s.EraseReader(ctx, &store.PrivacySubject{SiteID: "aa", Identity: `":"`}, nil, nil); err != nil {
		t.Fatal(err)
	}
	got := audit()
	want := map[string]string{
		"aa erased":                         "",
		"aa author:email:joann@example.org": `{"value":"joann@example.org"}`,
		"aa author:identity:github:12345":   `{"value":"github:12345"}`,
		"ab author:email:ann@example.org":   `{"value":"ann@example.org"}`,
		"ab author:email:joann@example.org": `{"value":"joann@example.org"}`,
		"ab author:identity:github:1234":    `{"value":"github:1234"}`,
		"ab author:identity:github:12345":   `{"value":"github:12345"}`,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("audit entry %q after = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("audit entries %v, want %v", got, want)
	}
}

// testEraseAnonymisedReplyKeepsParent: on an anonymising site, the
// reader's deleted comment with the reader's own published reply under
// it stays as a blank placeholder for the anonymised reply.
func testEraseAnonymisedReplyKeepsParent(t *testing.T, s store.Store) {
	mustSite(t, s, "ka")
	p := page("ka", "https://ka.example/a")
	mine := func(body, parent string) *comment.Comment {
		c := newComment(body)
		c.Author = comment.Author{Name: zName, Email: zEmail}
		c.ParentID = parent
		return mustPost(t, s, p, c)
	}
	for _, st := range []comment.Status{comment.StatusDeleted, comment.StatusSpam} {
		x := mine(zText+" parent", "")
		y := mine(zText+" reply", x.ID)
		z := mine(zText+" reply to reply", y.ID)
		if err := s.SetStatus(ctx, x.ID, st); err != nil {
			t.Fatal(err)
		}
		n, err := s.EraseReader(ctx, &store.PrivacySubject{SiteID: "ka", Email: zEmail}, map[string]bool{"ka": true}, nil)
		if err != nil {
			t.Fatalf("%s parent: %v", st, err)
		}
		if n.Anonymised != 2 || n.Deleted != 1 {
			t.Errorf("%s parent: EraseCounts = %+v, want 2 anonymised, 1 blanked", st, n)
		}
		got, err := s.Comment(ctx, x.ID)
		if err != nil || got.Type != comment.TypeErased || got.Markdown != "" || got.Author != (comment.Author{}) {
			t.Errorf("%s parent = %+v, %v; want a blank placeholder", st, got, err)
		}
		for _, c := range []*comment.Comment{y, z} {
			if got, err := s.Comment(ctx, c.ID); err != nil || got.ParentID != c.ParentID || got.Markdown != c.Markdown || got.Author != (comment.Author{}) {
				t.Errorf("%s parent: reply = %+v, %v", st, got, err)
			}
		}
	}
}

// testEraseAnonymisedClientData: an anonymised comment keeps no client
// data, and the retention job brings none back.
func testEraseAnonymisedClientData(t *testing.T, s store.Store) {
	mustSite(t, s, "ca")
	c := newComment(zText)
	c.Author = comment.Author{Name: zName, Email: zEmail}
	c.IPHash, c.IPNet, c.UserAgent = "zip-hash", "zip-net", "ZeldaBrowser/1.0"
	c.Created = time.Now().UTC().Add(-48 * time.Hour)
	mustPost(t, s, page("ca", "https://ca.example/a"), c)
	if n, err := s.EraseReader(ctx, &store.PrivacySubject{SiteID: "ca", Email: zEmail}, map[string]bool{"ca": true}, nil); err != nil || n.Anonymised != 1 {
		t.Fatalf("EraseReader = %+v, %v", n, err)
	}
	check := func(when string) {
		t.Helper()
		got, err := s.Comment(ctx, c.ID)
		if err != nil || got.Markdown != zText || got.IPHash != "" || got.IPNet != "" || got.UserAgent != "" {
			t.Errorf("%s: comment = %+v, %v; want no client data", when, got, err)
		}
	}
	check("after erasure")
	if _, err := s.ReduceClientData(ctx, "ca", time.Now().UTC(), 0); err != nil {
		t.Fatal(err)
	}
	check("after the retention job")
	mustFindNothing(t, s, "zip-")
}

// testEraseOneSiteLeavesOthers: the reader, from one browser, on two
// sites; erasing them from one leaves everything on the other, and the
// rows every site shares (pictures, a confirmed address).
func testEraseOneSiteLeavesOthers(t *testing.T, s store.Store) {
	mustSite(t, s, "oa")
	mustSite(t, s, "ob")
	zelda(t, s, "oa")
	_, replyB := zelda(t, s, "ob")
	zeldaLogin(t, s)
	now := time.Now().UTC()
	// The browser of site oa likes, reports and is told on site ob too.
	if _, err := s.Like(ctx, replyB.ID, "zreader-oa"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddReport(ctx, &comment.Report{SiteID: "ob", CommentID: replyB.ID, Reporter: "id:other", Reader: "zreader-oa",
		Reason: comment.ReportOther, Created: now}, 0, comment.Verdict{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddNotices(ctx, []*comment.Notice{{SiteID: "ob", Reader: "zreader-oa", CommentID: replyB.ID, Created: now}}); err != nil {
		t.Fatal(err)
	}
	count := func(subj *store.PrivacySubject) map[string]int {
		got := map[string]int{}
		if err := s.ExportReader(ctx, subj, func(kind string, v any) error { got[kind]++; return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	f, _ := s.(TextFinder)
	streams := func() bool {
		t.Helper()
		if f == nil {
			return true
		}
		found, err := f.FindText(ctx, "c:ob:zkey-email")
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(found, "outbox_streams.stream")
	}
	before := count(zSubject("ob"))
	hadStream := streams()
	if _, err := s.EraseReader(ctx, zSubject("oa"), nil, nil); err != nil {
		t.Fatal(err)
	}
	after := count(zSubject("ob"))
	for _, k := range store.RecordKinds {
		if after[k] != before[k] {
			t.Errorf("site ob: %d %s after erasing site oa, want %d", after[k], k, before[k])
		}
	}
	if before[store.RecordAvatar] != 2 || before[store.RecordVerified] != 1 || before[store.RecordLike] != 1 || before[store.RecordReport] != 1 {
		t.Errorf("before: %v", before)
	}
	if r, err := s.Comment(ctx, replyB.ID); err != nil || r.Likes != 2 {
		t.Errorf("site ob reply = %+v, %v; want its 2 likes", r, err)
	}
	// The browser's rows on site ob stay.
	if f != nil {
		found, err := f.FindText(ctx, "zreader-oa")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(found, []string{"likes.reader", "reader_notices.reader", "reports.reader"}) {
			t.Errorf("the browser of site oa is stored in %v, want its like, notice and report on site ob", found)
		}
	}
	if hadStream && !streams() {
		t.Errorf("site ob's outbox stream of the reader is gone")
	}
}

// testErasedAuthors: an erasure keeps the reader's keys, on its site or
// every site, with the time of the latest erasure; ErasedAuthors gives a
// site both; a dump carries them (a site's dump those of every site as
// the site's), and restore and import bring them back.
func testErasedAuthors(t *testing.T, a, b store.Store) {
	mustSite(t, a, "ka")
	mustSite(t, a, "kb")
	onKA := zSubject("ka")
	onKA.ErasedKeys = []string{"email:k1"}
	everywhere := zSubject("")
	everywhere.ErasedKeys = []string{"identity:k2"}
	before := time.Now().Add(-time.Second)
	if _, err := a.EraseReader(ctx, onKA, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.EraseReader(ctx, everywhere, nil, nil); err != nil {
		t.Fatal(err)
	}
	keys := func(s store.Store, site string) map[string]time.Time {
		t.Helper()
		m, err := s.ErasedAuthors(ctx, site)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	got := keys(a, "ka")
	if len(got) != 2 || got["email:k1"].Before(before) || got["identity:k2"].Before(before) {
		t.Fatalf("ErasedAuthors(ka) = %v; want email:k1 and identity:k2, erased now", got)
	}
	if got := keys(a, "kb"); len(got) != 1 || got["identity:k2"].IsZero() {
		t.Fatalf("ErasedAuthors(kb) = %v; want identity:k2 alone", got)
	}
	// Erased again: the latest erasure counts.
	first := keys(a, "ka")["email:k1"]
	time.Sleep(2 * time.Millisecond)
	if _, err := a.EraseReader(ctx, onKA, nil, nil); err != nil {
		t.Fatal(err)
	}
	if again := keys(a, "ka")["email:k1"]; !again.After(first) {
		t.Errorf("erased again at %v, first %v; want the later time", again, first)
	}
	// A site's dump: its readers and every site's, as its own.
	dump := dumpSiteJSON(t, a, "kb")
	var rows []string
	for _, l := range dump {
		if strings.Contains(l, `"erased_author"`) {
			rows = append(rows, l)
		}
	}
	if len(rows) != 1 || !strings.Contains(rows[0], `"key":"identity:k2","site":"kb"`) {
		t.Fatalf("kb's dump has erased readers %q; want identity:k2 as kb's", rows)
	}
	// The whole store's dump restores as it was.
	full := dumpSiteJSON(t, a, "")
	if err := b.Restore(ctx, restoreFrom(full)); err != nil {
		t.Fatal(err)
	}
	if got, want := keys(b, "ka"), keys(a, "ka"); len(got) != 2 || !got["email:k1"].Equal(want["email:k1"]) || !got["identity:k2"].Equal(want["identity:k2"]) {
		t.Errorf("restored ErasedAuthors(ka) = %v, want %v", got, want)
	}
	if got := keys(b, "kb"); len(got) != 1 {
		t.Errorf("restored ErasedAuthors(kb) = %v; want identity:k2 alone", got)
	}
	// Importing ka's export into another site brings ka's readers there.
	mustSite(t, b, "kc")
	if got := keys(b, "kc"); len(got) != 1 {
		t.Fatalf("ErasedAuthors(kc) = %v; want identity:k2 alone", got)
	}
	var kaRows []string
	for _, l := range dumpSiteJSON(t, a, "ka") {
		if strings.Contains(l, `"erased_author"`) {
			kaRows = append(kaRows, l)
		}
	}
	if _, err := b.Import(ctx, "kc", restoreFrom(kaRows)); err != nil {
		t.Fatal(err)
	}
	if got := keys(b, "kc"); len(got) != 2 || got["email:k1"].IsZero() {
		t.Errorf("ErasedAuthors(kc) after importing ka's = %v; want email:k1 too", got)
	}
}
