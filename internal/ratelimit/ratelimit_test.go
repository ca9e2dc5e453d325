package ratelimit

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestMemory_Take(t *testing.T) {
	m := NewMemory(100)
	ctx := context.Background()
	l := Limit{Burst: 3, Every: 10 * time.Second}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		if ok, _, _ := m.Take(ctx, "a", l, now); !ok {
			t.Fatalf("take %d of the burst refused", i+1)
		}
	}
	ok, retry, err := m.Take(ctx, "a", l, now)
	if ok || err != nil || retry != 10*time.Second {
		t.Fatalf("past the burst: %v, retry %v, %v", ok, retry, err)
	}
	if ok, _, _ := m.Take(ctx, "b", l, now); !ok {
		t.Fatal("another key shares the bucket")
	}
	// One token back after Every, not more.
	later := now.Add(10 * time.Second)
	if ok, _, _ := m.Take(ctx, "a", l, later); !ok {
		t.Fatal("no token after the refill time")
	}
	if ok, _, _ := m.Take(ctx, "a", l, later); ok {
		t.Fatal("more than one token after one refill time")
	}
}

func TestMemory_Bounded(t *testing.T) {
	b := NewMemory(1000)
	now := time.Now()
	l := Limit{Burst: 5, Every: time.Hour}
	for i := range 100_000 {
		if _, _, err := b.Take(context.Background(), fmt.Sprint("k", i), l, now); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.Len(); n > 1100 {
		t.Errorf("holds %d buckets, want about 1000 at most", n)
	}
}
