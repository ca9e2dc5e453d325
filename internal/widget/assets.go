package widget

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"parley/internal/i18n"
)

// Assets holds the widget's script and stylesheet, built once at start-up:
// the script has the translation tables and the stylesheet's path inlined,
// and both are kept plain and gzipped, under paths that carry a hash of
// their content so browsers and CDNs may cache them for ever.
type Assets struct {
	js, css asset
}

type asset struct {
	path  string // "/widget/{hash}/{file}"
	ctype string
	plain []byte
	gz    []byte
	etag  string // quoted; the gzipped bytes have the same tag plus "-gz"
}

// Placeholders in parley.js that New replaces.
const (
	i18nPlaceholder = "__PARLEY_I18N__"
	cssPlaceholder  = "__PARLEY_CSS__"
)

// New builds the assets from the embedded sources.
func New() (*Assets, error) {
	css, err := files.ReadFile("parley.css")
	if err != nil {
		return nil, err
	}
	src, err := files.ReadFile("parley.js")
	if err != nil {
		return nil, err
	}
	a := &Assets{}
	if a.css, err = newAsset("parley.css", "text/css; charset=utf-8", []byte(stripComment(string(css)))); err != nil {
		return nil, err
	}
	js := stripJS(string(src))
	for _, p := range []string{i18nPlaceholder, cssPlaceholder} {
		if strings.Count(js, p) != 1 {
			return nil, fmt.Errorf("widget: parley.js must contain %s exactly once", p)
		}
	}
	js = strings.Replace(js, cssPlaceholder, a.css.path, 1)
	js = strings.Replace(js, i18nPlaceholder, string(tablesJSON()), 1)
	if a.js, err = newAsset("parley.js", "text/javascript; charset=utf-8", []byte(js)); err != nil {
		return nil, err
	}
	return a, nil
}

// tablesJSON returns {"en":{...},"ar":{...}}: every language's table.
func tablesJSON() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, l := range i18n.Languages() {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", l, i18n.JSON(l))
	}
	b.WriteByte('}')
	return b.Bytes()
}

// stripJS drops the leading block comment (the embedding notes), whole-line
// // comments, indentation and blank lines. It keeps line breaks, so
// automatic semicolon insertion sees the same code; parley.js has no
// multi-line strings or template literals for this to damage.
func stripJS(src string) string {
	src = stripComment(src)
	var b strings.Builder
	b.WriteString("/*! Parley comments widget */\n")
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// stripComment drops the block comment a source file starts with: the
// notes for people who read the source, which readers need not download.
func stripComment(src string) string {
	if strings.HasPrefix(src, "/*") {
		if i := strings.Index(src, "*/"); i >= 0 {
			return strings.TrimLeft(src[i+2:], "\n")
		}
	}
	return src
}

func newAsset(name, ctype string, body []byte) (asset, error) {
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return asset{}, err
	}
	if _, err := zw.Write(body); err != nil {
		return asset{}, err
	}
	if err := zw.Close(); err != nil {
		return asset{}, err
	}
	h := hash(body)
	return asset{
		path:  "/widget/" + h + "/" + name,
		ctype: ctype,
		plain: body,
		gz:    gz.Bytes(),
		etag:  `"` + h + `"`,
	}, nil
}

// ScriptPath returns the script's content-hashed path, e.g.
// "/widget/3f2a9c1b04de/parley.js".
func (a *Assets) ScriptPath() string { return a.js.path }

// StylePath returns the stylesheet's content-hashed path, e.g.
// "/widget/77ab01ee9f3c/parley.css".
func (a *Assets) StylePath() string { return a.css.path }

// GzipSize returns the gzipped sizes in bytes of the script and the
// stylesheet, as served.
func (a *Assets) GzipSize() (js, css int) { return len(a.js.gz), len(a.css.gz) }

// Cache lifetimes: hashed paths never change; /embed.js is the stable URL
// site owners paste, so browsers check it again every few minutes.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheEmbed     = "public, max-age=300"
)

// ServeHTTP serves GET (and HEAD) /widget/{hash}/parley.js and
// /widget/{hash}/parley.css with a year-long immutable cache, and
// /embed.js (the same script) with a five-minute one. Unknown hashes and
// files are 404: an old hash would otherwise be cached for a year with
// new content.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch p := r.URL.Path; p {
	case "/embed.js":
		a.js.serve(w, r, cacheEmbed)
	case a.js.path:
		a.js.serve(w, r, cacheImmutable)
	case a.css.path:
		a.css.serve(w, r, cacheImmutable)
	default:
		http.NotFound(w, r)
	}
}

func (as *asset) serve(w http.ResponseWriter, r *http.Request, cache string) {
	body, etag := as.plain, as.etag
	gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
	if gz {
		body, etag = as.gz, strings.TrimSuffix(as.etag, `"`)+`-gz"`
	}
	h := w.Header()
	h.Set("Cache-Control", cache)
	h.Set("ETag", etag)
	h.Set("Vary", "Accept-Encoding")
	// Pages that set Cross-Origin-Embedder-Policy may still load us.
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", as.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip.
func acceptsGzip(header string) bool {
	star := false
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		q := 1.0
		if v, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		switch coding {
		case "gzip", "x-gzip":
			return q > 0
		case "*":
			star = q > 0
		}
	}
	return star
}

// etagMatch reports whether an If-None-Match value matches etag, using the
// weak comparison RFC 9110 prescribes for If-None-Match.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
