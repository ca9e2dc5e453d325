package widget

import (
	"regexp"
	"testing"

	"parley/internal/i18n"
)

// TestScriptKeysExist checks that every literal translation key parley.js
// asks for is in the English table (and so, by the i18n tests, in all).
func TestScriptKeysExist(t *testing.T) {
	src, err := files.ReadFile("parley.js")
	if err != nil {
		t.Fatal(err)
	}
	en := i18n.Get("en")
	keys := regexp.MustCompile(`\b(?:t|tb|tn|msg)\('([a-z_.]+)'\s*[,)]`).FindAllSubmatch(src, -1)
	if len(keys) < 20 {
		t.Fatalf("found only %d keys; is the pattern still right?", len(keys))
	}
	for _, m := range keys {
		if k := string(m[1]); !en.Has(k) {
			t.Errorf("parley.js uses key %q, which the tables lack", k)
		}
	}
	// Keys built at run time, or chosen in an expression.
	for _, k := range []string{"sort.oldest", "sort.newest", "sort.top", "form.body", "form.email", "form.name", "form.website", "error.missing_body", "error.missing_email", "error.missing_name",
		"login.as", "login.as_email", "login.required", "error.network", "error.generic", "error.load"} {
		if !en.Has(k) {
			t.Errorf("missing key %q", k)
		}
	}
	// The script is served without the server's own keys.
	for _, m := range keys {
		if k := string(m[1]); ServerOnly(k) {
			t.Errorf("parley.js uses %q, which is served without it (serverOnly)", k)
		}
	}
}

// TestTemplateKeysExist checks the translation keys thread.html asks for.
func TestTemplateKeysExist(t *testing.T) {
	src, err := files.ReadFile("thread.html")
	if err != nil {
		t.Fatal(err)
	}
	en := i18n.Get("en")
	keys := regexp.MustCompile(`\.T\.[TN] "([a-z_.]+)"`).FindAllSubmatch(src, -1)
	if len(keys) < 8 {
		t.Fatalf("found only %d keys; is the pattern still right?", len(keys))
	}
	for _, m := range keys {
		if k := string(m[1]); !en.Has(k) {
			t.Errorf("thread.html uses key %q, which the tables lack", k)
		}
	}
}

// TestSharedMarkup checks that the widget and the server-rendered thread
// use the same class names, ids and field names, so one stylesheet (and
// one set of browser tests) fits both.
func TestSharedMarkup(t *testing.T) {
	js, _ := files.ReadFile("parley.js")
	tmpl, _ := files.ReadFile("thread.html")
	css, _ := files.ReadFile("parley.css")
	shared := []string{
		"parley", "parley-head", "parley-count", "parley-sort", "parley-list", "parley-comment", "parley-pending",
		"parley-c", "parley-meta", "parley-avatar", "parley-author", "parley-time", "parley-edited", "parley-irt",
		"parley-notice", "parley-body", "parley-actions", "parley-reply", "parley-replies", "parley-respond",
		"parley-respond-head", "parley-reply-title", "parley-cancel", "parley-form", "parley-form-error",
		"parley-intro", "parley-providers", "parley-field", "parley-req", "parley-hint", "parley-err",
		"parley-submit", "parley-privacy", "parley-closed", "parley-login", "parley-user", "parley-logout",
	}
	// Hooks for scripts and tests that need no style of their own.
	unstyled := map[string]bool{"parley-count": true, "parley-list": true, "parley-reply-title": true, "parley-form": true, "parley-logout": true}
	for _, c := range shared {
		re := regexp.MustCompile(`[^\w-]` + regexp.QuoteMeta(c) + `[^\w-]`)
		if !re.Match(js) {
			t.Errorf("parley.js lacks %q", c)
		}
		if !re.Match(tmpl) {
			t.Errorf("thread.html lacks %q", c)
		}
		if !unstyled[c] && !regexp.MustCompile(`\.`+regexp.QuoteMeta(c)+`[^\w-]`).Match(css) {
			t.Errorf("parley.css does not style %q", c)
		}
	}
	for _, s := range []string{`'comment-'`, `'respond'`, `'parley-reply-title'`, `'parley-' + name`, `'data-provider'`, `'parley-change'`, `'parley-connecting'`} {
		if !regexp.MustCompile(regexp.QuoteMeta(s)).Match(js) {
			t.Errorf("parley.js lacks %s", s)
		}
	}
}
