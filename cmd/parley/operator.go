package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"parley/internal/httpapi"
	"parley/internal/metrics"
	"parley/internal/store"
)

// operatorFlags configure serve's operator listener: Prometheus metrics
// and, when asked, Go's profiler, on an address of their own that the
// public listener never answers for.
type operatorFlags struct {
	addr  *string
	pprof bool
}

func addOperatorFlags(fs *flag.FlagSet, o *operatorFlags) {
	o.addr = checkedFlag(fs, "metrics-addr", "", "`HOST:PORT` of the operator listener: /metrics in the Prometheus format (and the profiler with --pprof); keep it private, e.g. 127.0.0.1:9090 (default: none)", checkHostPort)
	fs.BoolVar(&o.pprof, "pprof", false, "serve Go's profiler (net/http/pprof) under /debug/pprof/ on the --metrics-addr listener")
}

// check refuses a profiler with nowhere to serve it.
func (o operatorFlags) check() error {
	if o.pprof && *o.addr == "" {
		return usageError{"--pprof needs --metrics-addr: the profiler is served only on the operator listener"}
	}
	return nil
}

// newMetrics returns the server's metrics, or nil (counting nothing)
// without --metrics-addr.
func (o operatorFlags) newMetrics() *metrics.Metrics {
	if *o.addr == "" {
		return nil
	}
	return metrics.New()
}

// watch registers what is read when the metrics are: the live streams,
// the outbox and the database pools.
func watch(m *metrics.Metrics, st store.Store, api *httpapi.Server) {
	m.Gauge("parley_live_streams", "Live update streams (server-sent events) readers hold open.",
		func() float64 { return float64(api.OpenStreams()) })
	m.Outbox(func(ctx context.Context) (map[string]map[string]int, time.Time, error) {
		return st.OutboxCounts(ctx, "")
	})
	if p, ok := st.(interface{ Pools() map[string]*sql.DB }); ok {
		for name, db := range p.Pools() {
			m.DB(name, db)
		}
	}
	// SQLite's one writer: whether writes queue behind it.
	if w, ok := st.(interface {
		WriterStats() (batches, writes int64, busy time.Duration)
	}); ok {
		m.Counter("parley_sqlite_write_batches_total", "Transactions SQLite's one writer ran, each a batch of writes sharing a commit.",
			func() float64 { b, _, _ := w.WriterStats(); return float64(b) })
		m.Counter("parley_sqlite_writes_total", "Writes SQLite's one writer ran in its batches.",
			func() float64 { _, n, _ := w.WriterStats(); return float64(n) })
		m.Counter("parley_sqlite_writer_busy_seconds_total", "Time SQLite's one writer spent running batches: near one second a second, writes wait.",
			func() float64 { _, _, d := w.WriterStats(); return d.Seconds() })
	}
}

// operatorServer is the running operator listener.
type operatorServer struct {
	srv  *http.Server
	addr string // as a browser opens it
	errc chan error
}

// startOperator listens on --metrics-addr and serves the metrics (and the
// profiler) there.
func startOperator(o operatorFlags, m *metrics.Metrics, log *slog.Logger) (*operatorServer, error) {
	ln, err := net.Listen("tcp", *o.addr)
	if err != nil {
		return nil, fmt.Errorf("listen on --metrics-addr %s: %w", *o.addr, err)
	}
	srv := &http.Server{
		Handler:           m.Handler(o.pprof, log),
		ReadHeaderTimeout: 10 * time.Second,
		// No WriteTimeout: a CPU profile or a trace takes as long as
		// asked (?seconds=30).
		IdleTimeout: 120 * time.Second,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	bound := ln.Addr().String()
	log.Info("operator listener started", slog.String("addr", bound), slog.Bool("pprof", o.pprof))
	op := &operatorServer{srv: srv, addr: displayAddr(bound), errc: make(chan error, 1)}
	go func() { op.errc <- srv.Serve(ln) }()
	return op, nil
}

// failed reports the listener's failure; it never does for a nil one.
func (op *operatorServer) failed() <-chan error {
	if op == nil {
		return nil
	}
	return op.errc
}

// shutdown stops the operator listener; a nil one is fine.
func (op *operatorServer) shutdown(ctx context.Context) {
	if op != nil {
		op.srv.Shutdown(ctx)
	}
}
