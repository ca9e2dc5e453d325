package markup

import (
	"html"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
)

// importPolicy allows what the comment systems Parley imports from let
// their readers write (WordPress's allowed comment tags, Disqus's), and
// nothing that could run or load anything.
var importPolicy = func() *bluemonday.Policy {
	p := newPolicy()
	p.AllowElements("b", "i", "q", "cite", "abbr", "s", "strike", "u", "sub", "sup")
	return p
}()

var (
	blockTag   = regexp.MustCompile(`(?i)<(p|div|blockquote|ul|ol|pre|table|h[1-6])[\s>]`)
	blankLines = regexp.MustCompile(`\n\s*\n`)
	// bluemonday writes exactly this on every link it keeps, and text
	// cannot contain it: quotes in text come out as &#34;.
	noFollow = `rel="nofollow"`
)

// SanitizeHTML cleans HTML written elsewhere (an imported WordPress or
// Disqus comment) to the same safe subset new comments get, with links
// marked rel="nofollow ugc noopener". Text without block markup gets
// paragraphs and line breaks from its blank lines and newlines, as
// WordPress shows its comments.
func SanitizeHTML(src string) (out string) {
	defer func() {
		if recover() != nil {
			out = "<p>" + html.EscapeString(clean(src)) + "</p>\n"
		}
	}()
	src = strings.TrimSpace(strings.ReplaceAll(clean(src), "\r\n", "\n"))
	if !blockTag.MatchString(src) {
		var b strings.Builder
		for _, para := range blankLines.Split(src, -1) {
			if para = strings.TrimSpace(para); para != "" {
				b.WriteString("<p>" + strings.ReplaceAll(para, "\n", "<br>\n") + "</p>\n")
			}
		}
		src = b.String()
	}
	return strings.ReplaceAll(importPolicy.Sanitize(src), noFollow, `rel="`+rel+`"`)
}
