package build

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/andybalholm/brotli"

	"parley/internal/widget"
)

var (
	buildOnce sync.Once
	built     map[string][]byte
	buildErr  error
)

// mustBuild builds the widget from the sources in the parent directory,
// once per test run (Brotli at quality 11 takes a while).
func mustBuild(tb testing.TB) map[string][]byte {
	tb.Helper()
	buildOnce.Do(func() { built, buildErr = Files(os.DirFS("..")) })
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return built
}

// TestFiles checks what the build makes: every file the manifest names,
// each with a Brotli and a gzip form that decode to it, the placeholders
// filled in, and nothing else.
func TestFiles(t *testing.T) {
	files := mustBuild(t)
	var m widget.Manifest
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	entries := []widget.Entry{m.Script, m.Style, m.Count}
	for _, e := range m.Tables {
		entries = append(entries, e)
	}
	for _, e := range m.Icons {
		entries = append(entries, e)
	}
	if len(m.Tables) != 5 || len(m.Icons) != len(widget.Icons) {
		t.Errorf("%d tables and %d icons", len(m.Tables), len(m.Icons))
	}
	want := map[string]bool{"manifest.json": true}
	for _, e := range entries {
		plain := files[e.File]
		if len(plain) == 0 || e.ETag == "" || !strings.HasPrefix(e.Path, "/widget/") && e.Path != widget.CountPath {
			t.Errorf("%+v: %d bytes", e, len(plain))
		}
		br, err := io.ReadAll(brotli.NewReader(bytes.NewReader(files[e.File+".br"])))
		if err != nil || !bytes.Equal(br, plain) {
			t.Errorf("%s.br does not decode to %s: %v", e.File, e.File, err)
		}
		if !bytes.Equal(gunzip(t, files[e.File+".gz"]), plain) {
			t.Errorf("%s.gz does not decode to %s", e.File, e.File)
		}
		want[e.File], want[e.File+".br"], want[e.File+".gz"] = true, true, true
	}
	for name := range files {
		if !want[name] {
			t.Errorf("built %s, which the manifest does not name", name)
		}
	}
	if c := string(files["count.js"]); strings.Contains(c, widget.CountPlaceholder) || !strings.Contains(c, `"ru":[{"one":"{n} комментарий"`) {
		t.Errorf("count.js has no words for the counts:\n%s", c)
	}
	js := string(files["parley.js"])
	for _, p := range []string{widget.I18nPlaceholder, widget.CSSPlaceholder} {
		if strings.Contains(js, p) {
			t.Errorf("script still contains %s", p)
		}
	}
	if !strings.Contains(js, m.Style.Path) || !strings.HasSuffix(m.Script.Path, "/parley.js") {
		t.Errorf("script does not name the stylesheet's path %s", m.Style.Path)
	}
	if strings.HasPrefix(string(files["parley.css"]), "/*") {
		t.Error("stylesheet keeps its source comment")
	}
}

// TestFiles_deterministic: the same sources make the same bytes, or the
// check that dist/ is up to date could never pass.
func TestFiles_deterministic(t *testing.T) {
	a := mustBuild(t)
	b, err := Files(os.DirFS(".."))
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("%d files, then %d", len(a), len(b))
	}
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two builds", name)
		}
	}
}

// TestDistUpToDate checks that the built files package widget embeds
// (internal/widget/dist) are what the sources make today: after changing
// parley.js, parley.css, an icon or a translation table, run
// go generate ./internal/widget and commit dist/.
func TestDistUpToDate(t *testing.T) {
	want := mustBuild(t)
	stale := false
	for name, b := range want {
		got, err := os.ReadFile(filepath.Join("..", "dist", filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("dist/%s is not what the sources make", name)
			stale = true
		}
	}
	filepath.WalkDir(filepath.Join("..", "dist"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		rel, _ := filepath.Rel(filepath.Join("..", "dist"), p)
		if !d.IsDir() && want[filepath.ToSlash(rel)] == nil {
			t.Errorf("dist/%s is not made by the build", rel)
			stale = true
		}
		return nil
	})
	if stale {
		t.Error("internal/widget/dist is stale: run go generate ./internal/widget and commit dist/")
	}
}
