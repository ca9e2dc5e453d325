package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"parley/internal/auth"
	"parley/internal/comment"
	"parley/internal/loadgen"
	"parley/internal/login"
	"parley/internal/service"
	"parley/internal/spam"
	"parley/internal/widget"
)

// seedThread posts n comments (about a third of them replies) to one page
// and returns the thread's read path.
func seedThread(tb testing.TB, ts *testServer, n int) string {
	tb.Helper()
	ctx := context.Background()
	var ids []string
	for i := 0; i < n; i++ {
		d := comment.Draft{SiteID: "news", Page: origin + "/bench", Name: fmt.Sprintf("Reader %d", i), Email: fmt.Sprintf("r%d@example.org", i),
			Website: "https://reader.example/" + fmt.Sprint(i),
			Body:    "I took the new line this morning and it was **on time**. The shelter at [Mill Street](https://example.org/mill) is warm, though the board showed the wrong stop twice. Let's see how it copes with the evening rush — that's the real test.\n\n> every ten minutes at rush hour\n\nWe'll see."}
		if i%3 == 2 {
			d.ParentID = ids[len(ids)-1]
		}
		c, err := ts.svc.Post(ctx, d, service.Meta{IP: "192.0.2.1"})
		if err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	return "/api/v1/sites/news/comments?page=" + url.QueryEscape(origin+"/bench")
}

// BenchmarkThreadRead measures one read of a 200-comment thread through the
// whole handler (routing, CORS, cache lookup, write), without the network.
func BenchmarkThreadRead(b *testing.B) {
	ts := newTestServer(b)
	path := seedThread(b, ts, 200)
	h := New(ts.svc, mustAssets(b), nil, Config{}).Handler()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Origin", origin)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatal(rec.Code)
	}
	b.SetBytes(int64(rec.Body.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
		}
	})
}

// BenchmarkThreadReadUncached measures building a 200-comment thread from
// the database: what the first read after each write costs.
func BenchmarkThreadReadUncached(b *testing.B) {
	ts := newTestServer(b)
	seedThread(b, ts, 200)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// A like invalidates the cached thread, as any write does.
		b.StopTimer()
		th, _ := ts.svc.Thread(ctx, "news", origin+"/bench", comment.SortOldest)
		ts.svc.Like(ctx, "news", th.Comments[0].ID, true, service.Meta{Reader: ts.svc.NewReader()})
		b.StartTimer()
		if _, err := ts.svc.Thread(ctx, "news", origin+"/bench", comment.SortOldest); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPostComment posts through the JSON API with 8 concurrent posters,
// each post durable before it is answered: without spam checks, and with
// the whole spam pipeline (traps, rules, classifier; rate limits off, as
// every post comes from one address).
func BenchmarkPostComment(b *testing.B) {
	model, err := spam.Default()
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opt  service.Options
	}{
		{"no-spam-checks", service.Options{}},
		{"spam-pipeline", service.Options{Spam: &service.SpamOptions{Model: model, Buckets: spam.NewMemoryBuckets(100)}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ts := newTestServerWith(b, tc.opt)
			h := New(ts.svc, mustAssets(b), nil, Config{}).Handler()
			var n atomic.Int64
			b.SetParallelism(4) // 4 × GOMAXPROCS(2) = 8 posters on the target machine
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					// Distinct texts, so duplicate detection does not mark them spam.
					body, _ := json.Marshal(post(map[string]string{"body": fmt.Sprintf("Posting benchmark %d: the evening buses were on time and the [timetable](https://example.org) is clear.", n.Add(1))}))
					req := httptest.NewRequest("POST", "/api/v1/sites/news/comments", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != 201 && rec.Code != 202 {
						b.Fatalf("post = %d %s", rec.Code, rec.Body)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
		})
	}
}

// BenchmarkLoad runs the load generator over loopback with 32 connections
// against (a) a bare net/http handler serving a constant body of the same
// size from memory, the physical limit, and (b) Parley's thread read of a
// 200-comment thread, and (c) Parley taking posts from 8 connections.
// Each sub-benchmark runs for a fixed time; read req/s, p50 and p99 from
// the reported metrics.
func BenchmarkLoad(b *testing.B) {
	ts := newTestServer(b)
	path := seedThread(b, ts, 200)
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		b.Fatal(err)
	}
	thread, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	dur := 5 * time.Second

	report := func(b *testing.B, res loadgen.Result) {
		b.ReportMetric(res.PerSecond, "req/s")
		b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(res.Errors), "errors")
		b.ReportMetric(0, "ns/op")
		b.Logf("%s (body %d bytes)", res, len(thread))
	}
	b.Run("bare-handler", func(b *testing.B) {
		bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(thread)))
			w.Write(thread)
		}))
		defer bare.Close()
		for i := 0; i < b.N; i++ {
			res, err := loadgen.Run(context.Background(), loadgen.Config{URL: bare.URL, Conns: 32, Duration: dur})
			if err != nil {
				b.Fatal(err)
			}
			report(b, res)
		}
	})
	b.Run("thread-read", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			res, err := loadgen.Run(context.Background(), loadgen.Config{URL: ts.URL + path, Conns: 32, Duration: dur})
			if err != nil {
				b.Fatal(err)
			}
			report(b, res)
		}
	})
	b.Run("post", func(b *testing.B) {
		var n atomic.Int64
		for i := 0; i < b.N; i++ {
			res, err := loadgen.Run(context.Background(), loadgen.Config{
				URL: ts.URL + "/api/v1/sites/news/comments", Method: "POST", Conns: 8, Duration: dur, Want: http.StatusCreated,
				Header: http.Header{"Content-Type": {"application/json"}},
				Body: func(int) []byte {
					j, _ := json.Marshal(post(map[string]string{"page": origin + "/load", "body": fmt.Sprintf("Load test comment number %d, with a [link](https://example.org).", n.Add(1))}))
					return j
				},
			})
			if err != nil {
				b.Fatal(err)
			}
			report(b, res)
		}
	})
}

func mustAssets(tb testing.TB) *widget.Assets {
	tb.Helper()
	a, err := widget.New()
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// BenchmarkLoggedIn measures what log-in adds: posting with a session
// (its signature checked, then looked up in the store, on every post),
// reading /me, and trading a site's SSO token for a session.
func BenchmarkLoggedIn(b *testing.B) {
	as := newAuthServer(b, login.Config{}, service.Options{}, nil)
	h := as.Config.Handler
	s := as.ssoLogin(b, "42", "Jane Reporter", "jane@news.example")
	run := func(b *testing.B, req func(i int64) *http.Request, want int) {
		var n atomic.Int64
		b.SetParallelism(4)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req(n.Add(1)))
				if rec.Code != want {
					b.Fatalf("= %d %s", rec.Code, rec.Body)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	}
	b.Run("post", func(b *testing.B) {
		run(b, func(i int64) *http.Request {
			body, _ := json.Marshal(post(map[string]string{"name": "", "email": "", "body": fmt.Sprintf("Logged-in benchmark %d: the evening buses were on time.", i)}))
			req := httptest.NewRequest("POST", "/api/v1/sites/news/comments", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+s.Token)
			return req
		}, http.StatusCreated)
	})
	b.Run("me", func(b *testing.B) {
		run(b, func(int64) *http.Request {
			req := httptest.NewRequest("GET", "/api/v1/sites/news/me", nil)
			req.Header.Set("Authorization", "Bearer "+s.Token)
			return req
		}, http.StatusOK)
	})
	b.Run("sso-exchange", func(b *testing.B) {
		tok := ssoToken(b, auth.SSOUser{ID: "7", Name: "Sam"})
		run(b, func(int64) *http.Request {
			req := httptest.NewRequest("POST", "/api/v1/sites/news/auth/sso", strings.NewReader(`{"token":"`+tok+`"}`))
			req.Header.Set("Content-Type", "application/json")
			return req
		}, http.StatusOK)
	})
}
