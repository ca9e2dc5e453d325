package outbox_test

import (
	"testing"
	"time"

	"parley/internal/outbox"
)

// TestBackoff: the n-th retry waits between half and all of
// min(max, min·2^(n-1)), and the waits of messages failing together
// spread out.
func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 5 * time.Second, 2: 10 * time.Second, 4: 40 * time.Second, 10: 30 * time.Minute, 100: 30 * time.Minute} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := outbox.Backoff(n, 5*time.Second, 30*time.Minute)
			if d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %v, want between %v and %v", n, d, want/2, want)
			}
			seen[d] = true
		}
		if len(seen) < 100 {
			t.Errorf("Backoff(%d) took only %d values in 200 draws: no jitter", n, len(seen))
		}
	}
}
