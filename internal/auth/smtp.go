package auth

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
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
	"time"
)

// SMTP transport security, SMTPConfig.TLS.
const (
	SMTPNone     = "none"     // plain connection; only for a relay on the same host or network
	SMTPStartTLS = "starttls" // plain connection upgraded with STARTTLS, refused if the server cannot (port 587)
	SMTPTLS      = "tls"      // TLS from the first byte (port 465)
)

// SMTPConfig says how to reach a mail server.
type SMTPConfig struct {
	Host     string
	Port     int    // 0: 465 for tls, 587 for starttls, 25 for none
	Username string // empty: do not authenticate
	Password Secret
	From     string // "Name <address>" or a bare address
	TLS      string // SMTPNone, SMTPStartTLS or SMTPTLS; empty means starttls
	// Timeout bounds one whole delivery; 30 seconds if zero.
	Timeout time.Duration
	// TLSConfig, if set, is used for TLS (e.g. to trust a private CA);
	// its ServerName defaults to Host.
	TLSConfig *tls.Config `json:"-"`
}

// String describes the configuration without the password.
func (c SMTPConfig) String() string {
	return fmt.Sprintf("smtp://%s@%s:%d (tls=%s, from=%s, password=%s)", c.Username, c.Host, c.port(), c.mode(), c.From, c.Password)
}

// LogValue logs the configuration without the password.
func (c SMTPConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("host", c.Host), slog.Int("port", c.port()),
		slog.String("tls", c.mode()), slog.String("username", c.Username),
		slog.String("password", c.Password.String()))
}

func (c SMTPConfig) mode() string {
	if c.TLS == "" {
		return SMTPStartTLS
	}
	return c.TLS
}

func (c SMTPConfig) port() int {
	if c.Port != 0 {
		return c.Port
	}
	switch c.mode() {
	case SMTPTLS:
		return 465
	case SMTPNone:
		return 25
	}
	return 587
}

// Validate reports what is missing or wrong, all at once.
func (c SMTPConfig) Validate() error {
	var errs []error
	if c.Host == "" {
		errs = append(errs, errors.New("smtp: host is missing"))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("smtp: port %d is out of range", c.Port))
	}
	switch c.mode() {
	case SMTPNone, SMTPStartTLS, SMTPTLS:
	default:
		errs = append(errs, fmt.Errorf("smtp: tls must be none, starttls or tls, not %q", c.TLS))
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		errs = append(errs, fmt.Errorf("smtp: from %q is not an email address", c.From))
	}
	if c.Username == "" && c.Password != "" {
		errs = append(errs, errors.New("smtp: a password is set but no username"))
	}
	return errors.Join(errs...)
}

// SMTPMailer sends mail through one SMTP server with net/smtp, which
// covers what Parley needs: implicit TLS or STARTTLS, and PLAIN
// authentication, which net/smtp only sends over TLS or to localhost.
type SMTPMailer struct {
	c    SMTPConfig
	from *mail.Address
}

// NewSMTPMailer validates c and returns a mailer.
func NewSMTPMailer(c SMTPConfig) (*SMTPMailer, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	from, _ := mail.ParseAddress(c.From)
	return &SMTPMailer{c: c, from: from}, nil
}

// Send delivers m in one SMTP conversation. It gives up when ctx ends or
// the configured timeout passes.
func (s *SMTPMailer) Send(ctx context.Context, m Message) error {
	to, err := NormalizeEmail(m.To)
	if err != nil {
		return err
	}
	body, err := s.format(m, to)
	if err != nil {
		return err
	}
	timeout := s.c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(s.c.Host, strconv.Itoa(s.c.port()))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp: connect to %s: %w", addr, err)
	}
	defer conn.Close()
	// net/smtp has no contexts: a deadline bounds the conversation, and
	// closing the connection ends it early when ctx is cancelled.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	tlsConf := s.tlsConfig()
	if s.c.mode() == SMTPTLS {
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("smtp: tls with %s: %w", addr, err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.c.Host)
	if err != nil {
		return fmt.Errorf("smtp: greeting from %s: %w", addr, err)
	}
	defer c.Close()
	if err := c.Hello(helloName()); err != nil {
		return fmt.Errorf("smtp: hello: %w", err)
	}
	if s.c.mode() == SMTPStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("smtp: %s does not offer STARTTLS; set tls to \"tls\" or, for a local relay, \"none\"", addr)
		}
		if err := c.StartTLS(tlsConf); err != nil {
			return fmt.Errorf("smtp: starttls: %w", err)
		}
	}
	if s.c.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fmt.Errorf("smtp: %s does not offer authentication", addr)
		}
		if err := c.Auth(smtp.PlainAuth("", s.c.Username, string(s.c.Password), s.c.Host)); err != nil {
			return fmt.Errorf("smtp: authenticate: %w", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("smtp: mail from: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp: rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: data: %w", err)
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("smtp: write message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: message refused: %w", err)
	}
	return c.Quit()
}

func (s *SMTPMailer) tlsConfig() *tls.Config {
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

// format writes m as a MIME message: multipart/alternative with a
// quoted-printable text part and HTML part, lines ending in CRLF.
func (s *SMTPMailer) format(m Message, to string) ([]byte, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	domain := s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	h := []struct{ k, v string }{
		{"From", s.from.String()},
		{"To", "<" + to + ">"},
		{"Subject", mime.QEncoding.Encode("utf-8", oneLine(m.Subject))},
		{"Date", time.Now().Format(time.RFC1123Z)},
		{"Message-ID", "<" + b64.EncodeToString(randomBytes(18)) + "@" + domain + ">"},
		{"MIME-Version", "1.0"},
		{"Auto-Submitted", "auto-generated"},
		{"Content-Type", `multipart/alternative; boundary="` + mw.Boundary() + `"`},
	}
	var head bytes.Buffer
	for _, f := range h {
		head.WriteString(f.k + ": " + f.v + "\r\n")
	}
	head.WriteString("\r\n")
	for _, p := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		if p.body == "" {
			continue
		}
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
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
	return append(head.Bytes(), buf.Bytes()...), nil
}
