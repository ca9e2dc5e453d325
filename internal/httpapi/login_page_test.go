package httpapi

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"parley/internal/auth/authtest"
	"parley/internal/i18n"
	"parley/internal/login"
	"parley/internal/mail"
	"parley/internal/service"
)

// emailServer is the stack with log-in by email, mailing through a real
// SMTP server.
func emailServer(t *testing.T) (*authServer, *authtest.SMTP) {
	smtp := authtest.StartSMTP(t)
	as := newAuthServer(t, login.Config{SMTP: &mail.Config{Host: smtp.Host(), Port: smtp.Port(), TLS: mail.TLSNone, From: "Comments <comments@news.example>"}},
		service.Options{}, nil)
	return as, smtp
}

var mailedLink = regexp.MustCompile(`https?://\S+/auth/email\?\S*token=\S+`)

// askLink asks for a log-in link for addr (returning to ret) and returns
// the answer.
func (as *authServer) askLink(t *testing.T, addr, ret string) (*http.Response, apiErr) {
	t.Helper()
	r, b := as.do(t, "POST", "/api/v1/sites/news/auth/email", map[string]string{"email": addr, "return": ret, "bind": widgetKey}, map[string]string{"Origin": origin})
	var e apiErr
	if r.StatusCode >= 400 {
		e = decode[apiErr](t, b)
	}
	return r, e
}

// TestEmailLinkPage_OriginNull: the link page keeps its address (which
// holds the token) from other sites but lets the browser say its button
// posts from Parley; a browser that still says "Origin: null" is believed
// when the form carries the check the page gave that browser (its
// SameSite=Strict cookie), and not otherwise.
func TestEmailLinkPage_OriginNull(t *testing.T) {
	as, smtp := emailServer(t)
	for i, c := range []struct {
		name    string
		origin  string
		cookie  bool // the browser sends the page's cookie back
		check   bool // the form's check is sent
		allowed bool
	}{
		{"Parley's own page", "self", true, true, true},
		{"Origin null, from the page", "null", true, true, true},
		{"Origin null, without the page's cookie (another site's page)", "null", false, true, false},
		{"Origin null, without the check", "null", true, false, false},
		{"another site, even with the cookie", "https://evil.example", true, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := "reader" + string(rune('a'+i)) + "@example.org"
			if r, e := as.askLink(t, addr, origin+"/story"); r.StatusCode != http.StatusAccepted {
				t.Fatalf("ask: %d %+v", r.StatusCode, e)
			}
			link := mailedLink.FindString(smtp.WaitMail(t, 10*time.Second).Body())
			br := newFlowBrowser(t)
			resp, page := br.get(link)
			if rp := resp.Header.Get("Referrer-Policy"); rp != "same-origin" {
				t.Errorf("link page Referrer-Policy %q, want same-origin (with no-referrer a browser posts Origin: null)", rp)
			}
			f := url.Values{}
			for _, h := range hiddenInput.FindAllStringSubmatch(page, -1) {
				f.Set(h[1], unescape(h[2]))
			}
			if f.Get("check") == "" {
				t.Fatalf("the link page's form has no check:\n%s", page)
			}
			if !c.check {
				f.Del("check")
			}
			if !c.cookie {
				br = newFlowBrowser(t)
			}
			from := c.origin
			if from == "self" {
				from = as.URL
			}
			resp = br.postFrom(from, as.URL+"/auth/email", f)
			if got := resp.StatusCode == http.StatusSeeOther; got != c.allowed {
				t.Errorf("post with Origin %s: %d, allowed %v", from, resp.StatusCode, c.allowed)
			}
		})
	}
}

// TestEmailLinkLimits: asking too often for links says so in words about
// links (not "commenting too quickly"), with Retry-After; a request
// refused for any reason sends nothing and does not use the client
// address's allowance, so one reader who keeps asking for their own
// address, or mistypes, does not lock out others at the same address.
func TestEmailLinkLimits(t *testing.T) {
	as, smtp := emailServer(t)
	ret := origin + "/story"
	for range 4 {
		if r, e := as.askLink(t, "x@example.org", "https://evil.example/story"); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("a page not on the site: %d %+v", r.StatusCode, e)
		}
	}
	for i := range login.LinkLimitPerEmail.Burst {
		if r, e := as.askLink(t, "noor@example.org", ret); r.StatusCode != http.StatusAccepted {
			t.Fatalf("link %d: %d %+v", i, r.StatusCode, e)
		}
	}
	for range 3 {
		r, e := as.askLink(t, "noor@example.org", ret)
		if r.StatusCode != http.StatusTooManyRequests || e.Error.Code != "link_rate_limited" || r.Header.Get("Retry-After") == "" ||
			!strings.Contains(e.Error.Message, "log-in links") || strings.Contains(e.Error.Message, "commenting") {
			t.Fatalf("a fourth link to one address: %d %v %+v", r.StatusCode, r.Header, e)
		}
	}
	// The client address has used only the links it was sent.
	left := login.LinkLimitPerIP.Burst - login.LinkLimitPerEmail.Burst
	for i := range left {
		if r, e := as.askLink(t, "other"+string(rune('a'+i))+"@example.org", ret); r.StatusCode != http.StatusAccepted {
			t.Fatalf("link %d to another address from the same client: %d %+v", i, r.StatusCode, e)
		}
	}
	r, e := as.askLink(t, "one-too-many@example.org", ret)
	if r.StatusCode != http.StatusTooManyRequests || e.Error.Code != "link_rate_limited" {
		t.Errorf("link %d from one client: %d %+v", login.LinkLimitPerIP.Burst+1, r.StatusCode, e)
	}
	if n := len(smtp.Messages()); n != login.LinkLimitPerIP.Burst {
		t.Errorf("%d mails sent, want %d", n, login.LinkLimitPerIP.Burst)
	}
	// In the widget's language, and on the page without JavaScript.
	r, b := as.do(t, "POST", "/api/v1/sites/news/auth/email", map[string]string{"email": "noor@example.org", "return": ret}, map[string]string{"Origin": origin, "Accept-Language": "ar"})
	if ar := i18n.Get("ar"); r.StatusCode != http.StatusTooManyRequests || decode[apiErr](t, b).Error.Message != ar.T("page.error.link_rate_limited") {
		t.Errorf("Arabic: %d %s", r.StatusCode, b)
	}
	page := newFlowBrowser(t).postFrom(as.URL, as.URL+"/sites/news/login/email?lang=en", url.Values{"email": {"noor@example.org"}, "return": {ret}})
	if page.StatusCode != http.StatusTooManyRequests {
		t.Errorf("log-in page: %d", page.StatusCode)
	}
}

// TestLoginPage_BackToTheArticle: the no-JavaScript log-in page ("Change")
// of a reader who came from Parley's reply page leads back to the article,
// not to the reply page; and the reply page shows the article's title,
// as Parley knows it from comments posted on it, when its link has none.
func TestLoginPage_BackToTheArticle(t *testing.T) {
	as, _ := emailServer(t)
	article := origin + "/bus-line"
	if r, b := as.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"page": "story-7", "url": article, "title": "Bus line opens on Monday"}), map[string]string{"Origin": origin}); r.StatusCode >= 300 {
		t.Fatalf("post: %d %s", r.StatusCode, b)
	}
	reply := as.login.ReplyURL("news", "story-7", article, "")
	_, page := as.do(t, "GET", "/sites/news/login?"+url.Values{"return": {reply}, "lang": {"en"}}.Encode(), nil, nil)
	back := regexp.MustCompile(`<a href="([^"]*)">Back to the article</a>`).FindStringSubmatch(string(page))
	if back == nil || unescape(back[1]) != article {
		t.Errorf("back link %q, want %s:\n%s", back, article, page)
	}
	// Asked for a link from there, it still comes back to the reply page.
	if !strings.Contains(string(page), `name="return" value="`+strings.ReplaceAll(reply, "&", "&amp;")+`"`) {
		t.Errorf("the page's form does not return to the reply page:\n%s", page)
	}
	_, rp := as.do(t, "GET", strings.TrimPrefix(reply, as.URL), nil, nil)
	if !strings.Contains(string(rp), "<h1>Bus line opens on Monday</h1>") || !strings.Contains(string(rp), "<title>Bus line opens on Monday</title>") {
		t.Errorf("the reply page does not show the article's title:\n%s", rp)
	}
}

// TestNotLoggedInSpeaksTheReadersLanguage: the answer to a session that
// ended is in the widget's language, like every other error.
func TestNotLoggedInSpeaksTheReadersLanguage(t *testing.T) {
	as, _ := emailServer(t)
	r, b := as.do(t, "GET", "/api/v1/sites/news/me", nil, map[string]string{"Authorization": "Bearer not-a-session", "Origin": origin, "Accept-Language": "fr"})
	e := decode[apiErr](t, b)
	if r.StatusCode != http.StatusUnauthorized || e.Error.Code != "not_logged_in" || e.Error.Message != i18n.Get("fr").T("page.error.not_logged_in") {
		t.Errorf("me: %d %s", r.StatusCode, b)
	}
}
