package httpapi

import (
	"encoding/json"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"parley/internal/auth/authtest"
	"parley/internal/i18n"
	"parley/internal/login"
	"parley/internal/mail"
	"parley/internal/service"
	"parley/internal/widget"
)

// arabicPage checks that body is a whole page in Arabic, right to left,
// that says want.
func arabicPage(t *testing.T, what, body, want string) {
	t.Helper()
	if !strings.Contains(body, `<html lang="ar" dir="rtl">`) || !strings.Contains(body, want) {
		t.Errorf("%s is not the Arabic page saying %q:\n%s", what, want, body)
	}
}

var ar = i18n.Get("ar")

// TestPopupSpeaksTheWidgetsLanguage: the log-in window's last page is in
// the language the widget asked for, whatever the browser prefers, both
// when it worked and when the reader cancelled at the provider.
func TestPopupSpeaksTheWidgetsLanguage(t *testing.T) {
	as, op := oidcServer(t, nil)
	b := newFlowBrowser(t)
	resp, body := b.get(startURL(as, "newsroom", "popup", origin+"/story") + "&lang=ar")
	if resp.StatusCode != 200 {
		t.Fatalf("popup end: %d %s", resp.StatusCode, body)
	}
	arabicPage(t, "the popup after logging in", body, ar.T("page.logged_in"))

	// The reader cancels at the provider: the provider sends them back
	// with error=access_denied instead of a code.
	op.SetTamper(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		if loc, err := url.Parse(rec.Header().Get("Location")); err == nil && strings.HasSuffix(loc.Path, "/auth/newsroom/callback") {
			q := loc.Query()
			q.Del("code")
			q.Set("error", "access_denied")
			loc.RawQuery = q.Encode()
			w.Header().Set("Location", loc.String())
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
	defer op.SetTamper(nil)
	resp, body = b.get(startURL(as, "newsroom", "popup", origin+"/story") + "&lang=ar")
	if resp.StatusCode != 200 {
		t.Fatalf("cancelled popup: %d %s", resp.StatusCode, body)
	}
	arabicPage(t, "the popup after a cancelled log-in", body, ar.T("page.cancelled"))
	if !strings.Contains(body, "<title>"+ar.T("page.failed_title")+"</title>") {
		t.Errorf("cancelled popup title: %s", body)
	}
}

// TestEmailLinkSpeaksTheReadersLanguage: the email, the page the link
// opens and what that page answers are all in the language the link was
// asked for in.
func TestEmailLinkSpeaksTheReadersLanguage(t *testing.T) {
	smtp := authtest.StartSMTP(t)
	as := newAuthServer(t, login.Config{SMTP: &mail.Config{Host: smtp.Host(), Port: smtp.Port(), TLS: mail.TLSNone, From: "comments@news.example"}},
		service.Options{}, nil)
	// The widget sends its language as Accept-Language.
	r, b := as.do(t, "POST", "/api/v1/sites/news/auth/email", map[string]string{"email": "noor@example.org", "return": origin + "/story", "bind": widgetKey},
		map[string]string{"Origin": origin, "Accept-Language": "ar"})
	if r.StatusCode != http.StatusAccepted {
		t.Fatalf("send link: %d %s", r.StatusCode, b)
	}
	mail := smtp.WaitMail(t, 10*time.Second)
	if want := ar.T("page.login_to", "site", "The News"); mail.Subject() != want {
		t.Errorf("subject %q, want %q", mail.Subject(), want)
	}
	for _, want := range []string{ar.T("mail.hello"), ar.T("mail.once"), ar.T("mail.open", "time", ar.N("mail.minutes", 15)), "noor@example.org"} {
		if !strings.Contains(mail.Body(), want) {
			t.Errorf("the Arabic email lacks %q:\n%s", want, mail.Body())
		}
	}
	if !strings.Contains(mail.HTML(), `<html lang="ar" dir="rtl">`) {
		t.Errorf("HTML part not marked Arabic: %s", mail.HTML())
	}
	link := regexp.MustCompile(`https?://\S+/auth/email\?\S+`).FindString(mail.Body())
	if u, err := url.Parse(link); err != nil || u.Query().Get("lang") != "ar" || u.Query().Get("token") == "" {
		t.Fatalf("link %q", link)
	}

	// The browser that opens the link names no language; the link says Arabic.
	br := newFlowBrowser(t)
	resp, page := br.get(link)
	arabicPage(t, "the link page", page, ar.T("page.link_press"))
	if resp.StatusCode != 200 || !strings.Contains(page, "<button type=\"submit\">"+ar.T("login")+"</button>") {
		t.Fatalf("link page: %d %s", resp.StatusCode, page)
	}
	action := formAction.FindStringSubmatch(page)
	token := hiddenInput.FindStringSubmatch(page)
	if action == nil || token == nil || !strings.Contains(action[1], "lang=ar") {
		t.Fatalf("link page form: %s", page)
	}
	post := func() (*http.Response, string) {
		req, _ := http.NewRequest("POST", unescape(action[1]), strings.NewReader(url.Values{"token": {unescape(token[2])}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", as.URL)
		resp, err := br.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp, readAll(resp)
	}
	if resp, _ := post(); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first use: %d", resp.StatusCode)
	}
	// Used twice: the answer is in Arabic too.
	resp, page = post()
	if resp.StatusCode != http.StatusGone {
		t.Fatalf("second use: %d %s", resp.StatusCode, page)
	}
	arabicPage(t, "the used-link page", page, ar.T("page.link_used"))
}

// TestLoginPageSpeaksTheReadersLanguage: Parley's page of log-in choices
// for readers without JavaScript, its errors, and its links onward.
func TestLoginPageSpeaksTheReadersLanguage(t *testing.T) {
	as, _ := oidcServer(t, nil)
	ret := url.Values{"return": {origin + "/story"}}.Encode()

	_, page := as.do(t, "GET", "/sites/news/login?"+ret, nil, map[string]string{"Accept-Language": "ar-EG,ar;q=0.9,en;q=0.5"})
	arabicPage(t, "the log-in page", string(page), ar.T("page.login_to", "site", "The News"))
	if !strings.Contains(string(page), ar.T("login.with", "name", "Newsroom ID")) || !strings.Contains(string(page), ar.T("reply.back")) {
		t.Errorf("log-in page not all Arabic: %s", page)
	}
	// The provider link carries the language, so the pages at the end of
	// the log-in speak it too.
	if m := regexp.MustCompile(`<a href="([^"]*/auth/newsroom/start[^"]*)"`).FindStringSubmatch(string(page)); m == nil || !strings.Contains(m[1], "lang=ar") {
		t.Errorf("provider link without the language: %s", page)
	}
	// English stays English.
	_, page = as.do(t, "GET", "/sites/news/login?"+ret, nil, map[string]string{"Accept-Language": "en-US"})
	if !strings.Contains(string(page), `<html lang="en" dir="ltr">`) || !strings.Contains(string(page), "Log in to comment on The News") {
		t.Errorf("English log-in page: %s", page)
	}
	// A return address off the site, explained in Arabic.
	resp, page := as.do(t, "GET", "/sites/news/login?return="+url.QueryEscape("https://evil.example/")+"&lang=ar", nil, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("off-site return: %d", resp.StatusCode)
	}
	arabicPage(t, "the refused return page", string(page), ar.T("page.bad_return"))
	// An unknown site, in Arabic.
	resp, page = as.do(t, "GET", "/sites/nope/login?"+ret, nil, map[string]string{"Accept-Language": "ar"})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown site: %d", resp.StatusCode)
	}
	arabicPage(t, "the unknown-site page", string(page), ar.T("page.no_such"))
}

// TestLoginPageEmailErrorInArabic: a bad address typed on the log-in page
// without JavaScript is explained in the page's language.
func TestLoginPageEmailErrorInArabic(t *testing.T) {
	smtp := authtest.StartSMTP(t)
	as := newAuthServer(t, login.Config{SMTP: &mail.Config{Host: smtp.Host(), Port: smtp.Port(), TLS: mail.TLSNone, From: "comments@news.example"}},
		service.Options{}, nil)
	_, page := as.do(t, "GET", "/sites/news/login?return="+url.QueryEscape(origin+"/story"), nil, map[string]string{"Accept-Language": "ar"})
	action := regexp.MustCompile(`<form method="post" action="([^"]*/login/email[^"]*)"`).FindStringSubmatch(string(page))
	if action == nil || !strings.Contains(action[1], "lang=ar") {
		t.Fatalf("no email form with the language: %s", page)
	}
	u, _ := url.Parse(unescape(action[1]))
	resp, page := as.do(t, "POST", u.RequestURI(), url.Values{"email": {"noor@"}, "return": {origin + "/story"}}, map[string]string{"Origin": as.URL})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad address: %d", resp.StatusCode)
	}
	arabicPage(t, "the log-in page with a bad address", string(page), ar.T("page.error.invalid_email"))

	// A good one: the link is sent in Arabic.
	resp, page = as.do(t, "POST", u.RequestURI(), url.Values{"email": {"noor@example.org"}, "return": {origin + "/story"}}, map[string]string{"Origin": as.URL})
	arabicPage(t, "the log-in page after sending", string(page), ar.T("login.sent", "email", "noor@example.org"))
	if resp.StatusCode != 200 {
		t.Errorf("sent: %d", resp.StatusCode)
	}
	if m := smtp.WaitMail(t, 10*time.Second); !strings.Contains(m.Body(), ar.T("mail.hello")) {
		t.Errorf("link sent from the Arabic page is not in Arabic: %s", m.Body())
	}
}

// TestThreadFormErrorInArabic: the form of a thread served in Arabic posts
// back in Arabic, and its errors are in Arabic, whatever the browser says.
func TestThreadFormErrorInArabic(t *testing.T) {
	ts := newTestServer(t)
	_, page := ts.do(t, "GET", "/sites/news/thread?lang=ar&page="+url.QueryEscape(origin+"/story"), nil, nil)
	action := regexp.MustCompile(`<form[^>]*action="([^"]*/comments[^"]*)"`).FindStringSubmatch(string(page))
	if action == nil || !strings.Contains(action[1], "lang=ar") {
		t.Fatalf("thread form without the language: %s", page)
	}
	u, _ := url.Parse(unescape(action[1]))
	resp, page := ts.do(t, "POST", u.RequestURI(), formPost(ts.formToken(t), map[string]string{"name": ""}), map[string]string{"Origin": origin, "Accept-Language": "en"})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("missing name: %d", resp.StatusCode)
	}
	arabicPage(t, "the form with a missing name", string(page), ar.T("error.missing_name"))
}

// TestPageKeysExist checks that every "page." and "mail." key the server
// asks for is in the tables (and so, by the i18n tests, in every
// language): a missing one would show the reader the key itself.
func TestPageKeysExist(t *testing.T) {
	key := regexp.MustCompile(`"((?:page|mail)\.[a-z_.]*[a-z_])"`)
	found := 0
	for _, dir := range []string{".", "../auth"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range key.FindAllSubmatch(src, -1) {
				found++
				if !i18n.Get("en").Has(string(m[1])) {
					t.Errorf("%s asks for %q, which the tables lack", f, m[1])
				}
			}
		}
	}
	if found < 25 {
		t.Fatalf("found only %d keys; is the pattern still right?", found)
	}
}

// TestErrorCodesHaveWords: every error code a reader can meet (on a page
// or in the widget) has words in the tables, so a reader in another
// language never gets an English sentence. The codes are read from the
// source, so a new one must be added here or given words.
func TestErrorCodesHaveWords(t *testing.T) {
	// Codes only an operator or a developer meets: the site settings of
	// the admin commands, and malformed API requests.
	notReaders := map[string]bool{
		"bad_json": true, "bad_content_type": true, "invalid_sort": true, "invalid_status": true, "invalid_id": true,
		"invalid_origin": true, "missing_origin": true, "invalid_moderation": true, "invalid_max_depth": true,
		"invalid_guests": true, "invalid_providers": true, "invalid_edit_window": true,
		"invalid_idempotency_key": true, // the widget's keys are always valid
		// Identifiers the embedding page or the widget send, not readers.
		"invalid_site": true, "invalid_page_key": true, "invalid_after": true,
		"too_many_streams": true, // an EventSource shows no error text
	}
	code := regexp.MustCompile(`Code: "([a-z_]+)"|(?:Invalid|Missing)\("([a-z_]+)"`)
	codes := map[string]bool{"too_long_name": true, "too_long_title": true, "invalid_name": true, "invalid_title": true}
	for _, dir := range []string{".", "../service", "../comment", "../login"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, _ := os.ReadFile(f)
			for _, m := range code.FindAllStringSubmatch(string(src), -1) {
				c := m[1]
				if m[2] != "" {
					c = map[bool]string{true: "invalid_", false: "missing_"}[strings.Contains(m[0], "Invalid")] + m[2]
				}
				if !strings.HasSuffix(c, "_") {
					codes[c] = true
				}
			}
		}
	}
	if len(codes) < 30 {
		t.Fatalf("found only %d codes; is the pattern still right?", len(codes))
	}
	for c := range codes {
		if notReaders[c] {
			continue
		}
		// Codes only staff meet have words in the desk's tables instead.
		if i18n.Desk("ar").Has("code." + c) {
			continue
		}
		if got := errorText(ar, errorBody{Code: c, Message: "English"}); got == "English" {
			t.Errorf("error code %q has no words in the tables", c)
		}
	}
}

// TestErrorsInArabic: refusals and Parley's own failures reach an Arabic
// reader in Arabic, as a page (without JavaScript) or as the message of
// the JSON API (the widget sends its language as Accept-Language).
func TestErrorsInArabic(t *testing.T) {
	// A mail server that is not there: sending a link fails on our side.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	as := newAuthServer(t, login.Config{SMTP: &mail.Config{Host: "127.0.0.1", Port: port, TLS: mail.TLSNone, From: "comments@news.example"}},
		service.Options{}, nil)
	form := url.Values{"email": {"noor@example.org"}, "return": {origin + "/story"}}

	// Posted from another site: refused, in Arabic.
	resp, page := as.do(t, "POST", "/sites/news/login/email?lang=ar", form, map[string]string{"Origin": "https://evil.example"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site: %d", resp.StatusCode)
	}
	arabicPage(t, "the cross-site refusal", string(page), ar.T("page.error.forbidden"))

	// The mail server is down: a page (not JSON) that says so in Arabic,
	// with the request id to quote.
	resp, page = as.do(t, "POST", "/sites/news/login/email?lang=ar", form, map[string]string{"Origin": as.URL})
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("mail server down: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"))
	}
	arabicPage(t, "the failure page", string(page), ar.T("page.error.unavailable"))
	if id := resp.Header.Get("X-Request-Id"); id != "" && !strings.Contains(string(page), id) {
		t.Errorf("the failure page does not quote request id %s", id)
	}

	// The JSON API: a stale log-in code, as the Arabic widget asks.
	r, b := as.do(t, "POST", "/auth/redeem", map[string]string{"code": "stale", "bind": widgetKey}, map[string]string{"Origin": origin, "Accept-Language": "ar"})
	var e struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal(b, &e)
	if r.StatusCode < 400 || e.Error.Code == "" || e.Error.Message != errorText(ar, errorBody{Code: e.Error.Code}) || !strings.ContainsAny(e.Error.Message, "ابتثجحخدذرزسشصضطظعغفقكلمنهوي") {
		t.Errorf("redeem in Arabic: %d %s", r.StatusCode, b)
	}
	// The same in English keeps the server's words.
	_, b = as.do(t, "POST", "/auth/redeem", map[string]string{"code": "stale", "bind": widgetKey}, map[string]string{"Origin": origin})
	json.Unmarshal(b, &e)
	if !strings.Contains(e.Error.Message, "log in again") {
		t.Errorf("redeem in English: %s", b)
	}
}

// TestPrivacyPageInArabic: the page the privacy line links to speaks the
// section's language, and names what the server is set up to do.
func TestPrivacyPageInArabic(t *testing.T) {
	smtp := authtest.StartSMTP(t)
	as := newAuthServer(t, login.Config{SMTP: &mail.Config{Host: smtp.Host(), Port: smtp.Port(), TLS: mail.TLSNone, From: "c@news.example"}, SessionTTL: 3 * 24 * time.Hour},
		service.Options{}, nil)
	// The thread links to it with its language.
	_, thread := as.do(t, "GET", "/sites/news/thread?lang=ar&page="+url.QueryEscape(origin+"/story"), nil, nil)
	m := regexp.MustCompile(`href="([^"]*/sites/news/privacy[^"]*)"`).FindStringSubmatch(string(thread))
	if m == nil || !strings.Contains(m[1], "lang=ar") {
		t.Fatalf("privacy link of an Arabic thread: %v", m)
	}
	u, _ := url.Parse(unescape(m[1]))
	resp, page := as.do(t, "GET", u.RequestURI(), nil, map[string]string{"Accept-Language": "en"})
	ways := ar.T("page.privacy.way_email") + ar.T("page.privacy.sep") + ar.T("page.privacy.way_sso", "site", "The News")
	for _, want := range []string{
		ar.T("page.privacy.heading", "site", "The News"),
		ar.T("page.privacy.email_identicon"),
		ar.T("page.privacy.login_ways", "ways", ways),
		ar.T("page.privacy.login_data", "days", ar.N("page.privacy.days", 3)),
	} {
		arabicPage(t, "the privacy page", string(page), want)
	}
	if !strings.Contains(resp.Header.Get("Vary"), "Accept-Language") {
		t.Errorf("privacy page Vary = %q", resp.Header.Get("Vary"))
	}
}

// TestPrivacyAkismetNotice: with upstream Akismet on, the privacy page
// says what goes to Automattic, with the link to its policy inside the
// sentence, in each language.
func TestPrivacyAkismetNotice(t *testing.T) {
	ts := newTestServer(t)
	assets, err := widget.New()
	if err != nil {
		t.Fatal(err)
	}
	h := New(ts.svc, assets, nil, Config{AkismetUpstream: true}).Handler()
	for _, lang := range i18n.Languages() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/sites/news/privacy?lang="+lang, nil))
		tb := i18n.Get(lang)
		link := `<a href="https://automattic.com/privacy/">` + template.HTMLEscapeString(tb.T("page.privacy.akismet_policy")) + `</a>`
		before, _, _ := strings.Cut(tb.T("page.privacy.akismet"), "{policy}")
		if body := rec.Body.String(); !strings.Contains(body, link) || !strings.Contains(body, template.HTMLEscapeString(before)) || !strings.Contains(body, tb.T("page.privacy.some_others")) {
			t.Errorf("%s: no Akismet notice with its link:\n%s", lang, body)
		}
	}
}
