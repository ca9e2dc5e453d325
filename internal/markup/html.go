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
	p.AllowElements(importElements...)
	return p
}()

var importElements = []string{"b", "i", "q", "cite", "abbr", "s", "strike", "u", "sub", "sup"}

// restorePolicy is importPolicy for HTML that says it is Parley's: rel is
// not taken from it but written again, as SanitizeHTML writes it.
var restorePolicy = func() *bluemonday.Policy {
	p := linkPolicy()
	p.AllowElements(importElements...)
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

// Resanitize passes HTML that claims to be Parley's own (a restored
// export's, say) through the same allow-list as SanitizeHTML, without
// adding paragraphs: what Render and SanitizeHTML wrote comes back
// byte for byte, anything else comes back safe.
func Resanitize(src string) (out string) {
	defer func() {
		if recover() != nil {
			out = "<p>" + html.EscapeString(clean(src)) + "</p>\n"
		}
	}()
	return strings.ReplaceAll(restorePolicy.Sanitize(clean(src)), noFollow, `rel="`+rel+`"`)
}
