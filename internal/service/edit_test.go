package service

import (
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
)

// TestEdit_ModeratedSiteHoldsItAgain: on a site that holds every
// comment, an author who rewrites their approved comment within the edit
// window does not publish text nobody reviewed: the comment is held again
// (hidden from readers, text and verdict stored together) until a
// moderator approves it, and editing a held comment never publishes it.
func TestEdit_ModeratedSiteHoldsItAgain(t *testing.T) {
	s := newService(t, Options{})
	site, _ := s.Site(ctx, "news")
	w := *site
	w.Moderation, w.EditWindow = comment.ModerateAll, time.Hour
	if err := s.UpdateSite(ctx, OperatorActor(), &w); err != nil {
		t.Fatal(err)
	}
	me := s.NewReader()
	c, err := s.Post(ctx, draft("The council approved the new bus lanes."), Meta{Reader: me})
	if err != nil || c.Status != comment.StatusPending {
		t.Fatalf("post on a moderated site = %+v, %v; want it held", c, err)
	}
	if _, err := s.Decide(ctx, OperatorActor(), "news", []string{c.ID}, Approve); err != nil {
		t.Fatal(err)
	}
	e, err := s.Edit(ctx, "news", c.ID, "Buy cheap watches at my shop.", Meta{Reader: me})
	if err != nil || e.Status != comment.StatusPending {
		t.Fatalf("edit of an approved comment = %+v, %v; want it held again", e, err)
	}
	stored, _ := s.store.Comment(ctx, c.ID)
	if stored.Status != comment.StatusPending || stored.Markdown != "Buy cheap watches at my shop." ||
		stored.Verdict.Layer != "moderation" || !strings.HasPrefix(stored.Verdict.Reason, "edited after it was published") {
		t.Fatalf("stored after the edit: status %s, text %q, verdict %+v", stored.Status, stored.Markdown, stored.Verdict)
	}
	th, _ := s.Thread(ctx, "news", "https://news.example/a", comment.SortOldest)
	if th.Total != 0 {
		t.Fatalf("readers still see %d comments; the edited one must be hidden until approved", th.Total)
	}
	// Editing it again while held keeps it held.
	if e, err := s.Edit(ctx, "news", c.ID, "Sorry, wrong window.", Meta{Reader: me}); err != nil || e.Status != comment.StatusPending {
		t.Fatalf("edit of a held comment = %+v, %v; want it still held", e, err)
	}
	// Approved again, the new text is what readers see.
	if _, err := s.Decide(ctx, OperatorActor(), "news", []string{c.ID}, Approve); err != nil {
		t.Fatal(err)
	}
	th, _ = s.Thread(ctx, "news", "https://news.example/a", comment.SortOldest)
	if th.Total != 1 || th.Comments[0].Markdown != "Sorry, wrong window." {
		t.Fatalf("after approval the thread shows %+v", th.Comments)
	}
}

// TestEdit_SameChecksAsNew: on a site with first-comment moderation, an
// edit is judged as a new comment by the same author would be (known by
// this approved comment, so published), and an unchanged text is not
// judged at all.
func TestEdit_SameChecksAsNew(t *testing.T) {
	s := newService(t, Options{})
	site, _ := s.Site(ctx, "news")
	w := *site
	w.Moderation, w.EditWindow = comment.ModerateFirst, time.Hour
	s.UpdateSite(ctx, OperatorActor(), &w)
	me := s.NewReader()
	c, _ := s.Post(ctx, draft("First time here."), Meta{Reader: me})
	if c.Status != comment.StatusPending {
		t.Fatalf("first comment = %s, want held", c.Status)
	}
	s.Decide(ctx, OperatorActor(), "news", []string{c.ID}, Approve)
	if e, err := s.Edit(ctx, "news", c.ID, "First time here, and glad of it.", Meta{Reader: me}); err != nil || e.Status != comment.StatusApproved {
		t.Fatalf("edit by a known author = %+v, %v; want it published", e, err)
	}
	if e, err := s.Edit(ctx, "news", c.ID, "First time here, and glad of it.", Meta{Reader: me}); err != nil || e.Status != comment.StatusApproved {
		t.Fatalf("unchanged edit = %+v, %v", e, err)
	}
}
