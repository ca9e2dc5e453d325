package httpapi

import (
	"context"
	"net/url"
	"testing"
	"time"

	"parley/internal/loadgen"
)

// BenchmarkLoadFeeds measures what feeds cost the readers of a thread: the
// 200-comment thread's JSON read at 32 connections, alternately in 1 s
// slices alone and with 4 more connections fetching the site's and the
// thread's Atom feed as fast as they can (feed readers and crawlers at
// their worst), and reports both read rates, their ratio, and the feeds'
// own rate.
func BenchmarkLoadFeeds(b *testing.B) {
	ts := newTestServer(b)
	path := seedThread(b, ts, 200)
	ctx := context.Background()
	feeds := []string{
		ts.URL + "/sites/news/feed.atom",
		ts.URL + "/sites/news/feed.rss?page=" + url.QueryEscape(origin+"/bench"),
	}
	const dur = 5 * time.Second
	var alone, beside slices5
	var feedReqs int
	var feedTime time.Duration
	for i := 0; i < b.N; i++ {
		for range 5 {
			res, err := loadgen.Run(ctx, loadgen.Config{URL: ts.URL + path, Conns: 32, Duration: dur / 5})
			if err != nil || res.Errors > 0 {
				b.Fatalf("reads alone: %v, %d errors", err, res.Errors)
			}
			alone.add(res)

			fctx, stop := context.WithCancel(ctx)
			done := make(chan loadgen.Result, len(feeds))
			for _, f := range feeds {
				go func() {
					r, _ := loadgen.Run(fctx, loadgen.Config{URL: f, Conns: 2, Duration: time.Minute})
					done <- r
				}()
			}
			res, err = loadgen.Run(ctx, loadgen.Config{URL: ts.URL + path, Conns: 32, Duration: dur / 5})
			stop()
			for range feeds {
				r := <-done
				if r.Errors > 0 {
					b.Fatalf("feeds: %d errors", r.Errors)
				}
				feedReqs += r.Requests
				feedTime = max(feedTime, r.Elapsed)
			}
			if err != nil || res.Errors > 0 {
				b.Fatalf("reads beside feeds: %v, %d errors", err, res.Errors)
			}
			beside.add(res)
		}
	}
	feedRate := float64(feedReqs) / (dur.Seconds() * float64(b.N))
	b.Logf("thread reads alone %.0f req/s (p99 %v); beside feeds %.0f req/s (p99 %v), ratio %.2f; feeds %.0f req/s",
		alone.rate(), alone.p99(), beside.rate(), beside.p99(), beside.rate()/alone.rate(), feedRate)
	b.ReportMetric(alone.rate(), "alone-req/s")
	b.ReportMetric(beside.rate(), "beside-feeds-req/s")
	b.ReportMetric(beside.rate()/alone.rate(), "ratio")
	b.ReportMetric(feedRate, "feed-req/s")
	b.ReportMetric(0, "ns/op")
}
