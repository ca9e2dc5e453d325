// Package storetest holds the behaviour suite every store.Store
// implementation must pass. Each implementation's tests call Run with a
// function that opens a fresh, empty store.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/auth"
	"parley/internal/comment"
	"parley/internal/store"
)

// Run runs the whole suite. open must return a new empty store for each call
// and arrange for it to be closed when the test ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("dump and restore", func(t *testing.T) {
		t.Parallel()
		testDumpRestore(t, open(t), open(t), open(t))
	})
	t.Run("community dump and restore", func(t *testing.T) {
		t.Parallel()
		testCommunityDump(t, open(t), open(t))
	})
	t.Run("stopped decision emails dump and restore", func(t *testing.T) {
		t.Parallel()
		testDecisionStopsDump(t, open(t), open(t)) // alertmail.go
	})
	t.Run("erased comments dump and restore", func(t *testing.T) {
		t.Parallel()
		testErasedDump(t, open(t), open(t)) // privacy.go
	})
	t.Run("erased readers dump and restore", func(t *testing.T) {
		t.Parallel()
		testErasedAuthors(t, open(t), open(t)) // privacy.go
	})
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"sites", testSites},
		{"comment round trip", testCommentRoundTrip},
		{"thread created on first comment", testThreadCreated},
		{"reply to missing parent", testReplyMissingParent},
		{"reply to parent in another thread", testReplyOtherThread},
		{"closed thread", testClosedThread},
		{"thread comments by status", testThreadComments},
		{"counts", testCounts},
		{"likes", testLikes},
		{"secret", testSecret},
		{"concurrent posting", testConcurrentPosting},
		{"posters hanging up", testPostersHangingUp},
		{"post keys", testPostKeys},
		{"not found", testNotFound},
		{"events", testEvents},
		{"list comments", testListComments},
		{"edit comment", testEditComment},
		{"revise comment", testReviseComment},
		{"spam model", testSpamModel},
		{"api keys", testAPIKeys},
		{"import", testImport},
		{"listen", testListen},
		{"likes announced", testLikesAnnounced},
	}
	for _, tt := range slices.Concat(tests, authTests, deskTests, communityTests, notifyTests, alertMailTests, retentionTests, privacyTests) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

var ctx = context.Background()

func mustSite(t *testing.T, s store.Store, id string) *comment.Site {
	t.Helper()
	site := &comment.Site{ID: id, Name: "Site " + id, Origins: []string{"https://" + id + ".example"}, MaxDepth: 5, Moderation: comment.ModerateNone}
	if err := s.CreateSite(ctx, site, nil); err != nil {
		t.Fatalf("CreateSite: %v", err)
	}
	return site
}

func page(site, key string) comment.Page {
	return comment.Page{SiteID: site, Key: key, URL: key, Title: "Title of " + key}
}

func newComment(body string) *comment.Comment {
	return &comment.Comment{
		Author:   comment.Author{Name: "Amira", Email: "amira@example.org", Website: "https://amira.example"},
		Markdown: body, HTML: "<p>" + body + "</p>", Status: comment.StatusApproved,
	}
}

func mustPost(t *testing.T, s store.Store, p comment.Page, c *comment.Comment) *comment.Comment {
	t.Helper()
	if err := s.CreateComment(ctx, p, c); err != nil {
		t.Fatalf("CreateComment: %v", err)
	}
	return c
}

func testSites(t *testing.T, s store.Store) {
	a := mustSite(t, s, "beta")
	mustSite(t, s, "alpha")
	if err := s.CreateSite(ctx, &comment.Site{ID: "beta", Name: "again"}, nil); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("duplicate CreateSite = %v, want ErrConflict", err)
	}
	got, err := s.Site(ctx, "beta")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != a.Name || len(got.Origins) != 1 || got.Origins[0] != a.Origins[0] || got.MaxDepth != 5 || got.Moderation != comment.ModerateNone {
		t.Fatalf("Site = %+v, want %+v", got, a)
	}
	if !got.Created.Equal(a.Created) {
		t.Errorf("Created = %v, want %v", got.Created, a.Created)
	}
	a.Name, a.Origins, a.Moderation, a.MaxDepth, a.EditWindow = "Renamed", []string{"https://x.example", "http://localhost:8080"}, comment.ModerateAll, 3, time.Hour
	if err := s.UpdateSite(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Site(ctx, "beta")
	if got.Name != "Renamed" || len(got.Origins) != 2 || got.Moderation != comment.ModerateAll || got.MaxDepth != 3 || got.EditWindow != time.Hour {
		t.Fatalf("after update Site = %+v", got)
	}
	if err := s.UpdateSite(ctx, &comment.Site{ID: "nope"}, nil); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("UpdateSite(missing) = %v, want ErrNotFound", err)
	}
	all, err := s.Sites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != "alpha" || all[1].ID != "beta" {
		t.Fatalf("Sites = %v, want alpha, beta", all)
	}
}

func testCommentRoundTrip(t *testing.T, s store.Store) {
	mustSite(t, s, "rt")
	// Every byte a reader sends must come back as sent.
	body := "Hello \u202e RTL \x01 zero\u200bwidth 'quotes' \"double\" <script>alert(1)</script> 😀\n\nsecond"
	c := newComment(body)
	c.Author = comment.Author{Name: "عمر ‮ O'Brien", Email: "o@example.org", Website: "https://o.example/?a=1&b=2", Identity: "google:123"}
	c.Created = time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.UTC)
	c.Reader, c.IPHash, c.IPNet, c.UserAgent = "r1", "ip1", "net1", "Mozilla/5.0"
	c.Verdict = comment.Verdict{Layer: "rules", Score: 0.25, Reason: "two links"}
	c.Status = comment.StatusPending
	mustPost(t, s, page("rt", "https://rt.example/a"), c)
	if c.ID == "" || c.ThreadID == "" || c.SiteID != "rt" {
		t.Fatalf("CreateComment did not fill ids: %+v", c)
	}
	got, err := s.Comment(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Markdown != body || got.HTML != c.HTML || got.Author != c.Author || !got.Created.Equal(c.Created) ||
		got.Status != comment.StatusPending || got.Reader != "r1" || got.IPHash != "ip1" || got.IPNet != "net1" || got.UserAgent != "Mozilla/5.0" ||
		!reflect.DeepEqual(got.Verdict, c.Verdict) || got.ThreadID != c.ThreadID || got.ParentID != "" || !got.Edited.IsZero() {
		t.Fatalf("Comment round trip:\n got %+v\nwant %+v", got, c)
	}
	reply := newComment("reply")
	reply.ParentID = c.ID
	mustPost(t, s, page("rt", "https://rt.example/a"), reply)
	got, _ = s.Comment(ctx, reply.ID)
	if got.ParentID != c.ID || got.ThreadID != c.ThreadID {
		t.Fatalf("reply = %+v, want parent %s thread %s", got, c.ID, c.ThreadID)
	}
	if err := s.CreateComment(ctx, page("rt", "https://rt.example/a"), &comment.Comment{ID: c.ID, Author: c.Author, Markdown: "x", HTML: "x", Status: comment.StatusApproved}); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("duplicate id = %v, want ErrConflict", err)
	}
}

func testThreadCreated(t *testing.T, s store.Store) {
	mustSite(t, s, "tc")
	if _, err := s.Thread(ctx, "tc", "https://tc.example/p"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("Thread before first comment = %v, want ErrNotFound", err)
	}
	c := mustPost(t, s, page("tc", "https://tc.example/p"), newComment("first"))
	th, err := s.Thread(ctx, "tc", "https://tc.example/p")
	if err != nil {
		t.Fatal(err)
	}
	if th.ID != c.ThreadID || th.Title != "Title of https://tc.example/p" || th.URL != "https://tc.example/p" || th.Closed {
		t.Fatalf("Thread = %+v", th)
	}
	c2 := mustPost(t, s, page("tc", "https://tc.example/p"), newComment("second"))
	if c2.ThreadID != th.ID {
		t.Fatalf("second comment went to thread %s, want %s", c2.ThreadID, th.ID)
	}
	if err := s.CreateComment(ctx, page("nosuchsite", "k"), newComment("x")); err == nil {
		t.Fatal("CreateComment on a missing site succeeded")
	}
}

func testReplyMissingParent(t *testing.T, s store.Store) {
	mustSite(t, s, "mp")
	c := newComment("orphan")
	c.ParentID = "doesnotexist"
	if err := s.CreateComment(ctx, page("mp", "k"), c); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("reply to missing parent = %v, want ErrNotFound", err)
	}
	// Nothing half-written: the thread must not exist either.
	if _, err := s.Thread(ctx, "mp", "k"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("failed post left a thread behind: %v", err)
	}
}

func testReplyOtherThread(t *testing.T, s store.Store) {
	mustSite(t, s, "ot")
	a := mustPost(t, s, page("ot", "a"), newComment("on a"))
	c := newComment("on b, replying to a")
	c.ParentID = a.ID
	if err := s.CreateComment(ctx, page("ot", "b"), c); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("reply across threads = %v, want ErrNotFound", err)
	}
}

func testClosedThread(t *testing.T, s store.Store) {
	mustSite(t, s, "cl")
	c := mustPost(t, s, page("cl", "k"), newComment("before"))
	if err := s.SetThreadClosed(ctx, c.ThreadID, true); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateComment(ctx, page("cl", "k"), newComment("after")); !errors.Is(err, comment.ErrClosed) {
		t.Fatalf("post to closed thread = %v, want ErrClosed", err)
	}
	th, _ := s.Thread(ctx, "cl", "k")
	if !th.Closed {
		t.Fatal("thread not closed")
	}
	if err := s.SetThreadClosed(ctx, c.ThreadID, false); err != nil {
		t.Fatal(err)
	}
	mustPost(t, s, page("cl", "k"), newComment("reopened"))
	if err := s.SetThreadClosed(ctx, "nope", true); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("SetThreadClosed(missing) = %v", err)
	}
}

func testThreadComments(t *testing.T, s store.Store) {
	mustSite(t, s, "tl")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i, st := range []comment.Status{comment.StatusApproved, comment.StatusPending, comment.StatusApproved, comment.StatusSpam, comment.StatusApproved} {
		c := newComment(fmt.Sprint(i))
		c.Status = st
		// Insert out of time order; the store must sort.
		c.Created = base.Add(time.Duration(5-i) * time.Minute)
		mustPost(t, s, page("tl", "k"), c)
		ids = append(ids, c.ID)
	}
	mustPost(t, s, page("tl", "other"), newComment("elsewhere"))
	th, _ := s.Thread(ctx, "tl", "k")
	got, err := s.ThreadComments(ctx, th.ID, comment.StatusApproved)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ids[4], ids[2], ids[0]}
	if len(got) != 3 || got[0].ID != want[0] || got[1].ID != want[1] || got[2].ID != want[2] {
		t.Fatalf("approved comments = %v, want %v oldest first", commentIDs(got), want)
	}
	got, _ = s.ThreadComments(ctx, th.ID, comment.StatusApproved, comment.StatusPending)
	if len(got) != 4 {
		t.Fatalf("approved+pending = %d comments, want 4", len(got))
	}
	if err := s.SetStatus(ctx, ids[3], comment.StatusApproved); err != nil {
		t.Fatal(err)
	}
	got, _ = s.ThreadComments(ctx, th.ID, comment.StatusApproved)
	if len(got) != 4 {
		t.Fatalf("after approving spam: %d approved, want 4", len(got))
	}
	if err := s.SetStatus(ctx, "nope", comment.StatusApproved); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("SetStatus(missing) = %v", err)
	}
}

func commentIDs(cs []*comment.Comment) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func testCounts(t *testing.T, s store.Store) {
	mustSite(t, s, "cn")
	mustSite(t, s, "cn2")
	for i := 0; i < 3; i++ {
		mustPost(t, s, page("cn", "a"), newComment("x"))
	}
	held := newComment("held")
	held.Status = comment.StatusPending
	mustPost(t, s, page("cn", "a"), held)
	mustPost(t, s, page("cn", "b"), newComment("x"))
	mustPost(t, s, page("cn2", "a"), newComment("other site"))
	got, err := s.Counts(ctx, "cn", []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got["a"] != 3 || got["b"] != 1 || got["c"] != 0 {
		t.Fatalf("Counts = %v, want a:3 b:1 c:0", got)
	}
}

func testLikes(t *testing.T, s store.Store) {
	mustSite(t, s, "lk")
	c := mustPost(t, s, page("lk", "k"), newComment("likeable"))
	for i, r := range []string{"r1", "r2"} {
		n, err := s.Like(ctx, c.ID, r)
		if err != nil || n != i+1 {
			t.Fatalf("Like(%s) = %d, %v; want %d", r, n, err, i+1)
		}
	}
	if _, err := s.Like(ctx, c.ID, "r1"); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("second like by r1 = %v, want ErrConflict", err)
	}
	got, _ := s.Comment(ctx, c.ID)
	if got.Likes != 2 {
		t.Fatalf("Likes after duplicate = %d, want 2", got.Likes)
	}
	if n, err := s.Unlike(ctx, c.ID, "r1"); err != nil || n != 1 {
		t.Fatalf("Unlike = %d, %v; want 1", n, err)
	}
	if _, err := s.Unlike(ctx, c.ID, "r1"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("second Unlike = %v, want ErrNotFound", err)
	}
	if _, err := s.Like(ctx, "nope", "r1"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("Like(missing) = %v, want ErrNotFound", err)
	}
}

func testSecret(t *testing.T, s store.Store) {
	calls := 0
	gen := func() []byte { calls++; return []byte(fmt.Sprintf("secret-%d", calls)) }
	a, err := s.Secret(ctx, "csrf", gen)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Secret(ctx, "csrf", gen)
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != "secret-1" || string(b) != "secret-1" || calls != 1 {
		t.Fatalf("Secret = %q then %q after %d calls; want the first value kept", a, b, calls)
	}
}

func testConcurrentPosting(t *testing.T, s store.Store) {
	mustSite(t, s, "cc")
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				// Half the posts race to create the same new thread.
				key := "shared"
				if i%2 == 1 {
					key = fmt.Sprintf("own-%d", w)
				}
				if err := s.CreateComment(ctx, page("cc", key), newComment("c")); err != nil {
					errs <- err
				}
				// Readers run while writers write.
				if _, err := s.Counts(ctx, "cc", []string{"shared"}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	keys := []string{"shared"}
	for w := 0; w < writers; w++ {
		keys = append(keys, fmt.Sprintf("own-%d", w))
	}
	counts, _ := s.Counts(ctx, "cc", keys)
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != writers*each {
		t.Fatalf("stored %d comments, want %d (%v)", total, writers*each, counts)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	if _, err := s.Site(ctx, "nope"); !errors.Is(err, comment.ErrNotFound) {
		t.Errorf("Site = %v", err)
	}
	if _, err := s.Comment(ctx, "nope"); !errors.Is(err, comment.ErrNotFound) {
		t.Errorf("Comment = %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping = %v", err)
	}
}

func testEvents(t *testing.T, s store.Store) {
	mustSite(t, s, "ev")
	p := page("ev", "https://ev.example/p")
	a := mustPost(t, s, p, newComment("visible"))
	held := newComment("held")
	held.Status = comment.StatusPending
	mustPost(t, s, p, held)
	if err := s.SetStatus(ctx, held.ID, comment.StatusApproved); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Like(ctx, a.ID, "r"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatus(ctx, a.ID, comment.StatusSpam); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatus(ctx, a.ID, comment.StatusDeleted); err != nil { // invisible to invisible: no event
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, a.ThreadID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind comment.EventKind
		id   string
	}{{comment.EventNew, a.ID}, {comment.EventNew, held.ID}, {comment.EventRemove, a.ID}} // likes are announced, not logged
	if len(evs) != len(want) {
		t.Fatalf("events = %+v, want %d", evs, len(want))
	}
	for i, w := range want {
		ev := evs[i]
		if ev.Kind != w.kind || ev.CommentID != w.id || ev.ThreadID != a.ThreadID || ev.SiteID != "ev" || ev.PageKey != p.Key || ev.ID == 0 || ev.Created.IsZero() {
			t.Errorf("event %d = %+v, want %s of %s", i, ev, w.kind, w.id)
		}
		if i > 0 && ev.ID <= evs[i-1].ID {
			t.Errorf("event ids not increasing: %d after %d", ev.ID, evs[i-1].ID)
		}
	}
	last, err := s.LastEvent(ctx, a.ThreadID)
	if err != nil || last != evs[2].ID {
		t.Fatalf("LastEvent = %d, %v; want %d", last, err, evs[2].ID)
	}
	after, _ := s.Events(ctx, a.ThreadID, evs[1].ID, 100)
	if len(after) != 1 || after[0].ID != evs[2].ID {
		t.Fatalf("Events after %d = %+v", evs[1].ID, after)
	}
	if n, _ := s.LastEvent(ctx, "no-such-thread"); n != 0 {
		t.Fatalf("LastEvent of a missing thread = %d", n)
	}
	if err := s.PruneEvents(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if evs, _ := s.Events(ctx, a.ThreadID, 0, 100); len(evs) != 0 {
		t.Fatalf("after pruning %d events remain", len(evs))
	}
}

func testListen(t *testing.T, s store.Store) {
	mustSite(t, s, "ls")
	lctx, cancel := context.WithCancel(ctx)
	got := make(chan comment.Event, 16)
	done := make(chan struct{})
	go func() {
		s.Listen(lctx, func(ev comment.Event) {
			if ev.SiteID == "ls" { // other tests share a PostgreSQL channel
				got <- ev
			}
		}, nil)
		close(done)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Listen did not return after its context ended")
		}
	}()
	// The listener may need a moment to subscribe; post until it hears.
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var posted []string
	for {
		select {
		case ev := <-got:
			found := false
			for _, id := range posted {
				found = found || id == ev.CommentID
			}
			if !found || ev.Kind != comment.EventNew || ev.PageKey != "k" || ev.ID == 0 {
				t.Fatalf("heard %+v, want a new-comment event for one of %v", ev, posted)
			}
			return
		case <-tick.C:
			posted = append(posted, mustPost(t, s, page("ls", "k"), newComment("hello")).ID)
		case <-deadline:
			t.Fatal("no event heard within 10s")
		}
	}
}

func dumpJSON(t *testing.T, s store.Store) []string {
	return dumpSiteJSON(t, s, "")
}

func dumpSiteJSON(t *testing.T, s store.Store, siteID string) []string {
	t.Helper()
	var out []string
	if err := s.Dump(ctx, siteID, func(r *store.Row) error {
		b, err := json.Marshal(r)
		out = append(out, string(b))
		return err
	}); err != nil {
		t.Fatalf("Dump: %v", err)
	}
	return out
}

func restoreFrom(rows []string) func() (*store.Row, error) {
	i := 0
	return func() (*store.Row, error) {
		if i == len(rows) {
			return nil, io.EOF
		}
		var r store.Row
		err := json.Unmarshal([]byte(rows[i]), &r)
		i++
		return &r, err
	}
}

func testDumpRestore(t *testing.T, a, b, c store.Store) {
	site1 := mustSite(t, a, "d1")
	site1.Guests, site1.Providers, site1.SSOSecret = comment.GuestsLogin, []string{}, "sso-secret"
	if err := a.UpdateSite(ctx, site1, nil); err != nil {
		t.Fatal(err)
	}
	mustSite(t, a, "d2")
	p := page("d1", "https://d1.example/p")
	parent := newComment("parent")
	parent.Created = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	mustPost(t, a, p, parent)
	// An imported reply can be older than its parent (clock skew): the
	// dump then lists it first, and restore must still accept it.
	reply := newComment("reply")
	reply.ParentID = parent.ID
	reply.Created = parent.Created.Add(-time.Hour)
	reply.Edited = parent.Created.Add(time.Hour)
	reply.Verdict = comment.Verdict{Layer: "rules", Score: 0.5, Reason: "r"}
	mustPost(t, a, p, reply)
	held := newComment("held")
	held.Status = comment.StatusPending
	mustPost(t, a, page("d2", "k"), held)
	if _, err := a.Like(ctx, parent.ID, "reader-1"); err != nil {
		t.Fatal(err)
	}
	// Webhooks and readers' subscriptions go along; the outbox does not.
	if err := a.CreateWebhook(ctx, &store.Webhook{ID: "h1", SiteID: "d1", URL: "https://hooks.example/in", Events: []string{store.EventCreated},
		Secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", Created: parent.Created}, nil); err != nil {
		t.Fatal(err)
	}
	sub := &store.Subscription{ID: "s1", Email: "amira@example.org", EmailKey: "k1", Scope: store.ScopeAll, Lang: "ar", Created: parent.Created, Confirmed: parent.Created}
	if err := a.CreateCommentSubscribed(ctx, p, newComment("subscribed"), sub, nil); err != nil {
		t.Fatal(err)
	}
	th, _ := a.Thread(ctx, "d1", p.Key)
	a.SetThreadClosed(ctx, th.ID, true)
	if err := a.SetAPIKeyHash(ctx, "d1", "0123abcd", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Secret(ctx, "signing", func() []byte { return []byte("s3cret") }); err != nil {
		t.Fatal(err)
	}
	// Readers' log-in state is not dumped.
	exp := time.Now().Add(time.Hour)
	if err := a.CreateSession(ctx, &auth.Session{ID: "sess", Identity: auth.Identity{Provider: "google", Subject: "1"}, SiteID: "d1", Created: exp, Expires: exp}); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(a.UseOnce(ctx, "once", exp), a.MarkEmailVerified(ctx, "email", exp),
		a.SaveAvatar(ctx, &store.Avatar{Key: "pic", ContentType: "image/png", Data: []byte{1}})); err != nil {
		t.Fatal(err)
	}
	dump := dumpJSON(t, a)
	if len(dump) != 2+2+4+1+2+1 {
		t.Fatalf("dump has %d rows:\n%s", len(dump), dump)
	}
	// Site settings are in it, with "no provider" apart from "every provider".
	for _, want := range []string{`"Guests":"login","Providers":[],"SSOSecret":"sso-secret"`, `"Guests":"name_email","Providers":null,"SSOSecret":""`} {
		if !strings.Contains(strings.Join(dump[:2], "\n"), want) {
			t.Fatalf("dumped sites lack %s:\n%s", want, dump[:2])
		}
	}

	// All or nothing: a bad row in the middle leaves the target empty.
	broken := append(append([]string{}, dump[:5]...), `{}`)
	if err := c.Restore(ctx, restoreFrom(broken)); err == nil {
		t.Fatal("restore with an empty row succeeded")
	}
	if n := len(dumpJSON(t, c)); n != 0 {
		t.Fatalf("failed restore left %d rows behind", n)
	}
	if err := b.Restore(ctx, restoreFrom(dump)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	again := dumpJSON(t, b)
	if fmt.Sprint(again) != fmt.Sprint(dump) {
		t.Fatalf("restored store differs:\n got %v\nwant %v", again, dump)
	}
	got, err := b.Secret(ctx, "signing", func() []byte { return []byte("other") })
	if err != nil || string(got) != "s3cret" {
		t.Fatalf("secret after restore = %q, %v", got, err)
	}
	if h, err := b.Webhook(ctx, "h1"); err != nil || h.Secret != "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0" || h.URL != "https://hooks.example/in" {
		t.Fatalf("webhook after restore = %+v, %v", h, err)
	}
	if got, err := b.Subscription(ctx, "s1"); err != nil || got.Email != "amira@example.org" || got.Confirmed.IsZero() || got.Lang != "ar" {
		t.Fatalf("subscription after restore = %+v, %v", got, err)
	}
	if _, err := b.Session(ctx, "sess"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("a session came along with the restore: %v", err)
	}
	if err := b.UseOnce(ctx, "once", exp); err != nil {
		t.Fatalf("a used key came along with the restore: %v", err)
	}
	if err := b.Restore(ctx, restoreFrom(dump)); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("restoring the same sites again = %v, want ErrConflict", err)
	}
	// One site's dump holds only its rows, and no server secrets.
	d2 := dumpSiteJSON(t, a, "d2")
	if len(d2) != 3 || !strings.Contains(d2[0], `"d2"`) || !strings.Contains(d2[2], `"held"`) {
		t.Fatalf("dump of site d2 = %v", d2)
	}
	d1 := dumpSiteJSON(t, a, "d1")
	if len(d1) != 1+1+3+1+2 {
		t.Fatalf("dump of site d1 has %d rows: %v", len(d1), d1)
	}
	if n := len(dumpJSON(t, b)); n != len(dump) {
		t.Fatalf("refused restore changed the store: %d rows", n)
	}
}

func testListComments(t *testing.T, s store.Store) {
	mustSite(t, s, "lc")
	mustSite(t, s, "lc2")
	base := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	var held []string
	for i := 0; i < 7; i++ {
		c := newComment(fmt.Sprint(i))
		c.Created = base.Add(time.Duration(i%4) * time.Minute) // ties in time are ordered by id
		if i%2 == 0 {
			c.Status = comment.StatusPending
		}
		mustPost(t, s, page("lc", fmt.Sprintf("p%d", i%3)), c)
		if i%2 == 0 {
			held = append(held, c.ID)
		}
	}
	mustPost(t, s, page("lc2", "x"), newComment("other site"))
	all, err := s.ListComments(ctx, store.ListFilter{SiteID: "lc"})
	if err != nil || len(all) != 7 {
		t.Fatalf("ListComments = %d, %v; want 7", len(all), err)
	}
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.Created.Before(b.Created) || (a.Created.Equal(b.Created) && a.ID < b.ID) {
			t.Fatalf("not newest first at %d: %v then %v", i, a.Created, b.Created)
		}
	}
	pending, _ := s.ListComments(ctx, store.ListFilter{SiteID: "lc", Status: comment.StatusPending})
	if len(pending) != len(held) {
		t.Fatalf("pending = %d, want %d", len(pending), len(held))
	}
	// Paging with Before visits every comment once.
	seen := map[string]bool{}
	var before *comment.Comment
	for page := 0; page < 10; page++ {
		got, err := s.ListComments(ctx, store.ListFilter{SiteID: "lc", Limit: 3, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			break
		}
		for _, c := range got {
			if seen[c.ID] {
				t.Fatalf("comment %s listed twice", c.ID)
			}
			seen[c.ID] = true
		}
		before = got[len(got)-1]
	}
	if len(seen) != 7 {
		t.Fatalf("paging saw %d comments, want 7", len(seen))
	}
}

func testEditComment(t *testing.T, s store.Store) {
	mustSite(t, s, "ed")
	c := mustPost(t, s, page("ed", "k"), newComment("before"))
	at := time.Date(2026, 6, 1, 10, 0, 0, 123, time.UTC)
	if err := s.EditComment(ctx, c.ID, "after", "<p>after</p>", at); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Comment(ctx, c.ID)
	if got.Markdown != "after" || got.HTML != "<p>after</p>" || !got.Edited.Equal(at) || got.Status != comment.StatusApproved {
		t.Fatalf("after edit: %+v", got)
	}
	evs, _ := s.Events(ctx, c.ThreadID, 0, 10)
	if len(evs) != 2 || evs[1].Kind != comment.EventUpdate {
		t.Fatalf("events after edit = %+v", evs)
	}
	if err := s.EditComment(ctx, "nope", "x", "x", at); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("EditComment(missing) = %v", err)
	}
}

func testSpamModel(t *testing.T, s store.Store) {
	mustSite(t, s, "sm")
	if _, err := s.SpamModel(ctx, "sm"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("SpamModel before saving = %v, want ErrNotFound", err)
	}
	for _, m := range [][]byte{{1, 2, 3}, {4, 0, 5, 6}} {
		if err := s.SaveSpamModel(ctx, "sm", m); err != nil {
			t.Fatal(err)
		}
		got, err := s.SpamModel(ctx, "sm")
		if err != nil || string(got) != string(m) {
			t.Fatalf("SpamModel = %v, %v; want %v", got, err, m)
		}
	}
	held := newComment("held")
	held.Status = comment.StatusPending
	mustPost(t, s, page("sm", "k"), held)
	if ok, err := s.AuthorApproved(ctx, "sm", held.Author.Email); err != nil || ok {
		t.Fatalf("AuthorApproved with only a held comment = %v, %v", ok, err)
	}
	mustPost(t, s, page("sm", "k"), newComment("approved"))
	if ok, _ := s.AuthorApproved(ctx, "sm", held.Author.Email); !ok {
		t.Fatal("AuthorApproved after an approved comment = false")
	}
	if ok, _ := s.AuthorApproved(ctx, "sm", "someone@else.example"); ok {
		t.Fatal("AuthorApproved for a stranger = true")
	}
	// Logged-in readers are known by their identity.
	for i, st := range []comment.Status{comment.StatusPending, comment.StatusApproved} {
		c := newComment(fmt.Sprintf("by github %d", i))
		c.Author.Identity, c.Status = "github:583231", st
		if ok, err := s.IdentityApproved(ctx, "sm", "github:583231"); err != nil || ok {
			t.Fatalf("IdentityApproved before an approved comment = %v, %v", ok, err)
		}
		mustPost(t, s, page("sm", "k"), c)
	}
	if ok, err := s.IdentityApproved(ctx, "sm", "github:583231"); err != nil || !ok {
		t.Fatalf("IdentityApproved after an approved comment = %v, %v", ok, err)
	}
	for _, id := range []string{"github:58323", "google:583231", ""} {
		if ok, _ := s.IdentityApproved(ctx, "sm", id); ok {
			t.Errorf("IdentityApproved(%q) = true", id)
		}
	}
	if ok, _ := s.IdentityApproved(ctx, "other-site", "github:583231"); ok {
		t.Error("IdentityApproved on another site = true")
	}
	if err := s.SaveSpamModel(ctx, "no-such-site", []byte{1}); err == nil {
		t.Fatal("saved a model for a missing site")
	}
}

func testAPIKeys(t *testing.T, s store.Store) {
	mustSite(t, s, "k1")
	mustSite(t, s, "k2")
	if _, err := s.SiteByAPIKeyHash(ctx, "h1"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("lookup before any key = %v", err)
	}
	if err := s.SetAPIKeyHash(ctx, "k1", "h1", nil); err != nil {
		t.Fatal(err)
	}
	if site, err := s.SiteByAPIKeyHash(ctx, "h1"); err != nil || site.ID != "k1" {
		t.Fatalf("lookup = %v, %v", site, err)
	}
	if err := s.SetAPIKeyHash(ctx, "k2", "h1", nil); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("a second site with the same key hash = %v, want ErrConflict", err)
	}
	if err := s.SetAPIKeyHash(ctx, "k1", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SiteByAPIKeyHash(ctx, "h1"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("lookup after removing the key = %v", err)
	}
	if err := s.SetAPIKeyHash(ctx, "nope", "h2", nil); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("key for a missing site = %v", err)
	}
}

func testImport(t *testing.T, s store.Store) {
	mustSite(t, s, "im")
	existing := mustPost(t, s, page("im", "https://im.example/a"), newComment("posted here before the import"))
	at := time.Date(2019, 5, 6, 7, 8, 9, 0, time.UTC)
	imp := func(id, thread, parent string, st comment.Status) *store.Row {
		c := newComment("imported " + id)
		c.ID, c.ThreadID, c.ParentID, c.Status, c.Created = id, thread, parent, st, at
		return &store.Row{Comment: c}
	}
	rows := []*store.Row{
		{Thread: &comment.Thread{ID: "it1", Key: "https://im.example/a", URL: "https://im.example/a", Title: "ignored: the thread exists", Created: at}},
		imp("ic-reply", "https://im.example/a", "ic-parent", comment.StatusApproved), // before its parent
		imp("ic-parent", "https://im.example/a", "", comment.StatusApproved),
		imp("ic-orphan", "https://im.example/a", "ic-gone", comment.StatusApproved),
		imp("ic-held", "https://im.example/a", "", comment.StatusPending),
		imp("ic-new-page", "https://im.example/b", "", comment.StatusApproved), // thread not listed: made from the key
	}
	feed := func(rows []*store.Row) func() (*store.Row, error) {
		i := 0
		return func() (*store.Row, error) {
			if i == len(rows) {
				return nil, io.EOF
			}
			i++
			return rows[i-1], nil
		}
	}
	n, err := s.Import(ctx, "im", feed(rows))
	if err != nil {
		t.Fatal(err)
	}
	if n != (store.ImportCounts{Threads: 1, Comments: 5, Existing: 0, Orphans: 1}) {
		t.Fatalf("first import = %+v", n)
	}
	th, _ := s.Thread(ctx, "im", "https://im.example/a")
	if th.ID != existing.ThreadID || th.Title == "ignored: the thread exists" {
		t.Fatalf("the existing thread was replaced: %+v", th)
	}
	reply, _ := s.Comment(ctx, "ic-reply")
	orphan, _ := s.Comment(ctx, "ic-orphan")
	if reply.ParentID != "ic-parent" || reply.ThreadID != th.ID || orphan.ParentID != "" || !reply.Created.Equal(at) {
		t.Fatalf("reply %+v, orphan %+v", reply, orphan)
	}
	counts, _ := s.Counts(ctx, "im", []string{"https://im.example/a", "https://im.example/b"})
	if counts["https://im.example/a"] != 4 || counts["https://im.example/b"] != 1 {
		t.Fatalf("counts after import = %v", counts)
	}
	// Importing the same rows again adds nothing.
	n, err = s.Import(ctx, "im", feed(rows))
	if err != nil || n != (store.ImportCounts{Existing: 5}) {
		t.Fatalf("second import = %+v, %v", n, err)
	}
	// A bad row rolls the whole import back.
	bad := []*store.Row{imp("ic-x", "https://im.example/c", "", comment.StatusApproved), {}}
	if _, err := s.Import(ctx, "im", feed(bad)); err == nil {
		t.Fatal("import with an empty row succeeded")
	}
	if _, err := s.Comment(ctx, "ic-x"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("failed import left a comment behind: %v", err)
	}
}
