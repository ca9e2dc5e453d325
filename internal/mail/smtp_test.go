package mail_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/auth/authtest"
	"parley/internal/mail"
)

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

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

// TestSMTP_Messages sends over every transport, concurrently and on kept
// connections, and checks what the server received.
func TestSMTP_Messages(t *testing.T) {
	for _, mode := range []string{mail.TLSNone, mail.TLSStartTLS, mail.TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			ms := startMailServer(t, mode, mode != mail.TLSNone)
			cfg := mail.Config{Host: "127.0.0.1", Port: ms.Port(), From: "Parley <comments@news.example>", TLS: mode,
				TLSConfig: &tls.Config{RootCAs: ms.CertPool()}}
			if mode != mail.TLSNone {
				cfg.Username, cfg.Password = "parley", "hunter2-smtp"
			}
			m := must[*mail.SMTP](t)(mail.NewSMTP(cfg))
			defer m.Close()
			var wg sync.WaitGroup
			errs := make(chan error, 40)
			for i := range 40 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- m.Send(context.Background(), mail.Message{To: fmt.Sprintf("reader%d@example.org", i), Subject: "Réponse n°" + fmt.Sprint(i),
						Text: "Hello ✓", HTML: "<p>Hello ✓</p>", MessageID: fmt.Sprintf("msg-%d", i), Lang: "fr",
						Headers: []mail.Header{{"List-Unsubscribe", "<https://c.example/u?t=x>"}, {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}}})
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			got := ms.Messages()
			if len(got) != 40 {
				t.Fatalf("server got %d messages, want 40", len(got))
			}
			seen := map[string]bool{}
			for _, g := range got {
				h := g.Header()
				id := h.Get("Message-Id")
				if !strings.HasPrefix(id, "<msg-") || !strings.HasSuffix(id, "@news.example>") || seen[id] {
					t.Errorf("Message-ID %q", id)
				}
				seen[id] = true
				if h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || h.Get("Content-Language") != "fr" || !strings.HasPrefix(g.Subject(), "Réponse n°") {
					t.Errorf("headers %v, subject %q", h, g.Subject())
				}
				if g.Body() != "Hello ✓" || g.HTML() != "<p>Hello ✓</p>" || g.TLS != (mode != mail.TLSNone) {
					t.Errorf("body %q, html %q, tls %v", g.Body(), g.HTML(), g.TLS)
				}
			}
		})
	}
}

// TestSMTP_StaleConnection: a kept connection the server has closed is
// replaced, and the message still goes out once.
func TestSMTP_StaleConnection(t *testing.T) {
	ms := startMailServer(t, mail.TLSNone, false)
	// A proxy in front of the server whose connections can be cut.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ms.Port()))
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			go func() {
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if err != nil {
						up.Close()
						return
					}
					up.Write(buf[:n])
				}
			}()
			go func() {
				buf := make([]byte, 4096)
				for {
					n, err := up.Read(buf)
					if err != nil {
						c.Close()
						return
					}
					c.Write(buf[:n])
				}
			}()
		}
	}()
	m := must[*mail.SMTP](t)(mail.NewSMTP(mail.Config{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, From: "p@news.example", TLS: mail.TLSNone}))
	defer m.Close()
	msg := mail.Message{To: "jane@example.com", Subject: "s", Text: "t"}
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	for _, c := range conns {
		c.Close()
	}
	mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatalf("send after the server dropped the kept connection: %v", err)
	}
	if n := len(ms.Messages()); n != 2 {
		t.Errorf("server got %d messages, want 2", n)
	}
}

func TestSMTP_BadInput(t *testing.T) {
	ms := startMailServer(t, mail.TLSNone, false)
	m := must[*mail.SMTP](t)(mail.NewSMTP(mail.Config{Host: "127.0.0.1", Port: ms.Port(), From: "p@news.example", TLS: mail.TLSNone}))
	for _, msg := range []mail.Message{
		{To: "not an address", Text: "t"},
		{To: "a@b.example\r\nBcc: x@y.example", Text: "t"},
		{To: "Jane <jane@example.com>", Text: "t"},
		{To: "jane@example.com", Text: "t", Headers: []mail.Header{{"X-Evil", "a\r\nBcc: x@y.example"}}},
		{To: "jane@example.com"},
	} {
		if err := m.Send(context.Background(), msg); err == nil {
			t.Errorf("Send(%+v) succeeded", msg)
		}
	}
	if n := len(ms.Messages()); n != 0 {
		t.Errorf("server got %d messages from refused input", n)
	}
}

func TestNormalizeAddress(t *testing.T) {
	for in, want := range map[string]string{" Jane@Example.COM ": "jane@example.com", "a.b+c@news.example": "a.b+c@news.example"} {
		if got, err := mail.NormalizeAddress(in); err != nil || got != want {
			t.Errorf("NormalizeAddress(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "jane", "jane@", "@example.com", "jane@localhost", "jane@[127.0.0.1]", "a@b.com,c@d.com", "Jane <j@e.com>", "j@e.com.", strings.Repeat("a", 250) + "@e.com"} {
		if _, err := mail.NormalizeAddress(bad); err == nil {
			t.Errorf("NormalizeAddress(%q) accepted", bad)
		}
	}
}

func TestSMTP_Errors(t *testing.T) {
	ctx := context.Background()
	msg := mail.Message{To: "jane@example.com", Subject: "s", Text: "t"}

	t.Run("wrong password", func(t *testing.T) {
		ms := startMailServer(t, mail.TLSStartTLS, true)
		m := must[*mail.SMTP](t)(mail.NewSMTP(mail.Config{Host: "127.0.0.1", Port: ms.Port(), From: "p@news.example",
			TLS: mail.TLSStartTLS, Username: "parley", Password: "wrong", TLSConfig: &tls.Config{RootCAs: ms.CertPool()}}))
		if err := m.Send(ctx, msg); err == nil || strings.Contains(err.Error(), "wrong") {
			t.Errorf("Send = %v; want an error that does not show the password", err)
		}
	})
	t.Run("starttls not offered", func(t *testing.T) {
		ms := startMailServer(t, mail.TLSNone, false)
		m := must[*mail.SMTP](t)(mail.NewSMTP(mail.Config{Host: "127.0.0.1", Port: ms.Port(), From: "p@news.example", TLS: mail.TLSStartTLS}))
		if err := m.Send(ctx, msg); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Errorf("Send = %v; want a refusal to go on without STARTTLS", err)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		ms := startMailServer(t, mail.TLSImplicit, false)
		m := must[*mail.SMTP](t)(mail.NewSMTP(mail.Config{Host: "127.0.0.1", Port: ms.Port(), From: "p@news.example", TLS: mail.TLSImplicit}))
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
		m := must[*mail.SMTP](t)(mail.NewSMTP(mail.Config{Host: "127.0.0.1", Port: port, From: "p@news.example", TLS: mail.TLSNone}))
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

func TestConfig(t *testing.T) {
	c := mail.Config{Host: "smtp.example.com", Username: "u", Password: "s3cret-pass", From: "p@news.example"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%+v %#v", c, c)} {
		if strings.Contains(s, "s3cret-pass") {
			t.Errorf("configuration printed its password: %s", s)
		}
	}
	bad := mail.Config{Port: 70000, TLS: "ssl", From: "nobody", Password: "x"}
	err := bad.Validate()
	for _, want := range []string{"host is missing", "port 70000", "tls must be", "from", "no username"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want it to mention %q", err, want)
		}
	}
}
