package spam

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkClassify measures classification by the site model (default
// weights plus a site's learning) over the shared YouTube comments, and
// reports comments per second on one core.
func BenchmarkClassify(b *testing.B) {
	sets := youtube(b)
	var all []Example
	for _, s := range sets {
		all = append(all, s...)
	}
	m, err := Train(all, TrainOptions{})
	if err != nil {
		b.Fatal(err)
	}
	site := NewSiteModel(m)
	for _, e := range all[:50] {
		site.Learn(Input{Body: e.Text}, e.Spam)
	}
	inputs := make([]Input, len(all))
	for i, e := range all {
		inputs[i] = Input{Body: e.Text}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	n := 0
	for b.Loop() {
		site.Classify(&inputs[n%len(inputs)])
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "comments/s")
}

// BenchmarkTrain fits a model to 10,000 comments (the shared YouTube data
// repeated with variations), as the spec's training-time target says.
// Train also calibrates, which fits once more per group.
func BenchmarkTrain(b *testing.B) {
	sets := youtube(b)
	var all []Example
	for _, s := range sets {
		all = append(all, s...)
	}
	ex := make([]Example, 10_000)
	for i := range ex {
		e := all[i%len(all)]
		if round := i / len(all); round > 0 {
			e.Text = fmt.Sprintf("%s (%d)", e.Text, round)
		}
		ex[i] = e
	}
	b.Run("fit", func(b *testing.B) {
		for b.Loop() {
			Fit(ex, TrainOptions{})
		}
	})
	b.Run("fit+calibrate", func(b *testing.B) {
		for b.Loop() {
			if _, err := Train(ex, TrainOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
