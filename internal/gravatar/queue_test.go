package gravatar

import (
	"strings"
	"testing"
)

// TestWantQueuesOnce: a key waits in the queue once however often it is
// wanted; with the queue full, more wishes are dropped, never waited for.
func TestWantQueuesOnce(t *testing.T) {
	f, err := New(Config{URL: "https://gravatar.com/avatar/", Store: struct{ Store }{}, Queue: 3})
	if err != nil {
		t.Fatal(err)
	}
	f.Want("k1", "a@example.org")
	f.Want("k1", "a@example.org") // already waiting
	f.Want("k2", "b@example.org")
	f.Want("k0", "")              // no address: nothing to look up
	f.Want("k3", "c@example.org") // the last place
	f.Want("k4", "d@example.org") // the queue is full: dropped
	var keys []string
	for len(f.queue) > 0 {
		keys = append(keys, (<-f.queue).key)
	}
	if got := strings.Join(keys, ","); got != "k1,k2,k3" {
		t.Errorf("queued %s, want k1,k2,k3", got)
	}
	if f.waiting["k4"] || f.waiting["k0"] || !f.waiting["k3"] {
		t.Errorf("waiting %v", f.waiting)
	}
}

// TestPrivateService: only a service on a private network may be reached
// there; a public one's fetches (and redirects) stay on public addresses.
func TestPrivateService(t *testing.T) {
	for host, private := range map[string]bool{
		"127.0.0.1": true, "::1": true, "10.1.2.3": true, "192.168.0.9": true, "localhost": true,
		"93.184.216.34": false, "2606:4700::1111": false,
	} {
		if got := privateHost(host); got != private {
			t.Errorf("privateHost(%q) = %v, want %v", host, got, private)
		}
	}
	f, err := New(Config{URL: "https://93.184.216.34/avatar/", Store: struct{ Store }{}})
	if err != nil {
		t.Fatal(err)
	}
	if f.fetcher.AllowPrivate {
		t.Error("a public service's fetcher may reach private addresses")
	}
}
