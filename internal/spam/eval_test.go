package spam

import (
	"math"
	"testing"
)

// TestReport_Counting feeds a hand-made set of outcomes with a known
// confusion matrix: 10 spam (5 to spam, 3 held, 2 published) and 10
// legitimate (8 published, 1 held, 1 to spam).
func TestReport_Counting(t *testing.T) {
	var r Report
	add := func(a Action, spam bool, n int) {
		for range n {
			r.Add(a, spam)
		}
	}
	add(Spam, true, 4)
	add(Discard, true, 1)
	add(Hold, true, 3)
	add(Publish, true, 2)
	add(Publish, false, 8)
	add(Hold, false, 1)
	add(Spam, false, 1)

	if r.N != 20 || r.TP != 8 || r.FN != 2 || r.TN != 8 || r.FP != 2 {
		t.Fatalf("counts n=%d tp=%d fn=%d tn=%d fp=%d", r.N, r.TP, r.FN, r.TN, r.FP)
	}
	want := Tiers{Publish: Tier{Ham: 8, Spam: 2}, Hold: Tier{Ham: 1, Spam: 3}, Spam: Tier{Ham: 1, Spam: 5}}
	if r.Tiers != want {
		t.Errorf("tiers = %+v, want %+v", r.Tiers, want)
	}
	near := func(name string, got, want float64) {
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("precision", r.Precision, 0.8)
	near("recall", r.Recall, 0.8)
	near("f1", r.F1, 0.8)
	near("fpr", r.FPR, 0.2)
	near("spam tier fpr", r.SpamTierFPR, 0.1)
	// MCC = (8*8 - 2*2) / sqrt(10*10*10*10) = 0.6
	near("mcc", r.MCC, 0.6)
}

func TestReport_Degenerate(t *testing.T) {
	var r Report
	r.Add(Publish, false)
	if r.MCC != 0 || r.Precision != 0 || r.Recall != 0 || r.FPR != 0 {
		t.Errorf("one legitimate comment: %+v", r)
	}
}

func TestEvaluate(t *testing.T) {
	m, err := Train(tinyData(), TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data := tinyData()
	r, err := Evaluate(m, data, EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.N != len(data) || r.TP+r.FN != 8 || r.TN+r.FP != 8 || r.PerSecond <= 0 {
		t.Errorf("report %+v", r)
	}
	r, err = Evaluate(m, data, EvalOptions{Learn: 6, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r.N != len(data)-6 {
		t.Errorf("scored %d, want %d", r.N, len(data)-6)
	}
	a, _ := Evaluate(m, data, EvalOptions{Learn: 6, Seed: 3})
	if a != r && (a.TP != r.TP || a.FP != r.FP) {
		t.Errorf("the same seed gives different results: %+v vs %+v", a, r)
	}
	if _, err := Evaluate(m, data, EvalOptions{Learn: len(data)}); err == nil {
		t.Error("learning from everything: want an error")
	}
}
