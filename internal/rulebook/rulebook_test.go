package rulebook

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/markup"
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func sanction(id string, kind comment.SanctionKind, match comment.MatchKind, value string) *comment.Sanction {
	v, err := comment.NormalizeMatch(match, value)
	if err != nil {
		panic(err)
	}
	return &comment.Sanction{ID: id, Kind: kind, Match: match, Value: v, Created: now.Add(-time.Hour)}
}

func TestSanctions(t *testing.T) {
	ended := sanction("ended", comment.SanctionBan, comment.MatchEmail, "old@example.org")
	ended.Until = now.Add(-time.Minute)
	lifted := sanction("lifted", comment.SanctionBan, comment.MatchEmail, "lifted@example.org")
	lifted.Lifted = now.Add(-time.Minute)
	seen := sanction("seen", comment.SanctionWarn, comment.MatchEmail, "seen@example.org")
	seen.Seen = now.Add(-time.Minute)
	b, err := Compile([]*comment.Sanction{
		sanction("id", comment.SanctionBan, comment.MatchIdentity, "github:42"),
		sanction("mail", comment.SanctionSuspend, comment.MatchEmail, "Troll@Example.org"),
		sanction("dom", comment.SanctionBan, comment.MatchEmailDomain, "@spam.example"),
		sanction("net4", comment.SanctionBan, comment.MatchIP, "203.0.113.0/24"),
		sanction("net6", comment.SanctionBan, comment.MatchIP, "2001:db8::/32"),
		sanction("one", comment.SanctionPremod, comment.MatchIP, "198.51.100.7"),
		sanction("hash", comment.SanctionBan, comment.MatchIPHash, "00ff00ff00ff"),
		sanction("warn", comment.SanctionWarn, comment.MatchIdentity, "github:7"),
		sanction("premod7", comment.SanctionPremod, comment.MatchEmail, "seven@example.org"),
		ended, lifted, seen,
	}, comment.SiteRules{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		a    Author
		want string // ids, strictest first
	}{
		{"nobody", Author{Email: "ana@example.org", IP: "192.0.2.1"}, ""},
		{"log-in", Author{Identity: "github:42"}, "id"},
		{"same name elsewhere", Author{Identity: "gitlab:42"}, ""},
		{"email, any case given lower", Author{Email: "troll@example.org"}, "mail"},
		{"domain", Author{Email: "x@spam.example"}, "dom"},
		{"subdomain", Author{Email: "x@mail.spam.example"}, "dom"},
		{"not a subdomain", Author{Email: "x@notspam.example"}, ""},
		{"range v4", Author{IP: "203.0.113.200"}, "net4"},
		{"next to the range", Author{IP: "203.0.114.1"}, ""},
		{"v4-mapped v6", Author{IP: "::ffff:203.0.113.9"}, "net4"},
		{"range v6", Author{IP: "2001:db8:1::5"}, "net6"},
		{"single address", Author{IP: "198.51.100.7"}, "one"},
		{"a neighbour of it", Author{IP: "198.51.100.70"}, ""},
		{"address hash", Author{IPHash: "00ff00ff00ff"}, "hash"},
		{"strictest first", Author{Identity: "github:7", Email: "seven@example.org", IP: "203.0.113.1"}, "net4 premod7 warn"},
		{"ended, lifted, seen", Author{Email: "old@example.org"}, ""},
		{"lifted", Author{Email: "lifted@example.org"}, ""},
		{"seen warning", Author{Email: "seen@example.org"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ids []string
			for _, s := range b.Sanctions(tc.a, now) {
				ids = append(ids, s.ID)
			}
			if got := strings.Join(ids, " "); got != tc.want {
				t.Errorf("Sanctions(%+v) = %q, want %q", tc.a, got, tc.want)
			}
		})
	}
	var nilBook *Book
	if nilBook.Sanctions(Author{Email: "x@y.z"}, now) != nil {
		t.Error("a nil book matched")
	}
}

func TestRules(t *testing.T) {
	b, err := Compile(nil, comment.SiteRules{
		BlockedWords:   []string{"press", "cheap pills", "Viagra", "casino*", "عرض خاص"},
		HoldWords:      []string{"crypto"},
		BlockedDomains: []string{"spam.example", "https://links.example/x"},
		BlockedEmails:  []string{"bad@example.org", "@junk.example"},
		BlockedIPs:     []string{"203.0.113.0/24", "2001:db8::1"},
		HoldLinks:      2,
		SpamLinks:      4,
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(in Input) Verdict {
		if in.HTML == "" {
			in.HTML = markup.Render(in.Body)
		}
		return b.Check(in)
	}
	for _, tc := range []struct {
		name string
		in   Input
		want Action
		rule string
	}{
		{"clean", Input{Body: "The bus runs on time."}, Publish, ""},
		// Whole words: the WordPress blocklist's famous mistake.
		{"WordPress is not press", Input{Body: "I use WordPress and express opinions."}, Publish, ""},
		{"press itself", Input{Body: "The Press was there."}, Spam, "press"},
		{"phrase", Input{Body: "Buy CHEAP   pills, now!"}, Spam, "cheap pills"},
		{"phrase split by a word", Input{Body: "cheap and pills"}, Publish, ""},
		{"phrase across text and name", Input{Body: "so cheap", Name: "pills"}, Publish, ""},
		{"in the name", Input{Body: "hello", Name: "Viagra Sales"}, Spam, "viagra"},
		{"prefix", Input{Body: "Casinos near you"}, Spam, "casino*"},
		{"not a prefix inside a word", Input{Body: "Occasional casual trips"}, Publish, ""},
		{"Arabic phrase", Input{Body: "لدينا عرض خاص اليوم"}, Spam, "عرض خاص"},
		{"hold word", Input{Body: "Crypto is the future"}, Hold, "crypto"},
		{"hold word inside another", Input{Body: "cryptography lecture"}, Publish, ""},
		{"blocked domain link", Input{Body: "see https://www.spam.example/offer"}, Spam, "spam.example"},
		{"blocked domain pasted as a link", Input{Body: "see https://links.example/"}, Spam, "links.example"},
		{"domain as website", Input{Body: "hi", Website: "https://shop.spam.example"}, Spam, "spam.example"},
		{"lookalike domain", Input{Body: "see https://notspam.example/"}, Publish, ""},
		{"blocked email", Input{Body: "hi", Email: "bad@example.org"}, Spam, "example.org"},
		{"blocked email domain", Input{Body: "hi", Email: "x@eu.junk.example"}, Spam, "junk.example"},
		{"blocked range", Input{Body: "hi", IP: "203.0.113.9"}, Spam, "203.0.113.0/24"},
		{"blocked v6 address", Input{Body: "hi", IP: "2001:db8::1"}, Spam, "2001:db8::1/128"},
		{"three links hold", Input{Body: "https://a.example https://b.example https://c.example"}, Hold, "3 links"},
		{"five links spam", Input{Body: "https://a.example https://b.example https://c.example https://d.example https://e.example"}, Spam, "5 links"},
		{"two links fine", Input{Body: "https://a.example and https://b.example"}, Publish, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := check(tc.in)
			if v.Action != tc.want || !strings.Contains(v.Rule, tc.rule) {
				t.Errorf("Check = %+v, want action %d with %q", v, tc.want, tc.rule)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, r := range []comment.SiteRules{
		{BlockedDomains: []string{"not a domain"}},
		{BlockedEmails: []string{"nobody"}},
		{BlockedIPs: []string{"203.0.113.0/33"}},
		{BlockedWords: []string{"ca*"}},
		{BlockedWords: []string{"two words*"}},
		{HoldWords: []string{"*"}},
		{HoldWords: []string{"!!!"}},
		{HoldLinks: -1},
	} {
		if _, err := Compile(nil, r); err == nil {
			t.Errorf("Compile(%+v) accepted", r)
		}
	}
}

// bigBook is a site with 5,000 sanctions and 5,000 rules of every kind.
func bigBook(tb testing.TB) *Book {
	var sanctions []*comment.Sanction
	var r comment.SiteRules
	for i := range 1000 {
		sanctions = append(sanctions,
			sanction(fmt.Sprintf("i%d", i), comment.SanctionBan, comment.MatchIdentity, fmt.Sprintf("github:%d", i)),
			sanction(fmt.Sprintf("e%d", i), comment.SanctionBan, comment.MatchEmail, fmt.Sprintf("troll%d@example.org", i)),
			sanction(fmt.Sprintf("d%d", i), comment.SanctionBan, comment.MatchEmailDomain, fmt.Sprintf("spam%d.example", i)),
			sanction(fmt.Sprintf("n%d", i), comment.SanctionBan, comment.MatchIP, fmt.Sprintf("10.%d.%d.0/%d", i/256, i%256, 20+i%5)),
			sanction(fmt.Sprintf("v%d", i), comment.SanctionBan, comment.MatchIP, fmt.Sprintf("2001:db8:%x::/%d", i, 48+i%3)))
		r.BlockedWords = append(r.BlockedWords, fmt.Sprintf("spamword%d", i), fmt.Sprintf("cheap thing%d", i))
		r.HoldWords = append(r.HoldWords, fmt.Sprintf("holdword%d", i))
		r.BlockedDomains = append(r.BlockedDomains, fmt.Sprintf("bad%d.example", i))
		r.BlockedIPs = append(r.BlockedIPs, fmt.Sprintf("172.16.%d.%d", i/256, i%256))
	}
	b, err := Compile(sanctions, r)
	if err != nil {
		tb.Fatal(err)
	}
	if b.Size() != 10_000 {
		tb.Fatalf("book of %d", b.Size())
	}
	return b
}

// BenchmarkCheck is the cost a new comment pays for a site's 10,000
// sanctions and rules: matching its author and its text (an ordinary
// comment of 600 characters with two links) against all of them.
func BenchmarkCheck(b *testing.B) {
	book := bigBook(b)
	body := strings.Repeat("The council voted on the new bus line without asking the people who ride it every day. ", 6) +
		"Details at https://news.example/bus and https://council.example/minutes."
	in := Input{Body: body, HTML: markup.Render(body), Name: "Ana Reader", Website: "https://ana.example", Email: "ana@example.org", IP: "192.0.2.44"}
	a := Author{Identity: "google:1234", Email: in.Email, IP: in.IP, IPHash: "0123456789ab"}
	b.ReportAllocs()
	for b.Loop() {
		if len(book.Sanctions(a, now)) != 0 || book.Check(in).Action != Publish {
			b.Fatal("an ordinary comment matched")
		}
	}
}

func TestBigBookMatches(t *testing.T) {
	book := bigBook(t)
	if s := book.Sanctions(Author{IP: "10.3.231.77"}, now); len(s) == 0 {
		t.Error("an address in a banned range passed")
	}
	if s := book.Sanctions(Author{IP: "2001:db8:3e7:1::1"}, now); len(s) == 0 {
		t.Error("a v6 address in a banned range passed")
	}
	if v := book.Check(Input{Body: "a cheap thing999 here"}); v.Action != Spam {
		t.Errorf("phrase = %+v", v)
	}
}
