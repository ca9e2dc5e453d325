package auth_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/internal/auth"
	"parley/internal/auth/authtest"
)

// startMailServer runs an SMTP server in mode none, starttls or tls;
// with requireAuth it requires PLAIN authentication as parley with
// hunter2-smtp.
func startMailServer(t *testing.T, mode string, requireAuth bool) *authtest.SMTP {
	t.Helper()
	var opts []authtest.SMTPOption
	switch mode {
	case auth.SMTPTLS:
		opts = append(opts, authtest.SMTPImplicitTLS())
	case auth.SMTPStartTLS:
		opts = append(opts, authtest.SMTPStartTLS())
	}
	if requireAuth {
		opts = append(opts, authtest.SMTPRequireAuth("parley", "hunter2-smtp"))
	}
	return authtest.StartSMTP(t, opts...)
}

// parts reads a multipart/alternative message into its decoded parts by
// content type.
func parts(t *testing.T, raw []byte) (*mail.Message, map[string]string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
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
	cfg := auth.SMTPConfig{Host: "127.0.0.1", Port: e.server.Port(), From: "Parley <comments@news.example>", TLS: mode,
		Timeout: 10 * time.Second, TLSConfig: &tls.Config{RootCAs: e.server.CertPool()}}
	if requireAuth {
		cfg.Username, cfg.Password = "parley", "hunter2-smtp"
	}
	mailer := must[*auth.SMTPMailer](t)(auth.NewSMTPMailer(cfg))
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
	}{{auth.SMTPNone, false}, {auth.SMTPNone, true}, {auth.SMTPStartTLS, true}, {auth.SMTPTLS, true}} {
		t.Run(tt.mode+" auth="+strconv.FormatBool(tt.auth), func(t *testing.T) {
			ctx := context.Background()
			e := newEmailEnv(t, tt.mode, tt.auth)
			link := e.sendAndRead(t, " Jane.Doe@Example.com ")

			msg := e.server.Messages()[0]
			if len(msg.To) != 1 || msg.To[0] != "jane.doe@example.com" || msg.From != "comments@news.example" {
				t.Errorf("envelope from %q to %q", msg.From, msg.To)
			}
			if want := tt.mode != auth.SMTPNone; msg.TLS != want {
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
	e := newEmailEnv(t, auth.SMTPNone, false)

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

func TestSMTPMailer_Errors(t *testing.T) {
	ctx := context.Background()
	msg := auth.Message{To: "jane@example.com", Subject: "s", Text: "t"}

	t.Run("wrong password", func(t *testing.T) {
		ms := startMailServer(t, auth.SMTPStartTLS, true)
		m := must[*auth.SMTPMailer](t)(auth.NewSMTPMailer(auth.SMTPConfig{Host: "127.0.0.1", Port: ms.Port(), From: "p@news.example",
			TLS: auth.SMTPStartTLS, Username: "parley", Password: "wrong", TLSConfig: &tls.Config{RootCAs: ms.CertPool()}}))
		if err := m.Send(ctx, msg); err == nil || strings.Contains(err.Error(), "wrong") {
			t.Errorf("Send = %v; want an error that does not show the password", err)
		}
	})
	t.Run("starttls not offered", func(t *testing.T) {
		ms := startMailServer(t, auth.SMTPNone, false)
		m := must[*auth.SMTPMailer](t)(auth.NewSMTPMailer(auth.SMTPConfig{Host: "127.0.0.1", Port: ms.Port(), From: "p@news.example", TLS: auth.SMTPStartTLS}))
		if err := m.Send(ctx, msg); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Errorf("Send = %v; want a refusal to go on without STARTTLS", err)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		ms := startMailServer(t, auth.SMTPTLS, false)
		m := must[*auth.SMTPMailer](t)(auth.NewSMTPMailer(auth.SMTPConfig{Host: "127.0.0.1", Port: ms.Port(), From: "p@news.example", TLS: auth.SMTPTLS}))
		if err := m.Send(ctx, msg); err == nil {
			t.Error("Send trusted a certificate no CA vouches for")
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		// A server that accepts and never greets.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			c, err := l.Accept()
			if err == nil {
				defer c.Close()
				time.Sleep(5 * time.Second)
			}
		}()
		port := l.Addr().(*net.TCPAddr).Port
		m := must[*auth.SMTPMailer](t)(auth.NewSMTPMailer(auth.SMTPConfig{Host: "127.0.0.1", Port: port, From: "p@news.example", TLS: auth.SMTPNone}))
		ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := m.Send(ctx, msg); err == nil {
			t.Error("Send succeeded against a silent server")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Send took %v after its context ended", d)
		}
	})
}

func TestSMTPConfig(t *testing.T) {
	c := auth.SMTPConfig{Host: "smtp.example.com", Username: "u", Password: "s3cret-pass", From: "p@news.example"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%+v %#v", c, c)} {
		if strings.Contains(s, "s3cret-pass") {
			t.Errorf("configuration printed its password: %s", s)
		}
	}
	bad := auth.SMTPConfig{Port: 70000, TLS: "ssl", From: "nobody", Password: "x"}
	err := bad.Validate()
	for _, want := range []string{"host is missing", "port 70000", "tls must be", "from", "no username"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want it to mention %q", err, want)
		}
	}
}
