package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/store"
)

// testPostersHangingUp has eight posters write at once while every other
// post's caller gives up (its context is cancelled) at a random moment,
// as a reader closing the tab mid-post does. A write is a promise to its
// own caller only: no honest poster may fail because another hung up,
// a write that returned nil must be stored exactly once, and one that
// returned an error must not be stored at all.
func testPostersHangingUp(t *testing.T, s store.Store) {
	mustSite(t, s, "hu")
	const writers, each = 8, 40
	type result struct {
		id     string
		err    error
		hungUp bool
	}
	results := make(chan result, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				c := newComment(fmt.Sprintf("poster %d, post %d", w, i))
				c.ID = comment.NewID(time.Now())
				pctx, cancel := context.WithCancel(ctx)
				hangUp := i%2 == 0
				if hangUp {
					// A long comment keeps its statements running long
					// enough to be cut off in the middle.
					c.Markdown = strings.Repeat("A long comment. ", 1<<15)
					c.HTML = "<p>" + c.Markdown + "</p>"
					time.AfterFunc(time.Duration(rand.IntN(3000))*time.Microsecond, cancel)
				}
				err := s.CreateComment(pctx, page("hu", fmt.Sprintf("page-%d", i%3)), c)
				cancel()
				results <- result{c.ID, err, hangUp}
			}
		})
	}
	wg.Wait()
	close(results)
	stored := map[string]int{}
	for _, key := range []string{"page-0", "page-1", "page-2"} {
		th, err := s.Thread(ctx, "hu", key)
		if err != nil {
			t.Fatalf("Thread(%s): %v", key, err)
		}
		cs, err := s.ThreadComments(ctx, th.ID, comment.StatusApproved)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			stored[c.ID]++
		}
	}
	var honest, acked, refused int
	for r := range results {
		switch {
		case r.err == nil:
			acked++
			if stored[r.id] != 1 {
				t.Errorf("post %s was acknowledged but is stored %d times", r.id, stored[r.id])
			}
		case !r.hungUp:
			honest++
			t.Errorf("an honest poster got %v", r.err)
		default:
			refused++
			if !errors.Is(r.err, context.Canceled) {
				t.Errorf("a poster who hung up got %v, want context.Canceled", r.err)
			}
			if stored[r.id] != 0 {
				t.Errorf("post %s failed (%v) but is stored", r.id, r.err)
			}
		}
	}
	t.Logf("%d acknowledged, %d given up by their posters, %d honest posts failed", acked, refused, honest)
}

// testPostKeys: a comment stored with a post key is found by it, and a
// second comment with the same key on the same site is refused without
// being stored; PruneEvents forgets old keys.
func testPostKeys(t *testing.T, s store.Store) {
	mustSite(t, s, "pk")
	mustSite(t, s, "pk2")
	first := newComment("once")
	first.PostKey = "k1"
	mustPost(t, s, page("pk", "p"), first)
	got, err := s.PostedComment(ctx, "pk", "k1")
	if err != nil || got.ID != first.ID || got.Markdown != "once" {
		t.Fatalf("PostedComment = %+v, %v; want %s", got, err, first.ID)
	}
	again := newComment("once")
	again.PostKey = "k1"
	if err := s.CreateComment(ctx, page("pk", "p"), again); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("second post with the key = %v, want ErrConflict", err)
	}
	th, _ := s.Thread(ctx, "pk", "p")
	if cs, _ := s.ThreadComments(ctx, th.ID, comment.StatusApproved); len(cs) != 1 {
		t.Fatalf("the thread holds %d comments, want 1", len(cs))
	}
	// Keys belong to their site.
	other := newComment("once")
	other.PostKey = "k1"
	mustPost(t, s, page("pk2", "p"), other)
	if _, err := s.PostedComment(ctx, "pk", "k2"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("PostedComment(unknown key) = %v, want ErrNotFound", err)
	}
	if err := s.PruneEvents(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PostedComment(ctx, "pk", "k1"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("PostedComment after pruning = %v, want ErrNotFound", err)
	}
	if _, err := s.Comment(ctx, first.ID); err != nil {
		t.Fatalf("pruning the key lost the comment: %v", err)
	}
}
