package admin_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/internal/admin"
	"parley/internal/auth/authtest"
	"parley/internal/comment"
	"parley/internal/httpapi"
	"parley/internal/mail"
	"parley/internal/notify"
	"parley/internal/outbox"
	"parley/internal/safehttp"
	"parley/internal/service"
	"parley/internal/staff"
	"parley/internal/store/sqlite"
	"parley/internal/webhook"
	"parley/internal/widget"
)

var ctx = context.Background()

// env is Parley with the desk, over a temporary SQLite store: sites
// "news" (holds every comment) and "other", an owner, a moderator of
// news, an admin of other, and a moderator token for each site.
type env struct {
	srv        *httptest.Server
	svc        *service.Service
	newsToken  string
	otherToken string
	comments   []*comment.Comment
	// Notifications: a real SMTP server gets the mail, the outbox worker
	// runs, webhooks may go to 127.0.0.1.
	smtp  *authtest.SMTP
	links *notify.Links
}

// attemptsLimit lets three log-in attempts an account through, then none
// (every test client has the same address, so that limit is left open).
type attemptsLimit struct{ n map[string]int }

func (a *attemptsLimit) Take(_ context.Context, key string, _ time.Time) (bool, time.Duration, error) {
	if !strings.HasPrefix(key, "account:") {
		return true, 0, nil
	}
	a.n[key]++
	return a.n[key] <= 3, 4 * time.Minute, nil
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewUnstartedServer(nil)
	ms := authtest.StartSMTP(t)
	mailer, err := mail.NewSMTP(mail.Config{Host: ms.Host(), Port: ms.Port(), TLS: mail.TLSNone, From: "comments@news.example"})
	if err != nil {
		t.Fatal(err)
	}
	links, err := notify.NewLinks(bytes.Repeat([]byte("k"), 32), "http://"+srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	policy := safehttp.Policy{Hosts: []string{"127.0.0.1"}}
	n, err := notify.New(notify.Config{Store: st, Links: links, Mailer: mailer, Hooks: webhook.NewClient(webhook.Options{Policy: policy})})
	if err != nil {
		t.Fatal(err)
	}
	worker, err := n.Worker(st, outbox.Config{Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); worker.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done; mailer.Close() })
	svc, err := service.New(ctx, st, service.Options{Notify: &service.NotifyOptions{Notifier: n, Links: links, Webhooks: policy, Wake: worker.Wake}})
	if err != nil {
		t.Fatal(err)
	}
	op := service.OperatorActor()
	for _, site := range []*comment.Site{
		{ID: "news", Name: "News", Origins: []string{"https://news.example"}, Moderation: comment.ModerateAll},
		{ID: "other", Name: "Other", Origins: []string{"https://other.example"}},
	} {
		if err := svc.CreateSite(ctx, op, site); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []service.NewMember{
		{Email: "owner@example.org", Password: "owner password 1", Role: staff.RoleOwner},
		{Email: "mod@example.org", Password: "moderator password", SiteID: "news", Role: staff.RoleModerator},
		{Email: "adm@example.org", Password: "admin of other site", SiteID: "other", Role: staff.RoleAdmin},
	} {
		if _, err := svc.AddMember(ctx, op, m); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{svc: svc, smtp: ms, links: links}
	if e.newsToken, _, err = svc.AddToken(ctx, op, "news", "newsroom CMS", staff.RoleModerator); err != nil {
		t.Fatal(err)
	}
	if e.otherToken, _, err = svc.AddToken(ctx, op, "other", "other CMS", staff.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	desk, err := admin.New(svc, admin.Config{Attempts: &attemptsLimit{n: map[string]int{}}})
	if err != nil {
		t.Fatal(err)
	}
	assets, err := widget.New()
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = httpapi.New(svc, assets, nil, httpapi.Config{Admin: desk.Handler()}).Handler()
	srv.Start()
	e.srv = srv
	t.Cleanup(e.srv.Close)
	for i, body := range []string{"First held comment", "Second, with **markdown**", "Third one"} {
		c, err := svc.Post(ctx, comment.Draft{SiteID: "news", Page: "https://news.example/story", PageURL: "https://news.example/story", Title: "The story",
			Name: "Reader " + string(rune('A'+i)), Email: "reader@example.org", Body: body}, service.Meta{IP: "198.51.100.7"})
		if err != nil {
			t.Fatal(err)
		}
		e.comments = append(e.comments, c)
	}
	return e
}

// api calls the admin API with a token and returns the status and body.
func (e *env) api(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestAPI_RoleBoundaries(t *testing.T) {
	e := newEnv(t)
	id := e.comments[0].ID
	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		want                      int
	}{
		{"no token", "GET", "/api/v1/admin/sites/news/comments", "", nil, 401},
		{"a revoked or made-up token", "GET", "/api/v1/admin/sites/news/comments", "pst_made-up", nil, 401},
		{"another site's token cannot list", "GET", "/api/v1/admin/sites/news/comments", e.otherToken, nil, 404},
		{"another site's token cannot decide", "POST", "/api/v1/admin/sites/news/comments/" + id + "/spam", e.otherToken, nil, 404},
		{"another site's token cannot read the audit log", "GET", "/api/v1/admin/sites/news/audit", e.otherToken, nil, 404},
		{"another site's token learns nothing of a missing site", "GET", "/api/v1/admin/sites/nosuch", e.otherToken, nil, 404},
		{"another site's token cannot reach news's comment through its own site", "POST", "/api/v1/admin/sites/other/comments/" + id + "/spam", e.otherToken, nil, 404},
		{"a moderator token cannot change settings", "PATCH", "/api/v1/admin/sites/news", e.newsToken, map[string]any{"id": "news", "name": "Renamed"}, 403},
		{"an admin token changes its own site", "PATCH", "/api/v1/admin/sites/other", e.otherToken, map[string]any{"id": "other", "name": "Renamed"}, 200},
		{"a moderator token lists its site", "GET", "/api/v1/admin/sites/news/comments?status=pending", e.newsToken, nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := e.api(t, tc.method, tc.path, tc.token, tc.body)
			if code != tc.want {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, code, b, tc.want)
			}
		})
	}
	// Nothing changed through the refusals.
	if c, _ := e.svc.Comment(ctx, "news", id); c.Status != comment.StatusPending {
		t.Fatalf("comment is %s after refused requests", c.Status)
	}
	if site, _ := e.svc.Site(ctx, "news"); site.Name != "News" {
		t.Fatalf("site renamed to %q by a moderator token", site.Name)
	}
}

func TestAPI_BadInput(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, method, path string
		body               any
		want               int
		code               string
	}{
		{"unknown comment", "POST", "/api/v1/admin/sites/news/comments/nosuch/approve", nil, 404, "not_found"},
		{"unknown action", "POST", "/api/v1/admin/sites/news/comments/" + e.comments[0].ID + "/frobnicate", nil, 404, "not_found"},
		{"bad status", "GET", "/api/v1/admin/sites/news/comments?status=bogus", nil, 400, "invalid_status"},
		{"bad cursor", "GET", "/api/v1/admin/sites/news/comments?cursor=%25%25", nil, 400, "invalid_cursor"},
		{"bad address", "GET", "/api/v1/admin/sites/news/comments?ip=not-an-address!", nil, 400, "invalid_ip"},
		{"bulk with neither ids nor filter", "POST", "/api/v1/admin/sites/news/comments/bulk", map[string]any{"action": "spam"}, 400, "missing_ids"},
		{"bulk with both", "POST", "/api/v1/admin/sites/news/comments/bulk", map[string]any{"action": "spam", "ids": []string{"x"}, "filter": map[string]any{}}, 400, "invalid_ids"},
		{"bulk with a bad action", "POST", "/api/v1/admin/sites/news/comments/bulk", map[string]any{"action": "burn", "ids": []string{"x"}}, 400, "invalid_action"},
		{"bulk with unknown fields", "POST", "/api/v1/admin/sites/news/comments/bulk", map[string]any{"action": "spam", "idz": []string{"x"}}, 400, "invalid_body"},
		{"an empty edit", "PATCH", "/api/v1/admin/sites/news/comments/" + e.comments[0].ID, map[string]any{"body": ""}, 400, "missing_body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := e.api(t, tc.method, tc.path, e.newsToken, tc.body)
			var got struct {
				Error struct{ Code, Message string }
			}
			json.Unmarshal(b, &got)
			if code != tc.want || got.Error.Code != tc.code || got.Error.Message == "" {
				t.Fatalf("= %d %s, want %d %s", code, b, tc.want, tc.code)
			}
		})
	}
	// A bulk query that matches nothing is an answer.
	code, b := e.api(t, "POST", "/api/v1/admin/sites/news/comments/bulk", e.newsToken, map[string]any{"action": "spam", "filter": map[string]any{"q": "nothing matches this"}})
	if code != 200 || string(bytes.TrimSpace(b)) != `{"changed":0,"matched":0}` {
		t.Fatalf("bulk on nothing = %d %s", code, b)
	}
	for _, c := range e.comments {
		if got, _ := e.svc.Comment(ctx, "news", c.ID); got.Status != comment.StatusPending {
			t.Fatalf("%s is %s after bad requests", c.ID, got.Status)
		}
	}
}

// browser is a cookie-keeping client that never follows redirects, as a
// person's browser on the desk would be, sending Origin with its posts.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.client.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) post(path string, form url.Values, origin string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var hidden = regexp.MustCompile(`name="(token|csrf)" value="([^"]+)"`)

// field returns the value of a hidden field of a page.
func field(t *testing.T, page, name string) string {
	t.Helper()
	for _, m := range hidden.FindAllStringSubmatch(page, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	t.Fatalf("no %s field in the page", name)
	return ""
}

// logIn logs a browser in and returns the CSRF token of its session.
func (b *browser) logIn(email, password string) string {
	b.t.Helper()
	_, page := b.get("/admin/login")
	resp, body := b.post("/admin/login", url.Values{"email": {email}, "password": {password}, "token": {field(b.t, page, "token")}, "next": {"/admin/sites/news/"}}, b.base)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/sites/news/" {
		b.t.Fatalf("log-in = %d %s", resp.StatusCode, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "parley_desk" && (!c.HttpOnly || c.SameSite != http.SameSiteStrictMode) {
			b.t.Fatalf("session cookie %+v is not HttpOnly and SameSite=Strict", c)
		}
	}
	_, page = b.get("/admin/account")
	return field(b.t, page, "csrf")
}

func TestDesk_LogInAndCSRF(t *testing.T) {
	e := newEnv(t)
	id := e.comments[0].ID
	b := newBrowser(t, e.srv.URL)

	// Every desk page wants a log-in, and says nothing before it.
	resp, _ := b.get("/admin/sites/news/")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/login?next=") {
		t.Fatalf("logged out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "Cache-Control"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}

	// A wrong password is refused with words, and the attempts are limited.
	_, page := b.get("/admin/login")
	token := field(t, page, "token")
	for i, want := range []int{401, 401, 401, 429} {
		resp, body := b.post("/admin/login", url.Values{"email": {"mod@example.org"}, "password": {"not the password"}, "token": {token}}, e.srv.URL)
		if resp.StatusCode != want {
			t.Fatalf("attempt %d = %d, want %d", i+1, resp.StatusCode, want)
		}
		if want == 401 && !strings.Contains(body, "not right") || want == 429 && (!strings.Contains(body, "Too many attempts") || resp.Header.Get("Retry-After") == "") {
			t.Fatalf("attempt %d says %q", i+1, body)
		}
	}
	// A log-in form from elsewhere (no double-submit cookie match) fails.
	other := newBrowser(t, e.srv.URL)
	if resp, _ := other.post("/admin/login", url.Values{"email": {"owner@example.org"}, "password": {"owner password 1"}, "token": {token}}, e.srv.URL); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("log-in with another browser's form token = %d", resp.StatusCode)
	}

	b2 := newBrowser(t, e.srv.URL)
	csrf := b2.logIn("owner@example.org", "owner password 1")
	decide := url.Values{"ids": {id}, "action": {"approve"}, "return": {"/admin/sites/news/"}}

	// Without the CSRF token, with another's, or from another origin:
	// refused, nothing changes.
	for name, tc := range map[string]struct {
		csrf, origin string
	}{"no token": {"", e.srv.URL}, "a wrong token": {"bm90IHRoZSB0b2tlbg", e.srv.URL}, "another origin": {csrf, "https://evil.example"}} {
		f := url.Values{"csrf": {tc.csrf}}
		for k, v := range decide {
			f[k] = v
		}
		resp, _ := b2.post("/admin/sites/news/decide", f, tc.origin)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d", name, resp.StatusCode)
		}
		if c, _ := e.svc.Comment(ctx, "news", id); c.Status != comment.StatusPending {
			t.Fatalf("%s: the comment was approved", name)
		}
	}
	decide.Set("csrf", csrf)
	if resp, _ := b2.post("/admin/sites/news/decide", decide, e.srv.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("decide = %d", resp.StatusCode)
	}
	if c, _ := e.svc.Comment(ctx, "news", id); c.Status != comment.StatusApproved {
		t.Fatalf("the comment is %s", c.Status)
	}
	// The flash says so, with Undo.
	_, page = b2.get("/admin/sites/news/")
	if !strings.Contains(page, "1 comment approved.") || !strings.Contains(page, "/admin/sites/news/undo") {
		t.Fatal("no flash with Undo after the decision")
	}

	// Log out: the old cookie is worthless, and its form is stale.
	b2.post("/admin/logout", url.Values{"csrf": {csrf}}, e.srv.URL)
	resp, _ = b2.post("/admin/sites/news/decide", decide, e.srv.URL)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/login") {
		t.Fatalf("a form after log-out: %d %s", resp.StatusCode, loc)
	}
}

func TestDesk_RoleBoundaries(t *testing.T) {
	e := newEnv(t)
	adm := newBrowser(t, e.srv.URL)
	adm.logIn("adm@example.org", "admin of other site")
	for _, path := range []string{"/admin/sites/news/", "/admin/sites/news/audit", "/admin/sites/news/staff", "/admin/sites/news/settings", "/admin/sites/news/comments/" + e.comments[0].ID, "/admin/sites/nosuch/"} {
		resp, body := adm.get(path)
		if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "First held comment") || strings.Contains(body, ">News<") {
			t.Errorf("another site's admin at %s: %d", path, resp.StatusCode)
		}
	}
	// Its own site it may run.
	if resp, _ := adm.get("/admin/sites/other/settings"); resp.StatusCode != 200 {
		t.Fatalf("own settings: %d", resp.StatusCode)
	}
	mod := newBrowser(t, e.srv.URL)
	csrf := mod.logIn("mod@example.org", "moderator password")
	if resp, _ := mod.get("/admin/sites/news/settings"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a moderator at the settings: %d", resp.StatusCode)
	}
	resp, _ := mod.post("/admin/sites/news/settings", url.Values{"csrf": {csrf}, "name": {"Taken over"}, "origins": {"https://news.example"}, "max_depth": {"5"}, "edit_window": {"15"}}, e.srv.URL)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a moderator saving settings: %d", resp.StatusCode)
	}
	if resp, _ := mod.post("/admin/sites/news/tokens", url.Values{"csrf": {csrf}, "name": {"mine"}, "role": {"admin"}}, e.srv.URL); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a moderator making a token: %d", resp.StatusCode)
	}
	if site, _ := e.svc.Site(ctx, "news"); site.Name != "News" {
		t.Fatal("a moderator changed the settings")
	}
}

// TestDesk_PageWeight: what a moderator's browser downloads for the
// queue with a full page of 50 cards, gzipped; the desk's CSS and script
// stay small.
func TestDesk_PageWeight(t *testing.T) {
	e := newEnv(t)
	for i := range 47 {
		if _, err := e.svc.Post(ctx, comment.Draft{SiteID: "news", Page: "https://news.example/story", PageURL: "https://news.example/story", Title: "The story",
			Name: "Reader", Email: "reader@example.org", Body: strings.Repeat("A comment of an ordinary length, with a sentence or two. ", 3) + strconv.Itoa(i)}, service.Meta{IP: "198.51.100.7"}); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t, e.srv.URL)
	b.logIn("mod@example.org", "moderator password")
	_, page := b.get("/admin/sites/news/")
	if n := strings.Count(page, `class="card `); n != 50 {
		t.Fatalf("%d cards on the page", n)
	}
	gz := func(s string) int {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		w.Write([]byte(s))
		w.Close()
		return buf.Len()
	}
	total := gz(page)
	assets := 0
	for _, m := range regexp.MustCompile(`(?:href|src)="(/admin/static/[^"]+)"`).FindAllStringSubmatch(page, -1) {
		_, body := b.get(m[1])
		assets += gz(body)
	}
	t.Logf("queue page with 50 cards: HTML %d B gzipped (%d raw), CSS and script %d B gzipped, total %d B", total, len(page), assets, total+assets)
	if assets > 8<<10 {
		t.Errorf("the desk's CSS and script are %d B gzipped; keep them under 8 kB", assets)
	}
}
