package widget

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	"parley/internal/i18n"
)

func mustAssets(tb testing.TB) *Assets {
	tb.Helper()
	a, err := New()
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// TestWidgetSize keeps the promise of SPEC.md §3: what a reader downloads
// for the widget stays under 12 kB in every language (the script and
// stylesheet, and the language's table if not English), counted as
// browsers over HTTPS download it: Brotli. Readers whose browser takes
// only gzip are shown too.
func TestWidgetSize(t *testing.T) {
	a := mustAssets(t)
	const budget = 12 * 1024
	t.Logf("script %d B Brotli, %d B gzip, %d B plain; stylesheet %d B Brotli, %d B gzip, %d B plain (budget %d, aim 10240)",
		len(a.js.br), len(a.js.gz), len(a.js.plain), len(a.css.br), len(a.css.gz), len(a.css.plain), budget)
	for _, lang := range i18n.Languages() {
		s, ok := a.Size(lang)
		if !ok {
			t.Errorf("no table for %s", lang)
			continue
		}
		t.Logf("a reader in %s downloads %d B with Brotli, %d B with gzip (%d B plain)", lang, s.Brotli, s.Gzip, s.Plain)
		if s.Brotli > budget {
			t.Errorf("a reader in %s downloads %d bytes (Brotli), over the 12 kB budget", lang, s.Brotli)
		}
		if s.Gzip > budget {
			t.Logf("note: a reader in %s without Brotli downloads %d bytes gzipped, over the 12 kB budget", lang, s.Gzip)
		}
	}
	if _, ok := a.Size("pt"); ok {
		t.Error("Size(pt): a language without a table")
	}
}

func TestNew_inlinesTablesAndStylePath(t *testing.T) {
	a := mustAssets(t)
	js := string(a.js.plain)
	for _, p := range []string{I18nPlaceholder, CSSPlaceholder} {
		if strings.Contains(js, p) {
			t.Errorf("script still contains %s", p)
		}
	}
	if !strings.Contains(js, a.StylePath()) {
		t.Error("script does not reference the stylesheet's hashed path")
	}
	// English is in the script; Arabic is fetched from the path it names.
	if !strings.Contains(js, `"Leave a Reply"`) || strings.Contains(js, "اترك تعليقًا") {
		t.Error("the script should hold the English table and only the English one")
	}
	arPath := a.tables["ar"].path
	if dir, _ := path.Split(arPath); !strings.Contains(js, `"`+dir+`",[`) || !strings.Contains(js, `"ar"`) {
		t.Errorf("script does not name the Arabic table's path %s", arPath)
	}
	res := get(t, a, arPath, "Origin", "https://news.example")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(body), "اترك تعليقًا") || res.Header.Get("Content-Type") != "application/json" ||
		res.Header.Get("Access-Control-Allow-Origin") != "*" || res.Header.Get("Cache-Control") != cacheImmutable {
		t.Errorf("Arabic table: %d %v %.80s", res.StatusCode, res.Header, body)
	}
	var values []any
	if err := json.Unmarshal(body, &values); err != nil || len(values) == 0 {
		t.Errorf("Arabic table is not a JSON array: %v", err)
	}
	// Another hash, or a language without a table, is not served.
	for _, p := range []string{"/widget/000000000000/ar.json", strings.Replace(arPath, "ar.json", "pt.json", 1), strings.Replace(arPath, "ar.json", "en.json", 1)} {
		if res := get(t, a, p); res.StatusCode != 404 {
			t.Errorf("%s: %d", p, res.StatusCode)
		}
	}
	if !strings.HasPrefix(a.ScriptPath(), "/widget/") || !strings.HasSuffix(a.ScriptPath(), "/parley.js") {
		t.Errorf("ScriptPath = %q", a.ScriptPath())
	}
	if !strings.HasSuffix(a.StylePath(), "/parley.css") {
		t.Errorf("StylePath = %q", a.StylePath())
	}
	b := mustAssets(t)
	if a.ScriptPath() != b.ScriptPath() {
		t.Error("script path is not deterministic")
	}
}

func get(t *testing.T, a *Assets, path string, hdr ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	a.ServeHTTP(w, r)
	return w.Result()
}

func TestServeHTTP(t *testing.T) {
	a := mustAssets(t)
	for _, tc := range []struct{ accept, enc string }{{"br, gzip;q=0.8", "br"}, {"gzip, deflate", "gzip"}, {"gzip, br;q=0.5", "gzip"}} {
		t.Run("script "+tc.enc, func(t *testing.T) {
			res := get(t, a, a.ScriptPath(), "Accept-Encoding", tc.accept)
			if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != tc.enc {
				t.Fatalf("status %d, encoding %q", res.StatusCode, res.Header.Get("Content-Encoding"))
			}
			if ct := res.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control %q", cc)
			}
			if res.Header.Get("Vary") != "Accept-Encoding" || !strings.HasSuffix(res.Header.Get("ETag"), "-"+tc.enc[:2]+`"`) {
				t.Errorf("Vary %q, ETag %q", res.Header.Get("Vary"), res.Header.Get("ETag"))
			}
			if body := decodeBody(t, res); !bytes.Equal(body, a.js.plain) {
				t.Error("decoded body differs from the script")
			}
		})
	}
	t.Run("stylesheet plain", func(t *testing.T) {
		res := get(t, a, a.StylePath())
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, a.css.plain) {
			t.Fatalf("status %d, encoding %q, %d bytes", res.StatusCode, res.Header.Get("Content-Encoding"), len(body))
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/css; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
	})
	t.Run("codings refused with q=0", func(t *testing.T) {
		res := get(t, a, a.StylePath(), "Accept-Encoding", "gzip;q=0, br;q=0, *")
		body, _ := io.ReadAll(res.Body)
		if res.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, a.css.plain) {
			t.Errorf("sent %q although refused", res.Header.Get("Content-Encoding"))
		}
	})
	t.Run("embed.js short cache and 304", func(t *testing.T) {
		res := get(t, a, "/embed.js", "Accept-Encoding", "gzip")
		if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "public, max-age=300" {
			t.Fatalf("status %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
		}
		etag := res.Header.Get("ETag")
		res = get(t, a, "/embed.js", "Accept-Encoding", "gzip", "If-None-Match", `"x", `+etag)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("revalidation: status %d, %d bytes", res.StatusCode, len(body))
		}
		if res.Header.Get("ETag") != etag || res.Header.Get("Cache-Control") == "" {
			t.Error("304 without ETag or Cache-Control")
		}
		res = get(t, a, "/embed.js", "If-None-Match", `"stale"`)
		if res.StatusCode != 200 {
			t.Errorf("stale ETag: status %d", res.StatusCode)
		}
	})
	t.Run("unknown paths are 404", func(t *testing.T) {
		for _, p := range []string{
			"/widget/000000000000/parley.js",
			strings.Replace(a.StylePath(), "parley.css", "parley.js", 1),
			strings.Replace(a.ScriptPath(), "parley.js", "other.js", 1),
			"/widget/",
			"/embed.css",
		} {
			if res := get(t, a, p); res.StatusCode != 404 {
				t.Errorf("%s: status %d", p, res.StatusCode)
			}
		}
	})
	t.Run("HEAD has no body", func(t *testing.T) {
		w := httptest.NewRecorder()
		a.ServeHTTP(w, httptest.NewRequest("HEAD", a.ScriptPath(), nil))
		if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") == "" {
			t.Errorf("status %d, %d bytes, length %q", w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
		}
	})
	t.Run("POST not allowed", func(t *testing.T) {
		w := httptest.NewRecorder()
		a.ServeHTTP(w, httptest.NewRequest("POST", "/embed.js", nil))
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("status %d", w.Code)
		}
	})
}

func TestPickEncoding(t *testing.T) {
	tests := map[string]string{
		"":                        "",
		"gzip":                    "gzip",
		"GZIP":                    "gzip",
		"deflate, gzip":           "gzip",
		"gzip, deflate, br":       "br",
		"gzip, deflate, br, zstd": "br",
		"br;q=0.5, gzip":          "gzip",
		"br, gzip;q=0.9":          "br",
		"gzip;q=0":                "",
		"gzip; q=0.5":             "gzip",
		"*":                       "br",
		"br;q=0, *":               "gzip",
		"br, *;q=0":               "br",
		"gzip, *;q=0":             "gzip",
		"identity":                "",
		"x-gzip":                  "gzip",
		"gzip;q=0, *;q=1":         "br",
		"br;q=0, gzip;q=0, *":     "",
	}
	for in, want := range tests {
		if got := PickEncoding(in); got != want {
			t.Errorf("PickEncoding(%q) = %q, want %q", in, got, want)
		}
	}
}

// decodeBody reads a response's body, undoing its Content-Encoding.
func decodeBody(t *testing.T, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	switch res.Header.Get("Content-Encoding") {
	case "br":
		b, err = io.ReadAll(brotli.NewReader(bytes.NewReader(b)))
	case "gzip":
		var r *gzip.Reader
		if r, err = gzip.NewReader(bytes.NewReader(b)); err == nil {
			b, err = io.ReadAll(r)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nodePath returns node, or skips the test when it is not installed: the
// build and the other tests must work without it (STYLE.md §10).
func nodePath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH; skipping the JavaScript checks")
	}
	return p
}

// TestScriptParses runs node --check on the script as served.
func TestScriptParses(t *testing.T) {
	node := nodePath(t)
	a := mustAssets(t)
	f := filepath.Join(t.TempDir(), "parley.js")
	if err := os.WriteFile(f, a.js.plain, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(node, "--check", f).CombinedOutput(); err != nil {
		t.Fatalf("node --check: %v\n%s", err, out)
	}
}

// TestScriptRuns loads the script in node with a stand-in for the bits of
// the browser it touches at load time, on a page without a comment
// section: it must define window.Parley, find its own origin and throw
// nothing.
func TestScriptRuns(t *testing.T) {
	node := nodePath(t)
	a := mustAssets(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "parley.js")
	if err := os.WriteFile(f, a.js.plain, 0o644); err != nil {
		t.Fatal(err)
	}
	harness := `
const fs = require('fs'), vm = require('vm');
const document = {readyState: 'complete', scripts: [], currentScript: {src: 'https://c.example/embed.js'},
  querySelectorAll: () => [], addEventListener() {}};
const window = {document, URL, btoa, crypto, location: {origin: 'https://news.example', pathname: '/a', search: '', hash: '', href: 'https://news.example/a'}};
window.window = window;
vm.createContext(window);
vm.runInContext(fs.readFileSync(process.argv[2], 'utf8'), window);
if (typeof window.Parley.mount != 'function') throw new Error('no Parley.mount');
vm.runInContext(fs.readFileSync(process.argv[2], 'utf8'), window); // loaded twice: no-op
console.log('ok');
`
	h := filepath.Join(dir, "harness.js")
	if err := os.WriteFile(h, []byte(harness), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, h, f).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("node: %v\n%s", err, out)
	}
}

func TestIcons(t *testing.T) {
	a := mustAssets(t)
	for _, name := range Icons {
		t.Run(name, func(t *testing.T) {
			p, ok := IconPath(name)
			if !ok || p != "/widget/icons/"+name+".svg" {
				t.Fatalf("IconPath(%q) = %q, %v", name, p, ok)
			}
			for _, enc := range []string{"", "gzip", "br"} {
				res := get(t, a, p, "Accept-Encoding", enc)
				if res.Header.Get("Content-Encoding") != enc {
					t.Errorf("Accept-Encoding %q: Content-Encoding %q", enc, res.Header.Get("Content-Encoding"))
				}
				body := decodeBody(t, res)
				if res.StatusCode != 200 || !bytes.HasPrefix(body, []byte("<svg xmlns=\"http://www.w3.org/2000/svg\"")) {
					t.Fatalf("status %d, body %.40q", res.StatusCode, body)
				}
				for h, want := range map[string]string{
					"Content-Type":            "image/svg+xml",
					"X-Content-Type-Options":  "nosniff",
					"Cache-Control":           "public, max-age=86400",
					"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
				} {
					if got := res.Header.Get(h); got != want {
						t.Errorf("%s: %q, want %q", h, got, want)
					}
				}
			}
			// Drawings only: nothing that runs or loads.
			body, _ := files.ReadFile("icons/" + name + ".svg")
			for _, bad := range []string{"<script", "href", "<image", "<foreignobject", " on"} {
				if bytes.Contains(bytes.ToLower(body), []byte(bad)) {
					t.Errorf("icon contains %q", bad)
				}
			}
			if len(body) > 1024 {
				t.Errorf("icon is %d bytes; keep icons small", len(body))
			}
		})
	}
	if _, ok := IconPath("nope"); ok {
		t.Error("IconPath(nope) ok")
	}
	for _, p := range []string{"/widget/icons/nope.svg", "/widget/icons/", "/widget/icons/google.png"} {
		if res := get(t, a, p); res.StatusCode != 404 {
			t.Errorf("%s: status %d", p, res.StatusCode)
		}
	}
}
