package spam

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestRuleChecker(t *testing.T) {
	rules := Rules{
		BlockedWords:   []string{"casino", "Cheap Pills"},
		HoldWords:      []string{"lawsuit"},
		BlockedDomains: []string{"spam.example", "https://www.bad.example/"},
		BlockedEmails:  []string{"pest@mail.example", "@junk.example"},
		BlockedIPs:     []string{"203.0.113.0/24", "2001:db8:bad::/48", "198.51.100.7"},
	}
	tests := []struct {
		name string
		in   Input
		want Action
	}{
		{"blocked word before a hyphen", Input{Body: "A fine article about the casino-free town."}, Spam},
		{"really clean", Input{Body: "A fine article about the new library."}, Publish},
		{"word inside a word is fine", Input{Body: "occasionally"}, Publish},
		{"blocked phrase across spacing and case", Input{Body: "buy CHEAP   pills now"}, Spam},
		{"blocked word in the name", Input{Body: "hello", AuthorName: "Casino Royale"}, Spam},
		{"hold word", Input{Body: "I will file a lawsuit"}, Hold},
		{"blocked domain in a link", Input{Body: "see http://www.spam.example/page"}, Spam},
		{"blocked subdomain", Input{Body: "see https://shop.bad.example"}, Spam},
		{"lookalike domain is fine", Input{Body: "see https://notspam.example"}, Publish},
		{"blocked website", Input{Body: "hi", Website: "https://spam.example"}, Spam},
		{"blocked address", Input{Body: "hi", Email: "Pest@Mail.example"}, Spam},
		{"blocked mail domain", Input{Body: "hi", Email: "a@sub.junk.example"}, Spam},
		{"other address", Input{Body: "hi", Email: "friend@mail.example"}, Publish},
		{"blocked range", Input{Body: "hi", IP: "203.0.113.99"}, Spam},
		{"blocked v6 range", Input{Body: "hi", IP: "2001:db8:bad:1::5"}, Spam},
		{"blocked single address, v4-mapped", Input{Body: "hi", IP: "::ffff:198.51.100.7"}, Spam},
		{"address outside", Input{Body: "hi", IP: "203.0.114.1"}, Publish},
		{"two links", Input{Body: "http://a.example and http://b.example"}, Publish},
		{"three links hold", Input{Body: "http://a.example http://b.example http://c.example"}, Hold},
		{"reference links do not count", Input{Body: "https://en.wikipedia.org/wiki/A https://www.bbc.co.uk/b https://www.nasa.gov/c http://a.example"}, Publish},
		{"nor do the site's own", Input{Body: "http://a.example/1 http://news.example/2 http://www.news.example/3", Origins: []string{"https://news.example"}}, Publish},
		{"seven links: spam once another layer agrees", Input{Body: strings.Repeat("http://a.example/x ", 7)}, Spam},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewRuleChecker(rules, nil)
			if err != nil {
				t.Fatal(err)
			}
			v, err := c.Check(context.Background(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if v.Action != tt.want {
				t.Errorf("got %v (%s), want %v", v.Action, v.Reason(), tt.want)
			}
			if v.Action != Publish && (len(v.Reasons) == 0 || v.Layer != "rules" || !v.Evidence) {
				t.Errorf("verdict %+v lacks layer, reason or evidence", v)
			}
			if strings.Contains(v.Reason(), "pest@") {
				t.Errorf("reason repeats the address: %q", v.Reason())
			}
		})
	}
}

func TestNewRuleChecker_Errors(t *testing.T) {
	tests := []struct {
		name  string
		rules Rules
	}{
		{"bad range", Rules{BlockedIPs: []string{"300.1.2.3/8"}}},
		{"not an address", Rules{BlockedIPs: []string{"example.com"}}},
		{"bad domain", Rules{BlockedDomains: []string{"two words"}}},
		{"bad email", Rules{BlockedEmails: []string{"a@b@c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewRuleChecker(tt.rules, nil); err == nil {
				t.Error("want an error")
			}
		})
	}
}

func TestRuleChecker_Duplicates(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	dups := NewDuplicates(1000)
	c, err := NewRuleChecker(Rules{SiteDuplicates: 3}, dups)
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return now }
	check := func(in Input) Action {
		t.Helper()
		v, err := c.Check(context.Background(), &in)
		if err != nil {
			t.Fatal(err)
		}
		return v.Action
	}
	long := "I think the council got this one badly wrong."
	steps := []struct {
		name string
		in   Input
		want Action
	}{
		{"first", Input{SiteID: "a", Body: long, IP: "192.0.2.1"}, Publish},
		{"same text, same address", Input{SiteID: "a", Body: "  i think THE council got this one badly wrong\ufeff", IP: "192.0.2.1"}, Spam},
		{"same text on another site", Input{SiteID: "b", Body: long, IP: "192.0.2.9"}, Publish},
		{"same text, new sender: third on the site", Input{SiteID: "a", Body: long, IP: "192.0.2.2"}, Spam},
		{"short text from others is fine", Input{SiteID: "a", Body: "Thanks!", IP: "192.0.2.3"}, Publish},
		{"short text again from others", Input{SiteID: "a", Body: "thanks", IP: "192.0.2.4"}, Publish},
		{"short text, same e-mail", Input{SiteID: "a", Body: "Thanks!", Email: "x@example.com"}, Publish},
		{"short text, same e-mail again", Input{SiteID: "a", Body: "thanks", Email: "X@example.com"}, Spam},
	}
	for _, s := range steps {
		if got := check(s.in); got != s.want {
			t.Errorf("%s: got %v, want %v", s.name, got, s.want)
		}
	}
	now = now.Add(2 * time.Hour)
	if got := check(Input{SiteID: "a", Body: long, IP: "192.0.2.1"}); got != Publish {
		t.Errorf("after the window: %v, want publish", got)
	}
}

// TestRuleChecker_OtherSites: the same text on other sites of the server
// is evidence, and held from the third other site on.
func TestRuleChecker_OtherSites(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	c, err := NewRuleChecker(Rules{}, NewDuplicates(1000))
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return now }
	text := "Amazing article, visit my page for the full story on this."
	for i, want := range []struct {
		action   Action
		evidence bool
		code     string
	}{{Publish, false, ""}, {Publish, true, "repeat_sites"}, {Publish, true, "repeat_sites"}, {Hold, true, "duplicate_sites"}} {
		v, _ := c.Check(context.Background(), &Input{SiteID: "site" + itoa(i), Body: text, IP: "192.0.2." + itoa(i+1)})
		code := ""
		if len(v.Reasons) > 0 {
			code = v.Reasons[0].Code
		}
		if v.Action != want.action || v.Evidence != want.evidence || code != want.code {
			t.Errorf("site %d: %v, evidence %v, %q; want %v, %v, %q", i, v.Action, v.Evidence, code, want.action, want.evidence, want.code)
		}
	}
}

func TestDuplicates_Bounded(t *testing.T) {
	d := NewDuplicates(100)
	now := time.Now()
	for i := range 10_000 {
		d.Observe(&Input{SiteID: "a", Body: strings.Repeat("word ", 3) + itoa(i) + " and more words"}, now, time.Hour)
	}
	if d.Len() > 100 {
		t.Errorf("remembers %d texts, want at most 100", d.Len())
	}
}
