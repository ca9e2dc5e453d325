package akismet

import (
	"context"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/service"
)

// TestCommentCheck_SanctionsAndSiteRules: a site's bans reach the
// Akismet-compatible API too: a banned sender's comment is spam ("true"),
// a blocked word of the site's own rules is spam, a word the site holds
// is "not sure yet" (false with a recheck), and a warned reader's
// comment goes through (warnings are for comments posted to Parley).
func TestCommentCheck_SanctionsAndSiteRules(t *testing.T) {
	ts := newTestAPI(t)
	ctx, op := context.Background(), service.OperatorActor()
	for _, n := range []service.NewSanction{
		{Match: comment.MatchEmail, Value: "troll@example.org"},
		{Match: comment.MatchIP, Value: "203.0.113.0/24"},
		{Match: comment.MatchIP, Value: "2001:db8::/32", Kind: comment.SanctionSuspend, Until: time.Now().Add(24 * time.Hour)},
		{Match: comment.MatchEmail, Value: "warned@example.org", Kind: comment.SanctionWarn, Message: "Mind your manners."},
	} {
		if _, err := ts.svc.AddSanction(ctx, op, "news", n); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.svc.SetSiteRules(ctx, op, "news", comment.SiteRules{BlockedWords: []string{"press"}, HoldWords: []string{"crypto"}}); err != nil {
		t.Fatal(err)
	}
	const fine = "The new bus timetable is a real improvement for people who work early shifts."
	key := ts.keys["news"]
	for _, tc := range []struct {
		name    string
		ip      string
		text    string
		kv      []string
		body    string
		recheck bool
	}{
		{"banned email", "192.0.2.1", fine, []string{"comment_author_email", "Troll@example.org"}, "true", false},
		{"banned range", "203.0.113.77", fine, nil, "true", false},
		{"suspended v6 range", "2001:db8:5::9", fine, nil, "true", false},
		{"blocked word", "192.0.2.1", "The press release said nothing about it, which is typical of them.", nil, "true", false},
		{"WordPress is not press", "192.0.2.1", "I built my blog with WordPress years ago and it still works fine.", nil, "false", false},
		{"held word", "192.0.2.1", "Crypto is a subject for another article, surely not this one.", nil, "false", true},
		{"warned reader", "192.0.2.1", fine, []string{"comment_author_email", "warned@example.org"}, "false", false},
		{"another site", "203.0.113.77", fine, nil, "false", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := key
			if tc.name == "another site" {
				k = ts.keys["other"]
			}
			resp, body := ts.post(t, "/1.1/comment-check", checkFields(k, tc.ip, tc.text, tc.kv...))
			if body != tc.body || (resp.Header.Get("X-akismet-recheck-after") != "") != tc.recheck {
				t.Fatalf("comment-check = %q, recheck %q; want %q, recheck %v", body, resp.Header.Get("X-akismet-recheck-after"), tc.body, tc.recheck)
			}
		})
	}
}
