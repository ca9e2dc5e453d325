package storetest

import (
	"context"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/store"
)

// testLikesAnnounced: a like is announced to every listener as
// comment.EventLikes, with no change-log id, and is not kept in the
// change log (a flood of likes must not push the comments out of it).
func testLikesAnnounced(t *testing.T, s store.Store) {
	mustSite(t, s, "la")
	c := mustPost(t, s, page("la", "k"), newComment("liked"))
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan comment.Event, 16)
	ready := make(chan struct{}, 1)
	go s.Listen(lctx, func(ev comment.Event) {
		if ev.SiteID == "la" { // other tests share a PostgreSQL channel
			got <- ev
		}
	}, func() { ready <- struct{}{} })
	<-ready
	if _, err := s.Like(ctx, c.ID, "r1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unlike(ctx, c.ID, "r1"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case ev := <-got:
			if ev.Kind != comment.EventLikes || ev.CommentID != c.ID || ev.ThreadID != c.ThreadID || ev.PageKey != "k" || ev.ID != 0 {
				t.Fatalf("heard %+v, want a likes event of %s without an id", ev, c.ID)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no likes event heard within 10s")
		}
	}
	evs, _ := s.Events(ctx, c.ThreadID, 0, 100)
	if len(evs) != 1 || evs[0].Kind != comment.EventNew {
		t.Fatalf("change log = %+v, want only the new comment", evs)
	}
}
