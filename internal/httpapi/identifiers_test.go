package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"parley/internal/comment"
	"parley/internal/metrics"
	"parley/internal/service"
	"parley/internal/store"
	"parley/internal/store/postgres"
	"parley/internal/widget"
)

// newTestServerOn is newTestServer over a store, with service options
// and server configuration of the caller's choosing.
func newTestServerOn(tb testing.TB, st store.Store, opt service.Options, cfg Config) *testServer {
	tb.Helper()
	ctx := context.Background()
	svc, err := service.New(ctx, st, opt)
	if err != nil {
		tb.Fatal(err)
	}
	if err := svc.CreateSite(ctx, service.OperatorActor(), &comment.Site{ID: "news", Name: "News", Origins: []string{origin}, EditWindow: comment.DefaultEditWindow}); err != nil {
		tb.Fatal(err)
	}
	assets, err := widget.New()
	if err != nil {
		tb.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	go svc.Run(runCtx)
	if *benchMetrics && cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	api := New(svc, assets, nil, cfg)
	srv := httptest.NewServer(api.Handler())
	tb.Cleanup(func() { api.StopStreams(); srv.Close(); stop(); st.Close() })
	return &testServer{srv, svc, st}
}

// openPostgres opens a migrated PostgreSQL store in a fresh schema of the
// database PARLEY_TEST_POSTGRES_URL names, dropped when the test ends; it
// skips the test when the variable is not set.
func openPostgres(tb testing.TB) store.Store {
	tb.Helper()
	base := os.Getenv("PARLEY_TEST_POSTGRES_URL")
	if base == "" {
		tb.Skip("PARLEY_TEST_POSTGRES_URL is not set; PostgreSQL tests skipped")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "parley_http_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	tb.Cleanup(func() {
		if conn, err := pgx.Connect(ctx, base); err == nil {
			conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			conn.Close(ctx)
		}
	})
	st, err := postgres.Open(ctx, base, postgres.Options{Migrate: true, Schema: schema, MaxConns: 4})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// TestIdentifiers_RefusedAtTheEdge: a site id, page key, comment id,
// counts or stream parameter holding a NUL byte, invalid UTF-8 or other
// control characters gets a 400 with a stable code, on SQLite (which
// would store a NUL) and on PostgreSQL (which would answer 500), and
// nothing is stored.
func TestIdentifiers_RefusedAtTheEdge(t *testing.T) {
	for _, db := range []struct {
		name string
		open func(t *testing.T) *testServer
	}{
		{"sqlite", func(t *testing.T) *testServer { return newTestServer(t) }},
		{"postgres", func(t *testing.T) *testServer {
			return newTestServerOn(t, openPostgres(t), service.Options{}, Config{})
		}},
	} {
		t.Run(db.name, func(t *testing.T) {
			ts := db.open(t)
			_, body := ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"page": origin + "/ok"}), nil)
			good := decode[apiComment](t, body).ID
			reader := ts.svc.NewReader()
			for _, bad := range []string{"\x00", "a\x00b", "\xff", "caf\xc3", "tab\there"} {
				q := url.QueryEscape(bad)
				p := url.PathEscape(bad)
				for _, tc := range []struct {
					method, path string
					body         any
					code         string
				}{
					{"GET", "/api/v1/sites/" + p + "/comments?page=x", nil, "invalid_site"},
					{"GET", "/api/v1/sites/" + p + "/counts?page=x", nil, "invalid_site"},
					{"GET", "/api/v1/sites/news/comments?page=" + q, nil, "invalid_page_key"},
					{"GET", "/api/v1/sites/news/counts?page=" + q, nil, "invalid_page_key"},
					{"GET", "/api/v1/sites/news/counts?page=x&page=" + q, nil, "invalid_page_key"},
					{"GET", "/api/v1/sites/news/stream?page=" + q, nil, "invalid_page_key"},
					{"GET", "/api/v1/sites/news/stream?page=x&after=" + q, nil, "invalid_after"},
					{"POST", "/api/v1/sites/news/comments/" + p + "/like", map[string]string{"reader": reader}, "invalid_id"},
					{"DELETE", "/api/v1/sites/news/comments/" + p + "/like", map[string]string{"reader": reader}, "invalid_id"},
					{"PATCH", "/api/v1/sites/news/comments/" + p, map[string]string{"reader": reader, "body": "new"}, "invalid_id"},
					{"DELETE", "/api/v1/sites/news/comments/" + p, map[string]string{"reader": reader}, "invalid_id"},
					{"POST", "/api/v1/sites/news/comments", post(map[string]string{"page": bad}), "invalid_page"},
					{"POST", "/api/v1/sites/news/comments", post(map[string]string{"page": origin + "/ok", "parent": bad}), "invalid_parent"},
					{"POST", "/api/v1/sites/news/comments", post(map[string]string{"page": origin + "/ok", "parent": good + bad}), "invalid_parent"},
				} {
					if tc.body != nil && !utf8.ValidString(bad) && !strings.Contains(tc.path, p) {
						continue // JSON carries no invalid UTF-8: it arrives as U+FFFD, which is text
					}
					resp, body := ts.do(t, tc.method, tc.path, tc.body, nil)
					if e := decode[apiErr](t, body); resp.StatusCode != http.StatusBadRequest || e.Error.Code != tc.code {
						t.Errorf("%s %q = %d %s; want 400 %s", tc.method, tc.path, resp.StatusCode, body, tc.code)
					}
				}
				// The pages readers without JavaScript get.
				for _, path := range []string{"/sites/" + p + "/thread?page=x", "/sites/news/thread?page=" + q} {
					if resp, body := ts.do(t, "GET", path, nil, nil); resp.StatusCode != http.StatusBadRequest {
						t.Errorf("GET %q = %d %s; want 400", path, resp.StatusCode, body)
					}
				}
				form := url.Values{"page": {bad}, "url": {origin + "/ok"}, "name": {"N"}, "email": {"n@example.org"}, "body": {"b"}, "token": {ts.svc.FormToken("news")}}
				if resp, body := ts.do(t, "POST", "/sites/news/comments", form, map[string]string{"Origin": origin}); resp.StatusCode != http.StatusBadRequest {
					t.Errorf("form post with page %q = %d %s; want 400", bad, resp.StatusCode, body)
				}
			}
			// Nothing but the one good comment was stored.
			cs, err := ts.st.ListComments(context.Background(), store.ListFilter{SiteID: "news"})
			if err != nil || len(cs) != 1 || strings.ContainsAny(cs[0].ThreadID, "\x00") {
				t.Fatalf("stored %d comments (%v), want the one good one", len(cs), err)
			}
		})
	}
}
