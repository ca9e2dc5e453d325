package storetest

import (
	"fmt"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/store"
)

// retentionTests are the suite's tests of what the retention job forgets.
var retentionTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"site ip retention", testSiteIPRetention},
	{"reduce client data", testReduceClientData},
	{"prune events", testPruneEvents},
}

// testPruneEvents: the events before the cut go, those at or after it
// stay (a reader resuming live updates gets them), and a cut after the
// last event empties the table without breaking the next event's id.
func testPruneEvents(t *testing.T, s store.Store) {
	mustSite(t, s, "a")
	page := comment.Page{SiteID: "a", Key: "https://a.example/p"}
	post := func(id string) *comment.Comment {
		t.Helper()
		c := &comment.Comment{ID: id, Author: comment.Author{Name: "Ana"}, Markdown: "hi", HTML: "<p>hi</p>", Status: comment.StatusApproved}
		if err := s.CreateComment(ctx, page, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	events := func() []string {
		t.Helper()
		th, err := s.Thread(ctx, page.SiteID, page.Key)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := s.Events(ctx, th.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, ev := range evs {
			ids = append(ids, ev.CommentID)
		}
		return ids
	}
	post("e1")
	post("e2")
	time.Sleep(5 * time.Millisecond)
	cut := time.Now()
	time.Sleep(5 * time.Millisecond)
	post("e3")
	post("e4")
	if err := s.PruneEvents(ctx, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(events()); got != "[e1 e2 e3 e4]" {
		t.Fatalf("after a cut before every event: %s, want all four", got)
	}
	if err := s.PruneEvents(ctx, cut); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(events()); got != "[e3 e4]" {
		t.Fatalf("after the cut between e2 and e3: %s, want [e3 e4]", got)
	}
	if err := s.PruneEvents(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := events(); len(got) != 0 {
		t.Fatalf("after a cut after every event: %v, want none", got)
	}
	post("e5")
	if got := fmt.Sprint(events()); got != "[e5]" {
		t.Fatalf("a new event after pruning all: %s, want [e5]", got)
	}
}

func testSiteIPRetention(t *testing.T, s store.Store) {
	site := mustSite(t, s, "a")
	if got, _ := s.Site(ctx, "a"); got.IPRetention != 0 {
		t.Fatalf("a new site's IPRetention = %v, want 0 (the server's)", got.IPRetention)
	}
	site.IPRetention = 36 * time.Hour
	if err := s.UpdateSite(ctx, site, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Site(ctx, "a"); got.IPRetention != 36*time.Hour {
		t.Fatalf("IPRetention = %v, want 36h", got.IPRetention)
	}
}

func testReduceClientData(t *testing.T, s store.Store) {
	mustSite(t, s, "a")
	mustSite(t, s, "b")
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	post := func(site, id string, created time.Time, ip, net, ua string) {
		t.Helper()
		c := &comment.Comment{ID: id, Author: comment.Author{Name: "Ana"}, Markdown: "hi", HTML: "<p>hi</p>",
			Status: comment.StatusApproved, Created: created, IPHash: ip, IPNet: net, UserAgent: ua}
		if err := s.CreateComment(ctx, comment.Page{SiteID: site, Key: "https://" + site + ".example/p"}, c); err != nil {
			t.Fatal(err)
		}
	}
	// Old enough: five on a, reduced in batches of two.
	for i := range 5 {
		post("a", fmt.Sprint("old", i), t0.Add(-time.Duration(i+1)*time.Hour), "addr", "net", "Mozilla/5.0")
	}
	post("a", "nonet", t0.Add(-time.Hour), "addr", "", "")           // from before ip_net: erased outright
	post("a", "agent", t0.Add(-time.Hour), "", "", "curl/8")         // an imported one with only an agent
	post("a", "young", t0, "addr", "net", "Mozilla/5.0")             // not before the cut
	post("b", "other", t0.Add(-time.Hour), "addr", "net", "Mozilla") // another site
	n, err := s.ReduceClientData(ctx, "a", t0, 2)
	if err != nil || n != 7 {
		t.Fatalf("ReduceClientData = %d, %v; want 7", n, err)
	}
	want := map[string][2]string{"old0": {"net", ""}, "old4": {"net", ""}, "nonet": {"", ""}, "agent": {"", ""},
		"young": {"addr", "Mozilla/5.0"}, "other": {"addr", "Mozilla"}}
	for id, w := range want {
		c, err := s.Comment(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.IPHash != w[0] || c.UserAgent != w[1] {
			t.Errorf("%s: ip hash %q, agent %q; want %q, %q", id, c.IPHash, c.UserAgent, w[0], w[1])
		}
		if c.Markdown != "hi" || c.Author.Name != "Ana" {
			t.Errorf("%s lost more than its client data: %+v", id, c)
		}
	}
	if n, err := s.ReduceClientData(ctx, "a", t0, 2); err != nil || n != 0 {
		t.Fatalf("ReduceClientData again = %d, %v; want 0", n, err)
	}
}
