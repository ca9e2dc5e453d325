package authtest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTP is a real SMTP server (github.com/emersion/go-smtp) on 127.0.0.1
// that accepts every message for every recipient and keeps it.
type SMTP struct {
	host     string
	port     int
	certPool *x509.CertPool
	username string // required credentials; empty: no AUTH offered
	password string

	mu   sync.Mutex
	msgs []Mail
	next int // index of the message WaitMail returns next
	// arrived is closed, and replaced, whenever a message arrives.
	arrived chan struct{}
}

// Mail is one message as the server received it.
type Mail struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO)
	// Data is the message as sent: RFC 5322 headers and body, with the
	// sender's transfer encodings.
	Data []byte
	// TLS reports whether the message came over TLS (implicit or after
	// STARTTLS).
	TLS bool
	// Username is the name the sender authenticated with, or empty.
	Username string
}

// SMTPOption changes how StartSMTP's server runs.
type SMTPOption func(*smtpOptions)

type smtpOptions struct {
	implicitTLS, startTLS bool
	username, password    string
}

// SMTPImplicitTLS makes the server speak TLS from the first byte, as on
// port 465. Clients must trust SMTP.CertPool.
func SMTPImplicitTLS() SMTPOption {
	return func(o *smtpOptions) { o.implicitTLS, o.startTLS = true, false }
}

// SMTPStartTLS makes the server offer STARTTLS, as on port 587, and offer
// AUTH only after it. Clients must trust SMTP.CertPool.
func SMTPStartTLS() SMTPOption {
	return func(o *smtpOptions) { o.startTLS, o.implicitTLS = true, false }
}

// SMTPRequireAuth makes the server offer AUTH PLAIN, accept only username
// and password, and refuse mail from a client that has not authenticated.
// Without it the server offers no AUTH and takes mail from anyone. Over a
// plain connection (no TLS option) AUTH is offered too, as a relay on
// localhost might.
func SMTPRequireAuth(username, password string) SMTPOption {
	return func(o *smtpOptions) { o.username, o.password = username, password }
}

// StartSMTP runs an SMTP server on 127.0.0.1 until the test ends. By
// default it speaks plain SMTP without authentication; opts add TLS and
// required authentication.
func StartSMTP(t testing.TB, opts ...SMTPOption) *SMTP {
	t.Helper()
	var o smtpOptions
	for _, opt := range opts {
		opt(&o)
	}
	s := &SMTP{username: o.username, password: o.password, arrived: make(chan struct{})}
	log := &tbLog{tb: t, prefix: "smtp server: "}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log

	var l net.Listener
	var err error
	if o.implicitTLS || o.startTLS {
		// httptest's certificate is valid for 127.0.0.1; borrow it.
		hs := httptest.NewUnstartedServer(nil)
		hs.StartTLS()
		cert := hs.TLS.Certificates[0]
		s.certPool = x509.NewCertPool()
		s.certPool.AddCert(hs.Certificate())
		hs.Close()
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	} else {
		srv.AllowInsecureAuth = true
	}
	if o.implicitTLS {
		l, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		srv.Close()
		log.stop()
	})
	addr := l.Addr().(*net.TCPAddr)
	s.host, s.port = addr.IP.String(), addr.Port
	return s
}

// Host returns the address the server listens on, "127.0.0.1".
func (s *SMTP) Host() string { return s.host }

// Port returns the port the server listens on.
func (s *SMTP) Port() int { return s.port }

// CertPool returns a pool holding the server's certificate, for a client's
// tls.Config.RootCAs, or nil if the server does not speak TLS. The
// certificate is valid for 127.0.0.1.
func (s *SMTP) CertPool() *x509.CertPool { return s.certPool }

// Messages returns every message received so far, oldest first: one Mail
// per accepted DATA, with all its recipients.
func (s *SMTP) Messages() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.msgs...)
}

// WaitMail returns the next message WaitMail has not returned yet, waiting
// up to timeout for it to arrive; it fails the test if none does. Calls
// return the messages in the order they arrived, each once, whether or
// not Messages saw them first. Call it from the test's goroutine.
func (s *SMTP) WaitMail(t testing.TB, timeout time.Duration) Mail {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if s.next < len(s.msgs) {
			m := s.msgs[s.next]
			s.next++
			s.mu.Unlock()
			return m
		}
		arrived := s.arrived
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-timer.C:
			t.Fatalf("authtest: no mail arrived at %s:%d within %v", s.host, s.port, timeout)
			return Mail{}
		}
	}
}

func (s *SMTP) add(m Mail) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

// session is one SMTP connection's state.
type session struct {
	srv  *SMTP
	conn *smtp.Conn
	user string
	from string
	to   []string
}

// AuthMechanisms offers PLAIN when the server requires authentication;
// go-smtp advertises AUTH only if this returns something.
func (s *session) AuthMechanisms() []string {
	if s.srv.username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.srv.username == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.srv.username || password != s.srv.password {
			return errors.New("invalid credentials")
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.username != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.add(Mail{From: s.from, To: append([]string(nil), s.to...), Data: b, TLS: isTLS, Username: s.user})
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// Header returns the message's header, or nil if Data is not a message.
func (m Mail) Header() mail.Header {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return nil
	}
	return msg.Header
}

// Subject returns the Subject header, with RFC 2047 encoded words
// decoded.
func (m Mail) Subject() string {
	s := m.Header().Get("Subject")
	if d, err := new(mime.WordDecoder).DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// Body returns the message's plain-text body: the first text/plain part
// of a multipart message, or the body of a single-part one, with its
// quoted-printable or base64 transfer encoding undone and CRLF line ends
// turned into LF. It returns "" if there is no such part.
func (m Mail) Body() string { return m.text("text/plain") }

// HTML returns the message's first text/html part, decoded as Body
// decodes text, or "" if it has none.
func (m Mail) HTML() string { return m.text("text/html") }

func (m Mail) text(want string) string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return ""
	}
	b, ok := findPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, want)
	if !ok {
		return ""
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// findPart looks for a part of type want in an entity with the given
// content type, transfer encoding and body, descending into multipart
// entities, and returns its decoded content.
func findPart(contentType, encoding string, body io.Reader, want string) ([]byte, bool) {
	if contentType == "" {
		contentType = "text/plain" // RFC 2045's default
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, false
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart: the transfer encoding is undone below, for
			// quoted-printable and base64 alike.
			p, err := mr.NextRawPart()
			if err != nil {
				return nil, false
			}
			if b, ok := findPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, want); ok {
				return b, true
			}
		}
	}
	if mt != want {
		return nil, false
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // skips line ends
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, false
	}
	return b, true
}
