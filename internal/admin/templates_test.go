package admin

import (
	"path"
	"testing"
)

// The desk parses its templates on first use, so a broken template would
// only show when someone opens that page: parse every one here.
func TestTemplatesParse(t *testing.T) {
	names := pageNames()
	if len(names) < 10 {
		t.Fatalf("found only %d desk pages: %v", len(names), names)
	}
	for _, n := range names {
		if _, err := parsePage(n); err != nil {
			t.Errorf("page %s: %v", n, err)
		}
	}
	if _, err := parsePage("nosuch"); err == nil {
		t.Error("a page with no template parsed")
	}
}

// Every static file has a content type of its own (staticTypes), so no
// file is ever served without one.
func TestStaticFiles(t *testing.T) {
	files := loadStatic()
	for _, want := range []string{"desk.css", "desk.js"} {
		if _, ok := files[want]; !ok {
			t.Errorf("no static file %s", want)
		}
	}
	for name, f := range files {
		if f.typ == "" {
			t.Errorf("%s: no content type for %q in staticTypes", name, path.Ext(name))
		}
		if len(f.hash) != 12 || len(f.body) == 0 {
			t.Errorf("%s: hash %q, %d bytes", name, f.hash, len(f.body))
		}
	}
}
