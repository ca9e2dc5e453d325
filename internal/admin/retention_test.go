package admin_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/internal/service"
)

// TestSiteIPRetention sets a site's own period for address hashes from
// the desk's settings form and from the API, and refuses bad ones
// without changing anything.
func TestSiteIPRetention(t *testing.T) {
	e := newEnv(t)
	owner := newBrowser(t, e.srv.URL)
	csrf := owner.logIn("owner@example.org", "owner password 1")
	_, page := owner.get("/admin/sites/news/settings")
	if !strings.Contains(page, `name="ip_retention"`) || !strings.Contains(page, "(30 days)") {
		t.Fatalf("the settings page has no retention field with the server's 30 days:\n%s", page)
	}
	form := url.Values{"csrf": {csrf}, "name": {"News"}, "origins": {"https://news.example"}, "moderation": {"all"}, "guests": {"name_email"},
		"max_depth": {"5"}, "edit_window": {"15"}, "providers": {"all"}}
	for _, bad := range []string{"soon", "-1", "731"} {
		form.Set("ip_retention", bad)
		resp, body := owner.post("/admin/sites/news/settings", form, e.srv.URL)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `aria-invalid="true"`) {
			t.Fatalf("ip_retention %q: %d", bad, resp.StatusCode)
		}
	}
	if site, _ := e.svc.DeskSite(ctx, service.OperatorActor(), "news"); site.IPRetention != 0 {
		t.Fatalf("a refused form changed the period to %v", site.IPRetention)
	}
	form.Set("ip_retention", "7")
	if resp, _ := owner.post("/admin/sites/news/settings", form, e.srv.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving 7 days: %d", resp.StatusCode)
	}
	if site, _ := e.svc.DeskSite(ctx, service.OperatorActor(), "news"); site.IPRetention != 7*24*time.Hour {
		t.Fatalf("IPRetention = %v after the form, want 7 days", site.IPRetention)
	}

	code, b := e.api(t, "PATCH", "/api/v1/admin/sites/other", e.otherToken, map[string]any{"id": "other", "ip_retention": 172800})
	var got struct {
		IPRetention int64 `json:"ip_retention"`
	}
	if code != 200 || json.Unmarshal(b, &got) != nil || got.IPRetention != 172800 {
		t.Fatalf("PATCH ip_retention = %d %s", code, b)
	}
	if code, b = e.api(t, "PATCH", "/api/v1/admin/sites/other", e.otherToken, map[string]any{"id": "other", "ip_retention": 60}); code != 400 || !strings.Contains(string(b), "ip_retention") {
		t.Fatalf("PATCH ip_retention 60 s = %d %s, want 400 naming the field", code, b)
	}
	if site, _ := e.svc.DeskSite(ctx, service.OperatorActor(), "other"); site.IPRetention != 48*time.Hour {
		t.Fatalf("IPRetention = %v, want 48h kept after the refusal", site.IPRetention)
	}
}
