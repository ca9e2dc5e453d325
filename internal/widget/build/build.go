// Package build makes the widget's files as readers download them from
// their sources: the script minified (esbuild) with the English words and
// the stylesheet's path inlined, the stylesheet, each other language's
// words, the log-in icons — each plain, Brotli-compressed (quality 11) and
// gzipped (the smallest gzip this package's encoder finds). It runs at
// build time (go generate ./internal/widget, which writes them to
// internal/widget/dist), never in the server: Brotli at quality 11 and
// the gzip encoder take a few hundred milliseconds, and esbuild is a large
// program the server need not carry. Package widget embeds dist/; a test
// here checks that it is what the sources make today.
package build

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/evanw/esbuild/pkg/api"

	"parley/internal/i18n"
	"parley/internal/widget"
)

// Files builds the widget from src (parley.js, parley.css, icons/*.svg)
// and the translation tables of package i18n. It returns every file by
// name: the plain ones, each with ".br" and ".gz" beside it, and
// manifest.json.
func Files(src fs.FS) (map[string][]byte, error) {
	css, err := fs.ReadFile(src, "parley.css")
	if err != nil {
		return nil, err
	}
	script, err := fs.ReadFile(src, "parley.js")
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	m := widget.Manifest{Tables: map[string]widget.Entry{}, Icons: map[string]widget.Entry{}}
	add := func(file, path string, body []byte) widget.Entry {
		out[file] = body
		return widget.Entry{File: file, Path: path, ETag: `"` + hash(body) + `"`}
	}
	css = []byte(stripComment(string(css)))
	m.Style = add("parley.css", "/widget/"+hash(css)+"/parley.css", css)

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
		m.Tables[lang] = add(lang+".json", dir+lang+".json", others[lang])
	}
	inline, err := json.Marshal([]any{keys, en, dir, langs})
	if err != nil {
		return nil, err
	}
	js, err := minifyJS(string(script))
	if err != nil {
		return nil, err
	}
	for _, p := range []string{widget.I18nPlaceholder, widget.CSSPlaceholder} {
		if strings.Count(js, p) != 1 {
			return nil, fmt.Errorf("widget: parley.js must contain %s exactly once", p)
		}
	}
	js = strings.Replace(js, widget.CSSPlaceholder, m.Style.Path, 1)
	js = strings.Replace(js, widget.I18nPlaceholder, string(inline), 1)
	m.Script = add("parley.js", "/widget/"+hash([]byte(js))+"/parley.js", []byte(js))

	// The count script, with each language's words for a count.
	countSrc, err := fs.ReadFile(src, "count.js")
	if err != nil {
		return nil, err
	}
	if m.Count, err = countScript(string(countSrc), add); err != nil {
		return nil, err
	}

	for _, name := range widget.Icons {
		svg, err := fs.ReadFile(src, "icons/"+name+".svg")
		if err != nil {
			return nil, err
		}
		m.Icons[name] = add("icons/"+name+".svg", "/widget/icons/"+name+".svg", svg)
	}

	// Compress side by side: Brotli at quality 11 takes a while.
	plain := slices.Collect(maps.Keys(out))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range plain {
		wg.Go(func() {
			br, gz := Brotli(out[name]), gzipSmall(out[name])
			mu.Lock()
			defer mu.Unlock()
			out[name+".br"], out[name+".gz"] = br, gz
		})
	}
	wg.Wait()

	manifest, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		return nil, err
	}
	out["manifest.json"] = append(manifest, '\n')
	return out, nil
}

// countScript builds count.js: minified, with each language's plural
// forms of "count" and its "count.none" where the placeholder is.
func countScript(src string, add func(file, path string, body []byte) widget.Entry) (widget.Entry, error) {
	words := map[string][2]json.RawMessage{}
	for _, l := range i18n.Languages() {
		var t map[string]json.RawMessage
		if err := json.Unmarshal(i18n.JSON(l), &t); err != nil {
			return widget.Entry{}, err
		}
		words[l] = [2]json.RawMessage{t["count"], t["count.none"]}
	}
	inline, err := json.Marshal(words)
	if err != nil {
		return widget.Entry{}, err
	}
	js, err := minify("count.js", src, "Parley comment counts")
	if err != nil {
		return widget.Entry{}, err
	}
	if strings.Count(js, widget.CountPlaceholder) != 1 {
		return widget.Entry{}, fmt.Errorf("widget: count.js must contain %s exactly once", widget.CountPlaceholder)
	}
	js = strings.Replace(js, widget.CountPlaceholder, string(inline), 1)
	return add("count.js", widget.CountPath, []byte(js)), nil
}

// Brotli compresses b at quality 11, the smallest Brotli makes.
func Brotli(b []byte) []byte {
	var out bytes.Buffer
	w := brotli.NewWriterLevel(&out, brotli.BestCompression)
	w.Write(b)
	w.Close()
	return out.Bytes()
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
			if !widget.ServerOnly(k) && !seen[k] {
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
	return minify("parley.js", src, "Parley comments widget")
}

// minify minifies one script (name is its file, for errors) and heads it
// with a line that says what it is.
func minify(name, src, what string) (string, error) {
	r := api.Transform(src, api.TransformOptions{
		Loader:            api.LoaderJS,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		LegalComments:     api.LegalCommentsNone,
		Sourcefile:        name,
	})
	if len(r.Errors) > 0 {
		m := r.Errors[0]
		if m.Location != nil {
			return "", fmt.Errorf("widget: %s:%d: %s", name, m.Location.Line, m.Text)
		}
		return "", fmt.Errorf("widget: %s: %s", name, m.Text)
	}
	return "/*! " + what + " */\n" + string(r.Code), nil
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

// hash returns a short content hash for cache-busting paths and ETags.
func hash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:6])
}
