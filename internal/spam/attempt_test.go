package spam

import (
	"testing"
	"time"
)

// TestDuplicates_RetryIsNotADuplicate: a post sent again with its
// idempotency key (the first sending was judged but never stored: the
// poster's connection broke) is not the same text posted twice; the same
// text under another key is.
func TestDuplicates_RetryIsNotADuplicate(t *testing.T) {
	d := NewDuplicates(100)
	now := time.Now()
	in := &Input{SiteID: "s", Body: "The new timetable works well for the morning trains.", Email: "a@example.org", IP: "192.0.2.7", Attempt: "k1"}
	if got := d.Observe(in, now, time.Hour); got.SameSender {
		t.Fatal("a first post is a duplicate")
	}
	if got := d.Observe(in, now.Add(time.Second), time.Hour); got.SameSender || got.OnSite != 1 {
		t.Fatalf("its retry = %+v; want no duplicate, seen once", got)
	}
	other := *in
	other.Attempt = "k2"
	if got := d.Observe(&other, now.Add(2*time.Second), time.Hour); !got.SameSender {
		t.Fatal("the same text posted again as a new post is not a duplicate")
	}
}
