// Package ratelimit is token buckets: how many of something a key (a
// client address, an email address, a reader) may do at once and how fast
// that refills, kept in memory for one instance or in a shared Store for
// several. The spam traps, log-in links, likes, reports, the desk's
// log-in attempts and the surge guard all count with it.
package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"
)

// Limit is a token bucket: Burst at once, then one more every Every. A
// zero Limit (Burst 0) means no limit.
type Limit struct {
	Burst int
	Every time.Duration
}

// Store keeps the state of token buckets. Memory serves one instance;
// several instances behind a load balancer need a shared store (a
// PostgreSQL row per key updated in one statement), which is why this is
// an interface.
type Store interface {
	// Take removes one token from the bucket named key, first refilling
	// it for the time since it was last used at the limit's rate, up to
	// its burst. It reports whether a token was there and, if not, how
	// long until one will be. Take must be atomic per key. It returns an
	// error only if the store cannot be reached.
	Take(ctx context.Context, key string, l Limit, now time.Time) (ok bool, retryAfter time.Duration, err error)
}

// Memory is a Store in memory with bounded size. When it is full it
// first forgets buckets that have refilled completely (they are
// the same as new ones) and then, if it must, arbitrary ones: under a
// flood from more distinct clients than it can hold, some clients get a
// fresh bucket early, which errs on the side of letting people post.
type Memory struct {
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

// NewMemory returns a store that keeps at most about max buckets.
func NewMemory(max int) *Memory {
	b := &Memory{max: max/bucketShards + 1}
	for i := range b.shards {
		b.shards[i].m = make(map[string]tokenBucket)
	}
	return b
}

// Len returns the number of buckets held.
func (b *Memory) Len() int {
	n := 0
	for i := range b.shards {
		s := &b.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// Take implements Store. It never fails.
func (b *Memory) Take(_ context.Context, key string, l Limit, now time.Time) (bool, time.Duration, error) {
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

// FNV-1a, to pick a shard.
const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)
