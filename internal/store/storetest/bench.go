package storetest

import (
	"fmt"
	"io"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/store"
)

// BenchThreadRead measures reading one 200-comment thread (the thread
// row, its change-log position and its comments) from a store that holds
// total comments in all, so runs at different totals show whether the
// cost grows with the database or only with the thread.
func BenchThreadRead(b *testing.B, s store.Store, total int) {
	const perThread = 200
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	site := &comment.Site{ID: "bench", Name: "Bench", Origins: []string{"https://bench.example"}, MaxDepth: 5, Moderation: comment.ModerateNone, Created: start}
	threads := (total + perThread - 1) / perThread
	ti, ci := 0, 0
	var pending []*store.Row
	next := func() (*store.Row, error) {
		for len(pending) == 0 {
			switch {
			case site != nil:
				pending = append(pending, &store.Row{Site: site})
				site = nil
			case ti < threads:
				t := &comment.Thread{ID: fmt.Sprintf("t%07d", ti), SiteID: "bench", Key: fmt.Sprintf("https://bench.example/%d", ti), URL: fmt.Sprintf("https://bench.example/%d", ti), Created: start}
				pending = append(pending, &store.Row{Thread: t})
				for j := 0; j < perThread && ci < total; j++ {
					c := &comment.Comment{ID: fmt.Sprintf("c%09d", ci), SiteID: "bench", ThreadID: t.ID,
						Author:   comment.Author{Name: "Reader", Email: "r@example.org"},
						Markdown: "An ordinary comment of a realistic length, with a few sentences in it.",
						HTML:     "<p>An ordinary comment of a realistic length, with a few sentences in it.</p>",
						Status:   comment.StatusApproved, Created: start.Add(time.Duration(ci) * time.Second)}
					if j%3 == 2 {
						c.ParentID = fmt.Sprintf("c%09d", ci-1)
					}
					pending = append(pending, &store.Row{Comment: c})
					ci++
				}
				ti++
			default:
				return nil, io.EOF
			}
		}
		r := pending[0]
		pending = pending[1:]
		return r, nil
	}
	if err := s.Restore(ctx, next); err != nil {
		b.Fatal(err)
	}
	// Read a thread in the middle of the database.
	key := fmt.Sprintf("https://bench.example/%d", threads/2)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		th, err := s.Thread(ctx, "bench", key)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.LastEvent(ctx, th.ID); err != nil {
			b.Fatal(err)
		}
		cs, err := s.ThreadComments(ctx, th.ID, comment.StatusApproved)
		if err != nil || len(cs) != perThread {
			b.Fatalf("read %d comments, %v", len(cs), err)
		}
	}
}
