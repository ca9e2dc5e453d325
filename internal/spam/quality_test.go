package spam

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/publicdata"
)

// The quality tests measure the filter the way the issue that asked for
// it does (and SPEC.md's spam quality targets): on comments from a source
// it was not trained on, with thresholds calibrated by cross-validation
// inside the training sources, never on the scored ones. They log their
// tables; run them with
//
//	go test ./internal/spam -run 'LeaveOne|LearningCurve' -v
//
// Each asserts what the filter reaches with a little room, so a change
// that makes it worse fails, and the targets it is held to: on every
// held-out source at most 3 % of legitimate comments held or sent to
// spam, at most 0.5 % sent to spam.

// foldModels caches the model trained without each source: the
// leave-one-source-out table and the learning curve share them.
var foldModels = struct {
	sync.Mutex
	m map[string]*Model
}{m: map[string]*Model{}}

// modelWithout trains (once per test binary) a model on every source but
// held.
func modelWithout(tb testing.TB, held string) (*Model, time.Duration) {
	tb.Helper()
	foldModels.Lock()
	defer foldModels.Unlock()
	if m, ok := foldModels.m[held]; ok {
		return m, 0
	}
	var train []Example
	for _, s := range sources {
		if s.name != held {
			train = append(train, source(tb, s.name)...)
		}
	}
	start := time.Now()
	m, err := Train(train, TrainOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	foldModels.m[held] = m
	return m, time.Since(start)
}

// row formats one line of a table: counts, then the four figures the
// issue asks for (MCC where the source has both classes).
func row(name string, r Report) string {
	mcc := "    -"
	if r.TP+r.FN > 0 && r.TN+r.FP > 0 {
		mcc = fmt.Sprintf("%5.3f", r.MCC)
	}
	recall, fpr, tier := "    -", "     -", "     -"
	if r.TP+r.FN > 0 {
		recall = fmt.Sprintf("%5.3f", r.Recall)
	}
	if r.TN+r.FP > 0 {
		fpr = fmt.Sprintf("%5.2f%%", 100*r.FPR)
		tier = fmt.Sprintf("%5.2f%%", 100*r.SpamTierFPR)
	}
	return fmt.Sprintf("%-24s %5d %5d  %s  %s  %s  %s   %4d/%3d/%3d  %4d/%4d/%4d", name, r.TN+r.FP, r.TP+r.FN, mcc, fpr, tier, recall,
		r.Tiers.Publish.Ham, r.Tiers.Hold.Ham, r.Tiers.Spam.Ham, r.Tiers.Publish.Spam, r.Tiers.Hold.Spam, r.Tiers.Spam.Spam)
}

const tableHead = "source                     ham  spam    MCC  ham held  ham spam  recall   ham pub/hold/spam  spam pub/hold/spam"

// TestLeaveOneSourceOut trains on every source but one and judges the
// held-out one with the content layers (link limits, blog-spam signals,
// classifier), for each source in turn: the model must learn spam, not
// the source. WordPress has spam only and Fox News legitimate comments
// only, so they give recall and false-positive rates, not MCC.
func TestLeaveOneSourceOut(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four models")
	}
	lines := []string{"leave one source out (trained on the other three):", tableHead}
	var pooled Report
	for _, s := range sources {
		m, took := modelWithout(t, s.name)
		r := EvaluateAfter(m, nil, source(t, s.name))
		pooled.pool(r)
		hold, spamT := m.Thresholds()
		lines = append(lines, row(s.name, r)+fmt.Sprintf("   (thresholds %.3f/%.4f, trained in %s)", hold, spamT, took.Round(100*time.Millisecond)))
		if r.FPR > 0.03 || r.SpamTierFPR > 0.005 {
			t.Errorf("%s: %.2f%% of legitimate comments held or spammed, %.2f%% spammed; want at most 3%% and 0.5%%", s.name, 100*r.FPR, 100*r.SpamTierFPR)
		}
	}
	lines = append(lines, row("pooled", pooled))
	t.Log(strings.Join(lines, "\n"))
	// What the filter reaches today, with a little room: it must not get
	// worse. (SPEC.md aims at MCC 0.90 on every source; across sources
	// this different, it is far from that: see the README.)
	if pooled.Recall < 0.32 || pooled.MCC < 0.40 {
		t.Errorf("pooled recall %.3f, MCC %.3f; want at least 0.32 and 0.40", pooled.Recall, pooled.MCC)
	}

	// Hateful comments are not spam: none may reach the spam folder.
	m, _ := modelWithout(t, "foxnews")
	var hateful Report
	p := ContentPipeline(NewSiteModel(m))
	for _, e := range foxHateful(t) {
		in := exampleInput(e)
		res, _ := p.Run(t.Context(), &in)
		hateful.Add(res.Action, false)
	}
	t.Logf("the %d hateful Fox News comments: %d published, %d held, %d spam", hateful.N, hateful.Tiers.Publish.Ham, hateful.Tiers.Hold.Ham, hateful.Tiers.Spam.Ham)
	if hateful.Tiers.Spam.Ham > 0 {
		t.Errorf("%d hateful (not spam) comments went to spam", hateful.Tiers.Spam.Ham)
	}
}

// foxHateful returns the Fox News comments the annotators marked
// hateful; the data files keep the mark in a field ReadExamples skips.
func foxHateful(tb testing.TB) []Example {
	tb.Helper()
	f, err := os.Open(filepath.Join(publicdata.Dir(tb, "spam"), "foxnews", "fox-news-comments.jsonl.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	var out []Example
	dec := json.NewDecoder(zr)
	for dec.More() {
		var c struct {
			Text    string `json:"text"`
			Hateful bool   `json:"hateful"`
		}
		if err := dec.Decode(&c); err != nil {
			tb.Fatal(err)
		}
		if c.Hateful {
			out = append(out, Example{Text: c.Text, Group: "foxnews"})
		}
	}
	if len(out) == 0 {
		tb.Fatal("no hateful comments found")
	}
	return out
}

// TestLeaveOneVideoOut trains on three YouTube videos and every other
// source and scores the fourth video, for each video: a new site of a
// kind the filter knows. Thresholds come from leaving one source out
// inside the training data (the three videos are one source).
func TestLeaveOneVideoOut(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four models")
	}
	var others []Example
	for _, s := range sources[1:] {
		others = append(others, source(t, s.name)...)
	}
	videos := youtube(t)
	lines := []string{"leave one video out (trained on the other three and every other source):", tableHead}
	var pooled Report
	for v := range videos {
		train := slices.Clone(others)
		for i, set := range videos {
			if i != v {
				for _, e := range set {
					e.Group = "youtube"
					train = append(train, e)
				}
			}
		}
		m, err := Train(train, TrainOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r := EvaluateAfter(m, nil, videos[v])
		pooled.pool(r)
		lines = append(lines, row(youtubeFiles[v], r))
		if r.FPR > 0.03 || r.SpamTierFPR > 0.005 {
			t.Errorf("%s: %.2f%% of legitimate comments held or spammed, %.2f%% spammed; want at most 3%% and 0.5%%", youtubeFiles[v], 100*r.FPR, 100*r.SpamTierFPR)
		}
	}
	lines = append(lines, row("pooled", pooled))
	t.Log(strings.Join(lines, "\n"))
	if pooled.MCC < 0.77 {
		t.Errorf("pooled MCC %.3f; want at least 0.77", pooled.MCC)
	}
}

// TestLearningCurve teaches a new site K of the held-out source's own
// comments as moderator decisions (a random half of the source is the
// pool they come from) and scores the other half, for K = 0, 25, 50, 100
// and 500, pooled over the four held-out sources and three shuffles. The
// site must get better as its moderators teach it.
func TestLearningCurve(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four models")
	}
	steps := []int{0, 25, 50, 100, 500}
	curve := make([]Report, len(steps))
	perSource := map[string][]Report{}
	for _, s := range sources {
		m, _ := modelWithout(t, s.name)
		perSource[s.name] = make([]Report, len(steps))
		for seed := range uint64(3) {
			ex := slices.Clone(source(t, s.name))
			rand.New(rand.NewPCG(seed, 0xc0ffee)).Shuffle(len(ex), func(i, j int) { ex[i], ex[j] = ex[j], ex[i] })
			pool, test := ex[:len(ex)/2], ex[len(ex)/2:]
			for k, n := range steps {
				r := EvaluateAfter(m, pool[:min(n, len(pool))], test)
				curve[k].pool(r)
				perSource[s.name][k].pool(r)
			}
		}
	}
	lines := []string{"learning curve (decisions taught, then the other half scored; 4 held-out sources × 3 shuffles):",
		"decisions   MCC  ham held  ham spam  recall"}
	for k, n := range steps {
		c := curve[k]
		lines = append(lines, fmt.Sprintf("%9d  %5.3f  %6.2f%%  %6.2f%%   %5.3f", n, c.MCC, 100*c.FPR, 100*c.SpamTierFPR, c.Recall))
	}
	lines = append(lines, "per source, K: MCC / ham held / recall")
	for _, s := range sources {
		var parts []string
		for k, n := range steps {
			r := perSource[s.name][k]
			f := strings.Fields(row("", r))
			parts = append(parts, fmt.Sprintf("%d: %s / %s / %s", n, f[2], f[3], f[5]))
		}
		lines = append(lines, fmt.Sprintf("  %-14s %s", s.name, strings.Join(parts, " | ")))
	}
	t.Log(strings.Join(lines, "\n"))
	for k := 1; k < len(steps); k++ {
		if curve[k].MCC < curve[k-1].MCC-0.01 {
			t.Errorf("%d decisions: MCC %.3f, below %.3f after %d", steps[k], curve[k].MCC, curve[k-1].MCC, steps[k-1])
		}
	}
	last := curve[len(steps)-1]
	if last.MCC < curve[0].MCC+0.25 || last.SpamTierFPR > 0.005 || last.FPR > 0.03 {
		t.Errorf("after 500 decisions: MCC %.3f (from %.3f), ham held %.2f%%, spammed %.2f%%", last.MCC, curve[0].MCC, 100*last.FPR, 100*last.SpamTierFPR)
	}
}
