package redact

import "testing"

func TestEmails(t *testing.T) {
	for in, want := range map[string]string{
		"smtp: rcpt to: 550 5.1.1 <amara.okafor@mail.example.org>: Recipient address rejected": "smtp: rcpt to: 550 5.1.1 <[email]>: Recipient address rejected",
		"user Noor+tag@example.co.uk unknown, and b@c.io too":                                  "user [email] unknown, and [email] too",
		"smtp: connect to 127.0.0.1:25: connection refused":                                    "smtp: connect to 127.0.0.1:25: connection refused",
		"no address here @ all": "no address here @ all",
	} {
		if got := Emails(in); got != want {
			t.Errorf("Emails(%q) = %q, want %q", in, got, want)
		}
	}
}
