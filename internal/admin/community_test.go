package admin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/service"
)

type caller func(route, method, path, token string, body any, header map[string]string) (int, []byte)

// communityCalls exercises the community controls' routes for the
// OpenAPI check, with answers of each kind the document lists.
func communityCalls(t *testing.T, e *env, call caller) {
	t.Helper()
	tok, other := e.newsToken, e.otherToken
	origin := map[string]string{"Origin": "https://news.example"}
	// A published comment to report, feature and pin.
	pub := e.comments[0].ID
	want := func(status, got int, body []byte) {
		t.Helper()
		if got != status {
			t.Errorf("status %d, want %d: %s", got, status, body)
		}
	}

	// Readers.
	_, rb := call("/api/v1/reader", "POST", "/api/v1/reader", "", nil, origin)
	var reader struct{ Reader string }
	json.Unmarshal(rb, &reader)
	st, b := call("/api/v1/sites/{site}/comments/{id}/report", "POST", "/api/v1/sites/news/comments/"+pub+"/report", "", map[string]string{"reason": "abuse", "reader": reader.Reader}, origin)
	want(200, st, b)
	st, b = call("/api/v1/sites/{site}/comments/{id}/report", "POST", "/api/v1/sites/news/comments/"+pub+"/report", "", map[string]string{"reason": "nonsense"}, origin)
	want(400, st, b)
	st, b = call("/api/v1/sites/{site}/notices", "POST", "/api/v1/sites/news/notices", "", map[string]string{"reader": reader.Reader}, origin)
	want(200, st, b)

	// Sanctions.
	st, b = call("/api/v1/admin/sites/{site}/bans", "POST", "/api/v1/admin/sites/news/bans", tok, map[string]any{"match": "email", "value": "troll@example.org", "reason": "abuse", "until": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, nil)
	want(201, st, b)
	var ban struct{ ID string }
	json.Unmarshal(b, &ban)
	st, b = call("/api/v1/admin/sites/{site}/bans", "POST", "/api/v1/admin/sites/news/bans", tok, map[string]any{"match": "ip", "value": "203.0.113.0/33"}, nil)
	want(400, st, b)
	st, b = call("/api/v1/admin/sites/{site}/bans", "POST", "/api/v1/admin/sites/news/bans", tok, map[string]any{"kind": "warn", "comment": e.comments[2].ID, "message": "Keep it civil."}, nil)
	want(201, st, b)
	st, b = call("/api/v1/admin/sites/{site}/bans", "GET", "/api/v1/admin/sites/news/bans?all=true", tok, nil, nil)
	want(200, st, b)
	st, b = call("/api/v1/admin/sites/{site}/bans", "GET", "/api/v1/admin/sites/news/bans", other, nil, nil)
	want(404, st, b)
	st, b = call("/api/v1/admin/sites/{site}/bans/{id}", "GET", "/api/v1/admin/sites/news/bans/"+ban.ID, tok, nil, nil)
	want(200, st, b)
	st, b = call("/api/v1/admin/sites/{site}/bans/{id}", "DELETE", "/api/v1/admin/sites/news/bans/"+ban.ID+"?restore=true", tok, nil, nil)
	want(200, st, b)
	st, b = call("/api/v1/admin/sites/{site}/bans/{id}", "DELETE", "/api/v1/admin/sites/news/bans/nosuch", tok, nil, nil)
	want(404, st, b)

	// Settings and rules: admins.
	st, b = call("/api/v1/admin/sites/{site}/community", "GET", "/api/v1/admin/sites/news/community", tok, nil, nil)
	want(200, st, b)
	st, b = call("/api/v1/admin/sites/{site}/community", "PUT", "/api/v1/admin/sites/news/community", tok, map[string]any{"report_hide": 2}, nil)
	want(403, st, b)
	st, b = call("/api/v1/admin/sites/{site}/community", "PUT", "/api/v1/admin/sites/other/community", other, map[string]any{"report_hide": 2, "reasons": []string{"Off topic"}}, nil)
	want(200, st, b)
	st, b = call("/api/v1/admin/sites/{site}/community", "PUT", "/api/v1/admin/sites/other/community", other, map[string]any{"surge_action": "explode"}, nil)
	want(400, st, b)
	st, b = call("/api/v1/admin/sites/{site}/rules", "GET", "/api/v1/admin/sites/news/rules", tok, nil, nil)
	want(200, st, b)
	st, b = call("/api/v1/admin/sites/{site}/rules", "PUT", "/api/v1/admin/sites/other/rules", other, map[string]any{"blocked_words": []string{"press"}, "hold_links": 3}, nil)
	want(200, st, b)
	st, b = call("/api/v1/admin/sites/{site}/rules", "PUT", "/api/v1/admin/sites/other/rules", other, map[string]any{"blocked_ips": []string{"nope"}}, nil)
	want(400, st, b)

	// Reports.
	st, b = call("/api/v1/admin/sites/{site}/reports", "GET", "/api/v1/admin/sites/news/reports", tok, nil, nil)
	want(200, st, b)
	st, b = call("/api/v1/admin/sites/{site}/reports/dismiss", "POST", "/api/v1/admin/sites/news/reports/dismiss", tok, map[string]any{"ids": []string{pub}}, nil)
	want(200, st, b)
	st, b = call("/api/v1/admin/sites/{site}/reports/dismiss", "POST", "/api/v1/admin/sites/news/reports/dismiss", tok, map[string]any{"ids": []string{}}, nil)
	want(400, st, b)

	// Articles.
	st, b = call("/api/v1/admin/sites/{site}/pages", "GET", "/api/v1/admin/sites/news/pages?order=new&limit=10", tok, nil, nil)
	want(200, st, b)
	var pages struct{ Pages []struct{ ID string } }
	json.Unmarshal(b, &pages)
	if len(pages.Pages) == 0 {
		t.Fatalf("no pages: %s", b)
	}
	thread := pages.Pages[0].ID
	st, b = call("/api/v1/admin/sites/{site}/pages", "GET", "/api/v1/admin/sites/news/pages?page="+url.QueryEscape("https://news.example/story"), tok, nil, nil)
	want(200, st, b)
	st, b = call("/api/v1/admin/sites/{site}/pages", "GET", "/api/v1/admin/sites/news/pages?order=sideways", tok, nil, nil)
	want(400, st, b)
	st, b = call("/api/v1/admin/sites/{site}/pages/{thread}", "GET", "/api/v1/admin/sites/news/pages/"+thread, tok, nil, nil)
	want(200, st, b)
	st, b = call("/api/v1/admin/sites/{site}/pages/{thread}", "PATCH", "/api/v1/admin/sites/news/pages/"+thread, tok, map[string]any{"closed": true, "close_after_days": 14, "premod": true, "message": "Be **kind**."}, nil)
	want(200, st, b)
	st, b = call("/api/v1/admin/sites/{site}/pages/{thread}", "PATCH", "/api/v1/admin/sites/news/pages/"+thread, tok, map[string]any{"closed": false, "close_after_days": nil, "premod": false}, nil)
	want(200, st, b)
	st, b = call("/api/v1/admin/sites/{site}/pages/{thread}", "PATCH", "/api/v1/admin/sites/news/pages/"+thread, tok, map[string]any{"close_after_days": -4}, nil)
	want(400, st, b)
	st, b = call("/api/v1/admin/sites/{site}/pages/{thread}", "GET", "/api/v1/admin/sites/news/pages/nosuch", tok, nil, nil)
	want(404, st, b)

	// Featured and pinned.
	st, b = call("/api/v1/admin/sites/{site}/comments/{id}/feature", "POST", "/api/v1/admin/sites/news/comments/"+pub+"/feature", tok, nil, nil)
	want(200, st, b)
	if !strings.Contains(string(b), `"featured":true`) {
		t.Errorf("featured comment: %s", b)
	}
	st, b = call("/api/v1/admin/sites/{site}/comments/{id}/unfeature", "POST", "/api/v1/admin/sites/news/comments/"+pub+"/unfeature", tok, nil, nil)
	want(200, st, b)
	st, b = call("/api/v1/admin/sites/{site}/comments/{id}/pin", "POST", "/api/v1/admin/sites/news/comments/"+pub+"/pin", tok, nil, nil)
	want(200, st, b)
	st, b = call("/api/v1/admin/sites/{site}/comments/{id}/pin", "POST", "/api/v1/admin/sites/news/comments/"+e.comments[2].ID+"/pin", tok, nil, nil)
	want(400, st, b) // held, not published
	st, b = call("/api/v1/admin/sites/{site}/comments/{id}/unpin", "POST", "/api/v1/admin/sites/news/comments/"+pub+"/unpin", tok, nil, nil)
	want(200, st, b)

	// Authors and notes.
	st, b = call("/api/v1/admin/sites/{site}/authors", "GET", "/api/v1/admin/sites/news/authors?comment="+pub, tok, nil, nil)
	want(200, st, b)
	st, b = call("/api/v1/admin/sites/{site}/authors", "GET", "/api/v1/admin/sites/news/authors?key=nobody", tok, nil, nil)
	want(400, st, b)
	st, b = call("/api/v1/admin/sites/{site}/authors/notes", "POST", "/api/v1/admin/sites/news/authors/notes", tok, map[string]any{"comment": pub, "text": "Regular; be patient."}, nil)
	want(201, st, b)
	var note struct{ ID int64 }
	json.Unmarshal(b, &note)
	st, b = call("/api/v1/admin/sites/{site}/authors/notes", "POST", "/api/v1/admin/sites/news/authors/notes", tok, map[string]any{"comment": pub, "text": ""}, nil)
	want(400, st, b)
	st, b = call("/api/v1/admin/sites/{site}/authors/notes/{id}", "DELETE", fmt.Sprintf("/api/v1/admin/sites/news/authors/notes/%d", note.ID), tok, nil, nil)
	want(204, st, b)
	st, b = call("/api/v1/admin/sites/{site}/authors/notes/{id}", "DELETE", fmt.Sprintf("/api/v1/admin/sites/news/authors/notes/%d", note.ID), tok, nil, nil)
	want(404, st, b)

	// Alerts: a surge on "other" (a site that publishes at once).
	st, b = call("/api/v1/admin/sites/{site}/community", "PUT", "/api/v1/admin/sites/other/community", other, map[string]any{"surge_rate": 2}, nil)
	want(200, st, b)
	for i := range 4 {
		if _, err := e.svc.Post(ctx, comment.Draft{SiteID: "other", Page: "https://other.example/hot", Name: "R", Email: fmt.Sprintf("r%d@example.org", i), Body: fmt.Sprint("take ", i)}, service.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	st, b = call("/api/v1/admin/sites/{site}/alerts", "GET", "/api/v1/admin/sites/other/alerts", other, nil, nil)
	want(200, st, b)
	var alerts struct{ Alerts []struct{ ID int64 } }
	json.Unmarshal(b, &alerts)
	if len(alerts.Alerts) != 1 {
		t.Fatalf("alerts after a surge: %s", b)
	}
	st, b = call("/api/v1/admin/sites/{site}/alerts/{id}/dismiss", "POST", fmt.Sprintf("/api/v1/admin/sites/other/alerts/%d/dismiss", alerts.Alerts[0].ID), other, nil, nil)
	want(204, st, b)
	st, b = call("/api/v1/admin/sites/{site}/alerts/{id}/dismiss", "POST", fmt.Sprintf("/api/v1/admin/sites/other/alerts/%d/dismiss", alerts.Alerts[0].ID), other, nil, nil)
	want(404, st, b)
	st, b = call("/api/v1/admin/sites/{site}/alerts", "GET", "/api/v1/admin/sites/other/alerts?all=true", other, nil, nil)
	want(200, st, b)
	_ = http.StatusOK
}
