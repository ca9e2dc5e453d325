// Package spam is Parley's spam defence: the layers that judge a new
// comment before it is stored, and the pipeline that chains them.
//
// Every layer is a Checker: bot traps (honeypot, time to submit, rate
// limits), rules a site owner sets (links, blocked words, domains, emails
// and IP ranges, duplicates), a statistical classifier built into the
// binary that learns from each moderator decision per site, and an
// optional upstream Akismet. The service package builds a Pipeline per
// site and turns its Verdict into a comment status; nothing else should
// call the layers directly.
package spam

import (
	"context"
	"errors"
	"fmt"
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
	Layer  string  // "traps", "rules", "classifier", "akismet", ...
	Score  float64 // 0 (surely legitimate) .. 1 (surely spam)
	Reason string  // for the moderator; never shown to the poster
}

// Record returns the verdict in the form stored with a comment.
func (v Verdict) Record() comment.Verdict {
	return comment.Verdict{Layer: v.Layer, Score: v.Score, Reason: v.Reason}
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
// verdict. It stops at the first Spam or Discard: later layers (the remote
// ones above all) could not make the outcome milder, so asking them is
// wasted time. A Pipeline is itself a Checker.
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
	res := Result{Verdict: Verdict{Action: Publish}}
	var errs []error
	for _, l := range p.Layers {
		v, err := l.Check(ctx, in)
		if err != nil {
			var rl *RateLimitError
			if errors.As(err, &rl) {
				if v.Layer == "" {
					v.Layer = "traps"
				}
				v.Action, v.Score, v.Reason = Hold, 1, err.Error()
				res.Layers = append(res.Layers, v)
				res.Verdict = v
				return res, err
			}
			errs = append(errs, fmt.Errorf("%s: %w", layerName(v), err))
			v = Verdict{Action: Hold, Layer: v.Layer, Score: v.Score, Reason: "check failed: held for a moderator"}
		}
		res.Layers = append(res.Layers, v)
		// Among equal actions the most suspicious layer is recorded, so a
		// published comment shows the classifier's score, not the traps' 0.
		if v.Action > res.Action || v.Action == res.Action && (res.Verdict.Layer == "" || v.Score > res.Score) {
			res.Verdict = v
		}
		if v.Action >= Spam {
			break
		}
	}
	return res, errors.Join(errs...)
}

func layerName(v Verdict) string {
	if v.Layer == "" {
		return "spam layer"
	}
	return v.Layer
}
