package akismet

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadParams: whatever arrives, reading it neither panics nor passes
// on invalid UTF-8, and the answer headers stay printable ASCII.
func FuzzReadParams(f *testing.F) {
	f.Add("api_key=k&blog=https%3A%2F%2Fb.example&user_ip=1.2.3.4&comment_content=caf%E9", "application/x-www-form-urlencoded", "blog_charset=ISO-8859-1", "k.rest.akismet.com")
	f.Add("--b\r\nContent-Disposition: form-data; name=\"api_key\"\r\n\r\nk\r\n--b--\r\n", "multipart/form-data; boundary=b", "", "127.0.0.1:80")
	f.Add("%zz&&==;\x00\xff", "charset=utf-8", "key=%ff&honeypot_field_name=x&x=1", "[::1]:8080")
	f.Fuzz(func(t *testing.T, body, contentType, query, host string) {
		r := httptest.NewRequest("POST", "/1.1/comment-check", strings.NewReader(body))
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", contentType)
		r.Host = host
		p, err := readParams(httptest.NewRecorder(), r)
		if err != nil {
			return
		}
		for k, vs := range p {
			for _, v := range vs {
				if !utf8.ValidString(k) || !utf8.ValidString(v) {
					t.Fatalf("invalid UTF-8 in %q=%q", k, v)
				}
			}
		}
		in := input(p)
		_ = parseDate(p.Get("comment_date_gmt"))
		_ = blogHost(p.Get("blog"))
		if !utf8.ValidString(in.Body) || !utf8.ValidString(in.Honeypot) {
			t.Fatal("invalid UTF-8 in the input")
		}
		apiKey(p, host)
	})
}
