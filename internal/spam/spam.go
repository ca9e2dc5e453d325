// Package spam is Parley's spam defence: the layers that judge a new
// comment before it is stored, and the pipeline that chains them.
//
// Every layer is a Checker: bot traps (honeypot, time to submit, rate
// limits), rules a site owner sets (links, blocked words, domains, emails
// and IP ranges, duplicates on the site and across the server's sites),
// blog-spam signals weighed by hand (a sales keyword for a name, a
// website field pointing at a sales domain, a phone number with
// "support", templated praise), a statistical classifier built into the
// binary that learns from each moderator decision per site, and an
// optional upstream Akismet. The Pipeline keeps the strictest verdict and
// lets the classifier's near-certain score reach the spam tier only when
// another layer agrees. Every verdict carries its reasons as codes with
// arguments (comment.Reason), which Explain puts into words in any of
// Parley's languages. The service package builds a Pipeline per site and
// turns its Verdict into a comment status; nothing else should call the
// layers directly.
package spam

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"parley/internal/comment"
)

// Input is a comment as the spam layers see it. The HTTP layer fills the
// bot-trap fields; everything else comes from the reader's submission.
type Input struct {
	Body       string // Markdown as typed; never render this as HTML
	AuthorName string
	Email      string // private: never log it
	Website    string
	// IP is the raw client address. Layers that keep anything about it
	// (rate limits, duplicate detection) store only a keyed hash.
	IP        string
	UserAgent string
	SiteID    string
	PageURL   string
	Created   time.Time
	// Origins are the site's own origins ("https://news.example"): links
	// to them, like links to reference sites, are no spam signal.
	Origins []string

	// words keeps Tokenize(Body) for the layers after the first that
	// asks: an Input is judged by one goroutine, layer after layer.
	words     []string
	tokenized bool

	// Honeypot is the value of the hidden form field that people never
	// see and bots fill in; empty when the form had none or it was empty.
	Honeypot string
	// FormAge is the time since the form or widget was rendered, taken
	// from a signed token; -1 when unknown (0 and negative values are
	// treated as unknown too).
	FormAge time.Duration
	// Attempt names one post, whatever number of times it is sent: a
	// retry (the same idempotency key and text) is not a duplicate of
	// itself. "" when the poster sent no key.
	Attempt string
}

// bodyWords returns the body's words as Tokenize gives them, reading the
// body once for all the layers.
func (in *Input) bodyWords() []string {
	if !in.tokenized {
		in.words, in.tokenized = Tokenize(in.Body), true
	}
	return in.words
}

// Action is what a layer wants done with a comment. Later actions are
// stricter: the pipeline keeps the strictest.
type Action int

// The outcomes of a check, from mildest to strictest.
const (
	Publish Action = iota // show it to readers
	Hold                  // keep it for a moderator
	Spam                  // put it in the site's spam folder
	Discard               // drop it without storing; only for blatant spam
)

var actionNames = [...]string{"publish", "hold", "spam", "discard"}

// String returns "publish", "hold", "spam" or "discard".
func (a Action) String() string {
	if a < 0 || int(a) >= len(actionNames) {
		return fmt.Sprintf("action(%d)", int(a))
	}
	return actionNames[a]
}

// Status returns the comment status an action leads to. Discard maps to
// StatusDeleted, which the service takes to mean "do not store".
func (a Action) Status() comment.Status {
	switch a {
	case Hold:
		return comment.StatusPending
	case Spam:
		return comment.StatusSpam
	case Discard:
		return comment.StatusDeleted
	}
	return comment.StatusApproved
}

// Verdict is one layer's judgement of a comment.
type Verdict struct {
	Action Action
	Layer  string  // "traps", "rules", "signals", "classifier", "akismet", ...
	Score  float64 // 0 (surely legitimate) .. 1 (surely spam)
	// Reasons say why, most important first, for the moderator; never
	// shown to the poster. Explain puts them into words.
	Reasons []comment.Reason
	// Evidence says the layer found something spam-like on its own (a
	// rule, a trap, a blog-spam signal, a lesson from the site's
	// moderators, Akismet), even if it did not hold the comment for it.
	Evidence bool
	// Unconfirmed marks a Spam verdict that needs another layer's
	// Evidence: the classifier's near-certain score alone only holds a
	// comment. The Pipeline settles it.
	Unconfirmed bool
	// Shortfall, on the classifier's Hold, is how far (in log-odds) its
	// score lies below the near-certain threshold.
	Shortfall float64
	// Boost is what a layer's strongest findings add, in log-odds, to
	// the classifier's score when the Pipeline asks whether it is
	// near-certain: a phone number with "support", a sales keyword for a
	// name. Only layers that give Evidence boost.
	Boost float64
}

// Reason returns the verdict's reasons as an English sentence.
func (v Verdict) Reason() string { return Explain(v.Reasons, "en") }

// Record returns the verdict in the form stored with a comment.
func (v Verdict) Record() comment.Verdict {
	return comment.Verdict{Layer: v.Layer, Score: v.Score, Reason: v.Reason(), Reasons: v.Reasons}
}

// NewReason returns the reason code with its arguments, given as name,
// value pairs: NewReason("links_over_limit", "n", "4", "limit", "2").
func NewReason(code string, kv ...string) comment.Reason {
	r := comment.Reason{Code: code}
	if len(kv) > 1 {
		r.Args = make(map[string]string, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			r.Args[kv[i]] = kv[i+1]
		}
	}
	return r
}

// Checker judges one comment. Implementations must be safe for concurrent
// use. A Checker that cannot decide (a remote service is down) returns an
// error; the caller then holds the comment, never loses it. A rate limit
// is reported as a *RateLimitError, which the HTTP layer answers with 429
// instead of storing the comment.
type Checker interface {
	Check(ctx context.Context, in *Input) (Verdict, error)
}

// CheckerFunc lets an ordinary function be a Checker.
type CheckerFunc func(ctx context.Context, in *Input) (Verdict, error)

// Check calls f.
func (f CheckerFunc) Check(ctx context.Context, in *Input) (Verdict, error) { return f(ctx, in) }

// RateLimitError says a poster sent too much too fast. The comment should
// be refused (HTTP 429 with Retry-After), not stored.
type RateLimitError struct {
	Key        string // which limit: "ip" or "email"
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("too many comments from this %s: try again in %s", e.Key, e.RetryAfter.Round(time.Second))
}

// Pipeline runs layers in order, cheapest first, and keeps the strictest
// verdict. It stops at the first settled Spam or Discard: later layers
// (the remote ones above all) could not make the outcome milder, so
// asking them is wasted time. A Pipeline is itself a Checker.
//
// The spam tier is for comments that are spam beyond doubt. A layer's own
// Spam (a blocked word, a filled honeypot, the same text posted again)
// stands. The classifier's near-certain score (an Unconfirmed Spam)
// stands only when another layer, before or after it, gives Evidence;
// without any, the comment is held.
type Pipeline struct {
	Layers []Checker
}

// Result is a pipeline's decision and every verdict that led to it.
type Result struct {
	Verdict           // the deciding layer's verdict
	Layers  []Verdict // one per layer that ran, in order, for the record
}

// Check returns the deciding verdict; see Run.
func (p *Pipeline) Check(ctx context.Context, in *Input) (Verdict, error) {
	r, err := p.Run(ctx, in)
	return r.Verdict, err
}

// Run checks in with each layer. A *RateLimitError from any layer stops
// the pipeline and is returned as is. Any other layer error makes the
// verdict at least Hold ("check failed"), the remaining layers still run,
// and Run returns the verdict together with the joined errors, so the
// caller can log them and must still store the comment as held.
func (p *Pipeline) Run(ctx context.Context, in *Input) (Result, error) {
	var res Result
	var errs []error
	for _, l := range p.Layers {
		v, err := l.Check(ctx, in)
		if err != nil {
			var rl *RateLimitError
			if errors.As(err, &rl) {
				if v.Layer == "" {
					v.Layer = "traps"
				}
				v.Action, v.Score, v.Evidence = Hold, 1, true
				v.Reasons = []comment.Reason{NewReason("rate_limited_"+rl.Key, "retry", duration(rl.RetryAfter.Round(time.Second)))}
				res.Layers = append(res.Layers, v)
				res.Verdict = v
				return res, err
			}
			errs = append(errs, fmt.Errorf("%s: %w", layerName(v), err))
			v = Verdict{Action: Hold, Layer: v.Layer, Score: v.Score, Reasons: []comment.Reason{NewReason("check_failed", "layer", layerName(v))}}
		}
		res.Layers = append(res.Layers, v)
		if a, _ := settled(res.Layers, len(res.Layers)-1); a >= Spam {
			break
		}
	}
	res.Verdict = decide(res.Layers)
	return res, errors.Join(errs...)
}

// settled returns the action of layers[i] given the others, and whether
// the others' Boost made its score near-certain. An Unconfirmed Spam is
// Spam when another layer gave Evidence, else Hold. A doubtful score
// (Hold with a Shortfall) that the other layers' Boost lifts past the
// near-certain threshold is Spam: the layers that boosted it also gave
// Evidence.
func settled(layers []Verdict, i int) (a Action, boosted bool) {
	v := layers[i]
	if v.Action == Hold && v.Shortfall > 0 {
		var boost float64
		for j, w := range layers {
			if j != i && w.Evidence {
				boost += w.Boost
			}
		}
		if boost >= v.Shortfall {
			return Spam, true
		}
		return Hold, false
	}
	if v.Action < Spam || !v.Unconfirmed {
		return v.Action, false
	}
	if evidenceBesides(layers, i) >= 0 {
		return v.Action, false
	}
	return Hold, false
}

// evidenceBesides returns the index of the layer other than i that gave
// Evidence, the one with the most Boost, or -1.
func evidenceBesides(layers []Verdict, i int) int {
	best := -1
	for j, w := range layers {
		if j != i && w.Evidence && (best < 0 || w.Boost > layers[best].Boost) {
			best = j
		}
	}
	return best
}

// decide picks the deciding verdict: the strictest settled action, and
// among equal actions the most suspicious layer, so a published comment
// shows the classifier's score, not the traps' 0. A confirmed or boosted
// Spam says which layer confirmed it; an unconfirmed one says it was held.
func decide(layers []Verdict) Verdict {
	best, bestAction, bestBoosted := -1, Publish, false
	for i, v := range layers {
		a, boosted := settled(layers, i)
		if best < 0 || a > bestAction || a == bestAction && v.Score > layers[best].Score {
			best, bestAction, bestBoosted = i, a, boosted
		}
	}
	if best < 0 {
		return Verdict{Action: Publish}
	}
	v := layers[best]
	switch {
	case bestBoosted:
		j := evidenceBesides(layers, best)
		v.Action = Spam
		v.Reasons = slices.Concat(v.Reasons[:min(1, len(v.Reasons))],
			[]comment.Reason{NewReason("boosted_by", "layer", layers[j].Layer)}, firstFinding(layers[j]), v.Reasons[min(1, len(v.Reasons)):])
	case v.Action == bestAction && v.Unconfirmed:
		if j := evidenceBesides(layers, best); j >= 0 {
			v.Reasons = slices.Concat(v.Reasons, []comment.Reason{NewReason("confirmed_by", "layer", layers[j].Layer)}, firstFinding(layers[j]))
		}
	case v.Action != bestAction:
		// Spam by one measure alone (a near-certain score, a link count)
		// that nothing else confirms: held.
		v.Action = bestAction
		v.Reasons = slices.Concat(v.Reasons[:min(1, len(v.Reasons))], []comment.Reason{NewReason("not_confirmed")}, v.Reasons[min(1, len(v.Reasons)):])
	}
	v.Reasons = distinct(v.Reasons)
	return v
}

// distinct drops reasons that say what an earlier one said: the signals
// layer's "phone_support" and the classifier's "feature_phone_support"
// name the same thing.
func distinct(reasons []comment.Reason) []comment.Reason {
	out := reasons[:0:0]
	for _, r := range reasons {
		dup := false
		for _, o := range out {
			if strings.TrimPrefix(o.Code, "feature_") == strings.TrimPrefix(r.Code, "feature_") && maps.Equal(o.Args, r.Args) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, r)
		}
	}
	return out
}

// firstFinding is a layer's first reason that says what it found, for
// the verdict it confirmed.
func firstFinding(v Verdict) []comment.Reason {
	for i, r := range v.Reasons {
		if r.Code != "signals_hold" {
			return v.Reasons[i : i+1]
		}
	}
	return nil
}

// duration writes d for a reason without zero units: "1h", "1m30s",
// "250ms".
func duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func layerName(v Verdict) string {
	if v.Layer == "" {
		return "spam layer"
	}
	return v.Layer
}
