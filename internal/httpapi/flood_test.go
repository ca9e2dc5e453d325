package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/loadgen"
	"parley/internal/service"
)

// Flood benchmarks: what one abusive client costs everyone else. Each
// measures another reader's thread reads (one connection, one request
// after another) while the flood runs at floodRate, and reports their p50
// and p99; "quiet" is the same reader with no flood. Run with
//
//	go test ./internal/httpapi -run XXX -bench Flood -benchtime 1x

// floodFor is how long each measurement runs.
const floodFor = 4 * time.Second

// measureReader reads url from one connection for floodFor and reports
// its latencies.
func measureReader(b *testing.B, url string) {
	b.Helper()
	res, err := loadgen.Run(context.Background(), loadgen.Config{URL: url, Conns: 1, Duration: floodFor})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(res.Errors), "errors")
	b.ReportMetric(0, "ns/op")
	b.Logf("reader: %s", res)
}

// floodRate is how many requests a second a flood sends at most: what
// the review saw one client do (1,100-1,300 like writes a second, a
// 1,200 req/s read flood). A flood answered slower sends fewer.
const floodRate = 1200

// flood runs fn from n goroutines, floodRate times a second in all, until
// the returned stop is called, and reports how many requests it sent and
// how they were answered.
func flood(b *testing.B, n int, fn func(c *http.Client, i int) (int, error)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	tick := time.NewTicker(time.Second / floodRate)
	for g := range n {
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 10 * time.Second}
			for i := g; ctx.Err() == nil; i += n {
				select {
				case <-tick.C:
				case <-ctx.Done():
					return
				}
				code, err := fn(c, i)
				if err != nil {
					code = -1
				}
				mu.Lock()
				statuses[code]++
				mu.Unlock()
			}
		})
	}
	start := time.Now()
	return func() {
		cancel()
		wg.Wait()
		tick.Stop()
		sent := 0
		for _, n := range statuses {
			sent += n
		}
		b.Logf("flood: %.0f requests a second, answers by status %v", float64(sent)/time.Since(start).Seconds(), statuses)
	}
}

// openStreams opens n live streams on a page and reads them until the
// benchmark ends.
func openStreams(b *testing.B, base, page string, n int) {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: n}
	b.Cleanup(tr.CloseIdleConnections)
	var ready sync.WaitGroup
	for range n {
		ready.Add(1)
		req, _ := http.NewRequest("GET", base+"/api/v1/sites/news/stream?page="+url.QueryEscape(page), nil)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode != 200 {
			b.Fatalf("stream = %d", resp.StatusCode)
		}
		b.Cleanup(func() { resp.Body.Close() })
		go func() {
			br := bufio.NewReader(resp.Body)
			br.ReadString('\n') // the retry line: connected
			ready.Done()
			io.Copy(io.Discard, br)
		}()
	}
	ready.Wait()
}

// BenchmarkLikeFlood: 200 live streams are open on a 200-comment page
// while one client likes and unlikes its comments 1,200 times a second,
// with 50 reader tokens, from 8 connections.
func BenchmarkLikeFlood(b *testing.B) {
	ts := newFloodServer(b)
	path := seedThread(b, ts.testServer, 200)
	var th struct {
		Comments []struct{ ID string }
	}
	_, body := ts.do(b, "GET", path, nil, nil)
	json.Unmarshal(body, &th)
	readers := make([]string, 50)
	for i := range readers {
		readers[i] = ts.svc.NewReader()
	}
	b.Run("quiet", func(b *testing.B) {
		for range b.N {
			measureReader(b, ts.URL+path)
		}
	})
	b.Run("like-flood", func(b *testing.B) {
		openStreams(b, ts.URL, origin+"/bench", 200)
		for range b.N {
			stop := flood(b, 8, func(c *http.Client, i int) (int, error) {
				method := "POST"
				if i/len(readers)%2 == 1 {
					method = "DELETE"
				}
				id := th.Comments[i%len(th.Comments)].ID
				req, _ := http.NewRequest(method, ts.URL+"/api/v1/sites/news/comments/"+id+"/like",
					strings.NewReader(`{"reader":"`+readers[i%len(readers)]+`"}`))
				req.Header.Set("Content-Type", "application/json")
				resp, err := c.Do(req)
				if err != nil {
					return 0, err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode, nil
			})
			measureReader(b, ts.URL+path)
			stop()
		}
	})
}

// BenchmarkReadFlood: one client reads the threads of random page keys
// (none of which has comments, so none is cached) 1,200 times a second,
// from 8 connections, while another reader reads a 200-comment page.
func BenchmarkReadFlood(b *testing.B) {
	ts := newFloodServer(b)
	path := seedThread(b, ts.testServer, 200)
	b.Run("quiet", func(b *testing.B) {
		for range b.N {
			measureReader(b, ts.URL+path)
		}
	})
	b.Run("distinct-keys", func(b *testing.B) {
		for range b.N {
			stop := flood(b, 8, func(c *http.Client, i int) (int, error) {
				resp, err := c.Get(ts.URL + "/api/v1/sites/news/comments?page=" + url.QueryEscape(fmt.Sprintf("%s/random/%d-%d", origin, i, rand.Int64())))
				if err != nil {
					return 0, err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode, nil
			})
			measureReader(b, ts.URL+path)
			stop()
		}
	})
}

type floodServer struct{ *testServer }

// newFloodServer is the test server the flood benchmarks run against,
// taking as many streams from one address as the benchmark opens.
func newFloodServer(b *testing.B) floodServer {
	return floodServer{newTestServerOn(b, openSQLite(b), service.Options{}, Config{StreamsPerClient: 1000})}
}
