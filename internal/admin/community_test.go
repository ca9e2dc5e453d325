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
	"parley/internal/store"
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
	// Emailing authors the decision; what is left out keeps its value.
	st, b = call("/api/v1/admin/sites/{site}/community", "PUT", "/api/v1/admin/sites/other/community", other, map[string]any{"email_decisions": true}, nil)
	want(200, st, b)
	if cm, _, _ := e.svc.CommunitySettings(ctx, service.OperatorActor(), "other"); !cm.EmailDecisions || len(cm.Reasons) != 1 {
		t.Fatalf("after setting email_decisions: %+v", cm)
	}
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

// TestDesk_CommunityPages: every community page of the desk renders for a
// moderator (and the admin-only one refuses them), with its data, and
// without JavaScript its forms work.
func TestDesk_CommunityPages(t *testing.T) {
	e := newEnv(t)
	svc := e.svc
	pub := e.comments[0].ID
	if _, err := svc.Decide(ctx, service.OperatorActor(), "news", []string{pub}, service.Approve); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Report(ctx, service.ReportInput{SiteID: "news", CommentID: pub, Reason: "abuse", Text: "rude", IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddSanction(ctx, service.OperatorActor(), "news", service.NewSanction{Match: comment.MatchEmail, Value: "troll@example.org", Reason: "abuse"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddNote(ctx, service.OperatorActor(), "news", pub, "", "A regular."); err != nil {
		t.Fatal(err)
	}
	arts, err := svc.Articles(ctx, service.OperatorActor(), "news", service.ArticleQuery{})
	if err != nil || len(arts.Articles) != 1 {
		t.Fatalf("articles: %v", err)
	}
	thread := arts.Articles[0].Thread.ID
	b := newBrowser(t, e.srv.URL)
	b.logIn("mod@example.org", "moderator password")
	for _, pw := range [][2]string{
		{"/admin/sites/news/reported", "rude"},
		{"/admin/sites/news/articles", "The story"},
		{"/admin/sites/news/articles?q=nothing", "No article matches."},
		{"/admin/sites/news/articles/" + thread, "Close comments"},
		{"/admin/sites/news/bans", "troll@example.org"},
		{"/admin/sites/news/authors?comment=" + pub, "A regular."},
		{"/admin/sites/news/?status=approved", "Feature"},
		{"/admin/sites/news/articles/" + thread, "Pinned comment"},
		{"/admin/sites/news/reported?lang=ar", "المُبلَّغ عنها"},
		{"/admin/sites/news/reported?lang=en", "Keep (dismiss reports)"},
	} {
		path, want := pw[0], pw[1]
		resp, body := b.get(path)
		if resp.StatusCode != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d, want %q in:\n%s", path, resp.StatusCode, want, body)
		}
	}
	if resp, _ := b.get("/admin/sites/news/community"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a moderator opens Community = %d", resp.StatusCode)
	}
	if resp, _ := b.get("/admin/sites/other/bans"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another site's bans = %d", resp.StatusCode)
	}
	// Without JavaScript: close the article with its form, feature a
	// comment from its card; both are audited.
	_, page := b.get("/admin/sites/news/articles/" + thread)
	csrf := field(t, page, "csrf")
	if resp, _ := b.post("/admin/sites/news/articles/"+thread, url.Values{"csrf": {csrf}, "do": {"close"}}, e.srv.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("close = %d", resp.StatusCode)
	}
	if resp, _ := b.post("/admin/sites/news/comments/"+pub+"/feature", url.Values{"csrf": {csrf}}, e.srv.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("feature = %d", resp.StatusCode)
	}
	// A forged token changes nothing: the comment stays featured.
	b.post("/admin/sites/news/comments/"+pub+"/feature", url.Values{"csrf": {"forged"}, "on": {"no"}}, e.srv.URL)
	if c, _ := svc.Card(ctx, service.OperatorActor(), "news", pub); !c.Featured {
		t.Fatal("a forged CSRF token was taken")
	}
	a, _ := svc.Article(ctx, service.OperatorActor(), "news", thread)
	if !a.Closed {
		t.Fatal("the article is not closed")
	}
	entries, _, _ := svc.AuditLog(ctx, service.OperatorActor(), "news", store.AuditFilter{ActorID: ""}, "")
	var actions []string
	for _, en := range entries {
		actions = append(actions, en.Action+" by "+en.ActorName)
	}
	for _, want := range []string{"page.close by mod@example.org", "comment.feature by mod@example.org"} {
		if !strings.Contains(strings.Join(actions, ", "), want) {
			t.Errorf("audit lacks %s: %v", want, actions)
		}
	}
	// A ban from the form: a bad range is refused with words, on the page.
	resp, body := b.post("/admin/sites/news/bans", url.Values{"csrf": {csrf}, "kind": {"ban"}, "match": {"ip"}, "value": {"203.0.113.0/33"}}, e.srv.URL)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `class="problem" role="alert" id="ban-problem"`) || !strings.Contains(body, `value="203.0.113.0/33"`) {
		t.Fatalf("bad ban = %d %s", resp.StatusCode, body)
	}
}
