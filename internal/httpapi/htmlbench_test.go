package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// BenchmarkThreadHTML measures one server-rendered read of a 200-comment
// thread through the whole handler, without the network.
func BenchmarkThreadHTML(b *testing.B) {
	ts := newTestServer(b)
	seedThread(b, ts, 200)
	h := New(ts.svc, mustAssets(b), nil, Config{}).Handler()
	path := "/sites/news/thread?page=" + url.QueryEscape(origin+"/bench")
	req := httptest.NewRequest("GET", path, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatal(rec.Code)
	}
	b.SetBytes(int64(rec.Body.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			h.ServeHTTP(w, req)
		}
	})
}

// discardWriter is a ResponseWriter that throws the body away, as a
// socket would take it: the benchmark measures the handler, not a buffer.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}
