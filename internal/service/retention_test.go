package service

import (
	"errors"
	"testing"
	"time"

	"parley/internal/comment"
)

// TestRetention_BanFromReducedComment: once a comment's address hash is
// reduced to its network's (the retention job), a ban made from it still
// holds — for the whole /24 — and nothing else.
func TestRetention_BanFromReducedComment(t *testing.T) {
	s, clk, mod, _ := communityService(t)
	c, err := postBy(s, "a", "Guest", "guest@example.org", "From a shared network", "203.0.113.5")
	if err != nil {
		t.Fatal(err)
	}
	if c.IPHash == "" || c.IPNet == "" || c.IPHash == c.IPNet {
		t.Fatalf("hashes %q, %q: want the address's and the network's", c.IPHash, c.IPNet)
	}
	if same, _ := postBy(s, "b", "Other", "other@example.org", "Same network", "203.0.113.200"); same.IPNet != c.IPNet || same.IPHash == c.IPHash {
		t.Fatalf("a neighbour's hashes %q, %q", same.IPHash, same.IPNet)
	}
	clk.add(31 * 24 * time.Hour)
	if n, err := s.store.ReduceClientData(ctx, "news", clk.now().Add(-s.IPRetention(&comment.Site{})), 0); err != nil || n != 2 {
		t.Fatalf("ReduceClientData = %d, %v", n, err)
	}
	if _, err := s.AddSanction(ctx, mod, "news", NewSanction{Kind: comment.SanctionBan, FromComment: c.ID, Match: comment.MatchIPHash}); err != nil {
		t.Fatal(err)
	}
	for ip, banned := range map[string]bool{"203.0.113.5": true, "203.0.113.99": true, "203.0.114.5": false, "198.51.100.7": false} {
		_, err := postBy(s, "c", "Someone", "someone@example.org", "Hello from "+ip, ip)
		if got := errors.As(err, new(*comment.BannedError)); got != banned {
			t.Errorf("post from %s: %v, banned %v, want %v", ip, err, got, banned)
		}
	}
}
