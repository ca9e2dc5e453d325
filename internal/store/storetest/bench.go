package storetest

import (
	"fmt"
	"io"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
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
	restore(b, s, []*store.Row{{Site: site}}, func() []*store.Row {
		if ti == threads {
			return nil
		}
		t := &comment.Thread{ID: fmt.Sprintf("t%07d", ti), SiteID: "bench", Key: fmt.Sprintf("https://bench.example/%d", ti), URL: fmt.Sprintf("https://bench.example/%d", ti), Created: start}
		rows := []*store.Row{{Thread: t}}
		for j := 0; j < perThread && ci < total; j++ {
			c := &comment.Comment{ID: fmt.Sprintf("c%09d", ci), SiteID: "bench", ThreadID: t.ID,
				Author:   comment.Author{Name: "Reader", Email: "r@example.org"},
				Markdown: "An ordinary comment of a realistic length, with a few sentences in it.",
				HTML:     "<p>An ordinary comment of a realistic length, with a few sentences in it.</p>",
				Status:   comment.StatusApproved, Created: start.Add(time.Duration(ci) * time.Second)}
			if j%3 == 2 {
				c.ParentID = fmt.Sprintf("c%09d", ci-1)
			}
			rows = append(rows, &store.Row{Comment: c})
			ci++
		}
		ti++
		return rows
	})
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

// WaveIP is the address hash of FillQueue's spam wave.
const WaveIP = "00ee00ee00ee"

// FillQueue stores total pending comments on site "bench" (made here),
// newest last, over 100 articles: every 100th from the address hash
// WaveIP with the word "casinowave", the rest from 5,000 other
// addresses and authors. It returns the id of an article's thread.
func FillQueue(tb testing.TB, s store.Store, total int) string {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	site := &comment.Site{ID: "bench", Name: "Bench", Origins: []string{"https://bench.example"}, MaxDepth: 5, Moderation: comment.ModerateAll, Created: start}
	rows := []*store.Row{{Site: site}}
	for t := range 100 {
		rows = append(rows, &store.Row{Thread: &comment.Thread{ID: fmt.Sprintf("t%03d", t), SiteID: "bench", Key: fmt.Sprintf("https://bench.example/%d", t), URL: fmt.Sprintf("https://bench.example/%d", t), Created: start}})
	}
	i := 0
	restore(tb, s, rows, func() []*store.Row {
		if i == total {
			return nil
		}
		n := i % 5000
		c := &comment.Comment{ID: fmt.Sprintf("q%09d", i), SiteID: "bench", ThreadID: fmt.Sprintf("t%03d", i%100),
			Author:   comment.Author{Name: fmt.Sprintf("Reader %d", n), Email: fmt.Sprintf("reader%d@example.org", n)},
			IPHash:   fmt.Sprintf("%012x", n+1),
			Markdown: fmt.Sprintf("An ordinary held comment, number %d, of a realistic length with a few words in it.", i),
			HTML:     "<p>An ordinary held comment.</p>", Status: comment.StatusPending, Created: start.Add(time.Duration(i) * time.Second)}
		if i%100 == 0 {
			c.IPHash, c.Author.Name, c.Markdown = WaveIP, "Win Big", fmt.Sprintf("casinowave bonus %d", i)
		}
		i++
		return []*store.Row{{Comment: c}}
	})
	return "t050"
}

// BenchQueue measures the moderation desk's queries on a site with total
// pending comments: the first page of Pending with the counts of every
// view, and pages filtered by article, address, author and text.
func BenchQueue(b *testing.B, s store.Store, total int) {
	thread := FillQueue(b, s, total)
	for _, tc := range []struct {
		name string
		f    store.CommentFilter
	}{
		{"first-page", store.CommentFilter{}},
		{"article", store.CommentFilter{ThreadID: thread}},
		{"address", store.CommentFilter{IPHash: WaveIP}},
		{"author", store.CommentFilter{Author: "reader 42"}},
		{"text", store.CommentFilter{Text: "casinowave"}},
		{"second-page", store.CommentFilter{Cursor: &store.Cursor{Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(total-50) * time.Second), ID: fmt.Sprintf("q%09d", total-50)}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := tc.f
			f.SiteID, f.Status = "bench", comment.StatusPending
			for b.Loop() {
				list, _, err := s.FindComments(ctx, f)
				if err != nil || len(list) == 0 {
					b.Fatalf("%d comments, %v", len(list), err)
				}
				if _, err := s.CountComments(ctx, f, 10_000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchBulk measures one decision on every comment matching a query:
// total comments from one address, marked spam and back, in one
// transaction each way.
func BenchBulk(b *testing.B, s store.Store, total int) {
	FillQueue(b, s, total*100) // every 100th is the wave's
	f := store.CommentFilter{SiteID: "bench", IPHash: WaveIP}
	to := []comment.Status{comment.StatusSpam, comment.StatusPending}
	n := 0
	for b.Loop() {
		f.Status = to[(n+1)%2]
		matched, changed, err := s.ModerateMatching(ctx, f, to[n%2], &staff.AuditEntry{SiteID: "bench", ActorKind: staff.ActorSystem, ActorName: "bench", Action: "comment.spam"})
		if err != nil || matched != total || changed != total {
			b.Fatalf("matched %d changed %d, %v", matched, changed, err)
		}
		n++
	}
}

// restore fills s through one Restore with the rows first (the site, say)
// and then those more gives, a batch at each call, until it gives none: a
// large fill is made as it is read, never held whole.
func restore(tb testing.TB, s store.Store, first []*store.Row, more func() []*store.Row) {
	tb.Helper()
	pending := first
	next := func() (*store.Row, error) {
		for len(pending) == 0 {
			if pending = more(); len(pending) == 0 {
				return nil, io.EOF
			}
		}
		r := pending[0]
		pending = pending[1:]
		return r, nil
	}
	if err := s.Restore(ctx, next); err != nil {
		tb.Fatal(err)
	}
}
