package spam

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// benchInputs returns the comments of the named sources (all if none) as
// inputs, with a site model over the built-in model that learned 50 of
// them, as a site would have.
func benchInputs(b *testing.B, names ...string) (*SiteModel, []Input) {
	b.Helper()
	if len(names) == 0 {
		for _, s := range sources {
			names = append(names, s.name)
		}
	}
	var all []Example
	for _, n := range names {
		all = append(all, source(b, n)...)
	}
	m, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	site := NewSiteModel(m)
	for i := 0; i < len(all); i += len(all) / 50 {
		site.Learn(exampleInput(all[i]), all[i].Spam)
	}
	inputs := make([]Input, len(all))
	for i, e := range all {
		inputs[i] = exampleInput(e)
	}
	return site, inputs
}

// BenchmarkClassify measures the classifier layer (the built-in model
// plus a site's learning, with its reasons) on one core, and reports
// comments per second: on YouTube comments (short), and on the comments
// of every source (blog spam and Stack Exchange posts are long).
func BenchmarkClassify(b *testing.B) {
	for _, set := range [][]string{{"youtube"}, nil} {
		name := "all"
		if set != nil {
			name = set[0]
		}
		b.Run(name, func(b *testing.B) {
			site, inputs := benchInputs(b, set...)
			b.ReportAllocs()
			start := time.Now()
			n := 0
			for b.Loop() {
				site.Classify(&inputs[n%len(inputs)])
				n++
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "comments/s")
		})
	}
}

// BenchmarkContentPipeline measures every layer that reads a comment
// (rules, signals, classifier) as a site runs them, on all sources.
func BenchmarkContentPipeline(b *testing.B) {
	site, inputs := benchInputs(b)
	p := ContentPipeline(site)
	ctx := context.Background()
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		p.Run(ctx, &inputs[n%len(inputs)])
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "comments/s")
}

// BenchmarkTrain trains the shipped model on every source (Train fits
// once on everything and once per source for calibration), and a model
// on 10,000 comments (the YouTube comments repeated with variations), as
// the spec's training-time target says.
func BenchmarkTrain(b *testing.B) {
	all := allSources(b)
	b.Run("all-sources", func(b *testing.B) {
		for b.Loop() {
			if _, err := Train(all, TrainOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	yt := source(b, "youtube")
	ex := make([]Example, 10_000)
	for i := range ex {
		e := yt[i%len(yt)]
		if round := i / len(yt); round > 0 {
			e.Text = fmt.Sprintf("%s (%d)", e.Text, round)
		}
		ex[i] = e
	}
	b.Run("fit-10k", func(b *testing.B) {
		for b.Loop() {
			Fit(ex, TrainOptions{})
		}
	})
}
