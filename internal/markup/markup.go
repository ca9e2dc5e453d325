// Package markup turns the Markdown a reader types into the HTML stored with
// the comment and shown to everyone. It is the main defence against stored
// XSS, so the service layer must render every comment body through Render
// and never put reader text into a page any other way.
//
// Two layers do the work. goldmark parses a small Markdown subset: raw HTML,
// headings, thematic breaks and tables are not recognised, so they come out
// as the text the reader typed; images become links to the image; and links
// are written only for absolute http, https and mailto URLs. bluemonday then
// sanitises goldmark's output with an allow-list of the same few elements,
// so that a mistake in the first layer still cannot reach a reader's browser.
package markup

import (
	"bytes"
	"html"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// rel is set on every link: readers' links must not pass search ranking
// (nofollow, ugc), and noopener costs nothing if a browser extension or a
// host page later opens links in a new window.
const rel = "nofollow ugc noopener"

// md and policy are safe for concurrent use once built.
var (
	md     = newMarkdown()
	policy = newPolicy()
)

// Render turns a comment body written in Parley's Markdown subset into sanitised HTML.
func Render(src string) (out string) {
	defer func() {
		// A parser bug must not take down the request that posts a comment;
		// the body is still shown, as escaped text.
		if recover() != nil {
			out = "<p>" + html.EscapeString(clean(src)) + "</p>\n"
		}
	}()
	return policy.Sanitize(toHTML(src))
}

// toHTML is the goldmark layer on its own, without the sanitiser, so tests
// can check that it is safe by itself. It may panic if goldmark does.
func toHTML(src string) string {
	src = clean(src)
	var buf bytes.Buffer
	buf.Grow(len(src) + len(src)/4 + 16)
	// Convert fails only when the writer does, and bytes.Buffer never fails.
	_ = md.Convert([]byte(src), &buf)
	return buf.String()
}

// clean makes src valid UTF-8 without NUL bytes, as CommonMark asks; goldmark
// copies invalid bytes through to its output, and browsers and the sanitiser
// would each read them differently.
func clean(src string) string {
	if !utf8.ValidString(src) {
		src = strings.ToValidUTF8(src, "\uFFFD")
	}
	return strings.ReplaceAll(src, "\x00", "\uFFFD")
}

func newMarkdown() goldmark.Markdown {
	// CommonMark's parsers minus those for raw HTML, headings (ATX and
	// setext) and thematic breaks: what they would have matched stays text.
	p := parser.NewParser(
		parser.WithBlockParsers(
			util.Prioritized(shallow{parser.NewListParser()}, 300),
			util.Prioritized(parser.NewListItemParser(), 400),
			util.Prioritized(parser.NewCodeBlockParser(), 500),
			util.Prioritized(parser.NewFencedCodeBlockParser(), 700),
			util.Prioritized(shallow{parser.NewBlockquoteParser()}, 800),
			util.Prioritized(parser.NewParagraphParser(), 1000),
		),
		parser.WithInlineParsers(
			util.Prioritized(parser.NewCodeSpanParser(), 100),
			util.Prioritized(parser.NewLinkParser(), 200),
			util.Prioritized(angleAutoLinkParser{parser.NewAutoLinkParser()}, 300),
			util.Prioritized(parser.NewEmphasisParser(), 500),
		),
		parser.WithParagraphTransformers(parser.DefaultParagraphTransformers()...),
	)
	return goldmark.New(
		goldmark.WithParser(p),
		goldmark.WithExtensions(
			extension.Strikethrough,
			extension.NewLinkify(extension.WithLinkifyAllowedProtocols([]string{"http:", "https:"})),
		),
		goldmark.WithRendererOptions(
			// Readers expect a newline to be a newline, not a space.
			gmhtml.WithHardWraps(),
			// Priority 100 runs before goldmark's own renderer (1000), so
			// these functions replace its handling of the kinds below.
			renderer.WithNodeRenderers(util.Prioritized(nodeRenderer{}, 100)),
		),
	)
}

func newPolicy() *bluemonday.Policy {
	p := linkPolicy()
	p.AllowAttrs("rel").Matching(regexp.MustCompile(`^` + rel + `$`)).OnElements("a")
	return p
}

// linkPolicy is newPolicy without rel: links without an address lose
// their element, and those with one get rel="nofollow" from bluemonday.
func linkPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "em", "strong", "del", "blockquote", "code", "pre", "ul", "ol", "li")
	p.AllowAttrs("start").Matching(regexp.MustCompile(`^[0-9]{1,9}$`)).OnElements("ol")
	p.AllowAttrs("href").OnElements("a")
	// A web link needs a host: "http:</p" from broken imported HTML
	// parses as a URL but goes nowhere.
	hasHost := func(u *url.URL) bool { return u.Host != "" }
	p.AllowURLSchemeWithCustomPolicy("http", hasHost)
	p.AllowURLSchemeWithCustomPolicy("https", hasHost)
	p.AllowURLSchemes("mailto")
	p.RequireParseableURLs(true)
	p.RequireNoFollowOnLinks(true)
	return p
}

// maxNesting caps how deeply quotes and lists nest. Readers never need many
// levels, goldmark's time grows with the square of the depth (20,000 '>'
// took a quarter of a second), and browsers flatten very deep trees anyway.
// Markers past the cap stay text.
const maxNesting = 16

// shallow wraps the list and blockquote parsers to enforce maxNesting.
type shallow struct{ parser.BlockParser }

func (p shallow) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	depth := 0
	for n := parent; n != nil; n = n.Parent() {
		if k := n.Kind(); k == ast.KindBlockquote || k == ast.KindList {
			depth++
		}
	}
	if depth >= maxNesting {
		return nil, parser.NoChildren
	}
	return p.BlockParser.Open(parent, reader, pc)
}

// nodeRenderer replaces goldmark's rendering of links, images and fenced
// code: links get rel and only safe URLs, images become links, and code
// blocks drop the language class that the allow-list would strip anyway.
type nodeRenderer struct{}

// RegisterFuncs implements renderer.NodeRenderer.
func (nodeRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindLink, renderLink)
	reg.Register(ast.KindImage, renderImage)
	reg.Register(ast.KindAutoLink, renderAutoLink)
	reg.Register(ast.KindFencedCodeBlock, renderFencedCodeBlock)
}

// renderLink writes <a> only for a safe URL outside any other link; otherwise
// just the link text is shown. The check is repeated on leaving the node,
// which gives the same answer, so tags always pair up.
func renderLink(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Link)
	writeAnchor(w, n, safeHref(n.Destination), entering)
	return ast.WalkContinue, nil
}

// renderImage shows an image as a link to it, labelled with its alt text:
// loading pictures from anywhere would let a commenter track every reader.
func renderImage(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Image)
	writeAnchor(w, n, safeHref(n.Destination), entering)
	return ast.WalkContinue, nil
}

func writeAnchor(w util.BufWriter, n ast.Node, href []byte, entering bool) {
	if href == nil || inLink(n) {
		return
	}
	if !entering {
		_, _ = w.WriteString("</a>")
		return
	}
	writeOpenAnchor(w, href)
	if n.FirstChild() == nil {
		// An empty label would make an invisible link; show where it goes.
		_, _ = w.Write(util.EscapeHTML(href))
	}
}

func writeOpenAnchor(w util.BufWriter, href []byte) {
	_, _ = w.WriteString(`<a href="`)
	_, _ = w.Write(util.EscapeHTML(href))
	_, _ = w.WriteString(`" rel="` + rel + `">`)
}

// renderAutoLink handles both <scheme:...> autolinks and bare URLs found by
// Linkify. An autolink with an unsafe scheme is shown as the text it was typed as.
func renderAutoLink(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.AutoLink)
	dest := n.URL(source)
	if n.AutoLinkType == ast.AutoLinkEmail && !bytes.HasPrefix(bytes.ToLower(dest), []byte("mailto:")) {
		dest = append([]byte("mailto:"), dest...)
	}
	label := util.EscapeHTML(n.Label(source))
	href := safeHref(dest)
	if href == nil || inLink(n) {
		if _, ok := n.Attribute(angleAttr); ok {
			_, _ = w.WriteString("&lt;")
			_, _ = w.Write(label)
			_, _ = w.WriteString("&gt;")
		} else {
			_, _ = w.Write(label)
		}
		return ast.WalkContinue, nil
	}
	writeOpenAnchor(w, href)
	_, _ = w.Write(label)
	_, _ = w.WriteString("</a>")
	return ast.WalkContinue, nil
}

// angleAttr marks an autolink typed as <...>, so that one shown as text keeps
// its brackets; goldmark's AutoLink node does not say which syntax made it.
// Attributes are never rendered, since this package renders autolinks itself.
var angleAttr = []byte("angle")

type angleAutoLinkParser struct{ parser.InlineParser }

func (p angleAutoLinkParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	n := p.InlineParser.Parse(parent, block, pc)
	if n != nil {
		n.SetAttribute(angleAttr, true)
	}
	return n
}

func renderFencedCodeBlock(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		_, _ = w.WriteString("</code></pre>\n")
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString("<pre><code>")
	lines := node.Lines()
	for i := range lines.Len() {
		line := lines.At(i)
		gmhtml.DefaultWriter.RawWrite(w, line.Value(source))
	}
	return ast.WalkContinue, nil
}

// inLink reports whether n is inside a link or image. Nested <a> elements are
// invalid HTML that browsers repair in surprising ways, so inner links become text.
func inLink(n ast.Node) bool {
	for p := n.Parent(); p != nil; p = p.Parent() {
		if k := p.Kind(); k == ast.KindLink || k == ast.KindImage {
			return true
		}
	}
	return false
}

// safeHref returns the URL to put in href, escaped as goldmark would, or nil
// if it is not an absolute http, https or mailto URL. Relative URLs are
// refused because a comment is shown on pages at many addresses.
func safeHref(dest []byte) []byte {
	href := util.URLEscape(dest, true)
	u, err := url.Parse(string(href))
	if err != nil {
		return nil
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil
		}
	case "mailto":
	default:
		return nil
	}
	return href
}
