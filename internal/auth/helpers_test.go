package auth_test

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"parley/internal/auth"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// allowOrigin returns a ReturnChecker that allows URLs on one origin for
// one site, as the service's check of a site's origins does.
func allowOrigin(siteID, origin string) auth.ReturnChecker {
	return func(site, raw string) bool {
		u, err := url.Parse(raw)
		return err == nil && site == siteID && u.Scheme+"://"+u.Host == origin
	}
}

// fakeProvider is a hand-written auth.Provider whose behaviour is set per
// test.
type fakeProvider struct {
	id       string
	exchange func(ctx context.Context, r auth.ExchangeRequest) (*auth.Identity, error)
}

func (p *fakeProvider) ID() string      { return p.id }
func (p *fakeProvider) Name() string    { return "Fake" }
func (p *fakeProvider) IconURL() string { return "" }
func (p *fakeProvider) AuthCodeURL(r auth.AuthCodeRequest) string {
	return "https://provider.example/authorize?" + url.Values{
		"state": {r.State}, "nonce": {r.Nonce}, "code_challenge": {r.CodeChallenge},
		"redirect_uri": {r.RedirectURL},
	}.Encode()
}
func (p *fakeProvider) Exchange(ctx context.Context, r auth.ExchangeRequest) (*auth.Identity, error) {
	return p.exchange(ctx, r)
}

// clock is a settable time source shared by the code under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func must[T any](tb testing.TB) func(T, error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

// browserKey is a widget's browser key (auth.ValidBind).
const browserKey = "k3y-of-a-reader_browser01"
