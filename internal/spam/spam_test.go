package spam

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/ratelimit"
)

// fixed returns a Checker that always gives v (and err), counting calls.
func fixed(v Verdict, err error, calls *int) Checker {
	return CheckerFunc(func(context.Context, *Input) (Verdict, error) {
		if calls != nil {
			*calls++
		}
		return v, err
	})
}

func TestPipeline(t *testing.T) {
	pub := func(layer string, score float64) Verdict { return Verdict{Action: Publish, Layer: layer, Score: score} }
	r := func(code string) []comment.Reason { return []comment.Reason{NewReason(code)} }
	hold := Verdict{Action: Hold, Layer: "rules", Score: 0.5, Reasons: r("links_over_limit"), Evidence: true}
	spamV := Verdict{Action: Spam, Layer: "rules", Score: 0.9, Reasons: r("blocked_phrase"), Evidence: true}
	discard := Verdict{Action: Discard, Layer: "traps", Score: 1, Reasons: r("honeypot")}
	nearCertain := Verdict{Action: Spam, Layer: "classifier", Score: 0.999, Reasons: r("classifier_spam"), Unconfirmed: true, Evidence: true}
	signal := Verdict{Action: Publish, Layer: "signals", Score: 0.2, Reasons: r("phone_support"), Evidence: true}
	akismetSpam := Verdict{Action: Spam, Layer: "akismet", Score: 1, Reasons: r("akismet_spam"), Evidence: true}
	doubtful := Verdict{Action: Hold, Layer: "classifier", Score: 0.99, Reasons: r("classifier_hold"), Evidence: true, Shortfall: 2}
	strong := Verdict{Action: Hold, Layer: "signals", Score: 0.5, Reasons: []comment.Reason{NewReason("signals_hold"), NewReason("phone_support")}, Evidence: true, Boost: 2.5}
	linkCount := Verdict{Action: Spam, Layer: "rules", Score: 0.9, Reasons: r("links_spam_limit"), Evidence: true, Unconfirmed: true}
	tests := []struct {
		name       string
		layers     []Verdict
		errs       []error
		want       Action
		wantLayer  string
		wantCodes  []string
		wantRan    int
		wantErr    bool
		wantRateLm bool
	}{
		{"all publish: most suspicious recorded", []Verdict{pub("traps", 0), pub("classifier", 0.2), pub("akismet", 0)}, nil,
			Publish, "classifier", nil, 3, false, false},
		{"strictest wins", []Verdict{pub("traps", 0), hold, pub("akismet", 0)}, nil, Hold, "rules", []string{"links_over_limit"}, 3, false, false},
		{"a rule's spam stops the pipeline", []Verdict{hold, spamV, pub("akismet", 0)}, nil, Spam, "rules", []string{"blocked_phrase"}, 2, false, false},
		{"discard stops at once", []Verdict{discard, spamV}, nil, Discard, "traps", []string{"honeypot"}, 1, false, false},
		{"near-certain score alone is held", []Verdict{pub("rules", 0), nearCertain, pub("akismet", 0)}, nil,
			Hold, "classifier", []string{"classifier_spam", "not_confirmed"}, 3, false, false},
		{"near-certain score with a signal is spam", []Verdict{signal, nearCertain, pub("akismet", 0)}, nil,
			Spam, "classifier", []string{"classifier_spam", "confirmed_by", "phone_support"}, 2, false, false},
		{"a later layer confirms", []Verdict{pub("rules", 0), nearCertain, akismetSpam}, nil, Spam, "akismet", []string{"akismet_spam"}, 3, false, false},
		{"strong signals lift a doubtful score into spam", []Verdict{strong, doubtful}, nil,
			Spam, "classifier", []string{"classifier_hold", "boosted_by", "phone_support"}, 2, false, false},
		{"weak signals do not", []Verdict{signal, doubtful}, nil, Hold, "classifier", []string{"classifier_hold"}, 2, false, false},
		{"a link count alone is held", []Verdict{linkCount, pub("signals", 0), pub("classifier", 0.1)}, nil,
			Hold, "rules", []string{"links_spam_limit", "not_confirmed"}, 3, false, false},
		{"a link count and a doubtful score are spam", []Verdict{linkCount, pub("signals", 0), doubtful}, nil,
			Spam, "rules", []string{"links_spam_limit", "confirmed_by", "classifier_hold"}, 3, false, false},
		{"failed layer holds and the rest still run", []Verdict{pub("traps", 0), {Layer: "akismet"}, pub("x", 0)}, []error{nil, errors.New("timeout"), nil},
			Hold, "akismet", []string{"check_failed"}, 3, true, false},
		{"rate limit stops and is returned", []Verdict{{Layer: "traps"}, spamV}, []error{&RateLimitError{Key: "ip", RetryAfter: time.Minute}, nil},
			Hold, "traps", []string{"rate_limited_ip"}, 1, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran := 0
			var p Pipeline
			for i, v := range tt.layers {
				var err error
				if i < len(tt.errs) {
					err = tt.errs[i]
				}
				p.Layers = append(p.Layers, fixed(v, err, &ran))
			}
			res, err := p.Run(context.Background(), &Input{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			var rl *RateLimitError
			if errors.As(err, &rl) != tt.wantRateLm {
				t.Errorf("err = %v; rate limit error %v", err, tt.wantRateLm)
			}
			var codes []string
			for _, r := range res.Reasons {
				codes = append(codes, r.Code)
			}
			if res.Action != tt.want || res.Layer != tt.wantLayer || !slices.Equal(codes, tt.wantCodes) {
				t.Errorf("verdict = %v by %q for %q, want %v by %q for %q", res.Action, res.Layer, codes, tt.want, tt.wantLayer, tt.wantCodes)
			}
			if ran != tt.wantRan || len(res.Layers) != tt.wantRan {
				t.Errorf("ran %d layers, recorded %d; want %d", ran, len(res.Layers), tt.wantRan)
			}
		})
	}
}

func TestPipeline_RealLayers(t *testing.T) {
	base, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	rules, err := NewRuleChecker(Rules{BlockedWords: []string{"casino"}}, NewDuplicates(100))
	if err != nil {
		t.Fatal(err)
	}
	p := &Pipeline{Layers: []Checker{&Traps{Limiter: NewRateLimiter(ratelimit.NewMemory(100), nil)}, rules, NewSiteModel(base)}}
	ctx := context.Background()
	res, err := p.Run(ctx, &Input{Body: "Thanks, this explains the new bus routes well.", IP: "192.0.2.1", FormAge: time.Minute})
	if err != nil || res.Action != Publish || res.Layer != "classifier" || len(res.Layers) != 3 {
		t.Errorf("legitimate comment: %+v, %v", res, err)
	}
	res, _ = p.Run(ctx, &Input{Body: "best online casino", IP: "192.0.2.2", FormAge: -1})
	if res.Action != Spam || res.Layer != "rules" || len(res.Layers) != 2 {
		t.Errorf("blocked word: %+v", res)
	}
	res, _ = p.Run(ctx, &Input{Body: "hello", Honeypot: "x"})
	if res.Action != Spam || res.Layer != "traps" || len(res.Layers) != 1 {
		t.Errorf("honeypot: %+v", res)
	}
}

func TestAction(t *testing.T) {
	tests := []struct {
		a      Action
		name   string
		status comment.Status
	}{
		{Publish, "publish", comment.StatusApproved},
		{Hold, "hold", comment.StatusPending},
		{Spam, "spam", comment.StatusSpam},
		{Discard, "discard", comment.StatusDeleted},
	}
	for _, tt := range tests {
		if tt.a.String() != tt.name || tt.a.Status() != tt.status {
			t.Errorf("%d: %q %q, want %q %q", tt.a, tt.a.String(), tt.a.Status(), tt.name, tt.status)
		}
	}
	v := Verdict{Action: Hold, Layer: "rules", Score: 0.5, Reasons: []comment.Reason{NewReason("links_over_limit", "n", "4", "limit", "2")}}.Record()
	want := comment.Verdict{Layer: "rules", Score: 0.5, Reason: "held: 4 links (limit 2)",
		Reasons: []comment.Reason{{Code: "links_over_limit", Args: map[string]string{"n": "4", "limit": "2"}}}}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("Record = %+v, want %+v", v, want)
	}
}
