package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
)

func scrapeText(t *testing.T, m *Metrics) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler(false, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Code, rec.Body.String()
}

// TestInstrument_RoutePatterns: requests are counted under the pattern
// that matched, whatever their path; unmatched ones under "unmatched";
// a flushing handler still finds its http.Flusher through the wrapper.
func TestInstrument_RoutePatterns(t *testing.T) {
	m := New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "gone" {
			http.Error(w, "gone", http.StatusGone)
			return
		}
		w.Write([]byte("ok"))
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		f, ok := w.(http.Flusher)
		if !ok {
			t.Error("the wrapper hides http.Flusher")
			return
		}
		f.Flush()
	})
	h := m.Instrument(mux)
	for _, p := range []string{"/items/1", "/items/2", "/items/gone", "/nothing/here", "/stream"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	_, text := scrapeText(t, m)
	for _, want := range []string{
		`parley_http_requests_total{code="200",route="GET /items/{id}"} 2`,
		`parley_http_requests_total{code="410",route="GET /items/{id}"} 1`,
		`parley_http_requests_total{code="404",route="unmatched"} 1`,
		`parley_http_requests_total{code="200",route="GET /stream"} 1`,
		`parley_http_request_duration_seconds_count{route="GET /items/{id}"} 3`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s in\n%s", want, text)
		}
	}
	if strings.Contains(text, "/items/1") || strings.Contains(text, "/nothing") {
		t.Error("a path became a label")
	}
}

// TestNil_CountsNothing: without metrics the handler is the one given,
// and counting a comment is harmless.
func TestNil_CountsNothing(t *testing.T) {
	var m *Metrics
	h := http.NotFoundHandler()
	if got := m.Instrument(h); got == nil {
		t.Fatal("nil Instrument lost the handler")
	}
	m.Posted(comment.StatusApproved, "")
}

// TestOutbox_ErrorKeepsTheRest: a failing outbox count does not take the
// other metrics down with it.
func TestOutbox_ErrorKeepsTheRest(t *testing.T) {
	m := New()
	m.Outbox(func(context.Context) (map[string]map[string]int, time.Time, error) {
		return nil, time.Time{}, errors.New("database is gone")
	})
	m.Posted(comment.StatusSpam, "rules")
	m.Posted(comment.StatusApproved, "classifier")
	code, text := scrapeText(t, m)
	if code != 200 || !strings.Contains(text, `parley_comments_posted_total{layer="rules",outcome="spam"} 1`) ||
		!strings.Contains(text, `parley_comments_posted_total{layer="none",outcome="published"} 1`) {
		t.Fatalf("%d\n%s", code, text)
	}

	m = New()
	m.Outbox(func(context.Context) (map[string]map[string]int, time.Time, error) {
		return map[string]map[string]int{"email": {"pending": 3, "sent": 7}}, time.Now().Add(-time.Minute), nil
	})
	_, text = scrapeText(t, m)
	if !strings.Contains(text, `parley_outbox_messages{kind="email",state="pending"} 3`) || !strings.Contains(text, "parley_outbox_oldest_pending_seconds 6") {
		t.Fatalf("outbox:\n%s", text)
	}
}

// TestHandler_PprofOnlyWhenAsked: the profiler's routes exist only with
// withPprof.
func TestHandler_PprofOnlyWhenAsked(t *testing.T) {
	m := New()
	for _, on := range []bool{false, true} {
		srv := httptest.NewServer(m.Handler(on, nil))
		resp, err := http.Get(srv.URL + "/debug/pprof/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if want := map[bool]int{false: 404, true: 200}[on]; resp.StatusCode != want {
			t.Errorf("pprof %v: cmdline = %d, want %d", on, resp.StatusCode, want)
		}
		srv.Close()
	}
}

// BenchmarkInstrument measures what counting and timing adds to one
// request, around a handler that does nothing: the wrapper, the clock
// read twice, one cached series lookup, a counter and a histogram.
func BenchmarkInstrument(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/sites/{site}/comments", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	req := httptest.NewRequest("GET", "/api/v1/sites/news/comments?page=x", nil)
	w := discardWriter{h: http.Header{}}
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"off", (*Metrics)(nil).Instrument(mux)}, {"on", New().Instrument(mux)}} {
		b.Run("metrics="+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tc.h.ServeHTTP(w, req)
				}
			})
		})
	}
}

type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d discardWriter) WriteHeader(int)             {}

// BenchmarkScrape measures one /metrics answer in-process with every
// public route of Parley seen with three statuses (about what a busy
// server holds), plus the Go runtime and process metrics.
func BenchmarkScrape(b *testing.B) {
	m := New()
	for i := range 60 {
		for _, code := range []int{200, 304, 404} {
			m.requests.observe("GET /route/"+strconv.Itoa(i)+"/{id}", code, time.Duration(i)*time.Millisecond)
		}
	}
	h := m.Handler(false, nil)
	req := httptest.NewRequest("GET", "/metrics", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	b.ReportMetric(float64(rec.Body.Len()), "bytes")
}
