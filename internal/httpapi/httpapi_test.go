package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	"parley/internal/comment"
	"parley/internal/service"
	"parley/internal/store"
	"parley/internal/store/sqlite"
)

const origin = "https://news.example"

type testServer struct {
	*httptest.Server
	svc *service.Service
	st  store.Store // the same store, for tests to look at what is stored
}

// newTestServer runs the real handler over a temporary SQLite store with a
// site "news" whose pages are on https://news.example.
func newTestServer(tb testing.TB) *testServer {
	return newTestServerWith(tb, service.Options{})
}

// newTestServerWith is newTestServer with service options (the spam defence).
func newTestServerWith(tb testing.TB, opt service.Options) *testServer {
	tb.Helper()
	return newTestServerOn(tb, openSQLite(tb), opt, Config{})
}

// openSQLite opens a migrated SQLite store in a temporary directory.
func openSQLite(tb testing.TB) *sqlite.DB {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "h.db"), sqlite.Options{Migrate: true})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// do sends a request and returns the response with its body read.
func (ts *testServer) do(tb testing.TB, method, path string, body any, header map[string]string) (*http.Response, []byte) {
	tb.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case url.Values:
		r = strings.NewReader(b.Encode())
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, ts.URL+path, r)
	switch body.(type) {
	case url.Values:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case nil:
	default:
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

func post(fields map[string]string) map[string]string {
	out := map[string]string{"page": origin + "/story", "url": origin + "/story", "name": "Noor", "email": "noor@example.org", "body": "Great piece."}
	for k, v := range fields {
		out[k] = v
	}
	return out
}

func decode[T any](tb testing.TB, b []byte) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatalf("decode %s: %v", b, err)
	}
	return v
}

type apiComment struct {
	ID      string  `json:"id"`
	Parent  *string `json:"parent"`
	Author  map[string]string
	HTML    string       `json:"html"`
	Created string       `json:"created"`
	Likes   int          `json:"likes"`
	Status  string       `json:"status"`
	Replies []apiComment `json:"replies"`
}

type apiThread struct {
	Comments []apiComment `json:"comments"`
	Total    int          `json:"total"`
}

type apiErr struct {
	Error struct{ Code, Message, Field string } `json:"error"`
	Hint  string                                `json:"hint"`
}

func TestHealth(t *testing.T) {
	ts := newTestServer(t)
	resp, body := ts.do(t, "GET", "/healthz", nil, nil)
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("healthz = %d %q", resp.StatusCode, body)
	}
}

func TestPostAndList(t *testing.T) {
	ts := newTestServer(t)
	resp, body := ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"body": "First *post*", "website": "noor.example"}), map[string]string{"Origin": origin})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST = %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("no CORS grant for an allowed origin")
	}
	if bytes.Contains(body, []byte("noor@example.org")) {
		t.Fatal("the email address reached a public response")
	}
	top := decode[apiComment](t, body)
	if top.Status != "approved" || top.Parent != nil || !strings.Contains(top.HTML, "<em>post</em>") || top.Author["website"] != "https://noor.example" {
		t.Fatalf("created = %+v", top)
	}
	resp, body = ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"parent": top.ID, "body": "A reply"}), nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("reply = %d %s", resp.StatusCode, body)
	}
	reply := decode[apiComment](t, body)

	resp, body = ts.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/story"), nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET = %d %s", resp.StatusCode, body)
	}
	if bytes.Contains(body, []byte("noor@example.org")) {
		t.Fatal("the email address reached a public response")
	}
	th := decode[apiThread](t, body)
	if th.Total != 2 || len(th.Comments) != 1 || th.Comments[0].ID != top.ID || len(th.Comments[0].Replies) != 1 ||
		th.Comments[0].Replies[0].ID != reply.ID || *th.Comments[0].Replies[0].Parent != top.ID {
		t.Fatalf("thread = %s", body)
	}
	if !strings.HasPrefix(th.Comments[0].Author["avatar"], ts.URL+"/avatars/") {
		t.Fatalf("avatar = %q, want one served by Parley", th.Comments[0].Author["avatar"])
	}
	resp, _ = ts.do(t, "GET", strings.TrimPrefix(th.Comments[0].Author["avatar"], ts.URL), nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("avatar = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// An unknown page is an empty thread.
	resp, body = ts.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/nothing"), nil, nil)
	if resp.StatusCode != 200 || decode[apiThread](t, body).Total != 0 || !bytes.Contains(body, []byte(`"comments":[]`)) {
		t.Fatalf("empty thread = %d %s", resp.StatusCode, body)
	}
}

func TestThreadCaching(t *testing.T) {
	ts := newTestServer(t)
	path := "/api/v1/sites/news/comments?page=" + url.QueryEscape(origin+"/story")
	ts.do(t, "POST", "/api/v1/sites/news/comments", post(nil), nil)
	resp, plain := ts.do(t, "GET", path, nil, nil)
	etag := resp.Header.Get("ETag")
	if cc := resp.Header.Get("Cache-Control"); etag == "" || !strings.Contains(cc, "max-age=") || !strings.Contains(cc, "stale-while-revalidate=") {
		t.Fatalf("no ETag/Cache-Control: %v", resp.Header)
	}
	resp, _ = ts.do(t, "GET", path, nil, map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match with current ETag = %d, want 304", resp.StatusCode)
	}
	resp, gz := ts.do(t, "GET", path, nil, map[string]string{"Accept-Encoding": "gzip"})
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatal("gzip not used")
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, plain) {
		t.Fatal("gzip body differs from the plain one")
	}
	// Browsers over HTTPS take Brotli, which they prefer.
	resp, br := ts.do(t, "GET", path, nil, map[string]string{"Accept-Encoding": "gzip, deflate, br, zstd"})
	if resp.Header.Get("Content-Encoding") != "br" || !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Accept-Encoding") {
		t.Fatalf("Brotli not used: %v", resp.Header)
	}
	if unbr, err := io.ReadAll(brotli.NewReader(bytes.NewReader(br))); err != nil || !bytes.Equal(unbr, plain) {
		t.Fatalf("Brotli body differs from the plain one: %v", err)
	}
	if len(br) >= len(gz) {
		t.Errorf("Brotli %d bytes, gzip %d", len(br), len(gz))
	}
	counts := "/api/v1/sites/news/counts?page=" + url.QueryEscape(origin+"/story")
	resp, _ = ts.do(t, "GET", counts, nil, nil)
	resp, _ = ts.do(t, "GET", counts, nil, map[string]string{"If-None-Match": resp.Header.Get("ETag")})
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("counts with current ETag = %d, want 304", resp.StatusCode)
	}
	// A write makes the old ETag stale at once.
	ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"body": "second"}), nil)
	resp, body := ts.do(t, "GET", path, nil, map[string]string{"If-None-Match": etag})
	if resp.StatusCode != 200 || decode[apiThread](t, body).Total != 2 || resp.Header.Get("ETag") == etag {
		t.Fatalf("after a write: %d, ETag %s, %s", resp.StatusCode, resp.Header.Get("ETag"), body)
	}
}

func TestPostErrors(t *testing.T) {
	ts := newTestServer(t)
	tests := []struct {
		name   string
		path   string
		body   any
		header map[string]string
		status int
		code   string
		field  string
	}{
		{"missing name", "/api/v1/sites/news/comments", post(map[string]string{"name": ""}), nil, 400, "missing_name", "name"},
		{"bad email", "/api/v1/sites/news/comments", post(map[string]string{"email": "noor@"}), nil, 400, "invalid_email", "email"},
		{"empty body", "/api/v1/sites/news/comments", post(map[string]string{"body": " "}), nil, 400, "missing_body", "body"},
		{"foreign page", "/api/v1/sites/news/comments", post(map[string]string{"page": "https://evil.example/x", "url": "https://evil.example/x"}), nil, 400, "invalid_page", "page"},
		{"unknown site", "/api/v1/sites/nope/comments", post(nil), nil, 404, "unknown_site", "site"},
		{"disallowed origin", "/api/v1/sites/news/comments", post(nil), map[string]string{"Origin": "https://evil.example"}, 403, "origin_not_allowed", ""},
		{"not json", "/api/v1/sites/news/comments", "{nope", nil, 400, "bad_json", ""},
		{"wrong type", "/api/v1/sites/news/comments", `{"body": 5}`, nil, 400, "invalid_body", "body"},
		{"too large", "/api/v1/sites/news/comments", post(map[string]string{"body": strings.Repeat("x", maxJSONBody)}), nil, 413, "too_large", ""},
		{"bad sort", "/api/v1/sites/news/comments?page=x&sort=random", nil, nil, 400, "invalid_sort", "sort"},
		{"no page", "/api/v1/sites/news/comments", nil, nil, 400, "missing_page", "page"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "POST"
			if tt.body == nil {
				method = "GET"
			}
			resp, body := ts.do(t, method, tt.path, tt.body, tt.header)
			e := decode[apiErr](t, body)
			if resp.StatusCode != tt.status || e.Error.Code != tt.code || e.Error.Field != tt.field || e.Error.Message == "" {
				t.Fatalf("= %d %s; want %d %s on %q", resp.StatusCode, body, tt.status, tt.code, tt.field)
			}
		})
	}
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/sites/news/comments", strings.NewReader("body=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("form body to the JSON API = %d, want 415", resp.StatusCode)
	}
	_, body := ts.do(t, "GET", "/api/v1/sites/news/counts?page="+url.QueryEscape(origin+"/story"), nil, nil)
	if !bytes.Contains(body, []byte(`:0}`)) {
		t.Fatalf("refused posts were stored: %s", body)
	}
}

func TestPreflight(t *testing.T) {
	ts := newTestServer(t)
	resp, _ := ts.do(t, "OPTIONS", "/api/v1/sites/news/comments", nil, map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST"})
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != origin || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Fatalf("preflight = %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = ts.do(t, "OPTIONS", "/api/v1/sites/news/comments", nil, map[string]string{"Origin": "https://evil.example"})
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from a foreign origin = %d %v", resp.StatusCode, resp.Header)
	}
}

func TestHeldComment(t *testing.T) {
	ts := newTestServer(t)
	site, _ := ts.svc.Site(context.Background(), "news")
	held := *site
	held.Moderation = comment.ModerateAll
	ts.svc.UpdateSite(context.Background(), service.OperatorActor(), &held)
	resp, body := ts.do(t, "POST", "/api/v1/sites/news/comments", post(nil), nil)
	if resp.StatusCode != http.StatusAccepted || decode[apiComment](t, body).Status != "pending" {
		t.Fatalf("held post = %d %s", resp.StatusCode, body)
	}
	_, body = ts.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/story"), nil, nil)
	if decode[apiThread](t, body).Total != 0 {
		t.Fatal("held comment shown to everyone")
	}
}

func TestCountsAndLikes(t *testing.T) {
	ts := newTestServer(t)
	_, body := ts.do(t, "POST", "/api/v1/sites/news/comments", post(nil), nil)
	c := decode[apiComment](t, body)
	ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"page": origin + "/other"}), nil)
	_, body = ts.do(t, "GET", "/api/v1/sites/news/counts?page="+url.QueryEscape(origin+"/story")+"&page="+url.QueryEscape(origin+"/none"), nil, nil)
	counts := decode[map[string]map[string]int](t, body)["counts"]
	if len(counts) != 2 || counts[origin+"/story"] != 1 || counts[origin+"/none"] != 0 {
		t.Fatalf("counts = %s", body)
	}

	resp, body := ts.do(t, "POST", "/api/v1/reader", nil, map[string]string{"Origin": origin})
	reader := decode[map[string]string](t, body)["reader"]
	if resp.StatusCode != 201 || reader == "" {
		t.Fatalf("reader = %d %s", resp.StatusCode, body)
	}
	like := "/api/v1/sites/news/comments/" + c.ID + "/like"
	for i := 0; i < 2; i++ { // the second like by the same reader changes nothing
		resp, body = ts.do(t, "POST", like, map[string]string{"reader": reader}, nil)
		if resp.StatusCode != 200 || !bytes.Equal(body, []byte(`{"liked":true,"likes":1}`)) {
			t.Fatalf("like #%d = %d %s", i+1, resp.StatusCode, body)
		}
	}
	_, body = ts.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/story")+"&sort=top", nil, nil)
	if decode[apiThread](t, body).Comments[0].Likes != 1 {
		t.Fatalf("thread after like = %s", body)
	}
	resp, body = ts.do(t, "DELETE", like, map[string]string{"reader": reader}, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, []byte(`{"liked":false,"likes":0}`)) {
		t.Fatalf("unlike = %d %s", resp.StatusCode, body)
	}
	resp, body = ts.do(t, "POST", like, map[string]string{"reader": "made.up"}, nil)
	if resp.StatusCode != 400 || decode[apiErr](t, body).Error.Code != "invalid_reader" {
		t.Fatalf("like with a forged reader = %d %s", resp.StatusCode, body)
	}
	resp, _ = ts.do(t, "POST", "/api/v1/sites/news/comments/nope/like", map[string]string{"reader": reader}, nil)
	if resp.StatusCode != 404 {
		t.Fatalf("like of a missing comment = %d", resp.StatusCode)
	}
}

func TestEditAndDelete(t *testing.T) {
	ts := newTestServer(t)
	_, body := ts.do(t, "POST", "/api/v1/reader", nil, nil)
	me := decode[map[string]string](t, body)["reader"]
	_, body = ts.do(t, "POST", "/api/v1/reader", nil, nil)
	other := decode[map[string]string](t, body)["reader"]
	_, body = ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"body": "frist", "reader": me}), nil)
	c := decode[apiComment](t, body)
	path := "/api/v1/sites/news/comments/" + c.ID

	resp, body := ts.do(t, "PATCH", path, map[string]string{"reader": other, "body": "mine now"}, nil)
	if resp.StatusCode != 403 || decode[apiErr](t, body).Error.Code != "not_author" {
		t.Fatalf("edit by another reader = %d %s", resp.StatusCode, body)
	}
	resp, body = ts.do(t, "PATCH", path, map[string]string{"reader": me, "body": "*first*"}, map[string]string{"Origin": origin})
	if resp.StatusCode != 200 || !strings.Contains(decode[apiComment](t, body).HTML, "<em>first</em>") {
		t.Fatalf("edit = %d %s", resp.StatusCode, body)
	}
	_, body = ts.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/story"), nil, nil)
	if !strings.Contains(string(body), "<em>first</em>") || !strings.Contains(string(body), `"edited":`) || !strings.Contains(string(body), `"edit_window":900`) {
		t.Fatalf("thread after edit = %s", body)
	}
	resp, _ = ts.do(t, "DELETE", path, map[string]string{"reader": other}, nil)
	if resp.StatusCode != 403 {
		t.Fatalf("delete by another reader = %d", resp.StatusCode)
	}
	resp, body = ts.do(t, "DELETE", path, map[string]string{"reader": me}, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("delete = %d %s", resp.StatusCode, body)
	}
	_, body = ts.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/story"), nil, nil)
	if decode[apiThread](t, body).Total != 0 {
		t.Fatalf("thread after delete = %s", body)
	}
}
