package spam

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"parley/internal/publicdata"
)

// The public labelled sets in testdata/spam, one folder per source. Each
// folder's README says where its data comes from.
var sources = []struct {
	name  string
	files []string
}{
	{"youtube", youtubeFiles},
	{"wordpress", []string{"wordpress-blog-spam.jsonl.gz"}},
	{"stackexchange", []string{"stackexchange-spam.jsonl.gz", "stackexchange-ham.jsonl.gz"}},
	{"foxnews", []string{"fox-news-comments.jsonl.gz"}},
}

// corpusCache keeps the read sets for the test binary's run.
var corpusCache = map[string][]Example{}

// source reads one source's examples, grouped under the source's name.
func source(tb testing.TB, name string) []Example {
	tb.Helper()
	if ex, ok := corpusCache[name]; ok {
		return ex
	}
	i := slices.IndexFunc(sources, func(s struct {
		name  string
		files []string
	}) bool {
		return s.name == name
	})
	if i < 0 {
		tb.Fatalf("no source %q", name)
	}
	dir := filepath.Join(publicdata.Dir(tb, "spam"), name)
	var all []Example
	for _, n := range sources[i].files {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			tb.Fatal(err)
		}
		ex, err := ReadExamples(f, n)
		f.Close()
		if err != nil {
			tb.Fatal(err)
		}
		for j := range ex {
			ex[j].Group = name
		}
		all = append(all, ex...)
	}
	corpusCache[name] = all
	return all
}

// allSources reads every source.
func allSources(tb testing.TB) []Example {
	var all []Example
	for _, s := range sources {
		all = append(all, source(tb, s.name)...)
	}
	return all
}
