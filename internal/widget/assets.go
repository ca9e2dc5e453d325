package widget

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"parley/internal/i18n"
)

// Assets holds the widget's script and stylesheet as readers download
// them: built from the sources by go generate (package build) and
// embedded from dist/, plain, Brotli-compressed and gzipped, so that
// starting the server compresses nothing. The script has the English
// table and the stylesheet's path inlined, and fetches another language's
// table only for a section shown in it. All are served under paths that
// carry a hash of their content, so browsers and CDNs may cache them for
// ever. It also holds the log-in icons, under stable paths (see IconPath).
type Assets struct {
	js, css asset
	count   asset             // count.js, at CountPath
	tables  map[string]*asset // other languages' strings, by language
	icons   map[string]*asset // by path
}

type asset struct {
	path  string // "/widget/{hash}/{file}", or an icon's IconPath
	ctype string
	plain []byte
	br    []byte
	gz    []byte
	etag  string // quoted; the compressed bytes have the same tag plus "-br" or "-gz"
	csp   string // Content-Security-Policy, if any
	cors  bool   // fetched by the widget from the article's origin
}

//go:generate go run gen.go

// dist holds the built files (see package build) and manifest.json.
//
//go:embed dist
var dist embed.FS

// Manifest says what each built file is and where it is served; package
// build writes it to dist/manifest.json beside the files.
type Manifest struct {
	Script Entry            `json:"script"`
	Style  Entry            `json:"style"`
	Tables map[string]Entry `json:"tables"` // by language, English aside (the script holds it)
	Icons  map[string]Entry `json:"icons"`  // by name (see Icons)
	// Count is the comment-count script of listing pages (count.js).
	Count Entry `json:"count"`
}

// Entry is one built file: its name in dist/ (with ".br" and ".gz" for
// its compressed forms), the path it is served under, and its ETag
// (quoted; a hash of the plain bytes).
type Entry struct {
	File string `json:"file"`
	Path string `json:"path"`
	ETag string `json:"etag"`
}

// Icons are the built-in log-in icons: one per provider Parley knows,
// "email" for the email link and "openid" for any other OpenID Connect
// provider.
var Icons = []string{"google", "facebook", "x", "github", "wordpress", "email", "openid"}

// Placeholders in parley.js that the build replaces.
const (
	I18nPlaceholder = "__PARLEY_I18N__"
	CSSPlaceholder  = "__PARLEY_CSS__"
	// CountPlaceholder in count.js becomes each language's words for a
	// comment count.
	CountPlaceholder = "__PARLEY_COUNTS__"
)

// CountPath is where the comment-count script is served: a stable
// address, like /embed.js, for listing pages to load.
const CountPath = "/count.js"

// serverOnly lists the translation keys only the server-rendered thread
// uses (absolute dates, grouped numbers, the like count without
// JavaScript, Parley's own reply page); the script formats these with
// Intl, so it is served without them. So are all "page." keys (Parley's
// own log-in and message pages), "mail." keys (the log-in email) and
// "reason." keys (why the spam filter judged a comment, for moderators).
// Errors only the server finds (error.notify_needs_email), and the
// notices about a reader's held comments, come from the server already
// in the section's language (the widget asks with Accept-Language), so
// they need no place in its tables either.
var serverOnly = map[string]bool{
	"date.format": true, "date.months": true, "date.clock": true, "date.am": true, "date.pm": true,
	"num.group": true, "likes": true, "permalink": true, "reply.back": true,
	"error.notify_needs_email": true, "notice.approved": true, "notice.reason": true, "notice.rejected": true,
}

// ServerOnly reports whether a translation key is left out of the
// widget's tables (see serverOnly).
func ServerOnly(key string) bool {
	return serverOnly[key] || strings.HasPrefix(key, "page.") || strings.HasPrefix(key, "mail.") || strings.HasPrefix(key, "reason.")
}

// IconPath returns the path under which Assets serves the built-in icon
// name (see Icons), e.g. "/widget/icons/google.svg", and whether
// there is such an icon. Icon paths are stable, so the server can put
// them in the thread's JSON and the page.
func IconPath(name string) (string, bool) {
	if slices.Contains(Icons, name) {
		return "/widget/icons/" + name + ".svg", true
	}
	return "", false
}

// iconCSP keeps an SVG opened on its own from running anything: icons are
// drawings, with at most inline styles.
const iconCSP = "default-src 'none'; style-src 'unsafe-inline'"

// New returns the assets built into the binary.
func New() (*Assets, error) {
	return load(dist)
}

// load reads the built files (dist/manifest.json and what it names).
func load(fsys fs.FS) (*Assets, error) {
	b, err := fs.ReadFile(fsys, "dist/manifest.json")
	if err != nil {
		return nil, fmt.Errorf("widget: %w (run go generate ./internal/widget)", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("widget: dist/manifest.json: %w", err)
	}
	a := &Assets{icons: make(map[string]*asset), tables: make(map[string]*asset)}
	read := func(e Entry, ctype string) (*asset, error) {
		as := &asset{path: e.Path, ctype: ctype, etag: e.ETag}
		for _, f := range []struct {
			ext string
			to  *[]byte
		}{{"", &as.plain}, {".br", &as.br}, {".gz", &as.gz}} {
			if *f.to, err = fs.ReadFile(fsys, "dist/"+e.File+f.ext); err != nil {
				return nil, fmt.Errorf("widget: %w (run go generate ./internal/widget)", err)
			}
		}
		return as, nil
	}
	js, err := read(m.Script, "text/javascript; charset=utf-8")
	if err != nil {
		return nil, err
	}
	css, err := read(m.Style, "text/css; charset=utf-8")
	if err != nil {
		return nil, err
	}
	a.js, a.css = *js, *css
	count, err := read(m.Count, "text/javascript; charset=utf-8")
	if err != nil {
		return nil, err
	}
	a.count = *count
	for lang, e := range m.Tables {
		t, err := read(e, "application/json")
		if err != nil {
			return nil, err
		}
		t.cors = true
		a.tables[lang] = t
	}
	for _, name := range Icons {
		e, ok := m.Icons[name]
		if !ok {
			return nil, fmt.Errorf("widget: no icon %q in dist/manifest.json (run go generate ./internal/widget)", name)
		}
		icon, err := read(e, "image/svg+xml")
		if err != nil {
			return nil, err
		}
		icon.csp = iconCSP
		a.icons[icon.path] = icon
	}
	return a, nil
}

// ScriptPath returns the script's content-hashed path, e.g.
// "/widget/3f2a9c1b04de/parley.js".
func (a *Assets) ScriptPath() string { return a.js.path }

// StylePath returns the stylesheet's content-hashed path, e.g.
// "/widget/77ab01ee9f3c/parley.css".
func (a *Assets) StylePath() string { return a.css.path }

// Sizes are the bytes a reader downloads for the widget, by how they are
// compressed: Brotli for browsers that accept it (every browser over
// HTTPS), gzip for the others.
type Sizes struct{ Brotli, Gzip, Plain int }

func (as *asset) sizes() Sizes { return Sizes{len(as.br), len(as.gz), len(as.plain)} }

func (s Sizes) add(o Sizes) Sizes {
	return Sizes{s.Brotli + o.Brotli, s.Gzip + o.Gzip, s.Plain + o.Plain}
}

// Size returns what a reader downloads for a section in lang: the script,
// the stylesheet and, for a language other than English (which the
// script holds), its table; ok is false for a language without a table.
func (a *Assets) Size(lang string) (s Sizes, ok bool) {
	s = a.js.sizes().add(a.css.sizes())
	if lang == i18n.Fallback {
		return s, true
	}
	t := a.tables[lang]
	if t == nil {
		return Sizes{}, false
	}
	return s.add(t.sizes()), true
}

// Cache lifetimes: hashed paths never change; /embed.js is the stable URL
// site owners paste, so browsers check it again every few minutes; icons
// keep their paths across releases, so a day.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheEmbed     = "public, max-age=300"
	cacheIcon      = "public, max-age=86400"
)

// ServeHTTP serves GET (and HEAD) /widget/{hash}/parley.js,
// /widget/{hash}/parley.css and /widget/{hash}/{lang}.json (a language's
// strings, to any origin) with a year-long immutable cache,
// /embed.js (the same script) with a five-minute one, and the log-in
// icons (IconPath) with a day-long one. Unknown hashes and files are 404:
// an old hash would otherwise be cached for a year with new content.
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
	case CountPath:
		a.count.serve(w, r, cacheEmbed)
	case a.css.path:
		a.css.serve(w, r, cacheImmutable)
	default:
		if icon := a.icons[p]; icon != nil {
			icon.serve(w, r, cacheIcon)
			return
		}
		if t := a.tables[strings.TrimSuffix(path.Base(p), ".json")]; t != nil && t.path == p {
			t.serve(w, r, cacheImmutable)
			return
		}
		http.NotFound(w, r)
	}
}

func (as *asset) serve(w http.ResponseWriter, r *http.Request, cache string) {
	body, etag := as.plain, as.etag
	enc := PickEncoding(r.Header.Get("Accept-Encoding"))
	switch enc {
	case "br":
		body, etag = as.br, strings.TrimSuffix(as.etag, `"`)+`-br"`
	case "gzip":
		body, etag = as.gz, strings.TrimSuffix(as.etag, `"`)+`-gz"`
	}
	h := w.Header()
	h.Set("Cache-Control", cache)
	h.Set("ETag", etag)
	h.Set("Vary", "Accept-Encoding")
	// Pages that set Cross-Origin-Embedder-Policy may still load us.
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if as.cors {
		// Public words, the same for everyone: any page may read them.
		h.Set("Access-Control-Allow-Origin", "*")
	}
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", as.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	if as.csp != "" {
		h.Set("Content-Security-Policy", as.csp)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if enc != "" {
		h.Set("Content-Encoding", enc)
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// PickEncoding returns the content coding to answer with, given a
// request's Accept-Encoding: "br" (Brotli: smaller, and what every browser
// sends over HTTPS), else "gzip", else "" for none. Codings refused with
// q=0, directly or through "*", are never picked; of those accepted the
// one with the higher q wins, Brotli on a tie.
func PickEncoding(header string) string {
	br, gz := codings(header)
	switch {
	case br > 0 && br >= gz:
		return "br"
	case gz > 0:
		return "gzip"
	}
	return ""
}

// AcceptsGzip reports whether a request's Accept-Encoding takes gzip,
// for bodies Parley sends in no other coding (the server-rendered
// thread: gzjoin).
func AcceptsGzip(header string) bool {
	_, gz := codings(header)
	return gz > 0
}

// codings returns the q values an Accept-Encoding gives Brotli and gzip,
// directly or through "*"; -1 for not named.
func codings(header string) (br, gz float64) {
	if header == "" {
		return -1, -1
	}
	br, gz, star := -1.0, -1.0, -1.0
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		q := 1.0
		if v, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		switch coding {
		case "br":
			br = q
		case "gzip", "x-gzip":
			gz = q
		case "*":
			star = q
		}
	}
	if br < 0 {
		br = star
	}
	if gz < 0 {
		gz = star
	}
	return br, gz
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
