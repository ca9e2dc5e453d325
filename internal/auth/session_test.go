package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/auth"
	"parley/internal/comment"
)

func newSessions(t *testing.T, c *clock, store *auth.MemoryStore) *auth.Sessions {
	t.Helper()
	return must[*auth.Sessions](t)(auth.NewSessions(auth.SessionConfig{
		Secret: testSecret, Store: store, Once: store, TTL: 24 * time.Hour, Now: c.Now,
	}))
}

var jane = auth.Identity{Provider: "google", Subject: "1234", Name: "Jane", Email: "jane@example.com", EmailVerified: true}

func TestSessions_CreateGet(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	store := auth.NewMemoryStoreClock(c.Now)
	s := newSessions(t, c, store)

	tok, sess, err := s.Create(ctx, jane, "news")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sess.ID, strings.Split(tok, ".")[0]) {
		t.Error("the session ID is the token; a copy of the table would let anyone log in")
	}
	got, err := s.Get(ctx, tok)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Identity != jane || got.SiteID != "news" || !got.Expires.Equal(c.Now().Add(24*time.Hour)) {
		t.Errorf("session = %+v", got)
	}

	c.Add(24*time.Hour - time.Second)
	if _, err := s.Get(ctx, tok); err != nil {
		t.Errorf("a session a second before expiry: %v", err)
	}
	c.Add(time.Second)
	if _, err := s.Get(ctx, tok); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("expired session: %v, want ErrNoSession", err)
	}
}

func TestSessions_RefusesForgedTokens(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	store := auth.NewMemoryStoreClock(c.Now)
	s := newSessions(t, c, store)
	tok, _, err := s.Create(ctx, jane, "news")
	if err != nil {
		t.Fatal(err)
	}
	rnd, sig, _ := strings.Cut(tok, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(rnd)
	raw[0] ^= 1
	flipped := base64.RawURLEncoding.EncodeToString(raw) + "." + sig

	other := must[*auth.Sessions](t)(auth.NewSessions(auth.SessionConfig{Secret: []byte("a different server secret 123456"), Store: store, Now: c.Now}))
	otherTok, _, _ := other.Create(ctx, jane, "news")

	for name, bad := range map[string]string{
		"empty":                    "",
		"random part changed":      flipped,
		"signature cut":            rnd + "." + sig[:len(sig)-2],
		"no signature":             rnd,
		"signature from elsewhere": rnd + "." + strings.Split(otherTok, ".")[1],
		"other server's token":     otherTok,
		"garbage":                  "not a token at all",
		"very long":                strings.Repeat("A", 10000) + "." + sig,
		"extra part":               tok + ".x",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Get(ctx, bad); !errors.Is(err, auth.ErrNoSession) {
				t.Errorf("Get(%.40q) = %v, want ErrNoSession", bad, err)
			}
		})
	}
}

func TestSessions_Revoke(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	store := auth.NewMemoryStoreClock(c.Now)
	s := newSessions(t, c, store)

	phone, _, _ := s.Create(ctx, jane, "news")
	laptop, _, _ := s.Create(ctx, jane, "blog")
	john := auth.Identity{Provider: "google", Subject: "999", Name: "John"}
	johns, _, _ := s.Create(ctx, john, "news")

	if err := s.Revoke(ctx, phone); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, phone); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("revoked session still works: %v", err)
	}
	if _, err := s.Get(ctx, laptop); err != nil {
		t.Errorf("revoking one session ended another: %v", err)
	}
	if err := s.Revoke(ctx, "garbage"); err != nil {
		t.Errorf("revoking a bad token: %v; logging out must always work", err)
	}

	again, _, _ := s.Create(ctx, jane, "news")
	n, err := s.RevokeAll(ctx, jane.Key())
	if err != nil || n != 2 {
		t.Fatalf("RevokeAll = %d, %v; want 2 sessions", n, err)
	}
	for _, tok := range []string{laptop, again} {
		if _, err := s.Get(ctx, tok); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("log out everywhere left a session: %v", err)
		}
	}
	if _, err := s.Get(ctx, johns); err != nil {
		t.Errorf("log out everywhere ended another reader's session: %v", err)
	}
}

func TestSessions_FromRequest(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	store := auth.NewMemoryStoreClock(c.Now)
	s := newSessions(t, c, store)
	tok, sess, _ := s.Create(ctx, jane, "news")

	r := httptest.NewRequest("GET", "/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	if got, err := s.FromRequest(r); err != nil || got.ID != sess.ID {
		t.Errorf("bearer: %v, %v", got, err)
	}

	r = httptest.NewRequest("GET", "/api/me", nil)
	ck := s.Cookie(tok, sess, true)
	if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || !ck.Expires.Equal(sess.Expires) {
		t.Errorf("cookie = %+v", ck)
	}
	r.AddCookie(ck)
	if got, err := s.FromRequest(r); err != nil || got.ID != sess.ID {
		t.Errorf("cookie: %v, %v", got, err)
	}

	r = httptest.NewRequest("GET", "/api/me", nil)
	r.Header.Set("Authorization", "Basic "+tok)
	if _, err := s.FromRequest(r); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("Basic scheme accepted: %v", err)
	}
	if _, err := s.FromRequest(httptest.NewRequest("GET", "/", nil)); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("no token: %v", err)
	}
}

func TestSessions_Handoff(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	store := auth.NewMemoryStoreClock(c.Now)
	s := newSessions(t, c, store)
	tok, _, _ := s.Create(ctx, jane, "news")

	code, err := s.Handoff(tok, browserKey)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(code, tok) {
		t.Fatal("the hand-off code shows the token")
	}
	// Only the browser that started the log-in can redeem it.
	for _, other := range []string{"", "another-browser-key-0123456789", browserKey[:len(browserKey)-1], browserKey + "x"} {
		if _, err := s.Redeem(ctx, code, other); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("redeemed with browser key %q: %v", other, err)
		}
	}
	if _, err := s.Handoff(tok, ""); !errors.Is(err, auth.ErrBadBind) {
		t.Errorf("a hand-off without a browser key: %v", err)
	}
	got, err := s.Redeem(ctx, code, browserKey)
	if err != nil || got != tok {
		t.Fatalf("Redeem = %q, %v", got, err)
	}
	if _, err := s.Redeem(ctx, code, browserKey); !errors.Is(err, auth.ErrReplay) {
		t.Errorf("second redeem: %v, want ErrReplay", err)
	}
	late, _ := s.Handoff(tok, browserKey)
	c.Add(auth.HandoffMaxAge)
	if _, err := s.Redeem(ctx, late, browserKey); !errors.Is(err, auth.ErrExpired) {
		t.Errorf("late redeem: %v, want ErrExpired", err)
	}
	if _, err := s.Redeem(ctx, tok, browserKey); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("a session token is not a hand-off code: %v", err)
	}
}

func TestMemoryStore_Concurrent(t *testing.T) {
	ctx := context.Background()
	m := auth.NewMemoryStore()
	exp := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := map[string]int{}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				id := auth.Identity{Provider: "p", Subject: fmt.Sprint(i % 10)}
				s := &auth.Session{ID: fmt.Sprintf("%d-%d", g, i), Identity: id, Expires: exp}
				if err := m.CreateSession(ctx, s); err != nil {
					t.Error(err)
				}
				m.Session(ctx, s.ID)
				if i%7 == 0 {
					m.DeleteSessions(ctx, id.Key())
				}
				key := fmt.Sprint("k", i)
				if err := m.UseOnce(ctx, key, exp); err == nil {
					mu.Lock()
					wins[key]++
					mu.Unlock()
				} else if !errors.Is(err, comment.ErrConflict) {
					t.Error(err)
				}
				m.MarkEmailVerified(ctx, key, exp)
				m.EmailVerified(ctx, key)
			}
		}()
	}
	wg.Wait()
	for k, n := range wins {
		if n != 1 {
			t.Errorf("%s used %d times, want once", k, n)
		}
	}
	if _, err := m.Session(ctx, "missing"); !errors.Is(err, comment.ErrNotFound) {
		t.Errorf("missing session: %v, want comment.ErrNotFound", err)
	}
	if err := m.CreateSession(ctx, &auth.Session{ID: "0-1", Identity: jane}); err != nil && !errors.Is(err, comment.ErrConflict) {
		t.Errorf("duplicate session: %v", err)
	}
}

func TestMemoryStore_OnceExpires(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	m := auth.NewMemoryStoreClock(c.Now)
	if err := m.UseOnce(ctx, "k", c.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := m.UseOnce(ctx, "k", c.Now().Add(time.Minute)); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("second use: %v", err)
	}
	c.Add(time.Minute)
	if err := m.UseOnce(ctx, "k", c.Now().Add(time.Minute)); err != nil {
		t.Errorf("after expiry the key may be recorded again: %v", err)
	}
}
