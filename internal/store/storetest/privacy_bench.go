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
	tb.Helper()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	site := &comment.Site{ID: "prolific", Name: "Prolific", Origins: []string{"https://prolific.example"}, MaxDepth: 5, Created: start}
	text := strings.Repeat("A long and thoughtful comment, written again and again. ", 18)
	var pending []*store.Row
	i := 0
	next := func() (*store.Row, error) {
		for len(pending) == 0 {
			switch {
			case site != nil:
				pending = append(pending, &store.Row{Site: site})
				site = nil
			case i < total:
				t := &comment.Thread{ID: fmt.Sprintf("t%07d", i/100), SiteID: "prolific", Key: fmt.Sprintf("https://prolific.example/%d", i/100),
					URL: fmt.Sprintf("https://prolific.example/%d", i/100), Created: start}
				pending = append(pending, &store.Row{Thread: t})
				for j := 0; j < 100 && i < total; j++ {
					pending = append(pending, &store.Row{Comment: &comment.Comment{ID: fmt.Sprintf("c%09d", i), SiteID: "prolific", ThreadID: t.ID,
						Author:   comment.Author{Name: "Prolific Reader", Email: "prolific@example.org"},
						Markdown: text, HTML: "<p>" + text + "</p>", Status: comment.StatusApproved, Created: start.Add(time.Duration(i) * time.Second)}})
					i++
				}
			default:
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
	return &store.PrivacySubject{Email: "prolific@example.org"}
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
