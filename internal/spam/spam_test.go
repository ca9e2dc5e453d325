package spam

import (
	"context"
	"errors"
	"testing"
	"time"

	"parley/internal/comment"
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
	hold := Verdict{Action: Hold, Layer: "rules", Score: 0.5, Reason: "links"}
	spamV := Verdict{Action: Spam, Layer: "classifier", Score: 0.99}
	discard := Verdict{Action: Discard, Layer: "traps", Score: 1}
	tests := []struct {
		name       string
		layers     []Verdict
		errs       []error
		want       Verdict
		wantRan    int
		wantErr    bool
		wantRateLm bool
	}{
		{"all publish: most suspicious recorded", []Verdict{pub("traps", 0), pub("classifier", 0.2), pub("akismet", 0)}, nil, pub("classifier", 0.2), 3, false, false},
		{"strictest wins", []Verdict{pub("traps", 0), hold, pub("akismet", 0)}, nil, hold, 3, false, false},
		{"spam stops the pipeline", []Verdict{hold, spamV, pub("akismet", 0)}, nil, spamV, 2, false, false},
		{"discard stops at once", []Verdict{discard, spamV}, nil, discard, 1, false, false},
		{"failed layer holds and the rest still run", []Verdict{pub("traps", 0), {Layer: "akismet"}, pub("x", 0)}, []error{nil, errors.New("timeout"), nil},
			Verdict{Action: Hold, Layer: "akismet", Reason: "check failed: held for a moderator"}, 3, true, false},
		{"rate limit stops and is returned", []Verdict{{Layer: "traps"}, spamV}, []error{&RateLimitError{Key: "ip", RetryAfter: time.Minute}, nil},
			Verdict{Action: Hold, Layer: "traps", Score: 1, Reason: "too many comments from this ip: try again in 1m0s"}, 1, true, true},
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
			if res.Verdict != tt.want {
				t.Errorf("verdict = %+v, want %+v", res.Verdict, tt.want)
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
	p := &Pipeline{Layers: []Checker{&Traps{Limiter: NewRateLimiter(NewMemoryBuckets(100), nil)}, rules, NewSiteModel(base)}}
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
	v := Verdict{Action: Spam, Layer: "rules", Score: 0.9, Reason: "r"}.Record()
	if v != (comment.Verdict{Layer: "rules", Score: 0.9, Reason: "r"}) {
		t.Errorf("Record = %+v", v)
	}
}
