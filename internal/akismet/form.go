package akismet

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"parley/internal/spam"
)

// readParams returns the request's fields: the body's, whatever the
// Content-Type says, then the query string's. Go's ParseForm would skip a
// body that is not labelled as a form, and real clients label theirs
// "charset=utf-8" or not at all. Parsing is as lenient as PHP's: a
// malformed pair is skipped, the rest is kept. Every value is made valid
// UTF-8, decoding Latin-1 first when blog_charset says so.
func readParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	p := url.Values{}
	if r.Body != nil {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			return nil, err
		}
		if len(body) > 0 && !readMultipart(p, r.Header.Get("Content-Type"), body) {
			addQuery(p, string(bytes.TrimRight(body, "\r\n")))
		}
	}
	addQuery(p, r.URL.RawQuery)
	latin1 := isLatin1(p.Get("blog_charset"))
	for k, vs := range p {
		for i, v := range vs {
			if !utf8.ValidString(v) {
				if latin1 {
					vs[i] = fromLatin1(v)
				} else {
					vs[i] = strings.ToValidUTF8(v, "\uFFFD")
				}
			}
		}
		if !utf8.ValidString(k) {
			delete(p, k) // no field we read has such a name
		}
	}
	return p, nil
}

// readMultipart adds the fields of a multipart/form-data body (PHP's curl
// sends one when given an array) and reports whether it was one.
func readMultipart(p url.Values, contentType string, body []byte) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return false
	}
	form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(maxBody)
	if err != nil {
		return false
	}
	defer form.RemoveAll()
	for k, vs := range form.Value {
		p[k] = append(p[k], vs...)
	}
	return true
}

func addQuery(p url.Values, s string) {
	q, _ := url.ParseQuery(s) // keeps every pair it could read
	for k, vs := range q {
		p[k] = append(p[k], vs...)
	}
}

func isLatin1(charset string) bool {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "windows-1252", "cp1252":
		return true
	}
	return false
}

// fromLatin1 decodes ISO-8859-1 (windows-1252's printable range differs
// only in 0x80–0x9F, rare in comments).
func fromLatin1(s string) string {
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

// apiKey returns the request's key: the api_key field, else key, else the
// host name's first label when the request has no key field; fromHost
// says it came from the host name.
func apiKey(p url.Values, host string) (key string, fromHost bool) {
	for _, name := range []string{"api_key", "key"} {
		if k := strings.TrimSpace(p.Get(name)); k != "" {
			return k, false
		}
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" || strings.HasPrefix(host, "[") || net.ParseIP(host) != nil {
		return "", false
	}
	label, rest, ok := strings.Cut(host, ".")
	if !ok || label == "" || rest == "" {
		return "", false
	}
	return label, true
}

// knownFields are the protocol's own fields; a honeypot_field_name naming
// one of them is ignored rather than read as a filled trap.
var knownFields = map[string]bool{
	"api_key": true, "key": true, "blog": true, "user_ip": true, "user_agent": true, "referrer": true,
	"permalink": true, "comment_type": true, "comment_author": true, "comment_author_email": true,
	"comment_author_url": true, "comment_content": true, "comment_date_gmt": true,
	"comment_post_modified_gmt": true, "blog_lang": true, "blog_charset": true, "user_role": true,
	"is_test": true, "recheck_reason": true, "honeypot_field_name": true,
}

// input maps the protocol's fields to what Parley's spam layers read.
func input(p url.Values) *spam.Input {
	in := &spam.Input{
		Body:       p.Get("comment_content"),
		AuthorName: strings.TrimSpace(p.Get("comment_author")),
		Email:      strings.TrimSpace(p.Get("comment_author_email")),
		Website:    strings.TrimSpace(p.Get("comment_author_url")),
		IP:         strings.TrimSpace(p.Get("user_ip")),
		UserAgent:  p.Get("user_agent"),
		PageURL:    strings.TrimSpace(p.Get("permalink")),
		Created:    parseDate(p.Get("comment_date_gmt")),
	}
	if name := strings.TrimSpace(p.Get("honeypot_field_name")); name != "" && !knownFields[name] {
		in.Honeypot = p.Get(name)
	}
	// The client's blog is the site the comment was posted to: links to it
	// are no spam signal.
	if blog := strings.TrimSpace(p.Get("blog")); blog != "" {
		in.Origins = []string{blog}
	}
	return in
}

// dateLayouts are the forms comment_date_gmt arrives in: ISO 8601 with or
// without a fraction or zone (JavaScript's toJSON gives milliseconds and
// Z), and WordPress's "2016-03-02 14:29:13". A time without a zone is UTC,
// as the field's name says.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02",
}

// parseDate returns the time, or the zero time when it is missing or
// unreadable (the field is optional).
func parseDate(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// blogHost is the host name of the blog field, for the key-sites report.
func blogHost(blog string) string {
	blog = strings.TrimSpace(blog)
	if u, err := url.Parse(blog); err == nil && u.Hostname() != "" {
		return strings.ToLower(u.Hostname())
	}
	if u, err := url.Parse("http://" + blog); err == nil && u.Hostname() != "" {
		return strings.ToLower(u.Hostname())
	}
	return ""
}
