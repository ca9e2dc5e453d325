package httpapi

import (
	"context"
	"database/sql"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"parley/internal/loadgen"
	"parley/internal/metrics"
)

// benchMetrics turns the operator's metrics on in every test server
// (newTestServerOn), so that any benchmark, BenchmarkLoad first, can be
// run with them: go test -bench Load -parley.metrics.
var benchMetrics = flag.Bool("parley.metrics", false, "count and time every request of the test servers (package metrics), as parley serve --metrics-addr does")

// BenchmarkThreadReadMetrics is BenchmarkThreadRead with the operator's
// metrics on: what counting and timing a request adds, in-process.
func BenchmarkThreadReadMetrics(b *testing.B) {
	for _, tc := range []struct {
		name string
		m    *metrics.Metrics
	}{{"off", nil}, {"on", metrics.New()}} {
		b.Run("metrics="+tc.name, func(b *testing.B) { benchThreadRead(b, Config{Metrics: tc.m}) })
	}
}

// BenchmarkLoadMetrics runs BenchmarkLoad's thread-json read (a
// 200-comment thread, 32 connections over loopback) against two servers
// on one service, one with metrics off and one with them on, alternately
// in 1 s slices so that both meet the same moments of a shared machine,
// and reports both rates and their ratio. Then it scrapes the metrics
// server's /metrics, idle and while it serves reads, and reports a
// scrape's time and size.
func BenchmarkLoadMetrics(b *testing.B) {
	ts := newTestServer(b)
	path := seedThread(b, ts, 200)
	m := metrics.New()
	off := httptest.NewServer(New(ts.svc, mustAssets(b), nil, Config{}).Handler())
	defer off.Close()
	onAPI := New(ts.svc, mustAssets(b), nil, Config{Metrics: m})
	on := httptest.NewServer(onAPI.Handler())
	defer on.Close()
	m.Gauge("parley_live_streams", "streams", func() float64 { return float64(onAPI.OpenStreams()) })
	m.Outbox(func(ctx context.Context) (map[string]map[string]int, time.Time, error) {
		return ts.st.OutboxCounts(ctx, "")
	})
	for name, db := range ts.st.(interface {
		Pools() map[string]*sql.DB
	}).Pools() {
		m.DB(name, db)
	}
	op := httptest.NewServer(m.Handler(false, nil))
	defer op.Close()
	ctx := context.Background()
	const dur = 5 * time.Second
	var all, allOn slices5
	for i := 0; i < b.N; i++ {
		var round, roundOn slices5
		for range 5 {
			for _, side := range []struct {
				url string
				to  *slices5
			}{{off.URL, &round}, {on.URL, &roundOn}} {
				res, err := loadgen.Run(ctx, loadgen.Config{URL: side.url + path, Conns: 32, Duration: dur / 5})
				if err != nil {
					b.Fatal(err)
				}
				if res.Errors > 0 {
					b.Fatalf("%s: %d errors", side.url, res.Errors)
				}
				side.to.add(res)
			}
		}
		b.Logf("round %d: metrics off %.0f req/s, p99 %v; on %.0f req/s, p99 %v; ratio %.3f",
			i+1, round.rate(), round.p99(), roundOn.rate(), roundOn.p99(), roundOn.rate()/round.rate())
		all.merge(round)
		allOn.merge(roundOn)
	}
	scrape := func(n int) (time.Duration, int) {
		var size int
		start := time.Now()
		for range n {
			resp, err := http.Get(op.URL + "/metrics")
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), "parley_http_requests_total") {
				b.Fatalf("scrape: %d", resp.StatusCode)
			}
			size = len(body)
		}
		return time.Since(start) / time.Duration(n), size
	}
	idle, size := scrape(50)
	// A scrape under load: the read load keeps running meanwhile.
	loadCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		loadgen.Run(loadCtx, loadgen.Config{URL: on.URL + path, Conns: 16, Duration: time.Minute})
	}()
	loaded, _ := scrape(50)
	stop()
	<-done
	b.ReportMetric(all.rate(), "off-req/s")
	b.ReportMetric(allOn.rate(), "on-req/s")
	b.ReportMetric(allOn.rate()/all.rate(), "on/off")
	b.ReportMetric(float64(all.p99().Microseconds())/1000, "off-p99-ms")
	b.ReportMetric(float64(allOn.p99().Microseconds())/1000, "on-p99-ms")
	b.ReportMetric(float64(idle.Microseconds())/1000, "scrape-ms")
	b.ReportMetric(float64(loaded.Microseconds())/1000, "loaded-scrape-ms")
	b.ReportMetric(float64(size), "scrape-bytes")
	b.ReportMetric(0, "ns/op")
}
