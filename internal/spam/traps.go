package spam

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/ratelimit"
)

// Traps is the first, cheapest layer: it catches bots by what they do
// rather than what they write. A filled honeypot is spam (or discarded,
// if the site says so); a form sent back faster than a person can type is
// held; too many comments from one address or e-mail are refused with a
// *RateLimitError.
type Traps struct {
	// HoneypotAction is what a filled honeypot leads to: Spam (the zero
	// value is taken to mean Spam) or Discard.
	HoneypotAction Action
	// MinFormAge is the shortest believable time between rendering the
	// form and posting it; 0 means DefaultMinFormAge, negative turns the
	// check off. Input.FormAge below it holds the comment.
	MinFormAge time.Duration
	// Limiter applies the per-IP and per-e-mail rate limits; nil means
	// no rate limits.
	Limiter *RateLimiter
	// Now returns the current time; time.Now if nil.
	Now func() time.Time
}

// DefaultMinFormAge is how quickly a person can plausibly read a page's
// comment form, type something and send it.
const DefaultMinFormAge = 3 * time.Second

// Check implements Checker. It returns a *RateLimitError when a limit is
// hit; the comment should then be refused, not stored.
func (t *Traps) Check(ctx context.Context, in *Input) (Verdict, error) {
	v := Verdict{Action: Publish, Layer: "traps"}
	if strings.TrimSpace(in.Honeypot) != "" {
		v.Action, v.Score, v.Evidence = Spam, 1, true
		v.Reasons = []comment.Reason{NewReason("honeypot")}
		if t.HoneypotAction == Discard {
			v.Action = Discard
		}
		return v, nil
	}
	if t.Limiter != nil {
		now := time.Now()
		if t.Now != nil {
			now = t.Now()
		}
		if err := t.Limiter.Allow(ctx, in, now); err != nil {
			return v, err
		}
	}
	minAge := t.MinFormAge
	if minAge == 0 {
		minAge = DefaultMinFormAge
	}
	// FormAge 0 is taken as unknown like -1: no real form is sent back
	// in no time, and a caller that forgot to fill it must not hold
	// every comment.
	if minAge > 0 && in.FormAge > 0 && in.FormAge < minAge {
		v.Action, v.Score, v.Evidence = Hold, 0.5, true
		v.Reasons = []comment.Reason{NewReason("too_fast", "age", duration(in.FormAge.Round(time.Millisecond)), "min", duration(minAge))}
	}
	return v, nil
}

// Default rate limits. They are generous for people (a busy office behind
// one address, a reader in a heated thread) and tight for bots.
var (
	DefaultIPLimit    = ratelimit.Limit{Burst: 20, Every: 15 * time.Second}
	DefaultEmailLimit = ratelimit.Limit{Burst: 6, Every: time.Minute}
)

// RateLimiter limits comments per client address and per author e-mail.
// Keys are keyed hashes: the store never sees an address.
type RateLimiter struct {
	Store   ratelimit.Store
	PerIP   ratelimit.Limit
	PerMail ratelimit.Limit
	key     []byte
}

// NewRateLimiter returns a limiter over store with the default limits.
// secret keys the hashes of addresses; instances that share a store must
// share it too. With a nil secret a random one is made, which is right
// for a single instance.
func NewRateLimiter(store ratelimit.Store, secret []byte) *RateLimiter {
	if secret == nil {
		secret = make([]byte, 32)
		rand.Read(secret)
	}
	return &RateLimiter{Store: store, PerIP: DefaultIPLimit, PerMail: DefaultEmailLimit, key: secret}
}

// Allow takes a token for the comment's address and e-mail. It returns a
// *RateLimitError if either bucket is empty. If the store fails the error
// is returned as is: the pipeline then holds the comment.
func (l *RateLimiter) Allow(ctx context.Context, in *Input, now time.Time) error {
	if in.IP != "" && l.PerIP.Burst > 0 {
		if err := l.take(ctx, "ip", ClientKey(in.IP), l.PerIP, now); err != nil {
			return err
		}
	}
	if e := strings.ToLower(strings.TrimSpace(in.Email)); e != "" && l.PerMail.Burst > 0 {
		if err := l.take(ctx, "email", e, l.PerMail, now); err != nil {
			return err
		}
	}
	return nil
}

// Take takes a token from the bucket of value under a limit of its own
// kind ("like-ip", say), keyed like the comment limits. It returns a
// *RateLimitError with Key kind when the bucket is empty.
func (l *RateLimiter) Take(ctx context.Context, kind, value string, lim ratelimit.Limit, now time.Time) error {
	return l.take(ctx, kind, value, lim, now)
}

func (l *RateLimiter) take(ctx context.Context, kind, value string, lim ratelimit.Limit, now time.Time) error {
	mac := hmac.New(sha256.New, l.key)
	mac.Write([]byte(kind + "\x00" + value))
	key := kind + ":" + hex.EncodeToString(mac.Sum(nil)[:12])
	ok, retry, err := l.Store.Take(ctx, key, lim, now)
	if err != nil {
		return fmt.Errorf("rate limit store: %w", err)
	}
	if !ok {
		return &RateLimitError{Key: kind, RetryAfter: retry}
	}
	return nil
}

// ClientKey returns the part of an address that identifies a client:
// the whole IPv4 address, or the /64 network of an IPv6 address, since
// one IPv6 user commonly holds a whole /64.
func ClientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
