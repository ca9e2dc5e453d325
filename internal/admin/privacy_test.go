package admin_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"parley/internal/comment"
	"parley/internal/service"
)

// privacyCalls exercises the admin API's privacy routes for the OpenAPI
// check: a site's admin token answers for its site only.
func privacyCalls(t *testing.T, e *env, call caller) {
	t.Helper()
	want := func(status, got int, body []byte) {
		t.Helper()
		if got != status {
			t.Errorf("status %d, want %d: %s", got, status, body)
		}
	}
	if _, err := e.svc.Post(ctx, comment.Draft{SiteID: "other", Page: "https://other.example/p", Name: "Pía Export", Email: "pia@example.org", Body: "Mine to take away"}, service.Meta{}); err != nil {
		t.Fatal(err)
	}
	st, b := call("/api/v1/admin/privacy/export", "POST", "/api/v1/admin/privacy/export", e.otherToken, map[string]any{"email": "PIA@example.org", "site": "other"}, nil)
	want(200, st, b)
	var ex struct {
		Comments []struct{ Markdown, Name string }
	}
	if err := json.Unmarshal(b, &ex); err != nil || len(ex.Comments) != 1 || ex.Comments[0].Name != "Pía Export" {
		t.Errorf("export = %s (%v)", b, err)
	}
	// Every site: owners only. Another site: not there. A moderator: not allowed.
	st, b = call("/api/v1/admin/privacy/export", "POST", "/api/v1/admin/privacy/export", e.otherToken, map[string]any{"email": "pia@example.org"}, nil)
	want(403, st, b)
	st, b = call("/api/v1/admin/privacy/export", "POST", "/api/v1/admin/privacy/export", e.otherToken, map[string]any{"email": "pia@example.org", "site": "news"}, nil)
	want(404, st, b)
	st, b = call("/api/v1/admin/privacy/erase", "POST", "/api/v1/admin/privacy/erase", e.newsToken, map[string]any{"email": "pia@example.org", "site": "news"}, nil)
	want(403, st, b)
	st, b = call("/api/v1/admin/privacy/erase", "POST", "/api/v1/admin/privacy/erase", e.otherToken, map[string]any{"email": "not an address", "site": "other"}, nil)
	want(400, st, b)
	st, b = call("/api/v1/admin/privacy/erase", "POST", "/api/v1/admin/privacy/erase", e.otherToken, map[string]any{"site": "other"}, nil)
	want(400, st, b)
	st, b = call("/api/v1/admin/privacy/erase", "POST", "/api/v1/admin/privacy/erase", "", map[string]any{"email": "pia@example.org", "site": "other"}, nil)
	want(401, st, b)
	st, b = call("/api/v1/admin/privacy/erase", "POST", "/api/v1/admin/privacy/erase", e.otherToken, map[string]any{"email": "pia@example.org", "site": "other"}, nil)
	want(200, st, b)
	var n struct{ Deleted int }
	if json.Unmarshal(b, &n); n.Deleted != 1 {
		t.Errorf("erase = %s", b)
	}
	if strings.Contains(string(b), "pia@") {
		t.Errorf("the erasure's answer holds the address: %s", b)
	}
}

// TestDesk_Privacy answers a reader's request from the desk: the owner
// downloads their data, then erases it after a confirmation step; a
// moderator finds no such page.
func TestDesk_Privacy(t *testing.T) {
	e := newEnv(t)
	mod := newBrowser(t, e.srv.URL)
	mod.logIn("mod@example.org", "moderator password")
	if resp, _ := mod.get("/admin/privacy"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a moderator's privacy page = %d, want 404", resp.StatusCode)
	}
	b := newBrowser(t, e.srv.URL)
	csrf := b.logIn("owner@example.org", "owner password 1")
	resp, page := b.get("/admin/")
	if !strings.Contains(page, `href="/admin/privacy"`) {
		t.Errorf("the owner's home page has no link to the privacy page")
	}
	resp, page = b.get("/admin/privacy")
	if resp.StatusCode != 200 || !strings.Contains(page, `id="privacy-form"`) {
		t.Fatalf("privacy page = %d", resp.StatusCode)
	}
	// A bad address: the form again, saying why, nothing done.
	resp, page = b.post("/admin/privacy/erase", url.Values{"csrf": {csrf}, "email": {"reader@"}, "confirm": {"yes"}}, e.srv.URL)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="privacy-problem"`) {
		t.Errorf("bad address = %d", resp.StatusCode)
	}
	// Without the CSRF token: refused.
	if resp, _ := b.post("/admin/privacy/export", url.Values{"email": {"reader@example.org"}}, e.srv.URL); resp.StatusCode == 200 || resp.Header.Get("Content-Disposition") != "" {
		t.Errorf("export without CSRF = %d", resp.StatusCode)
	}
	resp, page = b.post("/admin/privacy/export", url.Values{"csrf": {csrf}, "email": {"reader@example.org"}}, e.srv.URL)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export = %d %v", resp.StatusCode, resp.Header)
	}
	var ex struct {
		Comments []struct{ ID string }
	}
	if err := json.Unmarshal([]byte(page), &ex); err != nil || len(ex.Comments) != 3 {
		t.Fatalf("export = %s (%v)", page, err)
	}
	resp, page = b.post("/admin/privacy/erase", url.Values{"csrf": {csrf}, "email": {"reader@example.org"}}, e.srv.URL)
	if resp.StatusCode != 200 || !strings.Contains(page, `id="privacy-erase-go"`) {
		t.Fatalf("erase without confirming = %d", resp.StatusCode)
	}
	if _, err := e.svc.Comment(ctx, "news", e.comments[0].ID); err != nil {
		t.Fatal("the first step erased already")
	}
	resp, page = b.post("/admin/privacy/erase", url.Values{"csrf": {csrf}, "email": {"reader@example.org"}, "confirm": {"yes"}}, e.srv.URL)
	if resp.StatusCode != 200 || !strings.Contains(page, `id="privacy-done"`) || !strings.Contains(page, "Comments deleted: 3;") {
		t.Fatalf("erase = %d %s", resp.StatusCode, page)
	}
	for _, c := range e.comments {
		if _, err := e.svc.Comment(ctx, "news", c.ID); !errors.Is(err, comment.ErrNotFound) {
			t.Errorf("comment %s after erasure: %v", c.ID, err)
		}
	}
}
