package spam

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Report is the outcome of scoring labelled comments. Positive means "not
// published" (held or spam), so FPR is the share of legitimate comments a
// reader did not see at once, and SpamTierFPR the share that went to the
// spam folder, where nobody looks.
type Report struct {
	N           int     `json:"n"`
	TP          int     `json:"tp"`
	FP          int     `json:"fp"`
	TN          int     `json:"tn"`
	FN          int     `json:"fn"`
	Precision   float64 `json:"precision"`
	Recall      float64 `json:"recall"`
	F1          float64 `json:"f1"`
	MCC         float64 `json:"mcc"`
	FPR         float64 `json:"fpr"`
	Tiers       Tiers   `json:"tiers"`
	SpamTierFPR float64 `json:"spam_tier_fpr"`
	PerSecond   float64 `json:"per_second"`
}

// Tiers counts where legitimate and spam comments ended up.
type Tiers struct {
	Publish Tier `json:"publish"`
	Hold    Tier `json:"hold"`
	Spam    Tier `json:"spam"` // includes discarded
}

// Tier is the number of legitimate and spam comments in one outcome.
type Tier struct {
	Ham  int `json:"ham"`
	Spam int `json:"spam"`
}

// Add counts one scored comment: the action taken and whether it was spam.
func (r *Report) Add(a Action, spam bool) {
	t := &r.Tiers.Publish
	switch a {
	case Hold:
		t = &r.Tiers.Hold
	case Spam, Discard:
		t = &r.Tiers.Spam
	}
	if spam {
		t.Spam++
	} else {
		t.Ham++
	}
	r.N++
	switch {
	case spam && a != Publish:
		r.TP++
	case spam:
		r.FN++
	case a != Publish:
		r.FP++
	default:
		r.TN++
	}
	r.finish()
}

// finish recomputes the rates from the counts.
func (r *Report) finish() {
	div := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	r.Precision = div(r.TP, r.TP+r.FP)
	r.Recall = div(r.TP, r.TP+r.FN)
	if r.Precision+r.Recall > 0 {
		r.F1 = 2 * r.Precision * r.Recall / (r.Precision + r.Recall)
	} else {
		r.F1 = 0
	}
	r.FPR = div(r.FP, r.FP+r.TN)
	r.SpamTierFPR = div(r.Tiers.Spam.Ham, r.FP+r.TN)
	tp, fp, tn, fn := float64(r.TP), float64(r.FP), float64(r.TN), float64(r.FN)
	if d := (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn); d > 0 {
		r.MCC = (tp*tn - fp*fn) / math.Sqrt(d)
	} else {
		r.MCC = 0
	}
}

// EvalOptions say how to evaluate.
type EvalOptions struct {
	// Learn is how many examples to feed as moderator decisions before
	// scoring the rest; when it is above zero the examples are shuffled
	// with Seed first.
	Learn int
	Seed  uint64
}

// Evaluate scores examples the way a site's new comments are judged on
// their content, after teaching the site the first opt.Learn of them,
// and counts the outcomes. The layers are those that read the comment
// itself: the default rules (link limits; no duplicates, as the examples
// carry no time), the blog-spam signals and the site's classifier over
// m, settled as the Pipeline settles them.
func Evaluate(m *Model, examples []Example, opt EvalOptions) (Report, error) {
	if opt.Learn < 0 {
		return Report{}, fmt.Errorf("cannot learn from %d examples", opt.Learn)
	}
	if opt.Learn > 0 {
		if opt.Learn >= len(examples) {
			return Report{}, fmt.Errorf("learning from %d of %d examples leaves nothing to score", opt.Learn, len(examples))
		}
		examples = slices.Clone(examples)
		rng := rand.New(rand.NewPCG(opt.Seed, 0xe7a1))
		rng.Shuffle(len(examples), func(i, j int) { examples[i], examples[j] = examples[j], examples[i] })
	}
	return EvaluateAfter(m, examples[:opt.Learn], examples[opt.Learn:]), nil
}

// EvaluateAfter teaches a new site over m the examples in teach, as
// moderator decisions in that order, then scores test as Evaluate does.
func EvaluateAfter(m *Model, teach, test []Example) Report {
	site := NewSiteModel(m)
	for _, e := range teach {
		site.Learn(exampleInput(e), e.Spam)
	}
	p := ContentPipeline(site)
	ctx := context.Background()
	actions := make([]Action, len(test))
	start := time.Now()
	for i, e := range test {
		in := exampleInput(e)
		res, _ := p.Run(ctx, &in)
		actions[i] = res.Action
	}
	took := time.Since(start)
	var r Report
	for i, e := range test {
		r.Add(actions[i], e.Spam)
	}
	if took > 0 {
		r.PerSecond = float64(len(test)) / took.Seconds()
	}
	return r
}

// ContentPipeline returns the layers that judge a comment by its content
// alone, for a site whose classifier is site: the default rules without
// duplicate detection, the blog-spam signals, and the classifier.
func ContentPipeline(site *SiteModel) *Pipeline {
	rules, err := NewRuleChecker(Rules{}, nil)
	if err != nil {
		panic(err) // the zero Rules always compile
	}
	return &Pipeline{Layers: []Checker{rules, &Signals{Site: site}, site}}
}

func exampleInput(e Example) Input {
	return Input{Body: e.Text, AuthorName: e.Author, Website: e.Website}
}
