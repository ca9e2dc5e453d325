package main

import (
	"log/slog"
	"net"
	"strings"

	"parley/internal/demo"
	"parley/internal/login"
)

// demoOrigins are the origins the demo article is served on: both
// loopback names of the port it listens on, and the public address.
func demoOrigins(bound, publicURL string) []string {
	_, port, _ := net.SplitHostPort(bound)
	origins := []string{"http://127.0.0.1:" + port, "http://localhost:" + port}
	if publicURL != "" {
		origins = append(origins, strings.TrimSuffix(publicURL, "/"))
	}
	return origins
}

// newDemo builds what --demo adds to log-in (package demo): Demo ID as one
// more provider, and, when no SMTP server is configured, the demo
// mailbox as the mailer of email links and notifications, which then
// point at the address the server is reached at.
func newDemo(bound, publicURL string, log *slog.Logger, lc *login.Config) (*demo.Demo, error) {
	base := publicURL
	if base == "" {
		base = "http://" + displayAddr(bound)
	}
	d, err := demo.New(base, demoOrigins(bound, publicURL), log)
	if err != nil {
		return nil, err
	}
	linksURL := d.Configure(lc, base, publicURL)
	log.Info("demo log-ins", slog.String("provider", "Demo ID at "+d.Issuer()), slog.Bool("demo_mailbox", lc.SMTP == nil),
		slog.String("mailbox", base+demo.MailboxPath), slog.String("email_links", linksURL))
	return d, nil
}
