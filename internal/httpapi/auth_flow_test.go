package httpapi

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"parley/internal/auth"
	"parley/internal/auth/authtest"
	"parley/internal/auth/provider"
	"parley/internal/comment"
	"parley/internal/login"
	"parley/internal/mail"
	"parley/internal/service"
	"parley/internal/store"
)

// A reader's browser for the log-in flows: it keeps cookies per host,
// fills in the provider's sign-in form as Jane, and stops at the article
// (which lives on news.example and is not served here).
type flowBrowser struct {
	t      *testing.T
	client *http.Client
}

func newFlowBrowser(t *testing.T) *flowBrowser {
	jar, _ := cookiejar.New(nil)
	return &flowBrowser{t: t, client: &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host == "news.example" {
			return http.ErrUseLastResponse
		}
		return nil
	}}}
}

var (
	formAction  = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// get fetches u; when the answer is the provider's sign-in form it signs
// in and returns what follows.
func (b *flowBrowser) get(u string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.client.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	body := readAll(resp)
	if strings.Contains(body, `id="password"`) {
		m := formAction.FindStringSubmatch(body)
		if m == nil {
			b.t.Fatalf("sign-in page without a form: %s", body)
		}
		f := url.Values{"username": {"jane"}, "password": {"correct horse"}}
		for _, h := range hiddenInput.FindAllStringSubmatch(body, -1) {
			f.Set(h[1], unescape(h[2]))
		}
		target := resp.Request.URL.ResolveReference(&url.URL{Path: unescape(m[1])})
		if strings.Contains(m[1], "?") {
			target, _ = resp.Request.URL.Parse(unescape(m[1]))
		}
		resp, err = b.client.PostForm(target.String(), f)
		if err != nil {
			b.t.Fatalf("sign in: %v", err)
		}
		body = readAll(resp)
	}
	return resp, body
}

// postFrom posts a form as a page of origin would, and reads the answer.
func (b *flowBrowser) postFrom(origin, u string, form url.Values) *http.Response {
	b.t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	readAll(resp)
	return resp
}

func readAll(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return string(b)
}

func unescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// pngServer serves a small picture, as a provider's avatar host would.
func pngServer(t *testing.T) string {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var b bytes.Buffer
	png.Encode(&b, img)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(b.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/jane.png"
}

// oidcServer runs Parley with one generic OpenID Connect provider, a real
// one running in-process.
func oidcServer(t *testing.T, site func(*comment.Site)) (*authServer, *authtest.OP) {
	u := authtest.DefaultUser()
	u.Picture = pngServer(t)
	op := authtest.StartOP(t, authtest.OPConfig{Users: []authtest.OPUser{u}})
	as := newAuthServer(t, login.Config{
		Providers: []provider.Config{{Kind: provider.OIDC, ID: "newsroom", Name: "Newsroom ID", Issuer: op.Issuer(),
			ClientID: op.ClientID(), ClientSecret: auth.Secret(op.ClientSecret())}},
		Avatars: &auth.AvatarFetcher{AllowPrivate: true},
	}, service.Options{}, site)
	op.AllowRedirect(as.URL + "/auth/newsroom/callback")
	return as, op
}

// widgetKey is the browser key of the reader's widget (auth.ValidBind).
const widgetKey = "the-widget-key-of-janes-browser"

// startURL is where the widget sends the reader to log in.
func startURL(as *authServer, provider, mode, ret string) string {
	return as.URL + "/auth/" + provider + "/start?" + url.Values{"site": {"news"}, "mode": {mode}, "return": {ret}, "bind": {widgetKey}}.Encode()
}

// redeem trades a hand-off code as the widget does, with its key.
func (as *authServer) redeem(t *testing.T, code, key string) (*http.Response, []byte) {
	t.Helper()
	return as.do(t, "POST", "/auth/redeem", map[string]string{"code": code, "bind": key}, map[string]string{"Origin": origin})
}

func TestProviderLogInByRedirect(t *testing.T) {
	as, _ := oidcServer(t, func(s *comment.Site) { s.Moderation = comment.ModerateFirst })
	_, thread := as.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/story"), nil, nil)
	if !strings.Contains(string(thread), `{"id":"newsroom","name":"Newsroom ID","icon":"`+as.URL+`/widget/icons/openid.svg"}`) {
		t.Fatalf("thread JSON does not offer the provider: %s", thread)
	}

	b := newFlowBrowser(t)
	resp, body := b.get(startURL(as, "newsroom", "redirect", origin+"/story?x=1#old"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d %s", resp.StatusCode, body)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Host != "news.example" || loc.Path != "/story" || loc.RawQuery != "x=1" || !strings.HasPrefix(loc.Fragment, "parley-login=") {
		t.Fatalf("back to %s", loc)
	}
	// The no-JavaScript form gets a cookie; the widget redeems the code.
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == auth.DefaultSessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly {
		t.Fatalf("session cookie = %+v", cookie)
	}
	code := strings.TrimPrefix(loc.Fragment, "parley-login=")
	// Planted in another reader's page, the code logs nobody in: it is
	// only good with the key of the widget that started the log-in.
	for _, key := range []string{"", "another-browsers-widget-key-01"} {
		if r, rb := as.redeem(t, code, key); r.StatusCode != http.StatusBadRequest {
			t.Errorf("redeem with key %q: %d %s", key, r.StatusCode, rb)
		}
	}
	r, rb := as.redeem(t, code, widgetKey)
	if r.StatusCode != 200 {
		t.Fatalf("redeem: %d %s", r.StatusCode, rb)
	}
	s := decode[apiSession](t, rb)
	if s.User["name"] != "Jane Doe" || s.User["provider"] != "newsroom" || s.User["account"] != "Newsroom ID" || s.User["email"] != "jane@example.org" {
		t.Fatalf("user = %v", s.User)
	}
	// A code works once.
	if r, _ := as.redeem(t, code, widgetKey); r.StatusCode != http.StatusGone {
		t.Errorf("second redeem: %d", r.StatusCode)
	}

	// The provider's picture was fetched at log-in and is served by Parley.
	r, pic := as.do(t, "GET", strings.TrimPrefix(s.User["avatar"], as.URL), nil, nil)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix([]byte(pic), []byte("\x89PNG")) {
		t.Fatalf("avatar: %d %v", r.StatusCode, r.Header)
	}

	// The comment is Jane's. Her first is held on a site that moderates
	// first comments (a new account anywhere proves little); once one is
	// approved, her log-in is known there.
	r, cb := as.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"name": "", "email": "", "body": "First."}), bearer(s.Token))
	first := decode[apiComment](t, cb)
	if r.StatusCode != http.StatusAccepted || first.Author["name"] != "Jane Doe" {
		t.Fatalf("first post: %d %s", r.StatusCode, cb)
	}
	if _, err := as.svc.Decide(context.Background(), service.OperatorActor(), "news", []string{first.ID}, service.Approve); err != nil {
		t.Fatal(err)
	}
	r, cb = as.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"name": "", "email": ""}), bearer(s.Token))
	if r.StatusCode != http.StatusCreated || decode[apiComment](t, cb).Author["name"] != "Jane Doe" {
		t.Fatalf("post once known: %d %s", r.StatusCode, cb)
	}

	// The form without JavaScript, posted with the cookie, is Jane's too,
	// and the thread fragment shows her as logged in.
	form := url.Values{"page": {origin + "/story"}, "url": {origin + "/story"}, "body": {"Posted without JavaScript."}, "token": {as.svc.FormToken("news")}}
	req, _ := http.NewRequest("POST", as.URL+"/sites/news/comments", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	req.AddCookie(cookie)
	fr, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	fr.Body.Close()
	if fr.StatusCode != http.StatusSeeOther {
		t.Fatalf("form post with cookie: %d", fr.StatusCode)
	}
	cs, _ := as.st.ListComments(context.Background(), store.ListFilter{SiteID: "news"})
	if len(cs) != 3 || cs[0].Author.Identity != "newsroom:user-7f3a" || cs[0].Author.Name != "Jane Doe" || cs[0].Markdown != "Posted without JavaScript." {
		t.Fatalf("stored = %d, newest %+v", len(cs), cs[0])
	}
	req, _ = http.NewRequest("GET", as.URL+"/sites/news/thread?page="+url.QueryEscape(origin+"/story"), nil)
	req.AddCookie(cookie)
	tr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if page := readAll(tr); !strings.Contains(page, "Newsroom ID") || !strings.Contains(page, "/auth/logout") {
		t.Errorf("fragment with the cookie does not show the reader: %s", page)
	}
}

func TestProviderLogInByPopup(t *testing.T) {
	as, _ := oidcServer(t, nil)
	b := newFlowBrowser(t)
	resp, body := b.get(startURL(as, "newsroom", "popup", origin+"/story"))
	if resp.StatusCode != 200 {
		t.Fatalf("popup end: %d %s", resp.StatusCode, body)
	}
	// The page hands a code to the opener, addressed to the article's
	// origin only, under a script nonce.
	csp := resp.Header.Get("Content-Security-Policy")
	m := regexp.MustCompile(`nonce-([0-9a-f]+)`).FindStringSubmatch(csp)
	if m == nil || !strings.Contains(body, `nonce="`+m[1]+`"`) {
		t.Fatalf("CSP %q, body %s", csp, body)
	}
	cm := regexp.MustCompile(`"code":"([^"]+)"`).FindStringSubmatch(body)
	if cm == nil || !strings.Contains(body, `"https://news.example"`) || !strings.Contains(body, "postMessage") {
		t.Fatalf("popup page: %s", body)
	}
	code := strings.ReplaceAll(cm[1], `\/`, "/")
	// Without an opener (a provider's COOP cut the window off), the window
	// logs in the redirect way, on the article itself.
	if !strings.Contains(strings.ReplaceAll(body, `\/`, "/"), `location.replace("https://news.example/story#parley-login=`) {
		t.Errorf("no fallback for a window without an opener: %s", body)
	}
	r, rb := as.redeem(t, code, widgetKey)
	if r.StatusCode != 200 || decode[apiSession](t, rb).User["name"] != "Jane Doe" {
		t.Fatalf("redeem: %d %s", r.StatusCode, rb)
	}
}

func TestProviderLogInRefusals(t *testing.T) {
	as, op := oidcServer(t, nil)
	b := newFlowBrowser(t)
	// No open redirects: a return address off the site is refused before
	// the reader goes anywhere.
	for _, ret := range []string{"https://evil.example/", "javascript:alert(1)", "//evil.example/x", "https://news.example.evil.example/"} {
		resp, _ := b.get(startURL(as, "newsroom", "redirect", ret))
		if resp.StatusCode != http.StatusBadRequest || resp.Request.URL.Host != strings.TrimPrefix(as.URL, "http://") {
			t.Errorf("return %q: %d at %s", ret, resp.StatusCode, resp.Request.URL)
		}
	}
	// A provider the site does not offer.
	if resp, _ := b.get(startURL(as, "github", "redirect", origin+"/")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown provider: %d", resp.StatusCode)
	}
	// A callback in a browser that did not start the log-in (state bound
	// to the browser) is refused and starts no session.
	delivered := false
	op.SetTamper(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		if loc := rec.Header().Get("Location"); strings.Contains(loc, "/auth/newsroom/callback") {
			delivered = true
			// Deliver the callback in another browser.
			other := newFlowBrowser(t)
			resp, body := other.get(loc)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "could not be completed in this browser") {
				t.Errorf("callback in another browser: %d %s", resp.StatusCode, body)
			}
			for _, c := range resp.Cookies() {
				if c.Name == auth.DefaultSessionCookie && c.Value != "" {
					t.Errorf("a session was started")
				}
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
	b.get(startURL(as, "newsroom", "redirect", origin+"/story"))
	op.SetTamper(nil)
	if !delivered {
		t.Fatal("the provider never sent the reader to the callback")
	}
}

func TestEmailLinkLogIn(t *testing.T) {
	smtp := authtest.StartSMTP(t)
	as := newAuthServer(t, login.Config{SMTP: &mail.Config{Host: smtp.Host(), Port: smtp.Port(), TLS: mail.TLSNone, From: "Comments <comments@news.example>"}},
		service.Options{}, func(s *comment.Site) { s.Moderation = comment.ModerateFirst })
	_, thread := as.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/story"), nil, nil)
	if !strings.Contains(string(thread), `"email":true`) {
		t.Fatalf("email log-in not offered: %s", thread)
	}

	// Before: a guest with this address is a first-time commenter.
	r, b := as.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"email": "noor@example.org"}), map[string]string{"Origin": origin})
	if r.StatusCode != http.StatusAccepted {
		t.Fatalf("first guest comment: %d %s", r.StatusCode, b)
	}

	r, b = as.do(t, "POST", "/api/v1/sites/news/auth/email", map[string]string{"email": "Noor@Example.org", "return": origin + "/story", "bind": widgetKey}, map[string]string{"Origin": origin})
	if r.StatusCode != http.StatusAccepted {
		t.Fatalf("send link: %d %s", r.StatusCode, b)
	}
	mail := smtp.WaitMail(t, 10*time.Second)
	if len(mail.To) != 1 || mail.To[0] != "noor@example.org" || !strings.Contains(mail.Subject(), "The News") {
		t.Fatalf("mail to %v, subject %q", mail.To, mail.Subject())
	}
	link := regexp.MustCompile(`https?://\S+/auth/email\?\S*token=\S+`).FindString(mail.Body())
	if link == "" {
		t.Fatalf("no link in %s", mail.Body())
	}

	// Opening the link (as a mail scanner would) changes nothing; the
	// button posts the token.
	br := newFlowBrowser(t)
	resp, page := br.get(link)
	if resp.StatusCode != 200 || !strings.Contains(page, `<button type="submit">Log in</button>`) {
		t.Fatalf("link page: %d %s", resp.StatusCode, page)
	}
	token := hiddenInput.FindStringSubmatch(page)
	// Another site cannot post someone's link for this browser (log-in
	// CSRF); the link is still good afterwards.
	if resp := br.postFrom("https://evil.example", as.URL+"/auth/email", url.Values{"token": {unescape(token[2])}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("link posted from another site: %d", resp.StatusCode)
	}
	resp = br.postFrom(as.URL, as.URL+"/auth/email", url.Values{"token": {unescape(token[2])}})
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Host != "news.example" || !strings.HasPrefix(loc.Fragment, "parley-login=") {
		t.Fatalf("confirm: %d to %s", resp.StatusCode, loc)
	}
	r, b = as.redeem(t, strings.TrimPrefix(loc.Fragment, "parley-login="), widgetKey)
	s := decode[apiSession](t, b)
	if r.StatusCode != 200 || s.User["provider"] != "email" || s.User["account"] != "noor@example.org" {
		t.Fatalf("redeem: %d %s", r.StatusCode, b)
	}
	// The link proved an address, not a name: the reader gives a name, and
	// nothing of the address is published.
	r, b = as.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"name": "", "email": "", "body": "Via my link."}), bearer(s.Token))
	if r.StatusCode != http.StatusBadRequest || decode[apiErr](t, b).Error.Field != "name" {
		t.Errorf("email log-in without a name: %d %s", r.StatusCode, b)
	}
	r, b = as.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"name": "N. Haddad", "email": "someone@else.example", "body": "Via my link."}), bearer(s.Token))
	if r.StatusCode != http.StatusCreated || strings.Contains(string(b), "noor") || decode[apiComment](t, b).Author["name"] != "N. Haddad" {
		t.Errorf("email log-in with a name: %d %s", r.StatusCode, b)
	}
	cs, _ := as.st.ListComments(context.Background(), store.ListFilter{SiteID: "news"})
	if len(cs) == 0 || cs[0].Author.Email != "noor@example.org" || !strings.HasPrefix(cs[0].Author.Identity, "email:") {
		t.Errorf("stored author = %+v", cs[0].Author)
	}
	// The link works once.
	resp, err := br.client.PostForm(as.URL+"/auth/email", url.Values{"token": {unescape(token[2])}})
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(resp); resp.StatusCode != http.StatusGone || !strings.Contains(body, "already used") {
		t.Errorf("second use: %d %s", resp.StatusCode, body)
	}

	// After: the confirmed address is recognised even as a guest.
	r, b = as.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"email": "noor@example.org", "body": "Back again."}), map[string]string{"Origin": origin})
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("verified guest held: %d %s", r.StatusCode, b)
	}

	// Bad addresses and floods are refused with clear errors.
	r, b = as.do(t, "POST", "/api/v1/sites/news/auth/email", map[string]string{"email": "noor@", "return": origin + "/story"}, map[string]string{"Origin": origin})
	if r.StatusCode != http.StatusBadRequest || decode[apiErr](t, b).Error.Field != "email" {
		t.Errorf("bad address: %d %s", r.StatusCode, b)
	}
	r, b = as.do(t, "POST", "/api/v1/sites/news/auth/email", map[string]string{"email": "noor@example.org", "return": "https://evil.example/"}, map[string]string{"Origin": origin})
	if r.StatusCode != http.StatusBadRequest {
		t.Errorf("foreign return: %d %s", r.StatusCode, b)
	}
	limited := false
	for range login.LinkLimitPerEmail.Burst + 1 {
		r, _ = as.do(t, "POST", "/api/v1/sites/news/auth/email", map[string]string{"email": "flood@example.org", "return": origin + "/story"}, map[string]string{"Origin": origin})
		limited = limited || r.StatusCode == http.StatusTooManyRequests
	}
	if !limited {
		t.Errorf("no limit on links to one address")
	}
}

var (
	providerLink = regexp.MustCompile(`<a class="parley-login" data-provider="newsroom" href="([^"]+)"`)
	changeLink   = regexp.MustCompile(`<a class="parley-change" href="([^"]+)"`)
	hrefOf       = func(re *regexp.Regexp, page string) string {
		m := re.FindStringSubmatch(page)
		if m == nil {
			return ""
		}
		return unescape(m[1])
	}
)

// TestProviderLogInWithoutJavaScript walks the log-in of a reader whose
// browser runs no script: the article shows the thread its server fetched
// from Parley, whose log-in links lead back to Parley's reply page for
// the article; there the reader is shown as logged in, and the comment
// posts under their identity and goes back to the article.
func TestProviderLogInWithoutJavaScript(t *testing.T) {
	as, _ := oidcServer(t, nil)
	article := origin + "/2026/bus-line"
	// The article's server fetches the thread, with no reader's cookie.
	_, frag := as.do(t, "GET", "/sites/news/thread?"+url.Values{"page": {"story-7"}, "url": {article}, "title": {"Bus line opens"}}.Encode(), nil, nil)
	start := hrefOf(providerLink, string(frag))
	su, err := url.Parse(start)
	if err != nil || start == "" {
		t.Fatalf("no provider link in %s", frag)
	}
	replyURL := as.URL + "/sites/news/reply?" + url.Values{"page": {"story-7"}, "url": {article}, "title": {"Bus line opens"}}.Encode() + "&lang=en"
	if got := su.Query().Get("return"); got != replyURL || su.Query().Get("mode") != "redirect" {
		t.Fatalf("no-JS log-in returns to %q (mode %q), want the reply page %q", got, su.Query().Get("mode"), replyURL)
	}

	// The reader logs in and lands on the reply page, logged in.
	b := newFlowBrowser(t)
	resp, page := b.get(start)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/sites/news/reply" {
		t.Fatalf("after log-in: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	if resp.Request.URL.Fragment != "" {
		t.Errorf("a log-in without the widget came back with a code: %s", resp.Request.URL)
	}
	for _, want := range []string{"You are commenting using your <bdi>Newsroom ID</bdi> account.", `<a href="` + article + `">Back to the article</a>`,
		"<h1>Bus line opens</h1>", `name="page" value="story-7"`} {
		if !strings.Contains(page, want) {
			t.Errorf("reply page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, `name="email"`) {
		t.Error("the reply page asks a logged-in reader for their email")
	}
	if resp.Header.Get("X-Robots-Tag") != "noindex" || !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") ||
		resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("reply page headers: %v", resp.Header)
	}
	// Change leads to the log-in choices, which come back here.
	change := hrefOf(changeLink, page)
	cr, choices := b.get(change)
	if cr.StatusCode != 200 || !strings.Contains(choices, "Log in with Newsroom ID") || !strings.Contains(choices, url.QueryEscape(replyURL)) ||
		!strings.Contains(choices, "You are logged in as Jane Doe.") || !strings.Contains(choices, "/auth/logout-all?lang=en&amp;site=news") {
		t.Errorf("Change: %d %s", cr.StatusCode, choices)
	}

	// The form posts from Parley's page with the session cookie and goes
	// back to the article at the new comment.
	form := url.Values{"page": {"story-7"}, "url": {article}, "body": {"Written without JavaScript."}, "token": {as.svc.FormToken("news")}}
	pr := b.postFrom(as.URL, as.URL+"/sites/news/comments", form)
	loc, _ := url.Parse(pr.Header.Get("Location"))
	if pr.StatusCode != http.StatusSeeOther || loc.Host != "news.example" || loc.Path != "/2026/bus-line" || !strings.HasPrefix(loc.Fragment, "comment-") {
		t.Fatalf("form post: %d to %s", pr.StatusCode, loc)
	}
	cs, _ := as.st.ListComments(context.Background(), store.ListFilter{SiteID: "news"})
	if len(cs) != 1 || cs[0].Author.Identity != "newsroom:user-7f3a" || cs[0].Author.Name != "Jane Doe" {
		t.Fatalf("stored = %+v", cs)
	}

	// Log out from the reply page goes back to the article.
	lr := b.postFrom(as.URL, as.URL+"/auth/logout?site=news", url.Values{"return": {article}})
	if lr.StatusCode != http.StatusSeeOther || !strings.HasPrefix(lr.Header.Get("Location"), article) {
		t.Errorf("log out: %d to %s", lr.StatusCode, lr.Header.Get("Location"))
	}
	if _, page := b.get(replyURL); !strings.Contains(page, `name="email"`) || strings.Contains(page, "You are commenting using") {
		t.Errorf("reply page after log out still shows the reader")
	}

	// The reply page is no way out of the site: not for another site's
	// page, not on another host.
	for _, ret := range []string{
		as.URL + "/sites/news/reply?" + url.Values{"page": {"x"}, "url": {"https://evil.example/"}}.Encode(),
		"https://evil.example/sites/news/reply?" + url.Values{"page": {"x"}, "url": {article}}.Encode(),
		as.URL + "/sites/other/reply?" + url.Values{"page": {"x"}, "url": {article}}.Encode(),
		as.URL + "/sites/news/reply?" + url.Values{"page": {"x"}, "url": {article}}.Encode() + "#x?url=https://evil.example/",
	} {
		r, err := http.Get(startURL(as, "newsroom", "redirect", ret))
		if err != nil {
			t.Fatal(err)
		}
		readAll(r)
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("log-in returning to %s: %d", ret, r.StatusCode)
		}
	}
	if r, _ := as.do(t, "GET", "/sites/news/reply?"+url.Values{"page": {"x"}, "url": {"https://evil.example/"}}.Encode(), nil, nil); r.StatusCode != http.StatusBadRequest {
		t.Errorf("reply page for a foreign page: %d", r.StatusCode)
	}
}

// TestProviderIcons: an operator's icon for a generic provider is fetched
// and served by Parley; one that cannot be fetched shows as the generic
// icon, and is not fetched again at every page view.
func TestProviderIcons(t *testing.T) {
	op := authtest.StartOP(t, authtest.OPConfig{Users: []authtest.OPUser{authtest.DefaultUser()}})
	var brokenHits atomic.Int32
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		brokenHits.Add(1)
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Write([]byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))
	}))
	t.Cleanup(broken.Close)
	as := newAuthServer(t, login.Config{
		Providers: []provider.Config{
			{Kind: provider.OIDC, ID: "newsroom", Name: "Newsroom ID", Issuer: op.Issuer(), IconURL: pngServer(t),
				ClientID: op.ClientID(), ClientSecret: auth.Secret(op.ClientSecret())},
			{Kind: provider.OIDC, ID: "intranet", Name: "Intranet", Issuer: op.Issuer(), IconURL: broken.URL + "/logo.svg",
				ClientID: op.ClientID(), ClientSecret: auth.Secret(op.ClientSecret())},
		},
		Avatars: &auth.AvatarFetcher{AllowPrivate: true},
	}, service.Options{}, nil)
	_, thread := as.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/story"), nil, nil)
	if !strings.Contains(string(thread), `"icon":"`+as.URL+`/auth/newsroom/icon"`) {
		t.Fatalf("thread does not point at Parley's copy of the icon: %s", thread)
	}
	r, body := as.do(t, "GET", "/auth/newsroom/icon", nil, nil)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(body, []byte("\x89PNG")) {
		t.Fatalf("icon: %d %v", r.StatusCode, r.Header)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for range 3 {
		resp, err := noRedirect.Get(as.URL + "/auth/intranet/icon")
		if err != nil {
			t.Fatal(err)
		}
		readAll(resp)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != as.URL+"/widget/icons/openid.svg" {
			t.Fatalf("broken icon: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if n := brokenHits.Load(); n != 1 {
		t.Errorf("the broken icon was fetched %d times, want once", n)
	}
	if r, _ := as.do(t, "GET", "/auth/nobody/icon", nil, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("icon of no provider: %d", r.StatusCode)
	}
}
