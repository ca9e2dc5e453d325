package spam

import (
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
	})
}
