package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/login"
	"parley/internal/notify"
	"parley/internal/service"
	"parley/internal/store"
)

// TestData_EmailLink is a reader's way to their data by email: the form
// answers the same for any address, the emailed link works once, for 15
// minutes, for its address only, and gives a download and an erasure.
func TestData_EmailLink(t *testing.T) {
	ns := newNotifyServer(t, nil)
	ctx := context.Background()
	form := map[string]string{"Origin": ns.URL}
	mine := decode[map[string]any](t, func() []byte {
		_, b := ns.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"name": "Iris Quenby", "email": "iris@example.org", "body": "Iris was here, marmalade."}), nil)
		return b
	}())
	_, b := ns.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"name": "Bo", "email": "bo@example.org", "body": "A reply to that.", "parent": mine["id"].(string)}), nil)
	reply := decode[map[string]any](t, b)
	ns.settle(t)
	before := len(ns.smtp.Messages())

	// The privacy page links to the form; the form asks for an address.
	_, b = ns.do(t, "GET", "/sites/news/privacy?lang=en", nil, nil)
	if !strings.Contains(string(b), `href="/sites/news/privacy/data?lang=en"`) {
		t.Fatalf("privacy page has no link to the data form:\n%s", b)
	}
	resp, b := ns.do(t, "GET", "/sites/news/privacy/data?lang=en", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `name="email"`) {
		t.Fatalf("data form = %d", resp.StatusCode)
	}
	// Bad input: the form again, saying why, and no email.
	resp, b = ns.do(t, "POST", "/sites/news/privacy/data?lang=de", url.Values{"email": {"iris@"}}, form)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "parley-data-problem") || !strings.Contains(string(b), "E-Mail-Adresse") {
		t.Fatalf("bad address = %d %s", resp.StatusCode, b)
	}
	// From another site's page: refused.
	if resp, _ := ns.do(t, "POST", "/sites/news/privacy/data", url.Values{"email": {"iris@example.org"}}, map[string]string{"Origin": "https://evil.example"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site request = %d", resp.StatusCode)
	}
	// An address with data and one without get the same answer.
	_, withData := ns.do(t, "POST", "/sites/news/privacy/data?lang=en", url.Values{"email": {"Iris@Example.org"}}, form)
	_, without := ns.do(t, "POST", "/sites/news/privacy/data?lang=en", url.Values{"email": {"nobody@example.org"}}, form)
	if !bytes.Equal(withData, without) || !strings.Contains(string(withData), "parley-data-done") {
		t.Fatalf("the answers differ:\n%s\n---\n%s", withData, without)
	}
	// Asked again within the minute: nothing more is sent.
	ns.do(t, "POST", "/sites/news/privacy/data?lang=en", url.Values{"email": {"iris@example.org"}}, form)
	ns.settle(t)
	msgs := ns.smtp.Messages()[before:]
	if len(msgs) != 2 {
		t.Fatalf("%d emails, want one to each address", len(msgs))
	}
	var irisLink, nobodyLink string
	for _, m := range msgs {
		l := link(t, m, notify.PrivacyPath)
		if strings.Contains(l, "iris") || strings.Contains(l, "example.org") {
			t.Errorf("the link carries the address: %s", l)
		}
		switch m.To[0] {
		case "iris@example.org":
			irisLink = l
		case "nobody@example.org":
			nobodyLink = l
		}
	}
	if irisLink == "" || nobodyLink == "" {
		t.Fatalf("emails to %v", msgs)
	}

	// Refusals: a link of the address's key with another message's nonce
	// (the wrong address), an expired link, a mangled one.
	irisTok, _ := ns.links.Open(notify.PurposePrivacy, mustQuery(t, irisLink, "t"), time.Now())
	nobodyTok, _ := ns.links.Open(notify.PurposePrivacy, mustQuery(t, nobodyLink, "t"), time.Now())
	wrong := irisTok
	wrong.Nonce = nobodyTok.Nonce
	expired := irisTok
	expired.Expires = time.Now().Add(-time.Second).Unix()
	for name, c := range map[string]struct {
		tok    string
		status int
	}{
		"wrong address": {ns.links.Seal(notify.PurposePrivacy, wrong), http.StatusBadRequest},
		"expired":       {ns.links.Seal(notify.PurposePrivacy, expired), http.StatusGone},
		"mangled":       {mustQuery(t, irisLink, "t") + "x", http.StatusBadRequest},
		"other purpose": {ns.links.Seal(notify.PurposeConfirm, irisTok), http.StatusBadRequest},
	} {
		if resp, b := ns.do(t, "POST", notify.PrivacyPath, url.Values{"t": {c.tok}}, nil); resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d: %s", name, resp.StatusCode, c.status, b)
		}
	}

	// Opening the link shows a button and spends nothing.
	for range 2 {
		resp, b = ns.do(t, "GET", ns.pathOf(irisLink), nil, nil)
		if resp.StatusCode != 200 || !strings.Contains(string(b), "parley-data-continue") || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("link page = %d %s", resp.StatusCode, b)
		}
	}
	resp, b = ns.do(t, "POST", notify.PrivacyPath, url.Values{"t": {mustQuery(t, irisLink, "t")}}, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "parley-data-download") {
		t.Fatalf("continue = %d %s", resp.StatusCode, b)
	}
	grant := hiddenValue(t, string(b), "g")
	// Used once: the second time is refused.
	if resp, _ := ns.do(t, "POST", notify.PrivacyPath, url.Values{"t": {mustQuery(t, irisLink, "t")}}, nil); resp.StatusCode != http.StatusGone {
		t.Errorf("reused link = %d, want 410", resp.StatusCode)
	}
	if strings.Contains(grant, "iris") {
		t.Errorf("grant is not sealed: %s", grant)
	}

	// The download: everything about the address, nothing about Bo.
	resp, b = ns.do(t, "POST", notify.PrivacyPath+"/download", url.Values{"g": {grant}}, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download = %d %v", resp.StatusCode, resp.Header)
	}
	var ex struct {
		Email    string `json:"email"`
		Comments []struct {
			ID, Markdown, Name, Page string
		} `json:"comments"`
		Subscriptions []any `json:"subscriptions"`
	}
	if err := json.Unmarshal(b, &ex); err != nil || ex.Email != "iris@example.org" || len(ex.Comments) != 1 || ex.Comments[0].Name != "Iris Quenby" || ex.Subscriptions == nil {
		t.Fatalf("export = %s (%v)", b, err)
	}
	if strings.Contains(string(b), "bo@example.org") {
		t.Error("the export holds another reader's address")
	}
	// A bad grant downloads nothing.
	if resp, _ := ns.do(t, "POST", notify.PrivacyPath+"/download", url.Values{"g": {grant + "x"}}, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad grant = %d", resp.StatusCode)
	}

	// The erasure asks first, then erases, once.
	resp, b = ns.do(t, "POST", notify.PrivacyPath+"/erase", url.Values{"g": {grant}}, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "parley-data-erase-yes") {
		t.Fatalf("erase, first step = %d %s", resp.StatusCode, b)
	}
	if c, err := ns.svc.Comment(ctx, "news", mine["id"].(string)); err != nil || c.Author.Email == "" {
		t.Fatalf("the first step erased already: %+v %v", c, err)
	}
	resp, b = ns.do(t, "POST", notify.PrivacyPath+"/erase", url.Values{"g": {grant}, "confirm": {"yes"}}, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "parley-data-done") {
		t.Fatalf("erase = %d %s", resp.StatusCode, b)
	}
	if resp, _ := ns.do(t, "POST", notify.PrivacyPath+"/erase", url.Values{"g": {grant}, "confirm": {"yes"}}, nil); resp.StatusCode != http.StatusGone {
		t.Errorf("second erasure with the grant = %d, want 410", resp.StatusCode)
	}
	// The thread: the reply keeps its place under "deleted comment".
	_, b = ns.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/story"), nil, nil)
	var th struct {
		Comments []struct {
			ID      string
			Erased  bool
			HTML    string
			Author  struct{ Name string }
			Replies []struct{ ID string }
		}
	}
	json.Unmarshal(b, &th)
	if len(th.Comments) != 1 || !th.Comments[0].Erased || th.Comments[0].HTML != "" || th.Comments[0].Author.Name != "" ||
		len(th.Comments[0].Replies) != 1 || th.Comments[0].Replies[0].ID != reply["id"] {
		t.Fatalf("thread after erasure: %s", b)
	}
	if strings.Contains(string(b), "Iris") || strings.Contains(string(b), "marmalade") {
		t.Errorf("the thread still shows the reader: %s", b)
	}
	// The no-JavaScript thread says so too.
	_, b = ns.do(t, "GET", "/sites/news/thread?lang=en&page="+url.QueryEscape(origin+"/story"), nil, nil)
	if !strings.Contains(string(b), "parley-erased") || strings.Contains(string(b), "Iris") {
		t.Errorf("server-rendered thread after erasure:\n%s", b)
	}
	// And the audit log names the request, without the address.
	es, _, _ := ns.store.AuditEntries(ctx, storeAll("privacy."))
	if len(es) != 2 {
		t.Fatalf("audit entries = %d, want export and erase", len(es))
	}
	for _, e := range es {
		if strings.Contains(e.Target+e.Before+e.After, "iris") {
			t.Errorf("audit entry holds the address: %+v", e)
		}
	}
}

// TestData_RateLimit: a network asking for many links is refused, with
// nothing about the addresses.
func TestData_RateLimit(t *testing.T) {
	ns := newNotifyServer(t, nil)
	var last *http.Response
	for i := range service.DataLinkLimit.Burst + 1 {
		last, _ = ns.do(t, "POST", "/sites/news/privacy/data", url.Values{"email": {"r" + strconv.Itoa(i) + "@example.org"}}, map[string]string{"Origin": ns.URL})
	}
	if last.StatusCode != http.StatusTooManyRequests {
		t.Errorf("link %d of a network = %d, want 429", service.DataLinkLimit.Burst+1, last.StatusCode)
	}
}

// TestData_Widget: a logged-in reader's widget gets the page without the
// email round trip; a guest gets nothing.
func TestData_Widget(t *testing.T) {
	links, err := notify.NewLinks(bytes.Repeat([]byte("k"), 32), "")
	if err != nil {
		t.Fatal(err)
	}
	as := newAuthServer(t, login.Config{}, service.Options{Notify: &service.NotifyOptions{Links: links}}, nil)
	s := as.ssoLogin(t, "77", "Wren Logged", "wren@news.example")
	if _, b := as.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"body": "Logged-in words."}), bearer(s.Token)); !strings.Contains(string(b), `"id"`) {
		t.Fatalf("post: %s", b)
	}
	// The same reader's comment on another site of the server, by the
	// same address: a grant from a session on news does not reach it
	// (a session, and its token in news's pages, belong to news alone).
	ctx := context.Background()
	if err := as.svc.CreateSite(ctx, service.OperatorActor(), &comment.Site{ID: "other", Name: "Other", Origins: []string{"https://other.example"}, EditWindow: comment.DefaultEditWindow}); err != nil {
		t.Fatal(err)
	}
	elsewhere, err := as.svc.Post(ctx, comment.Draft{SiteID: "other", Page: "https://other.example/a", Name: "Wren", Email: "wren@news.example", Identity: "sso-news:77", Body: "Words on another site."}, service.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := as.do(t, "POST", "/api/v1/sites/news/data", nil, map[string]string{"Origin": origin}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a guest's grant = %d, want 401", resp.StatusCode)
	}
	if resp, _ := as.do(t, "POST", "/api/v1/sites/news/data", nil, bearer("nonsense")); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a bad session's grant = %d, want 401", resp.StatusCode)
	}
	resp, b := as.do(t, "POST", "/api/v1/sites/news/data", nil, bearer(s.Token))
	if resp.StatusCode != 200 {
		t.Fatalf("grant = %d %s", resp.StatusCode, b)
	}
	answer := decode[map[string]string](t, b)
	href := answer["href"]
	// The privacy page the widget's privacy link opens for a logged-in
	// reader links straight to the grant, is never cached, and sends no
	// Referer with its links.
	resp, b = as.do(t, "GET", strings.TrimPrefix(answer["privacy"], as.URL), nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("privacy page with a grant = %d, Cache-Control %q, Referrer-Policy %q", resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Header.Get("Referrer-Policy"))
	}
	if want := html.EscapeString(strings.TrimPrefix(href, as.URL)) + `" id="parley-data-link">Download or erase your data<`; !strings.Contains(string(b), want) {
		t.Fatalf("privacy page with a grant lacks %s:\n%s", want, b)
	}
	// Without one, the page offers the emailed link, and may be cached.
	if resp, b := as.do(t, "GET", "/sites/news/privacy?lang=en", nil, nil); resp.Header.Get("Cache-Control") == "no-store" || !strings.Contains(string(b), "Get a link to your data") {
		t.Fatalf("privacy page = Cache-Control %q\n%s", resp.Header.Get("Cache-Control"), b)
	}
	resp, b = as.do(t, "GET", strings.TrimPrefix(href, as.URL), nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "parley-data-download") {
		t.Fatalf("data page = %d %s", resp.StatusCode, b)
	}
	grant := hiddenValue(t, string(b), "g")
	_, b = as.do(t, "POST", notify.PrivacyPath+"/download", url.Values{"g": {grant}}, nil)
	var ex struct {
		Identity string
		Comments []struct{ Markdown string }
		Sessions []struct{ Identity string }
	}
	if json.Unmarshal(b, &ex); ex.Identity != "sso-news:77" || len(ex.Comments) != 1 || len(ex.Sessions) != 1 || ex.Comments[0].Markdown != "Logged-in words." {
		t.Fatalf("export = %s", b)
	}
	as.do(t, "POST", notify.PrivacyPath+"/erase", url.Values{"g": {grant}, "confirm": {"yes"}}, nil)
	if c, err := as.svc.Comment(ctx, "other", elsewhere.ID); err != nil || c.Author.Email != "wren@news.example" {
		t.Errorf("the erasure from news's session reached another site: %+v, %v", c, err)
	}
	// The erasure ended the session.
	if resp, _ := as.do(t, "POST", "/api/v1/sites/news/data", nil, bearer(s.Token)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("grant after erasure = %d, want 401", resp.StatusCode)
	}
}

// hiddenValue returns the value of a page's hidden field.
func hiddenValue(t *testing.T, page, name string) string {
	t.Helper()
	i := strings.Index(page, `name="`+name+`" value="`)
	if i < 0 {
		t.Fatalf("no %s field in:\n%s", name, page)
	}
	v := page[i+len(`name="`+name+`" value="`):]
	return v[:strings.IndexByte(v, '"')]
}

// storeAll is the filter of every site's audit entries of an action kind.
func storeAll(action string) store.AuditFilter {
	return store.AuditFilter{All: true, Action: action}
}

// A logged-in reader gets a few grants to their data, then 429: each may
// erase, and an erasure rewrites the database file.
func TestData_GrantLimit(t *testing.T) {
	links, err := notify.NewLinks(bytes.Repeat([]byte("k"), 32), "")
	if err != nil {
		t.Fatal(err)
	}
	as := newAuthServer(t, login.Config{}, service.Options{Notify: &service.NotifyOptions{Links: links}}, nil)
	s := as.ssoLogin(t, "78", "Greedy", "greedy@news.example")
	for i := range service.DataGrantLimit.Burst {
		if resp, b := as.do(t, "POST", "/api/v1/sites/news/data", nil, bearer(s.Token)); resp.StatusCode != 200 {
			t.Fatalf("grant %d = %d %s", i+1, resp.StatusCode, b)
		}
	}
	if resp, b := as.do(t, "POST", "/api/v1/sites/news/data", nil, bearer(s.Token)); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("grant beyond the limit = %d %s", resp.StatusCode, b)
	}
}
