// Package metrics is what an operator watches a running Parley by: HTTP
// requests by route pattern and status with their latency, comments
// posted by outcome and the spam layer that decided, live streams, the
// outbox and the database pools, in the Prometheus exposition format.
// It is served only on the operator listener (Handler), with Go's
// profiler beside it when asked, never on the public one.
//
// A nil *Metrics is valid and counts nothing: a server without
// --metrics-addr pays nothing on its request path.
package metrics

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"parley/internal/comment"
	"parley/internal/web"
)

// Metrics holds one server's metrics in a registry of its own (never
// the global one, so two servers in one process, as in tests, do not
// mix).
type Metrics struct {
	reg      *prometheus.Registry
	comments *prometheus.CounterVec // outcome, layer
	// requests are counted and timed by Parley itself (requests.go):
	// cheaper on the request path than a CounterVec and a HistogramVec,
	// and read into the same Prometheus families when scraped.
	requests requestStats
}

// LatencyBuckets are the request latency histogram's upper bounds, in
// seconds: a thread read from memory takes well under a millisecond, a
// post waits for its commit, a slow PostgreSQL answer takes seconds.
var LatencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// New returns metrics with the Go runtime's and the process's own.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.comments = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_comments_posted_total",
		Help: "Comments readers posted, by outcome (published, held, spam, discarded) and the layer that held or refused them (none for published ones).",
	}, []string{"outcome", "layer"})
	m.reg.MustRegister(&m.requests, m.comments,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where further collectors go.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Unmatched is the route label of requests no route matched (404, 405).
const Unmatched = "unmatched"

// Instrument counts and times every request next serves. next must be
// (or call, with the same *http.Request) the http.ServeMux whose route
// matched: the mux writes the pattern into the request, and the label is
// that pattern ("GET /api/v1/sites/{site}/comments"), never the path, so
// the number of series stays that of the routes.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &web.StatusWriter{ResponseWriter: w}
		defer func() {
			// A panic that escapes (http.ErrAbortHandler) still counts.
			m.requests.observe(r.Pattern, sw.Status(), time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}

// Posted counts one comment a reader posted, by its outcome and the
// layer of the verdict that held or refused it; it is
// service.Options.Posted. A published comment's layer is "none": every
// layer let it through (its record still names the last one that
// spoke). Layer names come from Parley's code (traps, rules, signals,
// classifier, akismet, moderation...), never from input.
func (m *Metrics) Posted(status comment.Status, layer string) {
	if m == nil {
		return
	}
	if layer == "" || status == comment.StatusApproved {
		layer = "none"
	}
	m.comments.WithLabelValues(Outcome(status), layer).Inc()
}

// Outcome names a posted comment's status as the metrics count it.
func Outcome(s comment.Status) string {
	switch s {
	case comment.StatusApproved:
		return "published"
	case comment.StatusPending:
		return "held"
	case comment.StatusSpam:
		return "spam"
	case comment.StatusDeleted:
		return "discarded" // spam dropped unstored (a honeypot, --spam-rules discard_trapped)
	}
	return string(s)
}

// Gauge reports f's value under name whenever the metrics are read.
func (m *Metrics) Gauge(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// Counter reports f's value, which only grows, under name whenever the
// metrics are read.
func (m *Metrics) Counter(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
}

// DB reports a database/sql pool's statistics (open, in use, idle
// connections, waits) as go_sql_*{db_name=name}.
func (m *Metrics) DB(name string, db *sql.DB) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// OutboxCounts counts the outbox's messages by kind and state, and
// gives the oldest pending one's creation time (store.OutboxStore's
// OutboxCounts for every site).
type OutboxCounts func(ctx context.Context) (map[string]map[string]int, time.Time, error)

// Outbox reports the outbox's depth, read from the database when the
// metrics are read (one grouped count; a scrape every few seconds at
// most costs as much).
func (m *Metrics) Outbox(counts OutboxCounts) {
	m.reg.MustRegister(outboxCollector{counts})
}

var (
	outboxDesc = prometheus.NewDesc("parley_outbox_messages",
		"Outbox messages (emails, webhooks) by kind and state; state=\"pending\" is the depth still to send.", []string{"kind", "state"}, nil)
	outboxAgeDesc = prometheus.NewDesc("parley_outbox_oldest_pending_seconds",
		"Age of the oldest pending outbox message (0 when none waits).", nil, nil)
)

type outboxCollector struct{ counts OutboxCounts }

func (c outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDesc
	ch <- outboxAgeDesc
}

func (c outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	byKind, oldest, err := c.counts(ctx)
	if err != nil {
		// The rest of the scrape is still served (ContinueOnError).
		ch <- prometheus.NewInvalidMetric(outboxDesc, fmt.Errorf("outbox counts: %w", err))
		return
	}
	for kind, byState := range byKind {
		for state, n := range byState {
			ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(n), kind, state)
		}
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(time.Since(oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(outboxAgeDesc, prometheus.GaugeValue, age)
}

// Handler serves the operator listener: /metrics, and Go's profiler
// under /debug/pprof/ when withPprof is set. It is meant for a private
// address (127.0.0.1, a management network): nothing on it is for readers.
func (m *Metrics) Handler(withPprof bool, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	opts := promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}
	if log != nil {
		opts.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, opts))
	if withPprof {
		// Routed here by hand. (Importing net/http/pprof also puts these
		// on http.DefaultServeMux, which no Parley listener serves; the
		// public one answering 404 is tested.)
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "Parley's operator listener.\n\n/metrics  Prometheus metrics")
		if withPprof {
			fmt.Fprintln(w, "/debug/pprof/  Go profiler (parley serve --pprof)")
		} else {
			fmt.Fprintln(w, "(the Go profiler is off; parley serve --pprof turns it on)")
		}
	})
	return mux
}
