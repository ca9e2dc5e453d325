package comment

import (
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what a reader may send. They are generous for people and small
// enough that one request cannot fill the database.
const (
	MaxNameLen    = 100    // characters
	MaxEmailLen   = 254    // bytes, as RFC 5321 allows
	MaxWebsiteLen = 500    // bytes
	MaxBodyLen    = 20_000 // characters
	MaxPageLen    = 2_000  // bytes
)

// Draft is a new comment as a reader sent it, before it is checked.
type Draft struct {
	SiteID   string
	Page     string // canonical URL or explicit page id
	PageURL  string // URL the reader was on; defaults to Page
	Title    string
	ParentID string
	Name     string
	Email    string
	Website  string
	Body     string
	Identity string // set by log-in, never by the reader's form
	// NamesSelf: a logged-in reader whose log-in gives no name (an emailed
	// link proves an address) types one, as a guest does.
	NamesSelf bool
	// Anonymous lets a guest leave name and email out (the site's guest
	// policy says so); set by the service, never by the reader's form.
	Anonymous bool
	// Notify asks for email about follow-up comments: "replies" (to this
	// comment) or "all" (on the article); "" for none.
	Notify string
	// Lang is the reader's language, for the emails Notify brings.
	Lang string
	// EmailVerified: the log-in vouches for Email, so a subscription
	// needs no confirmation; set by log-in, never by the reader's form.
	EmailVerified bool
}

// Normalize trims what readers do not mean to send and checks every field,
// returning the first problem as a *ValidationError. Field messages are
// written for readers, as UX.md asks.
func (d *Draft) Normalize() error {
	d.Page = strings.TrimSpace(d.Page)
	d.PageURL = strings.TrimSpace(d.PageURL)
	d.Name = strings.TrimSpace(d.Name)
	d.Email = strings.TrimSpace(d.Email)
	d.Website = strings.TrimSpace(d.Website)
	d.Title = strings.TrimSpace(d.Title)
	if d.PageURL == "" {
		d.PageURL = d.Page
	}

	if err := CheckBody(d.Body); err != nil {
		return err
	}
	if err := checkLine("name", d.Name, MaxNameLen); err != nil {
		return err
	}
	if (d.Identity == "" || d.NamesSelf) && !d.Anonymous && d.Name == "" {
		return Missing("name", "Please enter your name.")
	}
	if d.Identity == "" && !d.Anonymous {
		if d.Email == "" {
			return Missing("email", "Please enter your email address.")
		}
	}
	if d.Email != "" {
		if len(d.Email) > MaxEmailLen || !validEmail(d.Email) {
			return Invalid("email", "That email address looks incomplete.")
		}
	}
	if d.Website != "" {
		w, ok := normalizeWebsite(d.Website)
		if !ok {
			return Invalid("website", "That website address doesn't look right. It should start with http:// or https://.")
		}
		d.Website = w
	}
	if err := checkLine("title", d.Title, 300); err != nil {
		return err
	}
	if d.Page == "" {
		return Missing("page", "The page this comment belongs to is missing.")
	}
	if CheckPageKey(d.Page) != nil || CheckPageKey(d.PageURL) != nil {
		return Invalid("page", "The page address is not valid.")
	}
	return nil
}

// CheckPageKey refuses what no page's key is: more than MaxPageLen bytes,
// invalid UTF-8 or control characters (a NUL above all, which PostgreSQL
// cannot store). Page keys come from addresses and embedders' page ids,
// so both databases must take every key either of them took.
func CheckPageKey(key string) error {
	if len(key) > MaxPageLen || !utf8.ValidString(key) || strings.IndexFunc(key, unicode.IsControl) >= 0 {
		return &ValidationError{Field: "page", Code: "invalid_page_key",
			Message: "The page key is not valid: it must be text of at most 2,000 bytes, without control characters."}
	}
	return nil
}

// MaxIDLen is the longest comment id there is.
const MaxIDLen = 64

// CheckID refuses what cannot be a comment id (Parley's ids are a few
// dozen letters, digits, '-' or '_'), before it reaches a database.
func CheckID(id string) error {
	if id == "" || len(id) > MaxIDLen || strings.IndexFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) >= 0 {
		return Invalid("id", "That is not a comment id.")
	}
	return nil
}

// CheckBody checks a comment's text as typed.
func CheckBody(body string) error {
	if strings.TrimSpace(body) == "" {
		return Missing("body", "Please write a comment.")
	}
	// NUL is never typed by a person, and PostgreSQL cannot store it.
	if !utf8.ValidString(body) || strings.IndexByte(body, 0) >= 0 {
		return Invalid("body", "Your comment contains characters that are not valid text.")
	}
	if utf8.RuneCountInString(body) > MaxBodyLen {
		return &ValidationError{Field: "body", Code: "too_long_body", Message: "Your comment is too long (at most 20,000 characters)."}
	}
	return nil
}

// checkLine refuses single-line fields with invalid UTF-8, control
// characters or more than max characters.
func checkLine(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "This field contains characters that are not valid text.")
	}
	if utf8.RuneCountInString(s) > max {
		return &ValidationError{Field: field, Code: "too_long_" + field, Message: "This is too long."}
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return Invalid(field, "This field must be a single line of text.")
		}
	}
	return nil
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n<>")
}

// normalizeWebsite accepts http(s) URLs, adding "https://" when a reader
// typed a bare host such as "example.com".
func normalizeWebsite(s string) (string, bool) {
	if len(s) > MaxWebsiteLen || !utf8.ValidString(s) || strings.ContainsAny(s, " \t\r\n\"'<>`") {
		return "", false
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", false
	}
	if !strings.Contains(u.Hostname(), ".") && u.Hostname() != "localhost" {
		return "", false
	}
	return u.String(), true
}
