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
