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
	{"stackexchange", []string{"stackexchange-ham.jsonl.gz", "stackexchange-spam.jsonl.gz"}},
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

// youtubeFiles are the four shared YouTube Spam Collection files; the
// fifth (Shakira) is held back for independent evaluation.
var youtubeFiles = []string{"Youtube01-Psy.csv", "Youtube02-KatyPerry.csv", "Youtube03-LMFAO.csv", "Youtube04-Eminem.csv"}

// youtube reads the YouTube files, one slice per video, grouped by file.
func youtube(tb testing.TB) [][]Example {
	tb.Helper()
	dir := filepath.Join(publicdata.Dir(tb, "spam"), "youtube")
	var sets [][]Example
	for _, n := range youtubeFiles {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			tb.Fatal(err)
		}
		ex, err := ReadExamples(f, n)
		f.Close()
		if err != nil {
			tb.Fatal(err)
		}
		sets = append(sets, ex)
	}
	return sets
}

// pool adds r's counts to p.
func (p *Report) pool(r Report) {
	p.N += r.N
	p.TP += r.TP
	p.FP += r.FP
	p.TN += r.TN
	p.FN += r.FN
	for _, t := range [][2]*Tier{{&p.Tiers.Publish, &r.Tiers.Publish}, {&p.Tiers.Hold, &r.Tiers.Hold}, {&p.Tiers.Spam, &r.Tiers.Spam}} {
		t[0].Ham += t[1].Ham
		t[0].Spam += t[1].Spam
	}
	p.finish()
}
