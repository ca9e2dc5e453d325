package widget

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/evanw/esbuild/pkg/api"

	"parley/internal/i18n"
)

// Assets holds the widget's script and stylesheet, built once at start-up:
// the script has the English table and the stylesheet's path inlined, and
// fetches another language's table only for a section shown in it. All
// are kept plain and gzipped, under paths that carry a hash of their
// content so browsers and CDNs may cache them for ever. It also holds the
// log-in icons, under stable paths (see IconPath).
type Assets struct {
	js, css asset
	tables  map[string]*asset // other languages' strings, by language
	icons   map[string]*asset // by path
}

type asset struct {
	path  string // "/widget/{hash}/{file}", or an icon's IconPath
	ctype string
	plain []byte
	gz    []byte
	etag  string // quoted; the gzipped bytes have the same tag plus "-gz"
	csp   string // Content-Security-Policy, if any
	cors  bool   // fetched by the widget from the article's origin
}

// iconNames are the built-in log-in icons: one per provider Parley knows,
// "email" for the email link and "openid" for any other OpenID Connect
// provider.
var iconNames = []string{"google", "facebook", "x", "github", "wordpress", "email", "openid"}

// IconPath returns the path under which Assets serves the built-in icon
// name (see iconNames), e.g. "/widget/icons/google.svg", and whether
// there is such an icon. Icon paths are stable, so the server can put
// them in the thread's JSON and the page.
func IconPath(name string) (string, bool) {
	for _, n := range iconNames {
		if n == name {
			return "/widget/icons/" + name + ".svg", true
		}
	}
	return "", false
}

// iconCSP keeps an SVG opened on its own from running anything: icons are
// drawings, with at most inline styles.
const iconCSP = "default-src 'none'; style-src 'unsafe-inline'"

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
	a := &Assets{icons: make(map[string]*asset), tables: make(map[string]*asset)}
	a.css = newAsset("parley.css", "text/css; charset=utf-8", []byte(stripComment(string(css))))
	// The other languages' tables share one directory, named by a hash of
	// them all, so the script needs only it and their names.
	keys, en, others := widgetTables()
	langs := slices.Sorted(maps.Keys(others))
	var joined bytes.Buffer
	for _, lang := range langs {
		joined.WriteString(lang)
		joined.Write(others[lang])
	}
	dir := "/widget/" + hash(joined.Bytes()) + "/"
	for _, lang := range langs {
		t := newAsset(lang+".json", "application/json", others[lang])
		t.path, t.cors = dir+lang+".json", true
		a.tables[lang] = &t
	}
	inline, err := json.Marshal([]any{keys, en, dir, langs})
	if err != nil {
		return nil, err
	}
	js, err := minifyJS(string(src))
	if err != nil {
		return nil, err
	}
	for _, p := range []string{i18nPlaceholder, cssPlaceholder} {
		if strings.Count(js, p) != 1 {
			return nil, fmt.Errorf("widget: parley.js must contain %s exactly once", p)
		}
	}
	js = strings.Replace(js, cssPlaceholder, a.css.path, 1)
	js = strings.Replace(js, i18nPlaceholder, string(inline), 1)
	a.js = newAsset("parley.js", "text/javascript; charset=utf-8", []byte(js))
	all := []*asset{&a.js, &a.css}
	for _, t := range a.tables {
		all = append(all, t)
	}
	for _, name := range iconNames {
		svg, err := files.ReadFile("icons/" + name + ".svg")
		if err != nil {
			return nil, err
		}
		icon := newAsset(name+".svg", "image/svg+xml", svg)
		icon.path, _ = IconPath(name)
		icon.csp = iconCSP
		a.icons[icon.path] = &icon
		all = append(all, &icon)
	}
	// Compressing takes a few milliseconds per file (see gzipSmall): do
	// them side by side.
	var wg sync.WaitGroup
	for _, as := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			as.gz = gzipSmall(as.plain)
		}()
	}
	wg.Wait()
	return a, nil
}

// serverOnly lists the translation keys only the server-rendered thread
// uses (absolute dates, grouped numbers, the like count without
// JavaScript, Parley's own reply page); the script formats these with
// Intl, so it is served without them. So are all "page." keys (Parley's
// own log-in and message pages), "mail." keys (the log-in email) and
// "reason." keys (why the spam filter judged a comment, for moderators).
var serverOnly = map[string]bool{
	"date.format": true, "date.months": true, "date.clock": true, "date.am": true, "date.pm": true,
	"num.group": true, "likes": true, "permalink": true, "reply.back": true,
}

func isServerOnly(key string) bool {
	return serverOnly[key] || strings.HasPrefix(key, "page.") || strings.HasPrefix(key, "mail.") || strings.HasPrefix(key, "reason.")
}

// widgetTables returns the tables the widget uses (every language's,
// without the serverOnly keys): the keys, sorted; the English strings (or
// plural forms) in that order; and each other language's strings in the
// same order as a JSON array, null where it lacks one.
func widgetTables() (keys []string, en json.RawMessage, others map[string]json.RawMessage) {
	tables := make(map[string]map[string]json.RawMessage)
	seen := map[string]bool{}
	for _, l := range i18n.Languages() {
		var t map[string]json.RawMessage
		if err := json.Unmarshal(i18n.JSON(l), &t); err != nil {
			// i18n checks its tables when it loads them.
			panic(fmt.Sprintf("widget: table %s: %v", l, err))
		}
		for k := range t {
			if !isServerOnly(k) && !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
		tables[l] = t
	}
	sort.Strings(keys)
	others = make(map[string]json.RawMessage)
	for l, t := range tables {
		values := make([]json.RawMessage, len(keys))
		for i, k := range keys {
			values[i] = t[k]
			if values[i] == nil {
				values[i] = json.RawMessage("null")
			}
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(values); err != nil {
			panic(fmt.Sprintf("widget: table %s: %v", l, err))
		}
		others[l] = bytes.TrimSpace(b.Bytes())
	}
	en = others[i18n.Fallback]
	delete(others, i18n.Fallback)
	return keys, en, others
}

// minifyJS minifies the widget's script with esbuild (whitespace, syntax
// and local names; property names and globals stay as written, so the
// placeholders survive), keeping one line that says what it is.
func minifyJS(src string) (string, error) {
	r := api.Transform(src, api.TransformOptions{
		Loader:            api.LoaderJS,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		LegalComments:     api.LegalCommentsNone,
		Sourcefile:        "parley.js",
	})
	if len(r.Errors) > 0 {
		m := r.Errors[0]
		if m.Location != nil {
			return "", fmt.Errorf("widget: parley.js:%d: %s", m.Location.Line, m.Text)
		}
		return "", fmt.Errorf("widget: parley.js: %s", m.Text)
	}
	return "/*! Parley comments widget */\n" + string(r.Code), nil
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

// newAsset returns the asset for body under its content-hashed path; New
// fills in the gzipped bytes.
func newAsset(name, ctype string, body []byte) asset {
	h := hash(body)
	return asset{
		path:  "/widget/" + h + "/" + name,
		ctype: ctype,
		plain: body,
		etag:  `"` + h + `"`,
	}
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

// TableGzipSize returns the gzipped size of the strings a section in lang
// fetches besides the script: 0 for English, which the script holds, and
// -1 for a language without a table.
func (a *Assets) TableGzipSize(lang string) int {
	if lang == i18n.Fallback {
		return 0
	}
	if t := a.tables[lang]; t != nil {
		return len(t.gz)
	}
	return -1
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
