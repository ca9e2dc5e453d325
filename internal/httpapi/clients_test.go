package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"parley/internal/ratelimit"
	"parley/internal/service"
)

// TestStreams_CappedPerClient: one client may hold only so many live
// streams open; past the cap it gets 429 too_many_streams, a stream it
// closes gives its place back, and other clients are not affected.
func TestStreams_CappedPerClient(t *testing.T) {
	ts := newTestServerOn(t, openSQLite(t), service.Options{}, Config{StreamsPerClient: 3})
	stream := ts.URL + "/api/v1/sites/news/stream?page=" + url.QueryEscape(origin+"/popular")
	var open []*http.Response
	for range 3 {
		_, resp := openStream(t, ts.URL, origin+"/popular", nil)
		open = append(open, resp)
	}
	resp, err := http.Get(stream)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a fourth stream = %d (Retry-After %q), want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Another client: the handler, with another address.
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, "GET", stream, nil)
	req.RemoteAddr = "192.0.2.77:4444"
	rec := &headerSignal{ResponseRecorder: httptest.NewRecorder(), wrote: make(chan int, 1)}
	done := make(chan struct{})
	go func() { defer close(done); ts.Config.Handler.ServeHTTP(rec, req) }()
	select {
	case code := <-rec.wrote:
		if code != http.StatusOK {
			t.Errorf("another client's stream = %d %s", code, rec.Body)
		}
	case <-time.After(10 * time.Second):
		t.Error("another client's stream did not answer")
	}
	cancel()
	<-done
	// A closed stream frees its place, once the server notices.
	open[0].Body.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(stream)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing a stream a new one = %d", resp.StatusCode)
		}
	}
}

// headerSignal is a recorder that says when the status is written.
type headerSignal struct {
	*httptest.ResponseRecorder
	wrote chan int
	once  sync.Once
}

func (w *headerSignal) WriteHeader(code int) {
	w.ResponseRecorder.WriteHeader(code)
	w.once.Do(func() { w.wrote <- code })
}

// TestReads_BudgetPerClient: thread reads the instance cannot answer from
// memory cost the client a token of its read budget; past it, 429
// too_many_reads with Retry-After. Reads of a thread in memory stay free,
// and another client reads on.
func TestReads_BudgetPerClient(t *testing.T) {
	ts := newTestServerOn(t, openSQLite(t), service.Options{}, Config{ReadBudget: ratelimit.Limit{Burst: 5, Every: time.Hour}})
	h := ts.Config.Handler
	read := func(addr, key string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/"+key), nil)
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i := range 5 {
		if rec := read("203.0.113.5:1000", fmt.Sprint("random-", i)); rec.Code != 200 {
			t.Fatalf("read %d = %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := read("203.0.113.5:1000", "random-5")
	if e := decode[apiErr](t, rec.Body.Bytes()); rec.Code != http.StatusTooManyRequests || e.Error.Code != "too_many_reads" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("sixth distinct page = %d %s", rec.Code, rec.Body)
	}
	if rec := read("203.0.113.5:1000", "random-2"); rec.Code != 200 {
		t.Fatalf("a page already in memory = %d %s; it costs nothing", rec.Code, rec.Body)
	}
	if rec := read("198.51.100.8:1000", "random-5"); rec.Code != 200 {
		t.Fatalf("another client = %d %s", rec.Code, rec.Body)
	}
	// The page without JavaScript and the counts share the budget.
	req := httptest.NewRequest("GET", "/sites/news/thread?page="+url.QueryEscape(origin+"/random-9"), nil)
	req.RemoteAddr = "203.0.113.5:1000"
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("the HTML thread past the budget = %d", rec.Code)
	}
	req = httptest.NewRequest("GET", "/api/v1/sites/news/counts?page=x", nil)
	req.RemoteAddr = "203.0.113.5:1000"
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("counts past the budget = %d", rec.Code)
	}
}
