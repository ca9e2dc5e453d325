package storetest

import (
	"errors"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/store"
)

// testReviseComment: an author's edit stores text, status and verdict in
// one step, and readers are told what they need: an update while the
// comment stays approved, a removal when the edit is held.
func testReviseComment(t *testing.T, s store.Store) {
	mustSite(t, s, "rv")
	c := mustPost(t, s, page("rv", "k"), newComment("before"))
	at := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	c.Markdown, c.HTML, c.Edited = "after", "<p>after</p>", at
	if err := s.ReviseComment(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Markdown, c.HTML, c.Edited = "held", "<p>held</p>", at.Add(time.Minute)
	c.Status, c.Verdict = comment.StatusPending, comment.Verdict{Layer: "moderation", Reason: "edited after it was published"}
	if err := s.ReviseComment(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Comment(ctx, c.ID)
	if got.Markdown != "held" || got.HTML != "<p>held</p>" || !got.Edited.Equal(c.Edited) || got.Status != comment.StatusPending || got.Verdict.Layer != c.Verdict.Layer || got.Verdict.Reason != c.Verdict.Reason {
		t.Fatalf("after the held edit: %+v", got)
	}
	evs, _ := s.Events(ctx, c.ThreadID, 0, 10)
	if len(evs) != 3 || evs[1].Kind != comment.EventUpdate || evs[2].Kind != comment.EventRemove {
		t.Fatalf("events = %+v; want new, update, remove", evs)
	}
	if err := s.ReviseComment(ctx, &comment.Comment{ID: "nope", Status: comment.StatusApproved}); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("ReviseComment(missing) = %v", err)
	}
}
