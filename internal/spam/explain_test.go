package spam

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/publicdata"
)

func TestExplain(t *testing.T) {
	rs := []comment.Reason{NewReason("links_over_limit", "n", "4", "limit", "2"), NewReason("phone_support", "word", "support")}
	tests := map[string]string{
		"en":    `held: 4 links (limit 2); phone number with "support"`,
		"en-GB": `held: 4 links (limit 2); phone number with "support"`,
		"ar":    `محجوز: عدد الروابط 4 (الحد 2)؛ رقم هاتف مع كلمة "support"`,
		"pt":    `held: 4 links (limit 2); phone number with "support"`, // no Portuguese table: English
	}
	for lang, want := range tests {
		if got := Explain(rs, lang); got != want {
			t.Errorf("Explain(%s) = %q, want %q", lang, got, want)
		}
	}
	// A code from a newer Parley is shown, not hidden.
	if got := Explain([]comment.Reason{NewReason("from_the_future", "x", "1")}, "en"); got != "from_the_future x=1" {
		t.Errorf("unknown code: %q", got)
	}
	if got := Explain(nil, "en"); got != "" {
		t.Errorf("no reasons: %q", got)
	}
}

// TestReasonCodesHaveWords finds every reason code the spam layers, the
// service and the Akismet API give, and checks each has words in every
// translation table, with the placeholders its arguments fill.
func TestReasonCodesHaveWords(t *testing.T) {
	root, err := publicdata.Root()
	if err != nil {
		t.Fatal(err)
	}
	// NewReason("code", "arg", ...), add(points, "code", "arg", ...),
	// record(layer, "code", "arg", ...), and rules' spam/hold(score, "code", ...).
	re := regexp.MustCompile(`(?:NewReason\(|add\([A-Za-z]+, |record\([^,]+, |spam\([0-9.]+, |hold\()"([a-z_]+)"((?:, "[a-z]+", [^,)]+)*)`)
	argRE := regexp.MustCompile(`, "([a-z]+)", `)
	codes := map[string][]string{}
	for _, dir := range []string{"internal/spam", "internal/service", "internal/akismet"} {
		files, _ := filepath.Glob(filepath.Join(root, dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				var args []string
				for _, a := range argRE.FindAllStringSubmatch(m[2], -1) {
					args = append(args, a[1])
				}
				codes[m[1]] = args
			}
		}
	}
	// Built from a prefix: "rate_limited_" + the limit's key.
	delete(codes, "rate_limited_")
	codes["rate_limited_ip"], codes["rate_limited_email"] = []string{"retry"}, []string{"retry"}
	if len(codes) < 50 {
		t.Fatalf("found only %d reason codes; is the pattern still right?", len(codes))
	}
	for _, lang := range i18n.Languages() {
		tb := i18n.Get(lang)
		for code, args := range codes {
			key := "reason." + code
			if !tb.Has(key) {
				t.Errorf("%s: no words for %s", lang, key)
				continue
			}
			text := tb.T(key)
			for _, a := range args {
				if !strings.Contains(text, "{"+a+"}") {
					t.Errorf("%s: %s does not show its argument {%s}: %q", lang, key, a, text)
				}
			}
		}
	}
}

// TestClassify_Reasons: the classifier's verdict says its score and the
// features that weighed most, in words.
func TestClassify_Reasons(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	site := NewSiteModel(m)
	v := site.Classify(&Input{Body: "Check out my channel and subscribe!! http://bit.ly/xyz"})
	if v.Action != Spam || !v.Unconfirmed || len(v.Reasons) < 3 || v.Reasons[0].Code != "classifier_spam" {
		t.Fatalf("verdict %+v", v)
	}
	text := v.Reason()
	for _, want := range []string{"classifier: reads like spam (score 0.9", `"subscribe"`, "links: 1"} {
		if !strings.Contains(text, want) {
			t.Errorf("reasons %q lack %q", text, want)
		}
	}
	v = site.Classify(&Input{Body: "The city council should have published the budget before the vote."})
	if v.Action != Publish || v.Reasons[0].Code != "classifier_ham" || !strings.Contains(v.Reason(), "score 0.0") {
		t.Errorf("ham verdict %+v", v)
	}
}
