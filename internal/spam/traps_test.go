package spam

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"parley/internal/ratelimit"
)

func TestTraps(t *testing.T) {
	tests := []struct {
		name  string
		traps Traps
		in    Input
		want  Action
	}{
		{"nothing wrong", Traps{}, Input{FormAge: time.Minute}, Publish},
		{"age unknown", Traps{}, Input{FormAge: -1}, Publish},
		{"age not filled in", Traps{}, Input{}, Publish},
		{"honeypot filled", Traps{}, Input{Honeypot: "http://spam.example", FormAge: time.Minute}, Spam},
		{"honeypot filled, site discards", Traps{HoneypotAction: Discard}, Input{Honeypot: "x"}, Discard},
		{"honeypot only whitespace", Traps{}, Input{Honeypot: "  ", FormAge: time.Minute}, Publish},
		{"too fast", Traps{}, Input{FormAge: 800 * time.Millisecond}, Hold},
		{"just slow enough", Traps{}, Input{FormAge: 3 * time.Second}, Publish},
		{"custom minimum", Traps{MinFormAge: 10 * time.Second}, Input{FormAge: 5 * time.Second}, Hold},
		{"check off", Traps{MinFormAge: -1}, Input{FormAge: 0}, Publish},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := tt.traps.Check(context.Background(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if v.Action != tt.want || v.Layer != "traps" {
				t.Errorf("got %v (%s: %s), want %v", v.Action, v.Layer, v.Reason(), tt.want)
			}
			if v.Action != Publish && len(v.Reasons) == 0 {
				t.Error("no reason given")
			}
		})
	}
}

func TestRateLimiter(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	lim := NewRateLimiter(ratelimit.NewMemory(1000), []byte("secret"))
	lim.PerIP = ratelimit.Limit{Burst: 3, Every: 10 * time.Second}
	lim.PerMail = ratelimit.Limit{Burst: 2, Every: time.Minute}
	traps := &Traps{Limiter: lim, Now: func() time.Time { return now }}
	post := func(ip, email string) error {
		_, err := traps.Check(context.Background(), &Input{IP: ip, Email: email, FormAge: -1})
		return err
	}
	for i := range 3 {
		if err := post("192.0.2.1", ""); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	err := post("192.0.2.1", "")
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.Key != "ip" || rl.RetryAfter != 10*time.Second {
		t.Fatalf("fourth post: %v, want a 10s ip limit", err)
	}
	if err := post("192.0.2.2", ""); err != nil {
		t.Errorf("another address is limited too: %v", err)
	}
	now = now.Add(10 * time.Second)
	if err := post("192.0.2.1", ""); err != nil {
		t.Errorf("after a refill: %v", err)
	}

	// One IPv6 client holds a /64: its addresses share a bucket.
	for i := range 3 {
		if err := post(fmt.Sprintf("2001:db8::%x", i+1), ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := post("2001:db8::ff", ""); !errors.As(err, &rl) {
		t.Errorf("same /64: %v, want a limit", err)
	}

	// E-mail limits apply across addresses, case-insensitively.
	if err := post("198.51.100.1", "Reader@Example.com"); err != nil {
		t.Fatal(err)
	}
	if err := post("198.51.100.2", "reader@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := post("198.51.100.3", "reader@example.com"); !errors.As(err, &rl) || rl.Key != "email" {
		t.Errorf("third mail: %v, want an email limit", err)
	}
}

func TestRateLimiter_StoreFails(t *testing.T) {
	lim := &RateLimiter{Store: failingStore{}, PerIP: DefaultIPLimit, key: []byte("k")}
	err := lim.Allow(context.Background(), &Input{IP: "192.0.2.1"}, time.Now())
	var rl *RateLimitError
	if err == nil || errors.As(err, &rl) {
		t.Errorf("err = %v, want a plain error", err)
	}
}

type failingStore struct{}

func (failingStore) Take(context.Context, string, ratelimit.Limit, time.Time) (bool, time.Duration, error) {
	return false, 0, errors.New("redis is down")
}
