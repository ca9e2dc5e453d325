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
	"parley/internal/ratelimit"
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
			Body:    fmt.Sprintf("I took the new line this morning (trip %d) and it was **on time**. The shelter at [Mill Street](https://example.org/mill) is warm, though the board showed the wrong stop twice. Let's see how it copes with the evening rush — that's the real test.\n\n> every ten minutes at rush hour\n\nWe'll see.", i)}
		if i%3 == 2 {
			d.ParentID = ids[len(ids)-1]
		}
		c, err := ts.svc.Post(ctx, d, service.Meta{IP: "192.0.2.1"})
		if err != nil {
			tb.Fatal(err)
		}
		if c.Status != comment.StatusApproved {
			tb.Fatalf("seeded comment %d is %s", i, c.Status)
		}
		ids = append(ids, c.ID)
	}
	return "/api/v1/sites/news/comments?page=" + url.QueryEscape(origin+"/bench")
}

// BenchmarkThreadRead measures one read of a 200-comment thread through the
// whole handler (routing, CORS, cache lookup, write), without the network.
func BenchmarkThreadRead(b *testing.B) { benchThreadRead(b, Config{}) }

// benchThreadRead is BenchmarkThreadRead with a server configured by cfg.
func benchThreadRead(b *testing.B, cfg Config) {
	ts := newTestServer(b)
	path := seedThread(b, ts, 200)
	h := New(ts.svc, mustAssets(b), nil, cfg).Handler()
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

// BenchmarkThreadHTML measures one server-rendered read of a 200-comment
// thread through the whole handler, without the network: plain, with a
// reader's held comment, replying, and in Arabic.
func BenchmarkThreadHTML(b *testing.B) {
	ts := newTestServer(b)
	seedThread(b, ts, 200)
	page := "/sites/news/thread?page=" + url.QueryEscape(origin+"/bench")
	h := New(ts.svc, mustAssets(b), nil, Config{}).Handler()
	for _, tc := range htmlReads(b, ts) {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", page+tc.query, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), tc.want) {
				b.Fatalf("%d, lacks %q", rec.Code, tc.want)
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
		})
	}
}

// htmlRead is a kind of server-rendered thread read: the query added to
// the page's, and what its answer shows.
type htmlRead struct{ name, query, want string }

// htmlReads are the reads that differ between readers of a thread seeded
// by seedThread: plain, with the reader's held comment (one is posted
// for it), replying, and in Arabic.
func htmlReads(tb testing.TB, ts *testServer) []htmlRead {
	ctx := context.Background()
	site, _ := ts.svc.Site(ctx, "news")
	hold := *site
	hold.Moderation = comment.ModerateAll
	ts.svc.UpdateSite(ctx, service.OperatorActor(), &hold)
	th, _ := ts.svc.Thread(ctx, "news", origin+"/bench", comment.SortOldest)
	held, err := ts.svc.Post(ctx, comment.Draft{SiteID: "news", Page: origin + "/bench", ParentID: th.Comments[3].ID, Name: "Held", Email: "held@example.org", Body: "Awaiting moderation."}, service.Meta{IP: "192.0.2.9"})
	if err != nil || held.Status != comment.StatusPending {
		tb.Fatalf("held comment: %v %v", held, err)
	}
	ts.svc.UpdateSite(ctx, service.OperatorActor(), site)
	return []htmlRead{
		{"plain", "", `name="token"`},
		{"held", "&parley_held=" + url.QueryEscape(ts.svc.HeldToken(held)), "Awaiting moderation."},
		{"replytocom", "&replytocom=" + th.Comments[5].ID, `name="parent" value="` + th.Comments[5].ID + `"`},
		{"lang-ar", "&lang=ar", `lang="ar" dir="rtl"`},
	}
}

// discardWriter is a ResponseWriter that throws the body away, as a
// socket would take it: the benchmark measures the handler, not a buffer.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

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
		{"spam-pipeline", service.Options{Spam: &service.SpamOptions{Model: model, Buckets: ratelimit.NewMemory(100)}}},
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

// BenchmarkLoad runs the load generator over loopback against Parley
// and, in the same run, against the physical limit: a bare net/http
// handler serving a constant body of the same size from memory. Each
// sub-benchmark runs the two for 5 s each a round, alternating in 1 s
// slices so that both meet the same moments of a shared machine, b.N
// rounds (-benchtime 3x for three), and reports Parley's req/s and p99,
// the bare handler's, and their ratios (SPEC.md §3: at least 0.5 of the
// rate, at most 2× the p99):
//
//   - thread-json: the widget's read of a 200-comment thread, 32 connections;
//   - thread-html/*: the server-rendered thread of the same thread (readers
//     without JavaScript, search engines, includes), 32 connections: plain,
//     with a reader's held comment (?parley_held), replying (?replytocom),
//     in Arabic (?lang=ar), and gzip-compressed as browsers take it (the
//     bare handler then sends a constant body of the compressed size);
//   - post: posting with 8 connections through the whole spam pipeline
//     (rate limits off: every post comes from one address), each comment
//     durable before it is answered.
//
// The machine is shared and has 2 cores: compare within one run.
func BenchmarkLoad(b *testing.B) {
	ts := newTestServer(b)
	jsonPath := seedThread(b, ts, 200)
	ctx := context.Background()
	page := "/sites/news/thread?page=" + url.QueryEscape(origin+"/bench")

	reads := htmlReads(b, ts)
	fetch := func(path string, want string) []byte {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			b.Fatalf("%s: %d, lacks %q", path, resp.StatusCode, want)
		}
		return body
	}
	const dur = 5 * time.Second
	// versus runs Parley at path and the bare handler with a body of the
	// same size, alternately in 1 s slices (so that both meet the same
	// moments of a shared machine), 5 s each a round, and reports both and
	// the ratios.
	// With an encoding, both answer compressed: the bare handler with a
	// constant body of the compressed size.
	versus := func(b *testing.B, path, want, ctype, encoding string) {
		body := fetch(path, want)
		var header http.Header
		if encoding != "" {
			header = http.Header{"Accept-Encoding": {encoding}}
			req, _ := http.NewRequest("GET", ts.URL+path, nil)
			req.Header = header.Clone()
			resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
			if err != nil {
				b.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := resp.Header.Get("Content-Encoding"); got != encoding {
				b.Fatalf("%s: Content-Encoding %q, want %q", path, got, encoding)
			}
		}
		bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			if encoding != "" {
				w.Header().Set("Content-Encoding", encoding)
			}
			w.Write(body)
		}))
		defer bare.Close()
		var all, allBare slices5
		for i := 0; i < b.N; i++ {
			var round, roundBare slices5
			for range 5 {
				for _, side := range []struct {
					url string
					to  *slices5
				}{{bare.URL, &roundBare}, {ts.URL + path, &round}} {
					res, err := loadgen.Run(ctx, loadgen.Config{URL: side.url, Header: header, Conns: 32, Duration: dur / 5})
					if err != nil {
						b.Fatal(err)
					}
					if res.Errors > 0 {
						b.Fatalf("%s: %d errors", side.url, res.Errors)
					}
					side.to.add(res)
				}
			}
			b.Logf("round %d, body %d bytes: bare %s; parley %s; rate ratio %.2f, p99 ratio %.2f",
				i+1, len(body), roundBare, round, round.rate()/roundBare.rate(), float64(round.p99())/float64(roundBare.p99()))
			all.merge(round)
			allBare.merge(roundBare)
		}
		b.ReportMetric(all.rate(), "req/s")
		b.ReportMetric(allBare.rate(), "bare-req/s")
		b.ReportMetric(all.rate()/allBare.rate(), "rate-ratio")
		b.ReportMetric(float64(all.p99().Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(allBare.p99().Microseconds())/1000, "bare-p99-ms")
		b.ReportMetric(float64(all.p99())/float64(allBare.p99()), "p99-ratio")
		b.ReportMetric(0, "ns/op")
	}
	b.Run("thread-json", func(b *testing.B) {
		versus(b, jsonPath, `"comments"`, "application/json", "")
	})
	for _, tc := range reads {
		b.Run("thread-html/"+tc.name, func(b *testing.B) {
			versus(b, page+tc.query, tc.want, "text/html; charset=utf-8", "")
		})
	}
	b.Run("thread-html/gzip", func(b *testing.B) {
		versus(b, page, `name="token"`, "text/html; charset=utf-8", "gzip")
	})
	b.Run("post", func(b *testing.B) {
		model, err := spam.Default()
		if err != nil {
			b.Fatal(err)
		}
		ts := newTestServerWith(b, service.Options{Spam: &service.SpamOptions{Model: model, Buckets: ratelimit.NewMemory(100)}})
		var n atomic.Int64
		writer, _ := ts.st.(interface {
			WriterStats() (batches, writes int64, busy time.Duration)
		})
		for i := 0; i < b.N; i++ {
			cpu := cpuTime()
			var batches0, writes0 int64
			var busy0 time.Duration
			if writer != nil {
				batches0, writes0, busy0 = writer.WriterStats()
			}
			res, err := loadgen.Run(ctx, loadgen.Config{
				URL: ts.URL + "/api/v1/sites/news/comments", Method: "POST", Conns: 8, Duration: dur,
				// Stored either way: published, or held by the classifier.
				Want: http.StatusCreated, AlsoOK: []int{http.StatusAccepted},
				Header: http.Header{"Content-Type": {"application/json"}},
				Body: func(int) []byte {
					j, _ := json.Marshal(post(map[string]string{"page": origin + "/load", "body": fmt.Sprintf("Posting benchmark %d: the evening buses were on time and the [timetable](https://example.org) is clear.", n.Add(1))}))
					return j
				},
			})
			if err != nil {
				b.Fatal(err)
			}
			// CPU of the whole process (server and load generator) per post.
			perPost := float64((cpuTime() - cpu).Microseconds()) / float64(max(res.Requests, 1))
			b.Logf("round %d: %s; %.0f µs CPU per post (server and client)", i+1, res, perPost)
			if writer != nil {
				// SQLite's one writer: busy near 100 % means posts queue
				// behind it; writes per batch, how many each commit served.
				batches, writes, busy := writer.WriterStats()
				b.Logf("round %d: SQLite writer busy %.0f %% of the time, %.1f writes per batch, %.0f µs per write", i+1,
					100*(busy-busy0).Seconds()/res.Elapsed.Seconds(), float64(writes-writes0)/float64(max(batches-batches0, 1)),
					float64((busy-busy0).Microseconds())/float64(max(writes-writes0, 1)))
			}
			b.ReportMetric(perPost, "cpu-µs/post")
			b.ReportMetric(res.PerSecond, "req/s")
			b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(res.Errors), "errors")
			b.ReportMetric(0, "ns/op")
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
		run(b, func(int64) *http.Request {
			// A token logs in once: each page view brings a new one.
			tok := ssoToken(b, auth.SSOUser{ID: "7", Name: "Sam"})
			req := httptest.NewRequest("POST", "/api/v1/sites/news/auth/sso", strings.NewReader(`{"token":"`+tok+`"}`))
			req.Header.Set("Content-Type", "application/json")
			return req
		}, http.StatusOK)
	})
}

// slices5 adds up load runs: requests over time, and the p99 as the mean
// of the runs' p99s (each run is as long as the others).
type slices5 struct {
	requests int
	elapsed  time.Duration
	p99s     []time.Duration
}

func (s *slices5) add(r loadgen.Result) {
	s.requests += r.Requests
	s.elapsed += r.Elapsed
	s.p99s = append(s.p99s, r.P99)
}

func (s *slices5) merge(o slices5) {
	s.requests += o.requests
	s.elapsed += o.elapsed
	s.p99s = append(s.p99s, o.p99s...)
}

func (s slices5) rate() float64 { return float64(s.requests) / s.elapsed.Seconds() }

func (s slices5) p99() time.Duration {
	var sum time.Duration
	for _, d := range s.p99s {
		sum += d
	}
	return sum / time.Duration(max(len(s.p99s), 1))
}

func (s slices5) String() string {
	return fmt.Sprintf("%.0f req/s, p99 %v", s.rate(), s.p99().Round(10*time.Microsecond))
}
