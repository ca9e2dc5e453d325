package storetest

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/store"
)

// FillReader restores a site whose one reader wrote total comments of
// about a kilobyte each, over pages of 100, and returns the reader.
func FillReader(tb testing.TB, s store.Store, total int) *store.PrivacySubject {
	return fillReader(tb, s, "prolific", total)
}

// fillReader is FillReader with the site's id (and its rows' prefix).
func fillReader(tb testing.TB, s store.Store, id string, total int) *store.PrivacySubject {
	tb.Helper()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	site := &comment.Site{ID: id, Name: "Prolific", Origins: []string{"https://" + id + ".example"}, MaxDepth: 5, Created: start}
	text := strings.Repeat("A long and thoughtful comment, written again and again. ", 18)
	i := 0
	restore(tb, s, []*store.Row{{Site: site}}, func() []*store.Row {
		if i == total {
			return nil
		}
		t := &comment.Thread{ID: fmt.Sprintf("%s-t%07d", id, i/100), SiteID: id, Key: fmt.Sprintf("https://%s.example/%d", id, i/100),
			URL: fmt.Sprintf("https://%s.example/%d", id, i/100), Created: start}
		rows := []*store.Row{{Thread: t}}
		for j := 0; j < 100 && i < total; j++ {
			rows = append(rows, &store.Row{Comment: &comment.Comment{ID: fmt.Sprintf("%s-c%09d", id, i), SiteID: id, ThreadID: t.ID,
				Author:   comment.Author{Name: "Prolific Reader", Email: id + "@example.org"},
				Markdown: text, HTML: "<p>" + text + "</p>", Status: comment.StatusApproved, Created: start.Add(time.Duration(i) * time.Second)}})
			i++
		}
		return rows
	})
	return &store.PrivacySubject{Email: id + "@example.org"}
}

// BenchErase measures erasing a reader with total comments (each round
// fills a site of its own first, untimed): one transaction, then, on
// SQLite, the search index merged, the file vacuumed and the log
// truncated.
func BenchErase(b *testing.B, s store.Store, total int) {
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		subj := fillReader(b, s, fmt.Sprintf("erase%d", i), total)
		b.StartTimer()
		n, err := s.EraseReader(ctx, subj, nil, nil)
		if err != nil || n.Deleted != total {
			b.Fatalf("erased %+v, %v", n, err)
		}
	}
}

// ExportPeak exports the reader as JSON to io.Discard and returns how
// many records went out and how far the heap grew above where it
// started, sampled every millisecond.
func ExportPeak(tb testing.TB, s store.Store, subj *store.PrivacySubject) (records int, peak uint64) {
	tb.Helper()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > base.HeapInuse && m.HeapInuse-base.HeapInuse > peak {
				peak = m.HeapInuse - base.HeapInuse
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	enc := json.NewEncoder(io.Discard)
	err := s.ExportReader(ctx, subj, func(kind string, v any) error {
		records++
		return enc.Encode(v)
	})
	close(stop)
	wg.Wait()
	if err != nil {
		tb.Fatal(err)
	}
	return records, peak
}

// BenchExport measures exporting a reader with total comments; it
// reports the heap's growth during the export (peak-heap-MB).
func BenchExport(b *testing.B, s store.Store, total int) {
	subj := FillReader(b, s, total)
	b.ResetTimer()
	var worst uint64
	for b.Loop() {
		n, peak := ExportPeak(b, s, subj)
		if n != total {
			b.Fatalf("exported %d records, want %d", n, total)
		}
		worst = max(worst, peak)
	}
	b.ReportMetric(float64(worst)/(1<<20), "peak-heap-MB")
}

// TestExportFlat checks that exporting a reader with many comments does
// not hold them: the heap grows by far less than their size.
func TestExportFlat(t *testing.T, s store.Store, total int) {
	subj := FillReader(t, s, total)
	n, peak := ExportPeak(t, s, subj)
	if n != total {
		t.Fatalf("exported %d records, want %d", n, total)
	}
	size := uint64(total) * 1000 // each comment's text alone is a kilobyte
	if peak > 16<<20 || peak > size/4 {
		t.Errorf("the heap grew by %d MB exporting %d MB of comments: the export holds them", peak>>20, size>>20)
	}
	t.Logf("%d comments exported; heap grew by at most %.1f MB", n, float64(peak)/(1<<20))
}
