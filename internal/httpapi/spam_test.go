package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/ratelimit"
	"parley/internal/service"
	"parley/internal/spam"
)

func spamServer(t *testing.T, perIP ratelimit.Limit) *testServer {
	model, err := spam.Default()
	if err != nil {
		t.Fatal(err)
	}
	return newTestServerWith(t, service.Options{Spam: &service.SpamOptions{Model: model, Buckets: ratelimit.NewMemory(100), PerIP: perIP}})
}

func TestRateLimit(t *testing.T) {
	ts := spamServer(t, ratelimit.Limit{Burst: 1, Every: time.Minute})
	resp, body := ts.do(t, "POST", "/api/v1/sites/news/comments", post(nil), nil)
	if resp.StatusCode != 201 {
		t.Fatalf("first post = %d %s", resp.StatusCode, body)
	}
	resp, body = ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"body": "and again, quickly"}), nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || decode[apiErr](t, body).Error.Code != "rate_limited" {
		t.Fatalf("second post = %d %v %s", resp.StatusCode, resp.Header, body)
	}
}

func TestFormPost_BotTraps(t *testing.T) {
	ts := spamServer(t, ratelimit.Limit{})
	// A bot fills the hidden field and posts at once.
	form := formPost(ts.formToken(t), map[string]string{"body": "Great article about the buses, thanks for writing it."})
	form.Set("phone", "555-0100")
	resp, body := ts.do(t, "POST", "/sites/news/comments", form, map[string]string{"Origin": origin})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("= %d %s", resp.StatusCode, body)
	}
	// The bot is told it is held, and learns nothing more.
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "parley_held=") {
		t.Fatalf("redirect %q does not say held", loc)
	}
	cs, err := ts.svc.Queue(context.Background(), service.OperatorActor(), "news", service.Query{Status: comment.StatusSpam, Limit: 10})
	if err != nil || len(cs.Cards) != 1 || cs.Cards[0].Comment.Verdict.Layer != "traps" {
		t.Fatalf("spam folder = %+v, %v", cs, err)
	}
	_, body = ts.do(t, "GET", "/api/v1/sites/news/counts?page="+url.QueryEscape(origin+"/story"), nil, nil)
	if !strings.Contains(string(body), ":0}") {
		t.Fatalf("bot comment published: %s", body)
	}
}
