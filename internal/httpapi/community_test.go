package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/service"
)

var op = service.OperatorActor()

// sanction gives a sanction on site news, failing the test on an error.
func (ts *testServer) sanction(t *testing.T, n service.NewSanction) *comment.Sanction {
	t.Helper()
	sn, err := ts.svc.AddSanction(context.Background(), op, "news", n)
	if err != nil {
		t.Fatal(err)
	}
	return sn
}

// TestSanctions_JSONPosts: each kind of sanction as the widget meets it.
func TestSanctions_JSONPosts(t *testing.T) {
	ts := newTestServer(t)
	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	ts.sanction(t, service.NewSanction{Match: comment.MatchEmail, Value: "banned@example.org"})
	ts.sanction(t, service.NewSanction{Kind: comment.SanctionSuspend, Match: comment.MatchEmailDomain, Value: "hot.example", Until: until})
	ts.sanction(t, service.NewSanction{Kind: comment.SanctionWarn, Match: comment.MatchEmail, Value: "warned@example.org", Message: "Please stay on topic."})
	ts.sanction(t, service.NewSanction{Kind: comment.SanctionPremod, Match: comment.MatchEmail, Value: "watched@example.org"})
	h := map[string]string{"Origin": origin}

	resp, body := ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"email": "banned@example.org"}), h)
	e := decode[apiError](t, body)
	if resp.StatusCode != http.StatusForbidden || e.Error.Code != "banned" || e.Error.Message != "This site does not accept your comments." || e.Error.Until != "" {
		t.Fatalf("banned = %d %s", resp.StatusCode, body)
	}
	// Suspended until a date, said in the reader's language.
	resp, body = ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"email": "x@hot.example"}), map[string]string{"Origin": origin, "Accept-Language": "ar"})
	e = decode[apiError](t, body)
	if resp.StatusCode != http.StatusForbidden || e.Error.Code != "banned" || e.Error.Until != until.Format(time.RFC3339) ||
		e.Error.Message != i18n.Get("ar").T("page.error.banned_until", "date", i18n.Get("ar").Date(until)) {
		t.Fatalf("suspended = %d %s", resp.StatusCode, body)
	}
	// A warning: refused once with the message, then the comment goes.
	resp, body = ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"email": "warned@example.org"}), h)
	e = decode[apiError](t, body)
	if resp.StatusCode != http.StatusForbidden || e.Error.Code != "warned" || !strings.Contains(e.Error.Message, "“Please stay on topic.”") {
		t.Fatalf("warned = %d %s", resp.StatusCode, body)
	}
	if resp, body = ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"email": "warned@example.org"}), h); resp.StatusCode != http.StatusCreated {
		t.Fatalf("after the warning = %d %s", resp.StatusCode, body)
	}
	// Always pre-moderated: held (202).
	if resp, body = ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"email": "watched@example.org"}), h); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("pre-moderated = %d %s", resp.StatusCode, body)
	}
	// Nothing of the refused ones was stored.
	q, _ := ts.svc.Queue(context.Background(), op, "news", service.Query{Email: "banned@example.org"})
	if len(q.Cards) != 0 {
		t.Fatalf("a banned reader's comment was stored: %+v", q.Cards[0].Comment)
	}
}

// TestSanctions_FormPost: a banned reader without JavaScript gets the
// form back with the refusal above it and the text kept, never a silent
// drop; a ban by address reaches the plain form too.
func TestSanctions_FormPost(t *testing.T) {
	ts := newTestServer(t)
	ts.sanction(t, service.NewSanction{Match: comment.MatchIP, Value: "127.0.0.0/8"}) // the test client's address
	resp, body := ts.do(t, "POST", "/sites/news/comments?lang=fr", formPost(ts.formToken(t), map[string]string{"body": "Mon texte à garder"}), map[string]string{"Origin": origin})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("= %d", resp.StatusCode)
	}
	page := string(body)
	if !strings.Contains(page, i18n.Get("fr").T("page.error.banned")) || !strings.Contains(page, "Mon texte à garder") || !strings.Contains(page, `role="alert"`) {
		t.Fatalf("the refusal page:\n%s", page)
	}
}

// TestClosedArticle_EveryWay: a closed article's thread says so (JSON and
// HTML), keeps its comments readable, and refuses posts with 403 closed
// from the widget and the plain form.
func TestClosedArticle_EveryWay(t *testing.T) {
	ts := newTestServer(t)
	h := map[string]string{"Origin": origin}
	ts.do(t, "POST", "/api/v1/sites/news/comments", post(nil), h)
	tok := ts.formToken(t)
	closed := true
	if _, err := ts.svc.SetPage(context.Background(), op, "news", origin+"/story", service.PageChange{Closed: &closed}); err != nil {
		t.Fatal(err)
	}
	resp, body := ts.do(t, "POST", "/api/v1/sites/news/comments", post(nil), h)
	if e := decode[apiError](t, body); resp.StatusCode != http.StatusForbidden || e.Error.Code != "closed" || e.Error.Message != "Comments are closed." {
		t.Fatalf("post to a closed article = %d %s", resp.StatusCode, body)
	}
	resp, body = ts.do(t, "POST", "/sites/news/comments", formPost(tok, nil), h)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "Comments are closed.") {
		t.Fatalf("form post to a closed article = %d %s", resp.StatusCode, body)
	}
	_, body = ts.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/story"), nil, h)
	if th := decode[struct {
		Closed   bool
		Comments []apiComment
	}](t, body); !th.Closed || len(th.Comments) != 1 {
		t.Fatalf("closed thread JSON = %s", body)
	}
	_, body = ts.do(t, "GET", "/sites/news/thread?page="+url.QueryEscape(origin+"/story"), nil, nil)
	if !strings.Contains(string(body), `<p class="parley-closed">Comments are closed.</p>`) || strings.Contains(string(body), `<form class="parley-form"`) || !strings.Contains(string(body), "Great piece.") {
		t.Fatalf("closed thread HTML:\n%s", body)
	}
}

// TestThread_MessagePinnedFeatured: the article's message, its pinned
// comment and the featured ones, in JSON and in the server-rendered
// thread, with the Featured tab.
func TestThread_MessagePinnedFeatured(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	h := map[string]string{"Origin": origin}
	var ids []string
	for i := range 3 {
		_, body := ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"body": fmt.Sprint("Comment number ", i)}), h)
		ids = append(ids, decode[apiComment](t, body).ID)
	}
	msg := "Please read our [guidelines](https://news.example/guidelines)."
	if _, err := ts.svc.SetPage(ctx, op, "news", origin+"/story", service.PageChange{Message: &msg, Pinned: &ids[2]}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.svc.Feature(ctx, op, "news", ids[1], true); err != nil {
		t.Fatal(err)
	}
	_, body := ts.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/story"), nil, h)
	th := decode[struct {
		Message  string
		Pinned   string
		Featured int
		Comments []struct {
			ID       string
			Featured bool
		}
	}](t, body)
	if th.Pinned != ids[2] || th.Comments[0].ID != ids[2] || th.Featured != 1 || !th.Comments[2].Featured || !strings.Contains(th.Message, `<a href="https://news.example/guidelines"`) {
		t.Fatalf("thread JSON = %s", body)
	}
	_, body = ts.do(t, "GET", "/api/v1/sites/news/comments?sort=featured&page="+url.QueryEscape(origin+"/story"), nil, h)
	if f := decode[struct{ Comments []struct{ ID string } }](t, body); len(f.Comments) != 1 || f.Comments[0].ID != ids[1] {
		t.Fatalf("featured tab = %s", body)
	}
	_, body = ts.do(t, "GET", "/sites/news/thread?page="+url.QueryEscape(origin+"/story")+"&url="+url.QueryEscape(origin+"/story"), nil, nil)
	page := string(body)
	for _, want := range []string{`class="parley-message"`, `guidelines</a>`, `parley-pinned`, `<span class="parley-badge">Pinned</span>`, `<span class="parley-badge">Featured</span>`,
		`sort=featured`, `class="parley-report" href="` + ts.URL + `/sites/news/comments/` + ids[0] + `/report?`} {
		if !strings.Contains(page, want) {
			t.Errorf("server-rendered thread lacks %s", want)
		}
	}
	if strings.Index(page, "Comment number 2") > strings.Index(page, "Comment number 0") {
		t.Error("the pinned comment is not first")
	}
}

// TestReports_JSONAndForm: readers report from the widget (JSON, with
// their reader token) and without JavaScript (Parley's own page); three
// distinct readers hide the comment; one network counts once.
func TestReports_JSONAndForm(t *testing.T) {
	ts := newTestServer(t)
	h := map[string]string{"Origin": origin}
	_, body := ts.do(t, "POST", "/api/v1/sites/news/comments", post(nil), h)
	id := decode[apiComment](t, body).ID
	reader := func() string {
		_, b := ts.do(t, "POST", "/api/v1/reader", nil, h)
		return decode[struct{ Reader string }](t, b).Reader
	}
	path := "/api/v1/sites/news/comments/" + id + "/report"
	resp, body := ts.do(t, "POST", path, map[string]string{"reason": "abuse", "text": "insults", "reader": reader()}, h)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Thanks — a moderator will look at it.") {
		t.Fatalf("report = %d %s", resp.StatusCode, body)
	}
	// Another token from the same network: thanked, counted once.
	if resp, body = ts.do(t, "POST", path, map[string]string{"reason": "spam", "reader": reader()}, h); resp.StatusCode != 200 {
		t.Fatalf("second report = %d %s", resp.StatusCode, body)
	}
	if n, _ := ts.svc.CountReported(context.Background(), op, "news"); n != 1 {
		t.Fatalf("reported comments = %d", n)
	}
	for _, bad := range []map[string]string{{"reason": "boring"}, {"reason": "other"}, {"reason": "other", "text": strings.Repeat("x", 501)}} {
		if resp, body = ts.do(t, "POST", path, bad, h); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("report %v = %d %s", bad, resp.StatusCode, body)
		}
	}
	if resp, _ = ts.do(t, "POST", path, map[string]string{"reason": "spam"}, map[string]string{"Origin": "https://evil.example"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("report from another site's page = %d", resp.StatusCode)
	}
	if resp, _ = ts.do(t, "POST", "/api/v1/sites/news/comments/nosuch/report", map[string]string{"reason": "spam"}, h); resp.StatusCode != http.StatusNotFound {
		t.Errorf("report of no comment = %d", resp.StatusCode)
	}

	// Without JavaScript: the report page, with a form token, from Parley.
	resp, body = ts.do(t, "GET", "/sites/news/comments/"+id+"/report?lang=de&url="+url.QueryEscape(origin+"/story"), nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), i18n.Get("de").T("report.why")) || !strings.Contains(string(body), `value="off_topic"`) {
		t.Fatalf("report page = %d\n%s", resp.StatusCode, body)
	}
	tok := regexp.MustCompile(`name="token" value="([^"]+)"`).FindSubmatch(body)
	form := url.Values{"token": {string(tok[1])}, "reason": {"other"}, "url": {origin + "/story"}}
	self := map[string]string{"Origin": ts.URL}
	// "Other" without a word: the page again, with the problem.
	resp, body = ts.do(t, "POST", "/sites/news/comments/"+id+"/report", form, self)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `id="report-error"`) {
		t.Fatalf("report form without text = %d\n%s", resp.StatusCode, body)
	}
	form.Set("text", "this is a copy of another comment")
	if resp, _ = ts.do(t, "POST", "/sites/news/comments/"+id+"/report", form, map[string]string{"Origin": "https://evil.example"}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("report form posted from another site = %d", resp.StatusCode)
	}
	resp, body = ts.do(t, "POST", "/sites/news/comments/"+id+"/report", form, self)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Thanks — a moderator will look at it.") || !strings.Contains(string(body), origin+"/story#comment-"+id) {
		t.Fatalf("report form = %d\n%s", resp.StatusCode, body)
	}
	// Still one reader (the test client's network); a logged-in reader
	// would count by log-in. The service's tests cover three readers
	// hiding a comment; here the count stays at one.
	page, _ := ts.svc.Reported(context.Background(), op, "news", "", 0)
	if len(page.Cards) != 1 || page.Cards[0].Reports.Count != 1 || page.Cards[0].Comment.Status != comment.StatusApproved {
		t.Fatalf("reported = %+v", page.Cards)
	}
}

// TestReports_RateLimited: one reader sending reports fast is answered
// 429 report_limited.
func TestReports_RateLimited(t *testing.T) {
	ts := newTestServer(t)
	h := map[string]string{"Origin": origin}
	var last *http.Response
	var body []byte
	for i := range 15 {
		_, b := ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"body": fmt.Sprint("Comment ", i)}), h)
		last, body = ts.do(t, "POST", "/api/v1/sites/news/comments/"+decode[apiComment](t, b).ID+"/report", map[string]string{"reason": "spam"}, h)
		if last.StatusCode != 200 {
			break
		}
	}
	if e := decode[apiError](t, body); last.StatusCode != http.StatusTooManyRequests || e.Error.Code != "report_limited" || last.Header.Get("Retry-After") == "" {
		t.Fatalf("report flood = %d %s", last.StatusCode, body)
	}
}

// TestNotices_Widget: the reader who posted a held comment (with their
// reader token) is told once what became of it.
func TestNotices_Widget(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	h := map[string]string{"Origin": origin}
	premod := true
	ts.do(t, "POST", "/api/v1/sites/news/comments", post(nil), h)
	if _, err := ts.svc.SetPage(ctx, op, "news", origin+"/story", service.PageChange{Premod: &premod}); err != nil {
		t.Fatal(err)
	}
	_, b := ts.do(t, "POST", "/api/v1/reader", nil, h)
	reader := decode[struct{ Reader string }](t, b).Reader
	resp, b := ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"reader": reader, "title": "The story"}), h)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("held post = %d %s", resp.StatusCode, b)
	}
	id := decode[apiComment](t, b).ID
	if _, err := ts.svc.Decide(ctx, op, "news", []string{id}, service.Approve); err != nil {
		t.Fatal(err)
	}
	_, b = ts.do(t, "POST", "/api/v1/sites/news/notices", map[string]string{"reader": reader}, h)
	n := decode[struct {
		Notices []struct {
			Comment  string
			Approved bool
			URL      string
			Text     string
		}
	}](t, b)
	if len(n.Notices) != 1 || n.Notices[0].Comment != id || !n.Notices[0].Approved || n.Notices[0].URL != origin+"/story" ||
		n.Notices[0].Text != "Your comment on “"+origin+"/story” was approved." {
		t.Fatalf("notices = %s", b)
	}
	if _, b = ts.do(t, "POST", "/api/v1/sites/news/notices", map[string]string{"reader": reader}, h); strings.Contains(string(b), id) {
		t.Fatalf("told twice: %s", b)
	}
	if resp, _ = ts.do(t, "POST", "/api/v1/sites/news/notices", map[string]string{"reader": "forged"}, h); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("forged reader = %d", resp.StatusCode)
	}
}
