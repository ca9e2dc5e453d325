package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SMTP sends mail through one SMTP server. It keeps a few connections
// open between messages (one conversation per message otherwise costs
// six round trips and, with TLS, a handshake), and is safe for
// concurrent use: each message has a connection to itself.
type SMTP struct {
	c    Config
	from *mail.Address

	mu   sync.Mutex
	idle []*conn // most recently used last
}

// conn is an open, greeted and authenticated SMTP connection.
type conn struct {
	raw    net.Conn
	client *smtp.Client
	used   time.Time
}

// Pool limits: connections idle longer than maxIdleTime are closed
// rather than reused (servers drop quiet clients), and at most maxIdle
// wait.
const (
	maxIdle     = 16
	maxIdleTime = 20 * time.Second
)

// NewSMTP validates c and returns a mailer.
func NewSMTP(c Config) (*SMTP, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	from, _ := mail.ParseAddress(c.From)
	return &SMTP{c: c, from: from}, nil
}

// Timeout is how long one delivery may take: the configured timeout.
func (s *SMTP) Timeout() time.Duration { return s.c.timeout() }

// Send delivers m. It gives up when ctx ends or the configured timeout
// passes. A kept connection the server closed meanwhile is replaced
// before anything of m was sent; once the message's data went out, an
// error is returned as it is (the caller may retry later: the server may
// or may not have kept it).
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := NormalizeAddress(m.To)
	if err != nil {
		return err
	}
	body, err := s.Format(m, to)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.c.timeout())
	defer cancel()
	for {
		c, reused := s.take()
		if c == nil {
			if c, err = s.dial(ctx); err != nil {
				return err
			}
		}
		dataSent, err := s.deliver(ctx, c, to, body)
		if err == nil {
			s.put(c)
			return nil
		}
		c.close()
		if reused && !dataSent && ctx.Err() == nil {
			continue // a stale kept connection: once more on a new one
		}
		return err
	}
}

// take returns a kept connection, or nil.
func (s *SMTP) take() (*conn, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.idle) > 0 {
		c := s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		if time.Since(c.used) < maxIdleTime {
			return c, true
		}
		go c.quit()
	}
	return nil, false
}

// put keeps c for the next message.
func (s *SMTP) put(c *conn) {
	c.used = time.Now()
	c.raw.SetDeadline(time.Time{})
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.idle) >= maxIdle {
		go c.quit()
		return
	}
	s.idle = append(s.idle, c)
}

// Close ends the kept connections.
func (s *SMTP) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, c := range idle {
		c.quit()
	}
	return nil
}

func (c *conn) close() { c.raw.Close() }

func (c *conn) quit() {
	c.raw.SetDeadline(time.Now().Add(2 * time.Second))
	c.client.Quit()
	c.raw.Close()
}

// dial opens, greets, secures and authenticates a new connection.
func (s *SMTP) dial(ctx context.Context) (*conn, error) {
	addr := net.JoinHostPort(s.c.Host, strconv.Itoa(s.c.port()))
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smtp: connect to %s: %w", addr, err)
	}
	ok := false
	defer func() {
		if !ok {
			raw.Close()
		}
	}()
	// net/smtp has no contexts: a deadline bounds the conversation, and
	// closing the connection ends it early when ctx is cancelled.
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	tlsConf := s.tlsConfig()
	if s.c.mode() == TLSImplicit {
		tc := tls.Client(raw, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("smtp: tls with %s: %w", addr, err)
		}
		raw = tc
	}
	c, err := smtp.NewClient(raw, s.c.Host)
	if err != nil {
		return nil, fmt.Errorf("smtp: greeting from %s: %w", addr, err)
	}
	if err := c.Hello(helloName()); err != nil {
		return nil, fmt.Errorf("smtp: hello: %w", err)
	}
	if s.c.mode() == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return nil, fmt.Errorf("smtp: %s does not offer STARTTLS; set tls to \"tls\" or, for a local relay, \"none\"", addr)
		}
		if err := c.StartTLS(tlsConf); err != nil {
			return nil, fmt.Errorf("smtp: starttls: %w", err)
		}
	}
	if s.c.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return nil, fmt.Errorf("smtp: %s does not offer authentication", addr)
		}
		if err := c.Auth(smtp.PlainAuth("", s.c.Username, s.c.Password, s.c.Host)); err != nil {
			return nil, fmt.Errorf("smtp: authenticate: %w", err)
		}
	}
	ok = true
	return &conn{raw: raw, client: c}, nil
}

// deliver runs one mail transaction on c. dataSent reports whether the
// message's data had begun to go out when it failed.
func (s *SMTP) deliver(ctx context.Context, c *conn, to string, body []byte) (dataSent bool, err error) {
	if dl, ok := ctx.Deadline(); ok {
		c.raw.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.raw.Close() })
	defer stop()
	if err := c.client.Mail(s.from.Address); err != nil {
		return false, fmt.Errorf("smtp: mail from: %w", err)
	}
	if err := c.client.Rcpt(to); err != nil {
		c.client.Reset()
		return false, fmt.Errorf("smtp: rcpt to: %w", err)
	}
	w, err := c.client.Data()
	if err != nil {
		return false, fmt.Errorf("smtp: data: %w", err)
	}
	if _, err := w.Write(body); err != nil {
		return true, fmt.Errorf("smtp: write message: %w", err)
	}
	if err := w.Close(); err != nil {
		return true, fmt.Errorf("smtp: message refused: %w", err)
	}
	return true, nil
}

func (s *SMTP) tlsConfig() *tls.Config {
	var c *tls.Config
	if s.c.TLSConfig != nil {
		c = s.c.TLSConfig.Clone()
	} else {
		c = &tls.Config{}
	}
	if c.ServerName == "" {
		c.ServerName = s.c.Host
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

func helloName() string {
	if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " \r\n") {
		return h
	}
	return "localhost"
}

// oneLine keeps a subject on one line of at most 200 characters.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) // whole characters: a subject stays valid UTF-8
	}
	return s
}

// mostlyNonASCII reports whether more than a third of s's bytes are not
// ASCII.
func mostlyNonASCII(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			n++
		}
	}
	return n*3 > len(s)
}

// subjectEncoding is the shorter encoding of a subject: Q for mostly
// Latin text, B (base64) for the rest.
func subjectEncoding(s string) mime.WordEncoder {
	if mostlyNonASCII(s) {
		return mime.BEncoding
	}
	return mime.QEncoding
}

// headerSafe reports whether a header name or value is one line of
// printable ASCII.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Format writes m to the address to as a MIME message:
// multipart/alternative with a quoted-printable text part and HTML part,
// lines ending in CRLF.
func (s *SMTP) Format(m Message, to string) ([]byte, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	domain := s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	id := m.MessageID
	if id == "" {
		var b [18]byte
		rand.Read(b[:])
		id = b64.EncodeToString(b[:])
	}
	h := []Header{
		{"From", s.from.String()},
		{"To", "<" + to + ">"},
		{"Subject", subjectEncoding(m.Subject).Encode("utf-8", oneLine(m.Subject))},
		{"Date", time.Now().Format(time.RFC1123Z)},
		{"Message-ID", "<" + id + "@" + domain + ">"},
		{"MIME-Version", "1.0"},
		{"Auto-Submitted", "auto-generated"},
	}
	if m.Lang != "" {
		h = append(h, Header{"Content-Language", m.Lang})
	}
	h = append(h, m.Headers...)
	h = append(h, Header{"Content-Type", `multipart/alternative; boundary="` + mw.Boundary() + `"`})
	var head bytes.Buffer
	for _, f := range h {
		if f.Name == "" || strings.ContainsAny(f.Name, ": ") || !headerSafe(f.Name) || !headerSafe(f.Value) {
			return nil, fmt.Errorf("mail: header %q is not one line of ASCII", f.Name)
		}
		head.WriteString(f.Name + ": " + f.Value + "\r\n")
	}
	head.WriteString("\r\n")
	for _, p := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		if p.body == "" {
			continue
		}
		enc := "quoted-printable"
		if mostlyNonASCII(p.body) {
			// Arabic or Russian text triples in quoted-printable; base64
			// adds a third.
			enc = "base64"
		}
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {enc},
		})
		if err != nil {
			return nil, err
		}
		if enc == "base64" {
			b := base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(strings.ReplaceAll(p.body, "\r\n", "\n"), "\n", "\r\n")))
			for len(b) > 76 {
				pw.Write([]byte(b[:76] + "\r\n"))
				b = b[76:]
			}
			pw.Write([]byte(b + "\r\n"))
			continue
		}
		// Not binary: the writer turns line ends into CRLF and wraps long
		// lines (a long link) under SMTP's 998-byte limit.
		qw := quotedprintable.NewWriter(pw)
		qw.Write([]byte(p.body))
		if err := qw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	if m.Text == "" && m.HTML == "" {
		return nil, errors.New("mail: the message has no body")
	}
	return append(head.Bytes(), buf.Bytes()...), nil
}
