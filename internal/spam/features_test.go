package spam

import (
	"context"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"plain words", "Hello World", []string{"hello", "world"}},
		{"U+FEFF and zero-width space dropped", "Cool\ufeff song\u200b", []string{"cool", "song"}},
		{"HTML entities decoded", "I&#39;m here &amp; there &quot;ok&quot;", []string{"im", "here", "there", "ok"}},
		{"apostrophes dropped", "don’t can't", []string{"dont", "cant"}},
		{"repeats squeezed", "soooo goooood!!!", []string{"soo", "good"}},
		{"tags dropped, href kept", `love it<br />see <a href="https://www.Example.com/x">this</a>`, []string{"love", "it", "see", "<link:example.com>", "this"}},
		{"bare domain", "visit image2you.ru/48051 now", []string{"visit", "<link:image2you.ru>", "now"}},
		{"bare com domain", "go to example.com.", []string{"go", "to", "<link:example.com>"}},
		{"numbers are not domains", "2.000.000 views", []string{"2", "000", "000", "views"}},
		{"www link", "www.youniqueproducts.com/joanna", []string{"<link:youniqueproducts.com>"}},
		{"markdown link", "[my site](http://spam.example/buy)", []string{"my", "site", "<link:spam.example>"}},
		{"markdown reference link", "Try [Purenitro max][1] now\r\n\r\n  [1]: http://x4up.example/p", []string{"try", "purenitro", "max", "1", "now", "1", "<link:x4up.example>"}},
		{"markdown autolink", "see <https://www.example.org/a?b=c> too", []string{"see", "<link:example.org>", "too"}},
		{"HTML-escaped once, then read", "it&#39;s &lt;b&gt;", []string{"its", "b"}},
		{"no-break spaces", "a\u00a0b&nbsp;c", []string{"a", "b", "c"}},
		{"emoji are words", "nice 👍👍", []string{"nice", "👍", "👍"}},
		{"other scripts", "강남스타일 Привет", []string{"강남스타일", "привет"}},
		{"empty", "", nil},
		{"only punctuation", "!!! ...", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Tokenize(tt.in)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Tokenize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFeatures_Structure(t *testing.T) {
	has := func(body, name string) bool {
		var f features
		f.extract(body, "")
		want := mix(hashString(hashStart(nsStruct), name))
		return slices.Contains(f.struc, want)
	}
	tests := []struct {
		body, feature string
		want          bool
	}{
		{"check out my new channel please", "promo:self", true},
		{"subscribe to me guys", "promo:cta", true},
		{"I love this channel's music", "promo:self", false},
		{"CHECK THIS OUT NOW PLEASE", "caps:90", true},
		{"call 555-123-4567 now", "phone", true},
		{"call (888) 555 0199 now", "phone", true},
		{"toll free +1.877.555.0123 support", "phone+support", true},
		{"posted 2016-03-02 14:29:13", "phone", false},
		{"call 555-123-4567 now", "phone+support", false},
		{"see https://en.wikipedia.org/wiki/Regex and https://www.bbc.co.uk/news", "urls:0", true},
		{"see https://blog.example/other-post", "urls:1", true},
		{"line one\nline two\nline three", "paras:0", true},
		{"one\n\ntwo", "paras:1", true},
		{"<p>one</p><p>two</p><p>three</p><p>four</p>", "paras:3", true},
		{"one<br /><br />two", "paras:1", true},
		{"one<br />two", "paras:0", true},
		{"win $500 today", "money", true},
		{"write to me at bob@example.com", "email", true},
		{"follow @someone", "handle", true},
		{"two links http://a.example/x http://b.example/y", "urls:2", true},
		{"no links here", "urls:0", true},
	}
	for _, tt := range tests {
		if got := has(tt.body, tt.feature); got != tt.want {
			t.Errorf("%q has %s = %v, want %v", tt.body, tt.feature, got, tt.want)
		}
	}
}

// TestFeatures_OwnOrigins: a link to the site itself is no link for the
// classifier, as a link to a reference site is not.
func TestFeatures_OwnOrigins(t *testing.T) {
	var f features
	f.own = appendOwn(nil, []string{"https://www.blog.example:8443"})
	f.extract("more in https://blog.example/other-post and https://news.blog.example/x", "")
	if f.nURLs != 0 {
		t.Errorf("links to the site's own origins counted: %d", f.nURLs)
	}
	f.own = nil
	f.extract("more in https://blog.example/other-post", "")
	if f.nURLs != 1 {
		t.Errorf("without origins: %d links", f.nURLs)
	}
}

func TestRegistered(t *testing.T) {
	for host, want := range map[string]string{
		"news.bbc.co.uk":                "bbc.co.uk",
		"m.youtube.com":                 "youtube.com",
		"someone.blogspot.com":          "someone.blogspot.com",
		"shop.example.com.br":           "example.com.br",
		"www.gov.uk":                    "www.gov.uk",
		"localhost":                     "localhost",
		"192.0.2.1":                     "192.0.2.1",
		"zhonghuahui18.com":             "zhonghuahui18.com",
		"datascience.stackexchange.com": "stackexchange.com",
	} {
		if got := registered(host); got != want {
			t.Errorf("registered(%q) = %q, want %q", host, got, want)
		}
	}
	for reg, want := range map[string]bool{
		"wikipedia.org": true, "bbc.co.uk": true, "nasa.gov": true, "ox.ac.uk": true, "www.gov.uk": true, "mit.edu": true,
		"stackoverflow.com": true, "example.com": false, "gov.example.com": false, "bit.ly": false, "youtube.com": false,
	} {
		if got := isReference(reg); got != want {
			t.Errorf("isReference(%q) = %v", reg, got)
		}
	}
}

func TestFeatures_Dedupe(t *testing.T) {
	var f features
	f.extract("plz plz plz plz plz", "")
	n := len(f.text)
	f.extract("plz", "")
	if n > 2*len(f.text)+4 {
		t.Errorf("repeating a word grew the features from %d to %d", len(f.text), n)
	}
	seen := map[uint32]bool{}
	f.extract("a b a b a b "+strings.Repeat("▬", 50), "")
	for _, h := range f.text {
		if seen[h] {
			t.Fatalf("feature %x appears twice", h)
		}
		seen[h] = true
	}
}

func FuzzTokenize(f *testing.F) {
	for _, s := range []string{
		"Check out my channel http://x.example/a?b=c&amp;d",
		"<a href=\"https://youtu.be/x\">2:19</a> best part\ufeff",
		"&#39;&#x41;&lt;&bogus;&", "<", "<a href='", "www.", "a.b/", "😀\u200d😀", "\xff\xfe",
		strings.Repeat("a", 100),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks := Tokenize(s)
		for _, tok := range toks {
			if tok == "" {
				t.Fatalf("empty token from %q", s)
			}
			if !utf8.ValidString(tok) && utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 token %q from valid %q", tok, s)
			}
			if strings.ContainsRune(tok, ' ') {
				t.Fatalf("token %q contains a space", tok)
			}
		}
		var feats features
		feats.extract(s, s)
		if w := feats.textWeight(); w < 0 || w > 1 {
			t.Fatalf("text weight %v", w)
		}
		// The blog-spam signals read the name and the website too.
		v, err := (&Signals{}).Check(context.Background(), &Input{Body: s, AuthorName: s, Website: s})
		if err != nil || v.Action > Hold || v.Score < 0 || v.Score > 1 {
			t.Fatalf("signals on %q: %+v, %v", s, v, err)
		}
		Explain(v.Reasons, "ar")
	})
}
