package spam

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAkismet answers comment-check as Akismet's API documentation says:
// status 200, text/plain, no trailing newline, "invalid" with
// X-akismet-debug-help for a bad key or missing field, the documented
// test triggers, and X-akismet-pro-tip: discard for blatant spam.
// lastForm keeps the last request's form; the slow handler may still run
// while the next request arrives.
type lastForm struct {
	mu sync.Mutex
	v  url.Values
}

func (l *lastForm) get() url.Values {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.v
}

func fakeAkismet(t *testing.T, got *lastForm) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/1.1/comment-check" {
			http.NotFound(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(body))
		if err != nil {
			t.Errorf("body is not a form: %v", err)
		}
		if got != nil && !strings.Contains(form.Get("comment_content"), "SLOW") {
			got.mu.Lock()
			got.v = form
			got.mu.Unlock()
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		answer := func(s string) { io.WriteString(w, s) }
		switch {
		case form.Get("api_key") != "good-key":
			w.Header().Set("X-akismet-debug-help", "We were unable to verify your API key.")
			answer("invalid")
		case form.Get("blog") == "" || form.Get("user_ip") == "":
			w.Header().Set("X-akismet-debug-help", "Empty \"blog\" value")
			answer("invalid")
		case strings.Contains(form.Get("comment_content"), "SLOW"):
			time.Sleep(500 * time.Millisecond)
			answer("false")
		case strings.Contains(form.Get("comment_content"), "ERROR"):
			w.WriteHeader(http.StatusInternalServerError)
		case strings.Contains(form.Get("comment_content"), "WEIRD"):
			answer("Invalid Key")
		case form.Get("user_role") == "administrator":
			answer("false")
		case form.Get("comment_content") == "blatant":
			w.Header().Set("X-akismet-pro-tip", "discard")
			answer("true")
		case form.Get("comment_author") == "viagra-test-123", form.Get("comment_author_email") == "akismet-guaranteed-spam@example.com":
			answer("true")
		default:
			answer("false")
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAkismetChecker(t *testing.T) {
	var last lastForm
	srv := fakeAkismet(t, &last)
	base := func() *AkismetChecker {
		return &AkismetChecker{Endpoint: srv.URL + "/", Key: "good-key", Blog: "https://news.example", Timeout: 200 * time.Millisecond, HTTPClient: srv.Client()}
	}
	in := func(body string) *Input {
		return &Input{Body: body, IP: "192.0.2.1", UserAgent: "Mozilla/5.0", AuthorName: "Ann", PageURL: "https://news.example/a"}
	}
	tests := []struct {
		name    string
		ak      func(*AkismetChecker)
		in      *Input
		want    Action
		wantErr string
	}{
		{"ham", nil, in("Nice piece."), Publish, ""},
		{"spam by test author", nil, &Input{Body: "x", IP: "192.0.2.1", AuthorName: "viagra-test-123"}, Spam, ""},
		{"spam by test e-mail", nil, &Input{Body: "x", IP: "192.0.2.1", Email: "akismet-guaranteed-spam@example.com"}, Spam, ""},
		{"blatant spam, discard not allowed", nil, in("blatant"), Spam, ""},
		{"blatant spam, discard allowed", func(a *AkismetChecker) { a.AllowDiscard = true }, in("blatant"), Discard, ""},
		{"bad key", func(a *AkismetChecker) { a.Key = "wrong" }, in("hi"), Publish, "unable to verify your API key"},
		{"missing blog", func(a *AkismetChecker) { a.Blog = "" }, in("hi"), Publish, "Empty \"blog\" value"},
		{"server error", nil, in("ERROR"), Publish, "HTTP 500"},
		{"unexpected body", nil, in("WEIRD"), Publish, "unexpected answer"},
		{"timeout", nil, in("SLOW"), Publish, "did not answer within"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base()
			if tt.ak != nil {
				tt.ak(a)
			}
			v, err := a.Check(context.Background(), tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if v.Layer != "akismet" {
					t.Errorf("failed verdict has layer %q", v.Layer)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Action != tt.want || v.Layer != "akismet" {
				t.Errorf("got %+v, want %v", v, tt.want)
			}
		})
	}

	// The documented fields are sent.
	a := base()
	a.IsTest = true
	created := time.Date(2024, 6, 6, 10, 0, 0, 0, time.UTC)
	if _, err := a.Check(context.Background(), &Input{Body: "Body text", IP: "192.0.2.7", UserAgent: "UA/1", AuthorName: "Ann",
		Email: "ann@example.com", Website: "https://ann.example", PageURL: "https://news.example/p", Created: created, Honeypot: "filled"}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"api_key": "good-key", "blog": "https://news.example", "user_ip": "192.0.2.7", "user_agent": "UA/1",
		"permalink": "https://news.example/p", "comment_type": "comment", "comment_author": "Ann",
		"comment_author_email": "ann@example.com", "comment_author_url": "https://ann.example", "comment_content": "Body text",
		"comment_date_gmt": "2024-06-06T10:00:00Z", "blog_charset": "UTF-8", "is_test": "1",
		"honeypot_field_name": honeypotField, honeypotField: "filled",
	}
	form := last.get()
	for k, v := range want {
		if got := form.Get(k); got != v {
			t.Errorf("field %s = %q, want %q", k, got, v)
		}
	}
}

func TestAkismetChecker_InPipelineHolds(t *testing.T) {
	srv := fakeAkismet(t, nil)
	p := &Pipeline{Layers: []Checker{&AkismetChecker{Endpoint: srv.URL, Key: "wrong", Blog: "https://b.example", HTTPClient: srv.Client()}}}
	res, err := p.Run(context.Background(), &Input{Body: "hi", IP: "192.0.2.1"})
	if err == nil || res.Action != Hold || res.Layer != "akismet" {
		t.Errorf("got %+v, %v; want a hold by akismet and the error", res.Verdict, err)
	}
}
