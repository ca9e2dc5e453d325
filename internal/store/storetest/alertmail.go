package storetest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
	"parley/internal/store"
)

// alertMailTests cover what the emails of the community controls need:
// a surge alert's outbox event, decisions' events that tell held
// comments' authors, held comments' languages and stopped addresses.
var alertMailTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"surge alert in the outbox", testSurgeOutbox},
	{"decision events tell held authors", testDecisionEvents},
	{"held comments' languages", testHeldLangs},
	{"decision emails stopped", testDecisionMailStops},
}

// eventPayload is an outbox event's payload, all fields.
type eventPayload struct {
	Event, Comment, Status, Reason string
	Alert                          int64
	Held                           bool
}

func pendingEvents(t *testing.T, s store.Store) []eventPayload {
	t.Helper()
	evs, err := s.PendingEvents(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]eventPayload, len(evs))
	for i, e := range evs {
		if err := json.Unmarshal([]byte(e.Payload), &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func testSurgeOutbox(t *testing.T, s store.Store) {
	cs := communityComments(t, s)
	before := len(pendingEvents(t, s))
	th := cs["c1"].ThreadID
	a := &comment.Alert{SiteID: "a", Kind: "surge", ThreadID: th, Rate: 70, Threshold: 60, Action: comment.SurgeHold, Until: t0.Add(30 * time.Minute)}
	audit := &staff.AuditEntry{SiteID: "a", ActorKind: staff.ActorSystem, ActorName: "surge guard", Action: "page.surge", Target: "thread:" + th}
	if ok, err := s.StartSurge(ctx, a, t0, audit); err != nil || !ok {
		t.Fatalf("StartSurge = %v, %v", ok, err)
	}
	// The guard is on: another instance's start writes nothing more.
	if ok, err := s.StartSurge(ctx, &comment.Alert{SiteID: "a", Kind: "surge", ThreadID: th, Until: t0.Add(time.Hour)}, t0.Add(time.Minute), nil); err != nil || ok {
		t.Fatalf("second StartSurge = %v, %v", ok, err)
	}
	evs := pendingEvents(t, s)
	if len(evs) != before+1 {
		t.Fatalf("%d events after the surge, want %d", len(evs), before+1)
	}
	if got := evs[len(evs)-1]; got.Event != store.EventSurge || got.Alert != a.ID || got.Comment != "" {
		t.Fatalf("surge event %+v (alert %d)", got, a.ID)
	}
	if a.Delivered.IsZero() {
		t.Fatal("the alert is not marked handed to the outbox")
	}
	got, err := s.AlertsByID(ctx, []int64{a.ID, a.ID + 1000})
	if err != nil || len(got) != 1 {
		t.Fatalf("AlertsByID = %+v, %v", got, err)
	}
	if g := got[a.ID]; g.SiteID != "a" || g.ThreadID != th || g.Rate != 70 || g.Threshold != 60 || g.Action != comment.SurgeHold ||
		!g.Until.Equal(a.Until) || g.PageURL != "https://a.example/1" || g.Delivered.IsZero() {
		t.Fatalf("alert read back = %+v", g)
	}
	if list, err := s.Alerts(ctx, "a", true, 10); err != nil || len(list) != 1 || list[0].Delivered.IsZero() {
		t.Fatalf("Alerts = %+v, %v", list, err)
	}
}

func testDecisionEvents(t *testing.T, s store.Store) {
	communityComments(t, s)
	held := func(id string) {
		c := newComment("held " + id)
		c.ID, c.Status, c.Author.Email = id, comment.StatusPending, id+"@example.org"
		mustPost(t, s, page("a", "https://a.example/9"), c)
	}
	for _, id := range []string{"h1", "h2", "h3", "h4", "h5"} {
		held(id)
	}
	skip := len(pendingEvents(t, s))
	reject := entry("a", "comment.delete")
	reject.After = `{"status":"deleted","reason":"Off topic"}`
	if _, err := s.Moderate(ctx, "a", []string{"h1"}, comment.StatusDeleted, reject); err != nil {
		t.Fatal(err)
	}
	// Approved with a spam comment: only the held one's author is told.
	if _, err := s.Moderate(ctx, "a", []string{"h2", "c3"}, comment.StatusApproved, entry("a", "comment.approve")); err != nil {
		t.Fatal(err)
	}
	// By query, as the desk's "all matching" does.
	if _, _, err := s.ModerateMatching(ctx, store.CommentFilter{SiteID: "a", IDs: []string{"h3"}}, comment.StatusApproved, entry("a", "comment.approve")); err != nil {
		t.Fatal(err)
	}
	// Not a staff member's decision: nobody is told.
	if _, err := s.Moderate(ctx, "a", []string{"h4"}, comment.StatusApproved, nil); err != nil {
		t.Fatal(err)
	}
	sn := &comment.Sanction{ID: "b1", SiteID: "a", Kind: comment.SanctionBan, Match: comment.MatchEmail, Value: "h5@example.org", Created: t0}
	if err := s.AddSanction(ctx, sn, &store.SanctionTarget{Email: "h5@example.org"}, entry("a", "sanction.add")); err != nil {
		t.Fatal(err)
	}
	evs := pendingEvents(t, s)[skip:]
	want := map[string]eventPayload{
		"h1": {Event: store.EventDeleted, Comment: "h1", Status: "deleted", Held: true, Reason: "Off topic"},
		"c3": {Event: store.EventApproved, Comment: "c3", Status: "approved"},
		"h2": {Event: store.EventApproved, Comment: "h2", Status: "approved", Held: true},
		"h3": {Event: store.EventApproved, Comment: "h3", Status: "approved", Held: true},
		"h4": {Event: store.EventApproved, Comment: "h4", Status: "approved"},
		"h5": {Event: store.EventDeleted, Comment: "h5", Status: "deleted"},
	}
	if len(evs) != len(want) {
		t.Fatalf("events %+v\nwant %+v", evs, want)
	}
	for _, e := range evs {
		if e != want[e.Comment] {
			t.Errorf("event %+v, want %+v", e, want[e.Comment])
		}
	}
}

func testHeldLangs(t *testing.T, s store.Store) {
	communityComments(t, s) // c2 is held, c5 published
	if err := s.SetHeldLang(ctx, "c2", "fr", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetHeldLang(ctx, "c2", "de", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetHeldLang(ctx, "c5", "ar", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetHeldLang(ctx, "nope", "ar", t0); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("a language for no comment: %v", err)
	}
	got, err := s.HeldLangs(ctx, []string{"c2", "c5", "c1"})
	if err != nil || len(got) != 2 || got["c2"] != "de" || got["c5"] != "ar" {
		t.Fatalf("HeldLangs = %v, %v", got, err)
	}
	// c5 is published, c2 still held: only c5's goes, and only once
	// older than the cut.
	if n, err := s.PruneHeldLangs(ctx, t0); err != nil || n != 0 {
		t.Fatalf("prune before anything = %d, %v", n, err)
	}
	if n, err := s.PruneHeldLangs(ctx, t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("prune = %d, %v", n, err)
	}
	if got, _ := s.HeldLangs(ctx, []string{"c2", "c5"}); len(got) != 1 || got["c2"] != "de" {
		t.Fatalf("after pruning = %v", got)
	}
}

func testDecisionMailStops(t *testing.T, s store.Store) {
	mustSite(t, s, "a")
	mustSite(t, s, "b")
	if stopped, err := s.DecisionMailStopped(ctx, "a", "k1"); err != nil || stopped {
		t.Fatalf("before = %v, %v", stopped, err)
	}
	for range 2 { // twice: the same
		if err := s.SetDecisionMail(ctx, "a", "k1", true, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetDecisionMail(ctx, "nope", "k1", true, t0); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("a missing site: %v", err)
	}
	for _, c := range []struct {
		site, key string
		want      bool
	}{{"a", "k1", true}, {"b", "k1", false}, {"a", "k2", false}} {
		if got, err := s.DecisionMailStopped(ctx, c.site, c.key); err != nil || got != c.want {
			t.Errorf("%s %s = %v, %v", c.site, c.key, got, err)
		}
	}
	if err := s.SetDecisionMail(ctx, "a", "k1", false, t0); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.DecisionMailStopped(ctx, "a", "k1"); got {
		t.Fatal("still stopped after resuming")
	}
}

// testDecisionStopsDump: a dump carries the stopped decision emails, and
// a restore brings them back.
func testDecisionStopsDump(t *testing.T, a, b store.Store) {
	mustSite(t, a, "a")
	if err := a.SetDecisionMail(ctx, "a", "0123456789abcdef0123456789abcdef", true, t0); err != nil {
		t.Fatal(err)
	}
	dump := dumpSiteJSON(t, a, "a")
	if len(dump) != 2 || !strings.Contains(dump[1], `"decision_stop":{"site":"a","email_key":"0123456789abcdef0123456789abcdef"`) {
		t.Fatalf("dump:\n%s", strings.Join(dump, "\n"))
	}
	if err := b.Restore(ctx, restoreFrom(dump)); err != nil {
		t.Fatal(err)
	}
	if stopped, err := b.DecisionMailStopped(ctx, "a", "0123456789abcdef0123456789abcdef"); err != nil || !stopped {
		t.Fatalf("after restoring: %v, %v", stopped, err)
	}
}
