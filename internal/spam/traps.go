package spam

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"sync"
	"time"

	"parley/internal/comment"
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

// Limit is a token bucket: Burst comments at once, then one more every
// Every. A zero Limit (Burst 0) means no limit.
type Limit struct {
	Burst int
	Every time.Duration
}

// Default rate limits. They are generous for people (a busy office behind
// one address, a reader in a heated thread) and tight for bots.
var (
	DefaultIPLimit    = Limit{Burst: 20, Every: 15 * time.Second}
	DefaultEmailLimit = Limit{Burst: 6, Every: time.Minute}
)

// BucketStore keeps the state of token buckets. The in-memory
// MemoryBuckets serves one instance; several instances behind a load
// balancer need a shared store (a PostgreSQL row per key updated in one
// statement, or a Redis script), which is why this is an interface.
type BucketStore interface {
	// Take removes one token from the bucket named key, first refilling
	// it for the time since it was last used at the limit's rate, up to
	// its burst. It reports whether a token was there and, if not, how
	// long until one will be. Take must be atomic per key. It returns an
	// error only if the store cannot be reached.
	Take(ctx context.Context, key string, l Limit, now time.Time) (ok bool, retryAfter time.Duration, err error)
}

// RateLimiter limits comments per client address and per author e-mail.
// Keys are keyed hashes: the store never sees an address.
type RateLimiter struct {
	Store   BucketStore
	PerIP   Limit
	PerMail Limit
	key     []byte
}

// NewRateLimiter returns a limiter over store with the default limits.
// secret keys the hashes of addresses; instances that share a store must
// share it too. With a nil secret a random one is made, which is right
// for a single instance.
func NewRateLimiter(store BucketStore, secret []byte) *RateLimiter {
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
func (l *RateLimiter) Take(ctx context.Context, kind, value string, lim Limit, now time.Time) error {
	return l.take(ctx, kind, value, lim, now)
}

func (l *RateLimiter) take(ctx context.Context, kind, value string, lim Limit, now time.Time) error {
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

// MemoryBuckets is a BucketStore in memory with bounded size. When it is
// full it first forgets buckets that have refilled completely (they are
// the same as new ones) and then, if it must, arbitrary ones: under a
// flood from more distinct clients than it can hold, some clients get a
// fresh bucket early, which errs on the side of letting people post.
type MemoryBuckets struct {
	shards [bucketShards]bucketShard
	max    int // per shard
}

const bucketShards = 16

type bucketShard struct {
	mu sync.Mutex
	m  map[string]tokenBucket
}

type tokenBucket struct {
	tokens float64
	last   time.Time
	full   time.Time // when the bucket will be full again
}

// NewMemoryBuckets returns a store that keeps at most about max buckets.
func NewMemoryBuckets(max int) *MemoryBuckets {
	b := &MemoryBuckets{max: max/bucketShards + 1}
	for i := range b.shards {
		b.shards[i].m = make(map[string]tokenBucket)
	}
	return b
}

// Len returns the number of buckets held.
func (b *MemoryBuckets) Len() int {
	n := 0
	for i := range b.shards {
		s := &b.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// Take implements BucketStore. It never fails.
func (b *MemoryBuckets) Take(_ context.Context, key string, l Limit, now time.Time) (bool, time.Duration, error) {
	s := &b.shards[shardOf(key)]
	s.mu.Lock()
	defer s.mu.Unlock()
	bk, ok := s.m[key]
	if !ok {
		if len(s.m) >= b.max {
			s.evict(now, b.max)
		}
		bk = tokenBucket{tokens: float64(l.Burst), last: now}
	}
	every := l.Every.Seconds()
	if every > 0 && now.After(bk.last) {
		bk.tokens = math.Min(float64(l.Burst), bk.tokens+now.Sub(bk.last).Seconds()/every)
	}
	bk.last = now
	if bk.tokens < 1 {
		s.m[key] = bk
		if every <= 0 {
			return false, time.Hour, nil
		}
		wait := time.Duration((1 - bk.tokens) * every * float64(time.Second))
		return false, max(wait, time.Second), nil
	}
	bk.tokens--
	bk.full = now.Add(time.Duration((float64(l.Burst) - bk.tokens) * every * float64(time.Second)))
	s.m[key] = bk
	return true, 0, nil
}

// evict makes room in a full shard: refilled buckets go first, then an
// eighth of the rest, so that eviction does not run on every new key.
func (s *bucketShard) evict(now time.Time, max int) {
	for k, bk := range s.m {
		if !bk.full.After(now) {
			delete(s.m, k)
		}
	}
	if len(s.m) < max {
		return
	}
	n := max/8 + 1
	for k := range s.m {
		delete(s.m, k)
		if n--; n == 0 {
			break
		}
	}
}

func shardOf(key string) int {
	h := uint32(fnvOffset)
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * fnvPrime
	}
	return int(h % bucketShards)
}
