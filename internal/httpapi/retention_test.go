package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPrivacyPage_Periods: the privacy page says how long address hashes,
// sent emails and the change log are kept, from the configuration: the
// server's period, then the site's own, in the reader's language.
func TestPrivacyPage_Periods(t *testing.T) {
	ts := newTestServer(t)
	_, body := ts.do(t, "GET", "/sites/news/privacy", nil, nil)
	for _, want := range []string{"kept with the comment for 30 days", "is kept for 1 day.", "Save my name, email, and website in this browser"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("privacy page lacks %q:\n%s", want, body)
		}
	}
	site, _ := ts.svc.DeskSite(context.Background(), op, "news")
	site.IPRetention = 36 * time.Hour
	if err := ts.svc.UpdateSite(context.Background(), op, site); err != nil {
		t.Fatal(err)
	}
	_, body = ts.do(t, "GET", "/sites/news/privacy", nil, nil)
	if !strings.Contains(string(body), "kept with the comment for 36 hours") {
		t.Errorf("privacy page does not say the site's 36 hours:\n%s", body)
	}
	_, body = ts.do(t, "GET", "/sites/news/privacy?lang=ru", nil, map[string]string{"Accept-Language": "ru"})
	if !strings.Contains(string(body), "хранятся вместе с комментарием 36 часов") {
		t.Errorf("Russian privacy page does not say 36 hours:\n%s", body)
	}
}

// TestFormPost_Remember: the form without JavaScript keeps a guest's
// details in Parley's cookie only when they tick "Save my name…", refills
// the form from it, and deletes it when they untick it.
func TestFormPost_Remember(t *testing.T) {
	ts := newTestServer(t)
	h := map[string]string{"Origin": origin}
	cookie := func(resp *http.Response) *http.Cookie {
		for _, c := range resp.Cookies() {
			if c.Name == guestCookie {
				return c
			}
		}
		return nil
	}
	resp, body := ts.do(t, "POST", "/sites/news/comments", formPost(ts.formToken(t), map[string]string{"name": "Noor Haddad", "email": "noor@example.org", "body": "unticked"}), h)
	if resp.StatusCode != http.StatusSeeOther || cookie(resp) != nil {
		t.Fatalf("unticked post = %d, cookie %v %s", resp.StatusCode, cookie(resp), body)
	}
	resp, _ = ts.do(t, "POST", "/sites/news/comments", formPost(ts.formToken(t), map[string]string{"name": "Noor Haddad", "email": "noor@example.org", "website": "https://noor.example", "body": "ticked", "remember": "1"}), h)
	c := cookie(resp)
	if resp.StatusCode != http.StatusSeeOther || c == nil || c.MaxAge < 300*24*3600 || !c.HttpOnly || !strings.Contains(c.Value, "Noor+Haddad") {
		t.Fatalf("ticked post = %d, cookie %+v", resp.StatusCode, c)
	}
	// The form comes back filled in, the box ticked; without the cookie,
	// empty and unticked.
	_, body = ts.do(t, "GET", "/sites/news/thread?page=story-2", nil, map[string]string{"Cookie": c.Name + "=" + c.Value})
	for _, want := range []string{`value="Noor Haddad"`, `value="noor@example.org"`, `value="https://noor.example"`, `name="remember" value="1" checked`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("form with the cookie lacks %s", want)
		}
	}
	_, body = ts.do(t, "GET", "/sites/news/thread?page=story-2", nil, nil)
	if strings.Contains(string(body), "Noor Haddad") || strings.Contains(string(body), `value="1" checked`) {
		t.Error("the form is filled in without the cookie")
	}
	// Unticked with the cookie: it is deleted.
	form := formPost(ts.formToken(t), map[string]string{"name": "Noor Haddad", "email": "noor@example.org", "body": "forget me"})
	resp, _ = ts.do(t, "POST", "/sites/news/comments", form, map[string]string{"Origin": origin, "Cookie": c.Name + "=" + c.Value})
	if d := cookie(resp); d == nil || d.MaxAge >= 0 {
		t.Fatalf("unticked post with the cookie: %+v, want it deleted", d)
	}
}
