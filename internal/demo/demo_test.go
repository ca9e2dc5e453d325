package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"parley/internal/login"
	"parley/internal/mail"
)

func TestMailbox(t *testing.T) {
	var b Mailbox
	if err := b.Send(context.Background(), mail.Message{To: "Not An Address", Subject: "x"}); err == nil {
		t.Fatal("a bad address was accepted")
	}
	for i := range MailboxSize + 5 {
		if err := b.Send(context.Background(), mail.Message{To: "Reader@Example.org", Subject: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	got := b.Letters()
	if len(got) != MailboxSize || got[0].Subject != fmt.Sprint(MailboxSize+4) || got[0].To != "reader@example.org" {
		t.Fatalf("%d letters, newest %+v", len(got), got[0].Message)
	}
}

func TestLinkify(t *testing.T) {
	got := string(linkify("Open <b>this</b>: https://x.example/a?b=1&c=<2> or javascript:alert(1)."))
	want := `Open &lt;b&gt;this&lt;/b&gt;: <a href="https://x.example/a?b=1&amp;c=">https://x.example/a?b=1&amp;c=</a>&lt;2&gt; or javascript:alert(1).`
	if got != want {
		t.Fatalf("linkify =\n%s\nwant\n%s", got, want)
	}
}

// TestDemoID: Demo ID is discovered through the in-process client at
// its issuer, offers its readers on its page, refuses a log-in it never
// started, and Configure makes it a provider of the demo's log-in with
// the mailbox as the mailer when there is no other.
func TestDemoID(t *testing.T) {
	const base = "http://127.0.0.1:9" // nothing listens: the client answers in the process
	d, err := New(base, []string{base, "http://localhost:9"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := d.Client(nil).Get(d.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		Issuer string `json:"issuer"`
		Token  string `json:"token_endpoint"`
	}
	json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	if resp.StatusCode != 200 || disc.Issuer != base+IDPath || disc.Token != base+IDPath+"/oauth/token" {
		t.Fatalf("discovery = %d %+v", resp.StatusCode, disc)
	}

	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	resp, err = http.Get(srv.URL + IDPath + "/login?authRequestID=never-started")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "This log-in has expired or was never started") || strings.Contains(string(body), "data-reader") {
		t.Fatalf("unknown request = %d\n%s", resp.StatusCode, body)
	}
	resp, err = http.PostForm(srv.URL+IDPath+"/login", url.Values{"id": {"never-started"}, "username": {"ana"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("log-in for a request never started = %d", resp.StatusCode)
	}
	if resp, _ := http.Get(srv.URL + MailboxPath); resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("mailbox = %d %v", resp.StatusCode, resp.Header)
	}

	var lc login.Config
	if links := d.Configure(&lc, base, ""); links != base || lc.Mailer != d.Mailbox() || len(lc.Providers) != 1 || lc.Providers[0].Name != "Demo ID" {
		t.Fatalf("Configure: links to %q, %+v", links, lc)
	}
	// With a mail server configured, the links go out through it, to the
	// public address.
	real := mail.Mailer(&Mailbox{})
	lc = login.Config{Mailer: real}
	if links := d.Configure(&lc, base, "https://comments.example"); links != "https://comments.example" || lc.Mailer != real {
		t.Fatalf("Configure with a mailer: links to %q", links)
	}
}
