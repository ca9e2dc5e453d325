// Package mail sends Parley's email through one SMTP server: the log-in
// links of package auth and every message of the outbox (reply
// notifications, confirmations, moderators' alerts) go through the same
// configuration, the "smtp" settings of --login-config.
//
// It speaks SMTP with net/smtp, which covers what Parley needs: implicit
// TLS (port 465) or STARTTLS (587), and PLAIN authentication, which
// net/smtp only sends over TLS or to localhost. Connections are kept open
// between messages, so the outbox can send hundreds a second.
package mail

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"
)

// Transport security, Config.TLS.
const (
	TLSNone     = "none"     // plain connection; only for a relay on the same host or network
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, refused if the server cannot (port 587)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
)

// Config says how to reach a mail server.
type Config struct {
	Host     string
	Port     int    // 0: 465 for tls, 587 for starttls, 25 for none
	Username string // empty: do not authenticate
	// Password is never printed: String, GoString and LogValue redact
	// it, and JSON leaves it out.
	Password string `json:"-"`
	From     string // "Name <address>" or a bare address
	TLS      string // TLSNone, TLSStartTLS or TLSImplicit; empty means starttls
	// Timeout bounds one whole delivery; 30 seconds if zero.
	Timeout time.Duration
	// TLSConfig, if set, is used for TLS (e.g. to trust a private CA);
	// its ServerName defaults to Host.
	TLSConfig *tls.Config `json:"-"`
}

// DefaultTimeout bounds a delivery when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

func redacted(s string) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// String describes the configuration without the password.
func (c Config) String() string {
	return fmt.Sprintf("smtp://%s@%s:%d (tls=%s, from=%s, password=%s)", c.Username, c.Host, c.port(), c.mode(), c.From, redacted(c.Password))
}

// GoString describes the configuration without the password, for %#v.
func (c Config) GoString() string { return "mail.Config(" + c.String() + ")" }

// LogValue logs the configuration without the password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("host", c.Host), slog.Int("port", c.port()),
		slog.String("tls", c.mode()), slog.String("username", c.Username),
		slog.String("password", redacted(c.Password)))
}

func (c Config) mode() string {
	if c.TLS == "" {
		return TLSStartTLS
	}
	return c.TLS
}

func (c Config) port() int {
	if c.Port != 0 {
		return c.Port
	}
	switch c.mode() {
	case TLSImplicit:
		return 465
	case TLSNone:
		return 25
	}
	return 587
}

// timeout returns how long one delivery may take.
func (c Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// Validate reports what is missing or wrong, all at once.
func (c Config) Validate() error {
	var errs []error
	if c.Host == "" {
		errs = append(errs, errors.New("smtp: host is missing"))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("smtp: port %d is out of range", c.Port))
	}
	switch c.mode() {
	case TLSNone, TLSStartTLS, TLSImplicit:
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

// Message is one email: a plain-text body and an HTML alternative.
type Message struct {
	To      string // a bare address; Send checks it
	Subject string
	Text    string
	HTML    string
	// MessageID, if set, is the unique part of the Message-ID header
	// (before the "@"): the same for every try of one message, so mail
	// systems that see it twice can keep one. Random if empty.
	MessageID string
	// Lang, if set, is the message's language (Content-Language).
	Lang string
	// Headers are added as they are, e.g. List-Unsubscribe. Names and
	// values must be single lines of ASCII.
	Headers []Header
}

// Header is one extra header line of a Message.
type Header struct{ Name, Value string }

// Mailer sends email. SMTP is the implementation; tests may use a struct
// with a function field.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// ErrBadAddress: the address is not one Parley can send to.
var ErrBadAddress = errors.New("email address not valid")

// NormalizeAddress returns the bare, lower-case form of a single address,
// or ErrBadAddress. Display names, lists, address literals and header
// tricks are refused.
func NormalizeAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 || strings.ContainsAny(s, "\r\n<>,;\" ") {
		return "", ErrBadAddress
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", ErrBadAddress
	}
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, "[") || strings.HasSuffix(domain, ".") {
		return "", ErrBadAddress
	}
	return strings.ToLower(a.Address), nil
}

// b64 encodes random Message-IDs.
var b64 = base64.RawURLEncoding
