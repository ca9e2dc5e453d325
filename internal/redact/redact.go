// Package redact takes personal data out of text bound for the server's
// logs: error messages from mail servers and other services often quote
// the address they refused.
package redact

import "regexp"

// emailRE matches anything shaped like an email address, loosely: it is
// better to mask a little too much in a log than to keep an address.
var emailRE = regexp.MustCompile(`[^\s<>"'(),;:\[\]]+@[^\s<>"'(),;:\[\]]+\.[A-Za-z0-9-]+`)

// Emails returns s with every email address in it replaced by "[email]".
func Emails(s string) string {
	return emailRE.ReplaceAllString(s, "[email]")
}
