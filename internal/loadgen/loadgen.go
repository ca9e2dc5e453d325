// Package loadgen is a small closed-loop HTTP load generator: a fixed
// number of connections each send one request after another for a while,
// and it reports throughput and latency percentiles. Parley's benchmarks
// and the parley-load command use it against a running server.
package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Config describes one load run.
type Config struct {
	URL      string
	Method   string // GET by default
	Body     func(i int) []byte
	Header   http.Header
	Conns    int           // concurrent connections, each with one request in flight
	Duration time.Duration // how long to send
	Requests int           // stop after this many requests in all (0: no limit)
	// Want is the status a successful answer has (200 by default);
	// AlsoOK lists other statuses that count as success (a post that is
	// stored and held for moderation is answered 202, say).
	Want   int
	AlsoOK []int
}

// Result is what a run measured.
type Result struct {
	Requests  int
	Errors    int
	Elapsed   time.Duration
	PerSecond float64
	P50, P99  time.Duration
	Max       time.Duration
	Bytes     int64 // response body bytes read
}

func (r Result) String() string {
	return fmt.Sprintf("%d requests in %v, %.0f req/s, p50 %v, p99 %v, max %v, %d errors",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.PerSecond, r.P50, r.P99, r.Max, r.Errors)
}

// Run sends load as cfg says and returns what it measured. It stops when
// the duration is over, the request budget is spent or ctx ends.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Conns <= 0 {
		cfg.Conns = 1
	}
	if cfg.Method == "" {
		cfg.Method = http.MethodGet
	}
	if cfg.Want == 0 {
		cfg.Want = http.StatusOK
	}
	if cfg.Duration <= 0 && cfg.Requests <= 0 {
		return Result{}, fmt.Errorf("loadgen: give a duration or a request count")
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        cfg.Conns,
		MaxIdleConnsPerHost: cfg.Conns,
		MaxConnsPerHost:     cfg.Conns,
		DisableCompression:  true, // measure the bytes as sent
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}

	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      int
		nbytes    int64
		issued    int
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if cfg.Requests > 0 && issued >= cfg.Requests {
			return 0, false
		}
		issued++
		return issued - 1, true
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < cfg.Conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			var localErrs int
			var localBytes int64
			for ctx.Err() == nil {
				i, ok := take()
				if !ok {
					break
				}
				var body io.Reader
				if cfg.Body != nil {
					body = bytes.NewReader(cfg.Body(i))
				}
				req, err := http.NewRequestWithContext(ctx, cfg.Method, cfg.URL, body)
				if err != nil {
					localErrs++
					continue
				}
				for k, v := range cfg.Header {
					req.Header[k] = v
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						localErrs++
					}
					continue
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				d := time.Since(t0)
				if resp.StatusCode != cfg.Want && !slices.Contains(cfg.AlsoOK, resp.StatusCode) {
					localErrs++
					continue
				}
				localBytes += n
				local = append(local, d)
			}
			mu.Lock()
			latencies = append(latencies, local...)
			errs += localErrs
			nbytes += localBytes
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	res := Result{Requests: len(latencies), Errors: errs, Elapsed: elapsed, Bytes: nbytes}
	if len(latencies) > 0 {
		res.PerSecond = float64(len(latencies)) / elapsed.Seconds()
		res.P50 = percentile(latencies, 0.50)
		res.P99 = percentile(latencies, 0.99)
		res.Max = latencies[len(latencies)-1]
	}
	return res, nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}
