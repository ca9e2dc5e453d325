package auth_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	stdmail "net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/internal/auth"
	"parley/internal/auth/authtest"
	"parley/internal/mail"
)

// startMailServer runs an SMTP server in mode none, starttls or tls;
// with requireAuth it requires PLAIN authentication as parley with
// hunter2-smtp.
func startMailServer(t *testing.T, mode string, requireAuth bool) *authtest.SMTP {
	t.Helper()
	var opts []authtest.SMTPOption
	switch mode {
	case mail.TLSImplicit:
		opts = append(opts, authtest.SMTPImplicitTLS())
	case mail.TLSStartTLS:
		opts = append(opts, authtest.SMTPStartTLS())
	}
	if requireAuth {
		opts = append(opts, authtest.SMTPRequireAuth("parley", "hunter2-smtp"))
	}
	return authtest.StartSMTP(t, opts...)
}

// parts reads a multipart/alternative message into its decoded parts by
// content type.
func parts(t *testing.T, raw []byte) (*stdmail.Message, map[string]string) {
	t.Helper()
	m, err := stdmail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q: %v", m.Header.Get("Content-Type"), err)
	}
	out := map[string]string{}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
			t.Errorf("part encoding %q", p.Header.Get("Content-Transfer-Encoding"))
		}
		b, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[ct] = string(b)
	}
	return m, out
}

var linkRE = regexp.MustCompile(`https://comments\.example/auth/email\?token=[A-Za-z0-9_-]+`)

type emailEnv struct {
	links    *auth.EmailLinks
	verified *auth.VerifiedEmails
	clock    *clock
	server   *authtest.SMTP
}

func newEmailEnv(t *testing.T, mode string, requireAuth bool) *emailEnv {
	t.Helper()
	e := &emailEnv{clock: newClock(), server: startMailServer(t, mode, requireAuth)}
	store := auth.NewMemoryStoreClock(e.clock.Now)
	cfg := mail.Config{Host: "127.0.0.1", Port: e.server.Port(), From: "Parley <comments@news.example>", TLS: mode,
		Timeout: 10 * time.Second, TLSConfig: &tls.Config{RootCAs: e.server.CertPool()}}
	if requireAuth {
		cfg.Username, cfg.Password = "parley", "hunter2-smtp"
	}
	mailer := must[*mail.SMTP](t)(mail.NewSMTP(cfg))
	e.verified = must[*auth.VerifiedEmails](t)(auth.NewVerifiedEmails(testSecret, store))
	e.links = must[*auth.EmailLinks](t)(auth.NewEmailLinks(auth.EmailLinkConfig{
		Secret:   testSecret,
		Mailer:   mailer,
		Once:     store,
		ReturnOK: allowOrigin("news", "https://news.example"),
		LinkURL:  "https://comments.example/auth/email",
		Verified: e.verified,
		SiteName: func(id string) string { return "The Riverton Courier" },
		Now:      e.clock.Now,
	}))
	return e
}

// sendAndRead sends a link to addr and returns it as found in the email.
func (e *emailEnv) sendAndRead(t *testing.T, addr string) string {
	t.Helper()
	before := len(e.server.Messages())
	if err := e.links.SendLink(context.Background(), auth.LinkRequest{Email: addr, SiteID: "news", ReturnTo: "https://news.example/2026/bus-line#comments", Bind: browserKey}); err != nil {
		t.Fatalf("SendLink: %v", err)
	}
	msgs := e.server.Messages()
	if len(msgs) != before+1 {
		t.Fatalf("server got %d messages, want %d", len(msgs), before+1)
	}
	_, p := parts(t, msgs[len(msgs)-1].Data)
	link := linkRE.FindString(p["text/plain"])
	if link == "" {
		t.Fatalf("no link in the text part:\n%s", p["text/plain"])
	}
	return link
}

func token(t *testing.T, link string) string {
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

func TestEmailLink_Flow(t *testing.T) {
	for _, tt := range []struct {
		mode string
		auth bool
	}{{mail.TLSNone, false}, {mail.TLSNone, true}, {mail.TLSStartTLS, true}, {mail.TLSImplicit, true}} {
		t.Run(tt.mode+" auth="+strconv.FormatBool(tt.auth), func(t *testing.T) {
			ctx := context.Background()
			e := newEmailEnv(t, tt.mode, tt.auth)
			link := e.sendAndRead(t, " Jane.Doe@Example.com ")

			msg := e.server.Messages()[0]
			if len(msg.To) != 1 || msg.To[0] != "jane.doe@example.com" || msg.From != "comments@news.example" {
				t.Errorf("envelope from %q to %q", msg.From, msg.To)
			}
			if want := tt.mode != mail.TLSNone; msg.TLS != want {
				t.Errorf("delivered over TLS = %v, want %v", msg.TLS, want)
			}
			if tt.auth && msg.Username != "parley" {
				t.Error("the mailer did not authenticate")
			}
			m, p := parts(t, msg.Data)
			if got := m.Header.Get("Subject"); got != "Log in to comment on The Riverton Courier" {
				t.Errorf("subject %q", got)
			}
			if m.Header.Get("Message-Id") == "" || m.Header.Get("Date") == "" {
				t.Error("missing Message-ID or Date")
			}
			for _, typ := range []string{"text/plain", "text/html"} {
				body := p[typ]
				for _, want := range []string{"The Riverton Courier", "jane.doe@example.com", "ignore this email", "15 minutes"} {
					if !strings.Contains(body, want) {
						t.Errorf("%s part lacks %q:\n%s", typ, want, body)
					}
				}
			}
			if !strings.Contains(p["text/html"], `href="`+strings.ReplaceAll(link, "&", "&amp;")+`"`) {
				t.Errorf("HTML part has no link to %s", link)
			}

			if ok, _ := e.verified.Verified(ctx, "jane.doe@example.com"); ok {
				t.Fatal("address verified before the link was used")
			}
			res, err := e.links.ConsumeLink(ctx, token(t, link))
			if err != nil {
				t.Fatalf("ConsumeLink: %v", err)
			}
			if res.Identity.Provider != "email" || res.Identity.Email != "jane.doe@example.com" || !res.Identity.EmailVerified ||
				res.Identity.Subject == "" || strings.Contains(res.Identity.Subject, "jane") {
				t.Errorf("identity = %+v", res.Identity)
			}
			if res.SiteID != "news" || res.ReturnTo != "https://news.example/2026/bus-line#comments" || res.Bind != browserKey {
				t.Errorf("pending = %+v", res.Pending)
			}
			if ok, _ := e.verified.Verified(ctx, "JANE.DOE@example.com"); !ok {
				t.Error("address not recognised as verified after the link")
			}
			if _, err := e.links.ConsumeLink(ctx, token(t, link)); !errors.Is(err, auth.ErrReplay) {
				t.Errorf("second use: %v, want ErrReplay", err)
			}
		})
	}
}

func TestEmailLink_Refused(t *testing.T) {
	ctx := context.Background()
	e := newEmailEnv(t, mail.TLSNone, false)

	link := e.sendAndRead(t, "jane@example.com")
	e.clock.Add(auth.LinkMaxAge)
	if _, err := e.links.ConsumeLink(ctx, token(t, link)); !errors.Is(err, auth.ErrExpired) {
		t.Errorf("expired link: %v, want ErrExpired", err)
	}

	good := token(t, e.sendAndRead(t, "jane@example.com"))
	b := []byte(good)
	b[10] ^= 2
	for name, tok := range map[string]string{"tampered": string(b), "empty": "", "garbage": "abc", "truncated": good[:len(good)-3]} {
		if _, err := e.links.ConsumeLink(ctx, tok); !errors.Is(err, auth.ErrBadLink) {
			t.Errorf("%s token: %v, want ErrBadLink", name, err)
		}
	}

	for _, addr := range []string{"", "jane", "jane@localhost", "Jane <jane@example.com>", "a@example.com, b@example.com",
		"jane@example.com\r\nBcc: victim@example.com", strings.Repeat("a", 250) + "@example.com"} {
		if err := e.links.SendLink(ctx, auth.LinkRequest{Email: addr, SiteID: "news", ReturnTo: "https://news.example/"}); !errors.Is(err, auth.ErrBadEmail) {
			t.Errorf("SendLink(%q) = %v, want ErrBadEmail", addr, err)
		}
	}
	for _, ret := range []string{"https://evil.example/", "//evil.example", "javascript:alert(1)", ""} {
		if err := e.links.SendLink(ctx, auth.LinkRequest{Email: "jane@example.com", SiteID: "news", ReturnTo: ret}); !errors.Is(err, auth.ErrBadReturn) {
			t.Errorf("SendLink return %q = %v, want ErrBadReturn", ret, err)
		}
	}
	if n := len(e.server.Messages()); n != 2 {
		t.Errorf("server got %d messages; refused requests must send nothing", n)
	}
}
