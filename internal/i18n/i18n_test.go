package i18n

import (
	"encoding/json"
	"html/template"
	"slices"
	"sort"
	"testing"
	"time"
)

func TestPlural(t *testing.T) {
	ns := []int{0, 1, 2, 3, 4, 5, 10, 11, 12, 14, 21, 22, 25, 99, 100, 101, 102, 103, 111, 1000000, 2000000, 1000001}
	// Expected categories as produced by Intl.PluralRules (ICU 78, CLDR 48).
	tests := map[string][]string{
		"en": {"other", "one", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other"},
		"ar": {"zero", "one", "two", "few", "few", "few", "few", "many", "many", "many", "many", "many", "many", "many", "other", "other", "other", "few", "many", "other", "other", "other"},
		"ru": {"many", "one", "few", "few", "few", "many", "many", "many", "many", "many", "one", "few", "many", "many", "many", "one", "few", "few", "many", "many", "many", "one"},
		"fr": {"one", "one", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "many", "many", "other"},
		"es": {"other", "one", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "many", "many", "other"},
		"de": {"other", "one", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other"},
	}
	for lang, want := range tests {
		t.Run(lang, func(t *testing.T) {
			for i, n := range ns {
				if got := Plural(lang, n); got != want[i] {
					t.Errorf("Plural(%q, %d) = %q, want %q", lang, n, got, want[i])
				}
			}
		})
	}
	t.Run("region subtag and negative", func(t *testing.T) {
		if got := Plural("ar-EG", -3); got != "few" {
			t.Errorf("Plural(ar-EG, -3) = %q, want few", got)
		}
		if got := Plural("RU_ru", 21); got != "one" {
			t.Errorf("Plural(RU_ru, 21) = %q, want one", got)
		}
	})
}

func TestGet(t *testing.T) {
	tests := []struct {
		in, lang, dir string
	}{
		{"en", "en", "ltr"},
		{"en-GB", "en", "ltr"},
		{"ar", "ar", "rtl"},
		{"ar-EG", "ar", "rtl"},
		{"AR_sa", "ar", "rtl"},
		{"", "en", "ltr"},
		{"xx", "en", "ltr"},
		{"de-DE", "de", "ltr"},
		{"fr-CA", "fr", "ltr"},
		{"es-419", "es", "ltr"},
		{"ru", "ru", "ltr"},
		{"pt-BR", "en", "ltr"}, // no Portuguese table yet: English words, English direction
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			tb := Get(tt.in)
			if tb.Lang() != tt.lang || tb.Dir() != tt.dir {
				t.Errorf("Get(%q) = %s/%s, want %s/%s", tt.in, tb.Lang(), tb.Dir(), tt.lang, tt.dir)
			}
		})
	}
	for _, l := range []string{"he", "fa-IR", "ur"} {
		if Dir(l) != "rtl" {
			t.Errorf("Dir(%q) = %q, want rtl", l, Dir(l))
		}
	}
}

func TestMatch(t *testing.T) {
	tests := map[string]string{
		"":                             "en",
		"ar-EG,ar;q=0.9,en;q=0.8":      "ar",
		"fr-FR,fr;q=0.9":               "fr",
		"pt-PT,pt;q=0.9":               "en",
		"pt-BR,pt;q=0.9,es;q=0.5":      "es",
		"de;q=0.9, en;q=0.5, ar;q=0.7": "de",
		"ru-RU,ru;q=0.9,en;q=0.8":      "ru",
		"en-US,en;q=0.9,ar;q=0.8":      "en",
		"ar;q=bogus,en":                "en",
	}
	for in, want := range tests {
		if got := Match(in); got != want {
			t.Errorf("Match(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestT(t *testing.T) {
	en, ar := Get("en"), Get("ar")
	if got, want := en.T("respond.to", "name", "Ana"), "Reply to Ana"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := ar.T("respond.to", "name", "Ana"), "الرد على Ana"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	t.Run("value that looks like a placeholder is not expanded", func(t *testing.T) {
		if got, want := en.T("respond.to", "name", "{name}"), "Reply to {name}"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("missing placeholder value stays", func(t *testing.T) {
		if got, want := en.T("respond.to"), "Reply to {name}"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		if got := ar.T("no.such.key"); got != "no.such.key" {
			t.Errorf("got %q", got)
		}
	})
}

func TestN(t *testing.T) {
	tests := []struct {
		lang string
		n    int
		want string
	}{
		{"en", 1, "1 comment"},
		{"en", 0, "0 comments"},
		{"en", 20000, "20,000 comments"},
		{"ar", 0, "لا توجد تعليقات"},
		{"ar", 1, "تعليق واحد"},
		{"ar", 2, "تعليقان"},
		{"ar", 3, "3 تعليقات"},
		{"ar", 11, "11 تعليقًا"},
		{"ar", 100, "100 تعليق"},
		{"ar", 101, "101 تعليق"},
		{"ar", 103, "103 تعليقات"},
		{"ar", 1000, "1,000 تعليق"},
	}
	for _, tt := range tests {
		if got := Get(tt.lang).N("count", tt.n); got != tt.want {
			t.Errorf("N(%s, count, %d) = %q, want %q", tt.lang, tt.n, got, tt.want)
		}
	}
}

func TestDate(t *testing.T) {
	tm := time.Date(2025, time.March, 5, 15, 4, 0, 0, time.UTC)
	if got, want := Get("en").Date(tm), "March 5, 2025 at 3:04 PM"; got != want {
		t.Errorf("en: got %q, want %q", got, want)
	}
	if got, want := Get("ar").Date(tm), "5 مارس 2025 في 3:04 م"; got != want {
		t.Errorf("ar: got %q, want %q", got, want)
	}
	if got, want := Get("en").Date(tm.Add(-15*time.Hour)), "March 5, 2025 at 12:04 AM"; got != want {
		t.Errorf("midnight: got %q, want %q", got, want)
	}
	// 24-hour clocks, padded or not (date.clock).
	for lang, want := range map[string][2]string{
		"de": {"5. März 2025 um 15:04", "5. März 2025 um 00:04"},
		"ru": {"5 марта 2025 г. в 15:04", "5 марта 2025 г. в 00:04"},
		"fr": {"5 mars 2025 à 15:04", "5 mars 2025 à 00:04"},
		"es": {"5 de marzo de 2025, 15:04", "5 de marzo de 2025, 0:04"},
	} {
		if got := Get(lang).Date(tm); got != want[0] {
			t.Errorf("%s: got %q, want %q", lang, got, want[0])
		}
		if got := Get(lang).Date(tm.Add(-15 * time.Hour)); got != want[1] {
			t.Errorf("%s midnight: got %q, want %q", lang, got, want[1])
		}
	}
}

// keys returns every key of a table with, for plural keys, the union of
// the placeholders over all forms.
func placeholders(tb *Table) map[string][]string {
	out := make(map[string][]string)
	for k, s := range tb.strs {
		p := Placeholders(s)
		sort.Strings(p)
		out[k] = p
	}
	for k, forms := range tb.plurals {
		var p []string
		for _, s := range forms {
			for _, name := range Placeholders(s) {
				if !slices.Contains(p, name) {
					p = append(p, name)
				}
			}
		}
		sort.Strings(p)
		out["plural:"+k] = p
	}
	return out
}

func TestTablesMatchEnglish(t *testing.T) {
	t.Run("widget", func(t *testing.T) { tablesMatchEnglish(t, tables()) })
	t.Run("desk", func(t *testing.T) { tablesMatchEnglish(t, deskTables()) })
}

func tablesMatchEnglish(t *testing.T, tables map[string]*Table) {
	en := placeholders(tables["en"])
	for _, lang := range languages(tables) {
		if lang == "en" {
			continue
		}
		t.Run(lang, func(t *testing.T) {
			tb := tables[lang]
			other := placeholders(tb)
			for k, want := range en {
				got, ok := other[k]
				if !ok {
					t.Errorf("key %q missing", k)
					continue
				}
				if !slices.Equal(got, want) {
					t.Errorf("key %q: placeholders %v, want %v", k, got, want)
				}
			}
			for k := range other {
				if _, ok := en[k]; !ok {
					t.Errorf("key %q is not in English", k)
				}
			}
			// Every plural category the language uses must have a form,
			// and {n} must appear in "other" (the form used for big counts).
			for k, forms := range tb.plurals {
				seen := map[string]bool{}
				for n := 0; n < 1200; n++ {
					seen[Plural(lang, n)] = true
				}
				for c := range seen {
					if _, ok := forms[c]; !ok {
						t.Errorf("key %q: no %q form", k, c)
					}
				}
				if !slices.Contains(Placeholders(forms["other"]), "n") {
					t.Errorf("key %q: other form lacks {n}", k)
				}
			}
		})
	}
}

func TestArabicHasSixForms(t *testing.T) {
	for k, forms := range tables()["ar"].plurals {
		for c := range categories {
			if forms[c] == "" {
				t.Errorf("ar %q: missing %q", k, c)
			}
		}
	}
}

func TestJSON(t *testing.T) {
	for _, lang := range Languages() {
		var m map[string]any
		if err := json.Unmarshal(JSON(lang), &m); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if m["respond"] != Get(lang).T("respond") {
			t.Errorf("%s: respond = %v", lang, m["respond"])
		}
	}
	if string(JSON("zz")) != string(JSON("en")) {
		t.Error("unknown language should give English JSON")
	}
}

func TestParseRejectsBadTables(t *testing.T) {
	bad := []string{
		`{"a": 1}`,
		`{"a": {"one": "x"}}`,
		`{"a": {"other": "x", "several": "y"}}`,
		`not json`,
	}
	for _, b := range bad {
		if _, err := parse("xx", []byte(b)); err == nil {
			t.Errorf("parse(%s): want error", b)
		}
	}
}

func TestHTML(t *testing.T) {
	got := HTML(`<b>{name}</b> & {other} {link}.`, func(name string) (template.HTML, bool) {
		return `<a href="/x">x</a>`, name == "link"
	})
	if want := template.HTML(`&lt;b&gt;{name}&lt;/b&gt; &amp; {other} <a href="/x">x</a>.`); got != want {
		t.Errorf("HTML = %s\nwant   %s", got, want)
	}
}
