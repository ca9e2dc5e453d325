package markup

import (
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"parley/internal/publicdata"
)

// TestRender_Hostile renders every published XSS payload and naughty string,
// one per comment and each list as one long comment, and checks the output
// of both layers: goldmark alone must already be safe, so that bluemonday is
// a second line of defence and not the only one.
func TestRender_Hostile(t *testing.T) {
	dir := hostileDir(t)

	xss, err := os.ReadFile(filepath.Join(dir, "xss", "xss-payloads.txt"))
	if err != nil {
		t.Fatal(err)
	}
	blnsJSON, err := os.ReadFile(filepath.Join(dir, "naughty-strings", "blns.json"))
	if err != nil {
		t.Fatal(err)
	}
	var blns []string
	if err := json.Unmarshal(blnsJSON, &blns); err != nil {
		t.Fatalf("parse blns.json: %v", err)
	}

	lines := strings.Split(strings.TrimSuffix(string(xss), "\n"), "\n")
	if len(lines) < 5000 || len(blns) < 500 {
		t.Fatalf("hostile lists look truncated: %d payloads, %d naughty strings", len(lines), len(blns))
	}
	inputs := append(lines, blns...)
	inputs = append(inputs, string(xss), strings.Join(blns, "\n"))

	for _, in := range inputs {
		checkSafe(t, in, "goldmark", toHTML(in))
		out := Render(in)
		checkSafe(t, in, "Render", out)
		checkTextKept(t, in, out)
		if t.Failed() {
			// One broken property usually breaks hundreds of payloads;
			// the first is enough to see why.
			return
		}
	}
}

func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"<script>alert(1)</script>",
		`<img src=x onerror=alert(1)>`,
		"[x](javascript:alert(1))",
		"[x](&#106;avascript:alert(1))",
		"<javascript:alert(1)>",
		"![a](https://example.org/a.png \"t\")",
		"**b** _i_ ~~s~~ `c`\n> q\n\n3. one\n- two",
		"see www.example.org and me@example.org",
		"```html\n<b onclick=x>\n```",
		"[r]\n\n[r]: <data:text/html,x>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		// toHTML has no recover, so a goldmark panic fails the fuzz run.
		checkSafe(t, in, "goldmark", toHTML(in))
		out := Render(in)
		checkSafe(t, in, "Render", out)
		checkTextKept(t, in, out)
	})
}

// allowed maps each element the output may contain to the attributes it may
// carry.
var allowed = map[string][]string{
	"p": nil, "br": nil, "em": nil, "strong": nil, "del": nil,
	"blockquote": nil, "code": nil, "pre": nil, "ul": nil, "li": nil,
	"ol": {"start"},
	"a":  {"href", "rel"},
}

var (
	onAttr   = regexp.MustCompile(`(?i)<[^>]*[\s/"']on[a-z]+\s*=`)
	startNum = regexp.MustCompile(`^[0-9]{1,9}$`)
)

// checkSafe fails the test if out, rendered from in by stage, has anything
// outside the allow-list. It reads out with the HTML5 tokenizer, as a
// browser would.
func checkSafe(tb testing.TB, in, stage, out string) {
	tb.Helper()
	fail := func(format string, args ...any) {
		tb.Helper()
		tb.Errorf("%s output for %q: "+format+"\noutput: %q", append(append([]any{stage, in}, args...), out)...)
	}
	if strings.Contains(strings.ToLower(out), "<script") {
		fail("contains <script")
	}
	if onAttr.MatchString(out) {
		fail("contains an on...= attribute")
	}
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if !errors.Is(z.Err(), io.EOF) {
				fail("tokenizer: %v", z.Err())
			}
			return
		case html.CommentToken, html.DoctypeToken:
			fail("contains %s token %q", tt, z.Token().String())
		case html.EndTagToken:
			if name, _ := z.TagName(); !isAllowed(string(name)) {
				fail("end tag </%s> not allowed", name)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			attrs, ok := allowed[tok.Data]
			if !ok {
				fail("element <%s> not allowed", tok.Data)
				continue
			}
			seen := map[string]string{}
			for _, a := range tok.Attr {
				if !slices.Contains(attrs, a.Key) {
					fail("attribute %s on <%s> not allowed", a.Key, tok.Data)
				}
				if _, dup := seen[a.Key]; dup {
					fail("duplicate attribute %s on <%s>", a.Key, tok.Data)
				}
				seen[a.Key] = a.Val
			}
			switch tok.Data {
			case "a":
				if !safeURL(seen["href"]) {
					fail("href %q is not an absolute http, https or mailto URL", seen["href"])
				}
				if seen["rel"] != rel {
					fail("rel is %q, want %q", seen["rel"], rel)
				}
			case "ol":
				if v, ok := seen["start"]; ok && !startNum.MatchString(v) {
					fail("ol start %q is not a number", v)
				}
			}
		}
	}
}

func isAllowed(name string) bool {
	_, ok := allowed[name]
	return ok
}

// safeURL is the test's own statement of which hrefs may reach a browser,
// written independently of safeHref.
func safeURL(href string) bool {
	u, err := url.Parse(href)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u.Host != "" && strings.HasPrefix(strings.ToLower(href), u.Scheme+"://")
	case "mailto":
		return strings.HasPrefix(strings.ToLower(href), "mailto:")
	}
	return false
}

var (
	// tagLike matches the start of an HTML tag: "<script", "</div".
	tagLike = regexp.MustCompile(`</?[a-zA-Z][a-zA-Z0-9]*(?:[\s/>]|$)`)
	// autolink matches a CommonMark autolink, which is a link, not text.
	autolink = regexp.MustCompile(`^<(?:[a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^<>\x00-\x20]*|` +
		`[a-zA-Z0-9.!#$%&'*+/=?^_\x60{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?` +
		`(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*)>`)
)

// checkTextKept fails the test if something in that looks like an HTML tag
// (such as "<script") is not in the visible text of out: hostile markup must
// show up as the characters the reader typed, not vanish. Link destinations,
// link titles, reference definitions and code fence info strings are not
// shown, so inputs that may contain them are not checked.
func checkTextKept(tb testing.TB, in, out string) {
	tb.Helper()
	if strings.Contains(in, "](") || strings.Contains(in, "]:") ||
		strings.Contains(in, "```") || strings.Contains(in, "~~~") {
		return
	}
	in = clean(in)
	text := visibleText(out)
	for _, loc := range tagLike.FindAllStringIndex(in, -1) {
		if autolink.MatchString(in[loc[0]:]) {
			continue
		}
		tag := strings.TrimRight(in[loc[0]:loc[1]], " \t\n\r\f\v/>")
		if !strings.Contains(text, tag) {
			tb.Errorf("Render(%q): %q is not in the visible text %q", in, tag, text)
			return
		}
	}
}

func visibleText(out string) string {
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return b.String()
		case html.TextToken:
			b.Write(z.Text())
		}
	}
}

// hostileDir finds the hostile input lists in the repository's testdata.
func hostileDir(tb testing.TB) string {
	return publicdata.Dir(tb, "hostile")
}
