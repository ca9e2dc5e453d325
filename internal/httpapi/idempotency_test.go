package httpapi

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestPost_IdempotencyKey: a post sent again with its Idempotency-Key (a
// retry after the answer was lost) gets the first answer and stores
// nothing more; the same key with other text is another comment.
func TestPost_IdempotencyKey(t *testing.T) {
	ts := newTestServer(t)
	page := origin + "/retry"
	key := map[string]string{"Idempotency-Key": "4f1c2a9e7b3d5f60"}
	resp, body := ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"page": page, "body": "Sent on a bad train connection."}), key)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("first post = %d %s", resp.StatusCode, body)
	}
	first := decode[apiComment](t, body)
	resp, body = ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"page": page, "body": "Sent on a bad train connection."}), key)
	if resp.StatusCode != http.StatusCreated || decode[apiComment](t, body).ID != first.ID {
		t.Fatalf("retry = %d %s, want 201 with comment %s", resp.StatusCode, body, first.ID)
	}
	resp, body = ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"page": page, "body": "Something else entirely."}), key)
	if resp.StatusCode != http.StatusCreated || decode[apiComment](t, body).ID == first.ID {
		t.Fatalf("other text with the same key = %d %s, want a new comment", resp.StatusCode, body)
	}
	_, body = ts.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(page), nil, nil)
	if th := decode[apiThread](t, body); th.Total != 2 {
		t.Fatalf("thread holds %d comments, want 2", th.Total)
	}
	for _, bad := range []string{"has space", strings.Repeat("k", 129), "ключ"} {
		resp, body = ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"page": page, "body": "x y z"}), map[string]string{"Idempotency-Key": bad})
		if e := decode[apiErr](t, body); resp.StatusCode != http.StatusBadRequest || e.Error.Code != "invalid_idempotency_key" {
			t.Fatalf("key %q = %d %s", bad, resp.StatusCode, body)
		}
	}
	// Browsers may send the header across origins.
	resp, _ = ts.do(t, "OPTIONS", "/api/v1/sites/news/comments", nil, map[string]string{"Origin": origin, "Access-Control-Request-Headers": "idempotency-key"})
	if !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Idempotency-Key") {
		t.Fatalf("preflight allows %q", resp.Header.Get("Access-Control-Allow-Headers"))
	}
}

// TestFormPost_SentTwice: the plain form carries a key minted with it, so
// sending it again (the back button and submit, a reload that re-posts)
// leads to the same comment, stored once.
func TestFormPost_SentTwice(t *testing.T) {
	ts := newTestServer(t)
	page := origin + "/twice"
	_, html := ts.do(t, "GET", "/sites/news/thread?page="+url.QueryEscape(page), nil, nil)
	m := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(string(html))
	if m == nil {
		t.Fatalf("the form has no key field:\n%s", html)
	}
	if again := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(string(ts.get(t, "/sites/news/thread?page="+url.QueryEscape(page)))); again == nil || again[1] == m[1] {
		t.Fatal("two renderings of the form share a key")
	}
	form := url.Values{"page": {page}, "url": {page}, "name": {"Tomás"}, "email": {"t@example.org"}, "body": {"Posted twice by the back button."},
		"token": {ts.svc.FormToken("news")}, "key": {m[1]}}
	var locs []string
	for range 2 {
		resp, body := ts.do(t, "POST", "/sites/news/comments", form, map[string]string{"Origin": origin})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("form post = %d %s", resp.StatusCode, body)
		}
		locs = append(locs, resp.Header.Get("Location"))
	}
	if locs[0] != locs[1] {
		t.Fatalf("the second post went to %s, the first to %s", locs[1], locs[0])
	}
	if th := decode[apiThread](t, ts.get(t, "/api/v1/sites/news/comments?page="+url.QueryEscape(page))); th.Total != 1 {
		t.Fatalf("thread holds %d comments, want 1", th.Total)
	}
}

func (ts *testServer) get(tb testing.TB, path string) []byte {
	tb.Helper()
	_, body := ts.do(tb, "GET", path, nil, nil)
	return body
}
