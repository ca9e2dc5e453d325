package httpapi

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"parley/internal/auth/authtest"
	"parley/internal/gravatar/gravatartest"
	"parley/internal/login"
	"parley/internal/mail"
	"parley/internal/service"
)

// waitAvatar fetches an avatar until it is served as ctype with a
// Cache-Control of an hour (the picture, or the service's answer that
// there is none, is looked up in the background), and returns the last
// answer.
func waitAvatar(t *testing.T, ts *testServer, avatarURL, ctype string) (*http.Response, []byte) {
	t.Helper()
	u, err := url.Parse(avatarURL)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, body := ts.do(t, "GET", u.Path, nil, nil)
		if resp.Header.Get("Content-Type") == ctype && resp.Header.Get("Cache-Control") == "public, max-age=3600" || time.Now().After(deadline) {
			return resp, body
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGuestPictures: with a Gravatar-compatible service configured, a
// guest's picture there is fetched by Parley and served from Parley; a
// guest without one keeps their identicon; a reader logged in by email
// link gets theirs too; and the privacy page says so.
func TestGuestPictures(t *testing.T) {
	pics := gravatartest.Start(t, "noor@example.org")
	smtp := authtest.StartSMTP(t)
	as := newAuthServer(t, login.Config{SMTP: &mail.Config{Host: smtp.Host(), Port: smtp.Port(), TLS: mail.TLSNone, From: "comments@news.example"}},
		service.Options{Pictures: &picturesAt{url: pics.URL + "/avatar/"}}, nil)
	for _, email := range []string{"Noor@Example.org", "sam@example.org"} {
		if r, b := as.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"email": email}), map[string]string{"Origin": origin}); r.StatusCode != http.StatusCreated && r.StatusCode != http.StatusAccepted {
			t.Fatalf("post as %s: %d %s", email, r.StatusCode, b)
		}
	}
	_, body := as.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/story"), nil, nil)
	th := decode[apiThread](t, body)
	if len(th.Comments) != 2 {
		t.Fatalf("thread: %s", body)
	}
	noor, sam := th.Comments[0].Author["avatar"], th.Comments[1].Author["avatar"]
	if !strings.HasPrefix(noor, as.URL+"/avatars/") || strings.HasSuffix(noor, ".svg") || strings.HasSuffix(sam, ".svg") {
		t.Fatalf("avatars %q and %q should be pictures served by Parley", noor, sam)
	}
	resp, pic := waitAvatar(t, as.testServer, noor, "image/png")
	if !bytes.Equal(pic, pics.PictureOf("noor@example.org")) || resp.Header.Get("Cache-Control") != "public, max-age=3600" {
		t.Errorf("Noor's avatar: %s %q, %d bytes", resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), len(pic))
	}
	// Sam has no picture there: the identicon, known to be the answer.
	resp, pic = waitAvatar(t, as.testServer, sam, "image/svg+xml")
	if !bytes.HasPrefix(pic, []byte("<svg")) || resp.Header.Get("Cache-Control") != "public, max-age=3600" {
		t.Errorf("Sam's avatar: %s %q", resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
	}
	if n, size := pics.Asked(); n != 2 || size != "80" {
		t.Errorf("the service was asked %d times (size %s), want 2", n, size)
	}

	// Noor logs in by email link: her log-in has no picture of its own,
	// so the one for her confirmed address is used.
	if r, b := as.do(t, "POST", "/api/v1/sites/news/auth/email", map[string]string{"email": "noor@example.org", "return": origin + "/story", "bind": widgetKey}, map[string]string{"Origin": origin}); r.StatusCode != http.StatusAccepted {
		t.Fatalf("send link: %d %s", r.StatusCode, b)
	}
	link := regexp.MustCompile(`https?://\S+/auth/email\?\S+`).FindString(smtp.WaitMail(t, 10*time.Second).Body())
	br := newFlowBrowser(t)
	_, page := br.get(link)
	token := hiddenInput.FindStringSubmatch(page)
	r := br.postFrom(as.URL, as.URL+"/auth/email", url.Values{"token": {unescape(token[2])}})
	loc, _ := url.Parse(r.Header.Get("Location"))
	_, b := as.redeem(t, strings.TrimPrefix(loc.Fragment, "parley-login="), widgetKey)
	s := decode[apiSession](t, b)
	if s.User["avatar"] == "" || s.User["avatar"] == noor {
		t.Fatalf("session: %s", b)
	}
	if resp, pic := waitAvatar(t, as.testServer, s.User["avatar"], "image/png"); !bytes.Equal(pic, pics.PictureOf("noor@example.org")) {
		t.Errorf("Noor's log-in avatar: %s", resp.Header.Get("Content-Type"))
	}

	// The privacy page names the service and what it is sent.
	_, privacy := as.do(t, "GET", "/sites/news/privacy", nil, nil)
	host, _ := url.Parse(pics.URL)
	if !strings.Contains(string(privacy), "Parley asks "+host.Hostname()) || !strings.Contains(string(privacy), "SHA-256 hash") {
		t.Errorf("privacy page does not tell about the picture service:\n%s", privacy)
	}
}

// TestNoGuestPictures: without a picture service, guests get identicons
// and no service is mentioned.
func TestNoGuestPictures(t *testing.T) {
	ts := newTestServer(t)
	ts.do(t, "POST", "/api/v1/sites/news/comments", post(nil), map[string]string{"Origin": origin})
	_, body := ts.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/story"), nil, nil)
	th := decode[apiThread](t, body)
	if len(th.Comments) != 1 || !strings.HasSuffix(th.Comments[0].Author["avatar"], ".svg") {
		t.Fatalf("guest avatar without a service: %s", body)
	}
	_, privacy := ts.do(t, "GET", "/sites/news/privacy", nil, nil)
	if strings.Contains(string(privacy), "SHA-256") || !strings.Contains(string(privacy), "No other company receives your data") {
		t.Errorf("privacy page without a picture service:\n%s", privacy)
	}
}
