package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/internal/loadgen"
)

// seedDemoThread posts n comments (every third a reply) through the API.
func seedDemoThread(tb testing.TB, base string, n int) {
	tb.Helper()
	var last struct{ ID string }
	for i := 0; i < n; i++ {
		m := map[string]string{"page": "demo-article", "url": base + "/", "name": fmt.Sprintf("Reader %d", i), "email": fmt.Sprintf("r%d@example.org", i),
			"body": fmt.Sprintf("I took the new line this morning, trip number %d, and it was on time. The shelter at Mill Street is warm, though the board showed the wrong stop twice.", i)}
		if i%3 == 2 {
			m["parent"] = last.ID
		}
		body, _ := json.Marshal(m)
		resp, err := http.Post(base+"/api/v1/sites/demo/comments", "application/json", bytes.NewReader(body))
		if err != nil || resp.StatusCode != 201 {
			tb.Fatalf("seed post: %v %v", resp, err)
		}
		json.NewDecoder(resp.Body).Decode(&last)
		resp.Body.Close()
	}
}

// loadAll runs the same load against several instances at once, splitting
// the connections between them, and merges the results.
func loadAll(tb testing.TB, bases []string, cfg func(base string) loadgen.Config) loadgen.Result {
	var mu sync.Mutex
	var all loadgen.Result
	var wg sync.WaitGroup
	for _, base := range bases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cfg(base)
			c.Conns /= len(bases)
			res, err := loadgen.Run(context.Background(), c)
			if err != nil {
				tb.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			all.Requests += res.Requests
			all.Errors += res.Errors
			all.PerSecond += res.PerSecond
			all.P50 = max(all.P50, res.P50) // the worse instance's percentiles
			all.P99 = max(all.P99, res.P99)
		}()
	}
	wg.Wait()
	return all
}

func reportLoad(b *testing.B, res loadgen.Result) {
	b.ReportMetric(res.PerSecond, "req/s")
	b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(res.Errors), "errors")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkLoadPostgres runs real Parley servers on PostgreSQL, one and
// two instances on one database, and measures a 200-comment thread read
// at 32 connections and posting at 8 connections, over loopback.
func BenchmarkLoadPostgres(b *testing.B) {
	dsn := testPostgresDSN(b)
	one := startServe(b, "--db", dsn, "--demo")
	two := startServe(b, "--db", dsn, "--demo")
	seedDemoThread(b, one, 200)
	get(b, two+"/api/v1/sites/demo/comments?page=demo-article")
	const dur = 5 * time.Second
	var n atomic.Int64
	postCfg := func(base string) loadgen.Config {
		return loadgen.Config{URL: base + "/api/v1/sites/demo/comments", Method: "POST", Conns: 8, Duration: dur, Want: http.StatusCreated,
			Header: http.Header{"Content-Type": {"application/json"}},
			Body: func(int) []byte {
				j, _ := json.Marshal(map[string]string{"page": "load", "url": base + "/", "name": "L", "email": "l@example.org", "body": fmt.Sprintf("Load comment %d: the evening bus was on time and the driver waited for us.", n.Add(1))})
				return j
			}}
	}
	readCfg := func(base string) loadgen.Config {
		return loadgen.Config{URL: base + "/api/v1/sites/demo/comments?page=demo-article", Conns: 32, Duration: dur}
	}
	for _, tc := range []struct {
		name  string
		bases []string
	}{{"instances=1", []string{one}}, {"instances=2", []string{one, two}}} {
		b.Run("thread-read/"+tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				reportLoad(b, loadAll(b, tc.bases, readCfg))
			}
		})
		b.Run("post/"+tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				reportLoad(b, loadAll(b, tc.bases, postCfg))
			}
		})
	}
}

// BenchmarkLiveLatency measures how long a comment posted through one
// instance takes to reach a reader streaming from another instance on the
// same PostgreSQL database (target: well under a second).
func BenchmarkLiveLatency(b *testing.B) {
	dsn := testPostgresDSN(b)
	one := startServe(b, "--db", dsn, "--demo")
	two := startServe(b, "--db", dsn, "--demo")
	resp, err := http.Get(two + "/api/v1/sites/demo/stream?page=demo-article")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	got := make(chan struct{}, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") && strings.Contains(sc.Text(), `"kind":"new"`) {
				got <- struct{}{}
			}
		}
	}()
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body, _ := json.Marshal(map[string]string{"page": "demo-article", "url": one + "/", "name": "L", "email": "l@example.org", "body": fmt.Sprintf("latency probe %d", i)})
		start := time.Now()
		resp, err := http.Post(one+"/api/v1/sites/demo/comments", "application/json", bytes.NewReader(body))
		if err != nil || resp.StatusCode != 201 {
			b.Fatalf("post: %v %v", resp, err)
		}
		resp.Body.Close()
		select {
		case <-got:
			lat = append(lat, time.Since(start))
		case <-time.After(10 * time.Second):
			b.Fatal("no live event within 10s")
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(0, "ns/op")
}
