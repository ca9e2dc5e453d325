package authtest_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/internal/auth/authtest"
	"parley/internal/mail"
)

// TestSMTP_ParleyMail reads what Parley's own mailer sends: a
// multipart/alternative message with quoted-printable parts and an
// encoded subject.
func TestSMTP_ParleyMail(t *testing.T) {
	for _, tt := range []struct {
		name string
		mode string
		opts []authtest.SMTPOption
	}{
		{"plain", mail.TLSNone, nil},
		{"starttls and auth", mail.TLSStartTLS, []authtest.SMTPOption{authtest.SMTPStartTLS(), authtest.SMTPRequireAuth("parley", "pw")}},
		{"implicit tls", mail.TLSImplicit, []authtest.SMTPOption{authtest.SMTPImplicitTLS()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := authtest.StartSMTP(t, tt.opts...)
			cfg := mail.Config{Host: s.Host(), Port: s.Port(), From: "Parley <comments@news.example>", TLS: tt.mode,
				TLSConfig: &tls.Config{RootCAs: s.CertPool()}}
			if len(tt.opts) > 1 {
				cfg.Username, cfg.Password = "parley", "pw"
			}
			m, err := mail.NewSMTP(cfg)
			if err != nil {
				t.Fatal(err)
			}
			link := "https://comments.example/auth/email?token=" + strings.Repeat("Ab3-_=", 40)
			text := "Grüße from Zürich.\nLog in: " + link + "\n"
			for i, subject := range []string{"Log in to comment on Ça va", "second"} {
				if err := m.Send(context.Background(), mail.Message{To: "jane@example.org", Subject: subject,
					Text: text, HTML: `<p><a href="` + link + `">Log in</a></p>`}); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			got := s.WaitMail(t, 5*time.Second)
			if got.From != "comments@news.example" || len(got.To) != 1 || got.To[0] != "jane@example.org" {
				t.Errorf("envelope %q -> %q", got.From, got.To)
			}
			if got.TLS != (tt.mode != mail.TLSNone) || got.Username != cfg.Username {
				t.Errorf("TLS %v, username %q", got.TLS, got.Username)
			}
			if got.Subject() != "Log in to comment on Ça va" {
				t.Errorf("Subject() = %q", got.Subject())
			}
			if got.Body() != text {
				t.Errorf("Body() = %q\nwant     %q", got.Body(), text)
			}
			if !strings.Contains(got.HTML(), `href="`+link+`"`) {
				t.Errorf("HTML() = %q", got.HTML())
			}
			if got.Header().Get("Message-Id") == "" {
				t.Error("no Message-ID header")
			}
			if next := s.WaitMail(t, 5*time.Second); next.Subject() != "second" {
				t.Errorf("second WaitMail: %q", next.Subject())
			}
			if n := len(s.Messages()); n != 2 {
				t.Errorf("Messages() has %d", n)
			}
		})
	}
}

// TestSMTP_Raw sends by hand: a single-part base64 message to two
// recipients, and a refused sender when authentication is required.
func TestSMTP_Raw(t *testing.T) {
	s := authtest.StartSMTP(t)
	addr := net.JoinHostPort(s.Host(), strconv.Itoa(s.Port()))
	// Sent after WaitMail starts waiting; the test waits for the sender's
	// QUIT too, or a server closed at the end of the test would fail it.
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		time.Sleep(50 * time.Millisecond)
		err := smtp.SendMail(addr, nil, "a@example.org", []string{"b@example.org", "c@example.org"}, []byte(
			"From: a@example.org\r\nTo: b@example.org\r\nSubject: =?utf-8?b?SMOpbGxv?=\r\n"+
				"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"+
				"SMOpbGxvLAp3b3Js\r\nZC4K\r\n"))
		if err != nil {
			t.Errorf("send: %v", err) // WaitMail then fails too
		}
	}()
	m := s.WaitMail(t, 5*time.Second)
	select {
	case <-sent:
	case <-time.After(5 * time.Second):
		t.Fatal("the sender did not finish")
	}
	if m.Subject() != "Héllo" || m.Body() != "Héllo,\nworld.\n" || m.HTML() != "" {
		t.Errorf("subject %q, body %q, html %q", m.Subject(), m.Body(), m.HTML())
	}
	if len(m.To) != 2 || m.TLS || m.Username != "" {
		t.Errorf("%+v", m)
	}

	locked := authtest.StartSMTP(t, authtest.SMTPRequireAuth("u", "p"))
	addr = net.JoinHostPort(locked.Host(), strconv.Itoa(locked.Port()))
	if err := smtp.SendMail(addr, nil, "a@example.org", []string{"b@example.org"}, []byte("Subject: x\r\n\r\nx\r\n")); err == nil {
		t.Error("mail accepted without authentication")
	}
	if err := smtp.SendMail(addr, smtp.PlainAuth("", "u", "wrong", "127.0.0.1"), "a@example.org", []string{"b@example.org"}, []byte("Subject: x\r\n\r\nx\r\n")); err == nil {
		t.Error("mail accepted with a wrong password")
	}
	if err := smtp.SendMail(addr, smtp.PlainAuth("", "u", "p", "127.0.0.1"), "a@example.org", []string{"b@example.org"}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Errorf("with the password: %v", err)
	}
	if n := len(locked.Messages()); n != 1 {
		t.Errorf("%d messages kept", n)
	}
}
