// Package i18n holds Parley's reader-facing words in every language it
// speaks, as one table per language shared by the server-rendered HTML and
// the JavaScript widget (which gets the tables inlined through JSON).
//
// The tables live in locales/*.json: a flat object of key to string, or,
// for words that depend on a count, key to an object of CLDR plural
// categories (zero, one, two, few, many, other). Placeholders are written
// {name}. English is complete by definition; every other language is
// tested to have exactly the same keys and placeholders.
package i18n

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed locales/*.json locales/desk/*.json
var files embed.FS

// Fallback is the language used for unknown languages and missing keys.
const Fallback = "en"

// Table is the translation table of one language. It is safe for
// concurrent use; tables are built once, on first use, and never change.
type Table struct {
	lang     string
	strs     map[string]string
	plurals  map[string]map[string]string
	json     []byte
	fallback *Table // nil for English
}

// tables are all the languages' tables, parsed on first use rather than
// at start-up: parsing them takes a few milliseconds, which a server's
// start need not wait for.
var tables = sync.OnceValue(func() map[string]*Table { return mustLoad("locales") })

// deskTables hold the words of the moderation desk (package admin), which
// readers never see, in the languages it has been translated to. Each
// falls back to the widget's table of its language, for the words of
// dates and numbers. They too are parsed on first use.
var deskTables = sync.OnceValue(func() map[string]*Table {
	desk := mustLoad("locales/desk")
	for lang, t := range desk {
		t.fallback = Get(lang)
	}
	return desk
})

func mustLoad(dir string) map[string]*Table {
	ts, err := load(dir)
	if err != nil {
		// The files are embedded in the binary, so this is a build
		// mistake that the package's tests catch.
		panic(err)
	}
	return ts
}

func load(dir string) (map[string]*Table, error) {
	names, err := files.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	ts := make(map[string]*Table)
	for _, n := range names {
		if n.IsDir() {
			continue
		}
		lang := strings.TrimSuffix(n.Name(), ".json")
		b, err := files.ReadFile(path.Join(dir, n.Name()))
		if err != nil {
			return nil, err
		}
		t, err := parse(lang, b)
		if err != nil {
			return nil, fmt.Errorf("locale %s: %w", lang, err)
		}
		ts[lang] = t
	}
	en, ok := ts[Fallback]
	if !ok {
		return nil, fmt.Errorf("locale %s missing", Fallback)
	}
	for lang, t := range ts {
		if lang != Fallback {
			t.fallback = en
		}
	}
	return ts, nil
}

var categories = map[string]bool{"zero": true, "one": true, "two": true, "few": true, "many": true, "other": true}

func parse(lang string, b []byte) (*Table, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	t := &Table{lang: lang, strs: make(map[string]string), plurals: make(map[string]map[string]string)}
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			t.strs[k] = s
			continue
		}
		var forms map[string]string
		if err := json.Unmarshal(v, &forms); err != nil {
			return nil, fmt.Errorf("key %q: want a string or an object of plural forms", k)
		}
		for c := range forms {
			if !categories[c] {
				return nil, fmt.Errorf("key %q: unknown plural category %q", k, c)
			}
		}
		if _, ok := forms["other"]; !ok {
			return nil, fmt.Errorf("key %q: plural forms need \"other\"", k)
		}
		t.plurals[k] = forms
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	t.json = buf.Bytes()
	return t, nil
}

// base returns the primary language subtag of a BCP 47 tag such as
// "ar-EG" or "en_GB", in lower case.
func base(lang string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if i := strings.IndexAny(lang, "-_"); i >= 0 {
		lang = lang[:i]
	}
	return lang
}

// Get returns the table for lang, a BCP 47 tag such as "ar", "ar-EG" or
// "en-GB". Unknown languages get the English table.
func Get(lang string) *Table {
	if t, ok := tables()[base(lang)]; ok {
		return t
	}
	return tables()[Fallback]
}

// Desk returns the moderation desk's table for lang; languages the desk
// has not been translated to get the English one.
func Desk(lang string) *Table {
	if t, ok := deskTables()[base(lang)]; ok {
		return t
	}
	return deskTables()[Fallback]
}

// DeskLanguages returns the languages the desk speaks, sorted.
func DeskLanguages() []string { return languages(deskTables()) }

// Languages returns the languages that have a table, sorted.
func Languages() []string { return languages(tables()) }

func languages(tables map[string]*Table) []string {
	ls := make([]string, 0, len(tables))
	for l := range tables {
		ls = append(ls, l)
	}
	sort.Strings(ls)
	return ls
}

// JSON returns the table for lang (see Get) as compact JSON, in the same
// shape as the locale file, for inlining into the widget script.
func JSON(lang string) []byte {
	return Get(lang).json
}

// Match picks the best language with a table for an Accept-Language
// header value, or Fallback when none fits.
func Match(acceptLanguage string) string {
	best, bestQ := Fallback, 0.0
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		if _, ok := tables()[base(tag)]; ok && q > bestQ {
			best, bestQ = base(tag), q
		}
	}
	return best
}

// Lang returns the table's language, e.g. "ar".
func (t *Table) Lang() string { return t.lang }

// Dir returns the writing direction of the table's language: "rtl" or
// "ltr", as used in the HTML dir attribute.
func (t *Table) Dir() string { return Dir(t.lang) }

// Dir returns "rtl" for right-to-left languages and "ltr" for the others.
func Dir(lang string) string {
	switch base(lang) {
	case "ar", "he", "fa", "ur", "ps", "yi", "dv", "ckb", "sd", "ug":
		return "rtl"
	}
	return "ltr"
}

// Has reports whether key exists in the table or its English fallback.
func (t *Table) Has(key string) bool {
	for ; t != nil; t = t.fallback {
		if _, ok := t.strs[key]; ok {
			return true
		}
		if _, ok := t.plurals[key]; ok {
			return true
		}
	}
	return false
}

// T returns the text for key with its placeholders filled from args, given
// as name, value pairs: T("respond.to", "name", "Ana"). Placeholders
// without a value are left as they are; a key missing from the table comes
// from English, and a key missing there is returned as is.
func (t *Table) T(key string, args ...string) string {
	for tt := t; tt != nil; tt = tt.fallback {
		if s, ok := tt.strs[key]; ok {
			return fill(s, args)
		}
	}
	return key
}

// N returns the plural text for key chosen by count n under the CLDR rules
// of the table's language. The placeholder {n} is n formatted for the
// language; args fill the others as in T.
func (t *Table) N(key string, n int, args ...string) string {
	for tt := t; tt != nil; tt = tt.fallback {
		forms, ok := tt.plurals[key]
		if !ok {
			continue
		}
		s, ok := forms[Plural(t.lang, n)]
		if !ok {
			s = forms["other"]
		}
		return fill(s, append([]string{"n", t.Number(n)}, args...))
	}
	return key
}

// Number formats n with the language's digit grouping, e.g. "20,000".
func (t *Table) Number(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	sep := t.T("num.group")
	if len(s) > 4 || (len(s) == 4 && t.lang != "es") {
		var b strings.Builder
		for i, r := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteString(sep)
			}
			b.WriteRune(r)
		}
		s = b.String()
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Date formats tm as an absolute date and time of day in tm's location,
// e.g. "March 5, 2025 at 3:04 PM", for readers without JavaScript (the
// widget uses the browser's Intl instead).
func (t *Table) Date(tm time.Time) string {
	months := strings.Split(t.T("date.months"), ",")
	month := tm.Month().String()
	if len(months) == 12 {
		month = months[tm.Month()-1]
	}
	// date.clock is the hour as CLDR writes it: "h" on a 12-hour clock
	// (with date.am and date.pm), "H" on a 24-hour one, "HH" padded to two
	// digits.
	h, ampm := tm.Hour()%12, t.T("date.am")
	if tm.Hour() >= 12 {
		ampm = t.T("date.pm")
	}
	if h == 0 {
		h = 12
	}
	hour := strconv.Itoa(h)
	switch t.T("date.clock") {
	case "H":
		hour, ampm = strconv.Itoa(tm.Hour()), ""
	case "HH":
		hour, ampm = fmt.Sprintf("%02d", tm.Hour()), ""
	}
	return t.T("date.format",
		"month", month,
		"day", strconv.Itoa(tm.Day()),
		"year", strconv.Itoa(tm.Year()),
		"hour", hour,
		"minute", fmt.Sprintf("%02d", tm.Minute()),
		"ampm", ampm)
}

// fill replaces {name} placeholders in one pass, so a value that itself
// looks like a placeholder is never expanded.
func fill(s string, args []string) string {
	if len(args) < 2 || !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		name := s[i+1 : i+j]
		b.WriteString(s[:i])
		if v, ok := lookup(args, name); ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i : i+j+1])
		}
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

func lookup(args []string, name string) (string, bool) {
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] == name {
			return args[i+1], true
		}
	}
	return "", false
}

// HTML returns s, a translated text, as HTML: its text escaped, and each
// {name} placeholder replaced by the HTML value gives for it (a link, a
// name isolated in <bdi>), or left as written where value has none.
func HTML(s string, value func(name string) (template.HTML, bool)) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range placeholderRE.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(template.HTMLEscapeString(s[last:m[0]]))
		if h, ok := value(s[m[2]:m[3]]); ok {
			b.WriteString(string(h))
		} else {
			b.WriteString(template.HTMLEscapeString(s[m[0]:m[1]]))
		}
		last = m[1]
	}
	b.WriteString(template.HTMLEscapeString(s[last:]))
	return template.HTML(b.String())
}

var placeholderRE = regexp.MustCompile(`\{(\w+)\}`)

// Placeholders returns the names of the {name} placeholders in s, in order.
func Placeholders(s string) []string {
	var names []string
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return names
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return names
		}
		names = append(names, s[i+1:i+j])
		s = s[i+j+1:]
	}
}
