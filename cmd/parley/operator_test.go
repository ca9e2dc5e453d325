package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// startWithMetrics runs serve with an operator listener and returns the
// public and the operator base URLs.
func startWithMetrics(t *testing.T, args ...string) (public, operator string) {
	t.Helper()
	public, lines := startServeOut(t, append([]string{"--metrics-addr", "127.0.0.1:0"}, args...)...)
	select {
	case line := <-lines:
		if !strings.HasPrefix(line, "Metrics at ") {
			t.Fatalf("second line %q does not say where the metrics are", line)
		}
		return public, addrRE.FindString(line)
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not say where the metrics are")
	}
	return "", ""
}

// scrape reads /metrics and parses it with Prometheus's own parser, which
// fails on anything not in the exposition format.
func scrape(t *testing.T, operator string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	text := get(t, operator+"/metrics")
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("/metrics is not in the Prometheus text format: %v\n%s", err, text)
	}
	return fams, text
}

// value is the value of the family's series whose labels include all of
// labels (a counter's, a gauge's, or a histogram's count); -1 if none.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		}
	}
	return -1
}

func status(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestServe_Metrics: with --metrics-addr, the operator listener serves
// valid Prometheus metrics: requests by route pattern (never the path)
// and status with their latency, comments by outcome and deciding layer,
// live streams, the outbox, the database pools. The public listener
// answers /metrics and the profiler with 404, and the profiler is off on
// the operator listener too unless asked for.
func TestServe_Metrics(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.json")
	os.WriteFile(rules, []byte(`{"blocked_words": ["casino-bonus"], "hold_words": ["timetable-rumour"]}`), 0o600)
	public, operator := startWithMetrics(t, "--db", filepath.Join(dir, "m.db"), "--demo", "--spam-rules", rules)
	if public == operator || operator == "" {
		t.Fatalf("public %s, operator %s", public, operator)
	}

	post := func(body string, want int) {
		t.Helper()
		j, _ := json.Marshal(map[string]string{"page": "demo-article", "url": public + "/", "name": "Ines", "email": "ines@example.org", "body": body})
		resp, err := http.Post(public+"/api/v1/sites/demo/comments", "application/json", bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("post %q = %d, want %d", body, resp.StatusCode, want)
		}
	}
	post("The new line is on time this week.", http.StatusCreated)
	post("Is the timetable-rumour true?", http.StatusAccepted)
	post("Win big with casino-bonus today", http.StatusAccepted)
	for range 3 {
		get(t, public+"/api/v1/sites/demo/comments?page=demo-article")
	}
	get(t, public+"/api/v1/sites/demo/comments?page=another-page")
	if c := status(t, public+"/no/such/page/12345"); c != 404 {
		t.Fatalf("unknown path = %d", c)
	}
	// Never on the public listener.
	for _, p := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap"} {
		if c := status(t, public+p); c != 404 {
			t.Errorf("public %s = %d, want 404", p, c)
		}
	}
	// The profiler is off without --pprof.
	if c := status(t, operator+"/debug/pprof/"); c != 404 {
		t.Errorf("operator /debug/pprof/ without --pprof = %d, want 404", c)
	}

	// A live stream open while scraping.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", public+"/api/v1/sites/demo/stream?page=demo-article", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	bufio.NewReader(resp.Body).ReadString('\n') // the stream has begun

	fams, text := scrape(t, operator)
	const read = "GET /api/v1/sites/{site}/comments"
	if n := value(fams, "parley_http_requests_total", map[string]string{"route": read, "code": "200"}); n != 4 {
		t.Errorf("thread reads counted %v, want 4", n)
	}
	if n := value(fams, "parley_http_request_duration_seconds", map[string]string{"route": read}); n != 4 {
		t.Errorf("thread read latencies observed %v, want 4", n)
	}
	if n := value(fams, "parley_http_requests_total", map[string]string{"route": "POST /api/v1/sites/{site}/comments", "code": "202"}); n != 2 {
		t.Errorf("held posts counted %v, want 2", n)
	}
	if n := value(fams, "parley_http_requests_total", map[string]string{"route": "unmatched", "code": "404"}); n < 1 {
		t.Errorf("the unknown path was not counted as unmatched: %v", n)
	}
	// The label is the pattern: no path or query of any request appears.
	for _, leak := range []string{"demo-article", "another-page", "/no/such", "12345", "sites/demo/"} {
		if strings.Contains(text, leak) {
			t.Errorf("/metrics holds %q, a request's path: labels must be route patterns", leak)
		}
	}
	for _, c := range []struct {
		outcome, layer string
	}{{"published", "none"}, {"held", "rules"}, {"spam", "rules"}} {
		if n := value(fams, "parley_comments_posted_total", map[string]string{"outcome": c.outcome, "layer": c.layer}); n != 1 {
			t.Errorf("comments %s by %s: %v, want 1\n%s", c.outcome, c.layer, n, text)
		}
	}
	if n := value(fams, "parley_live_streams", nil); n != 1 {
		t.Errorf("live streams %v, want 1", n)
	}
	if n := value(fams, "parley_outbox_oldest_pending_seconds", nil); n < 0 {
		t.Error("no outbox age")
	}
	for _, pool := range []string{"sqlite_read", "sqlite_write"} {
		if n := value(fams, "go_sql_max_open_connections", map[string]string{"db_name": pool}); n < 1 {
			t.Errorf("pool %s: max open connections %v", pool, n)
		}
	}
	// The three posts went through SQLite's writer, each in some batch.
	writes, batches := value(fams, "parley_sqlite_writes_total", nil), value(fams, "parley_sqlite_write_batches_total", nil)
	if writes < 3 || batches < 1 || batches > writes || value(fams, "parley_sqlite_writer_busy_seconds_total", nil) <= 0 {
		t.Errorf("SQLite writer: %v writes in %v batches, busy %vs; want at least the 3 posts", writes, batches, value(fams, "parley_sqlite_writer_busy_seconds_total", nil))
	}
	if value(fams, "go_goroutines", nil) < 1 || value(fams, "process_resident_memory_bytes", nil) < 1 {
		t.Error("no Go runtime or process metrics")
	}
	cancel()
}

// TestServe_Pprof: --pprof serves Go's profiler on the operator listener
// (and only there); without --metrics-addr it is refused.
func TestServe_Pprof(t *testing.T) {
	dir := t.TempDir()
	public, operator := startWithMetrics(t, "--db", filepath.Join(dir, "p.db"), "--pprof")
	if idx := get(t, operator+"/debug/pprof/"); !strings.Contains(idx, "goroutine") || !strings.Contains(idx, "heap") {
		t.Fatalf("profiler index lacks its profiles:\n%s", idx)
	}
	if g := get(t, operator+"/debug/pprof/goroutine?debug=1"); !strings.Contains(g, "goroutine profile:") {
		t.Fatalf("goroutine profile:\n%.300s", g)
	}
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/metrics"} {
		if c := status(t, public+p); c != 404 {
			t.Errorf("public %s = %d, want 404", p, c)
		}
	}
	if idx := get(t, operator+"/"); !strings.Contains(idx, "/debug/pprof/") {
		t.Errorf("operator index does not list the profiler:\n%s", idx)
	}

	err := run(context.Background(), []string{"serve", "--db", filepath.Join(dir, "q.db"), "--pprof"}, io.Discard, io.Discard)
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--metrics-addr") {
		t.Fatalf("--pprof alone: %v, want a usage error naming --metrics-addr", err)
	}
}

// TestServe_MetricsAddrEnv: PARLEY_METRICS_ADDR turns the listener on
// like the flag, and a bad value stops the start.
func TestServe_MetricsAddrEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PARLEY_METRICS_ADDR", "127.0.0.1:0")
	_, lines := startServeOut(t, "--db", filepath.Join(dir, "e.db"))
	select {
	case line := <-lines:
		op := addrRE.FindString(line)
		if !strings.Contains(get(t, op+"/metrics"), "parley_live_streams 0") {
			t.Fatal("no Parley metrics")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("PARLEY_METRICS_ADDR did not start the operator listener")
	}
	t.Setenv("PARLEY_METRICS_ADDR", "9090")
	err := run(context.Background(), []string{"serve", "--db", filepath.Join(dir, "f.db")}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "HOST:PORT") {
		t.Fatalf("PARLEY_METRICS_ADDR=9090: %v", err)
	}
}

// TestServe_MetricsPostgres: on PostgreSQL the pool's statistics are
// those of its one pool, sized by --pg-max-conns, and the outbox is
// counted in that database.
func TestServe_MetricsPostgres(t *testing.T) {
	dsn := testPostgresDSN(t)
	public, operator := startWithMetrics(t, "--db", dsn, "--demo", "--pg-max-conns", "7")
	get(t, public+"/api/v1/sites/demo/comments?page=demo-article")
	fams, _ := scrape(t, operator)
	if n := value(fams, "go_sql_max_open_connections", map[string]string{"db_name": "postgres"}); n != 7 {
		t.Errorf("postgres pool: max open connections %v, want 7", n)
	}
	if n := value(fams, "parley_outbox_oldest_pending_seconds", nil); n < 0 {
		t.Error("no outbox age")
	}
	if n := value(fams, "parley_http_requests_total", map[string]string{"route": "GET /api/v1/sites/{site}/comments", "code": "200"}); n != 1 {
		t.Errorf("thread reads counted %v, want 1", n)
	}
}
