package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"parley/internal/auth"
	"parley/internal/comment"
	"parley/internal/store"
)

// authTests are the suite's tests of readers' log-in state and the sites'
// log-in settings.
var authTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"site log-in settings", testSiteLogin},
	{"sessions", testSessions},
	{"delete sessions of an identity", testDeleteSessions},
	{"delete sessions of a provider", testDeleteProviderSessions},
	{"use once", testUseOnce},
	{"use once concurrently", testUseOnceConcurrent},
	{"verified emails", testVerifiedEmails},
	{"avatars", testAvatars},
	{"prune auth", testPruneAuth},
}

func testSiteLogin(t *testing.T, s store.Store) {
	// A site that says nothing gets the default guest policy, every
	// provider and no SSO secret.
	plain := mustSite(t, s, "plain")
	got, err := s.Site(ctx, plain.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Guests != comment.GuestsNameEmail || got.Providers != nil || got.SSOSecret != "" {
		t.Fatalf("default site: Guests %q, Providers %#v, SSOSecret %q; want name_email, nil, empty", got.Guests, got.Providers, got.SSOSecret)
	}

	some := &comment.Site{ID: "some", Name: "Some", Origins: []string{"https://some.example"}, MaxDepth: 5, Moderation: comment.ModerateNone,
		Guests: comment.GuestsLogin, Providers: []string{"github", "email", "my-oidc"}, SSOSecret: "sso-s3cret"}
	none := &comment.Site{ID: "none", Name: "None", Origins: []string{"https://none.example"}, MaxDepth: 5, Moderation: comment.ModerateNone,
		Guests: comment.GuestsAnonymous, Providers: []string{}}
	for _, site := range []*comment.Site{some, none} {
		if err := s.CreateSite(ctx, site, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetAPIKeyHash(ctx, "some", "hash-some", nil); err != nil {
		t.Fatal(err)
	}
	check := func(how string, got *comment.Site, want *comment.Site) {
		t.Helper()
		if got.Guests != want.Guests || got.SSOSecret != want.SSOSecret || !reflect.DeepEqual(got.Providers, want.Providers) {
			t.Errorf("%s %s: Guests %q, Providers %#v, SSOSecret %q; want %q, %#v, %q",
				how, want.ID, got.Guests, got.Providers, got.SSOSecret, want.Guests, want.Providers, want.SSOSecret)
		}
	}
	for _, want := range []*comment.Site{some, none} {
		got, err := s.Site(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		check("Site", got, want)
	}
	if got, err := s.SiteByAPIKeyHash(ctx, "hash-some"); err != nil {
		t.Fatal(err)
	} else {
		check("SiteByAPIKeyHash", got, some)
	}
	all, err := s.Sites(ctx)
	if err != nil || len(all) != 3 {
		t.Fatalf("Sites = %v, %v", all, err)
	}
	check("Sites", all[0], none)
	check("Sites", all[1], &comment.Site{ID: "plain", Guests: comment.GuestsNameEmail})
	check("Sites", all[2], some)

	// Updates swap nil (every provider) and empty (none) both ways, and
	// Guests "" is the default again.
	some.Guests, some.Providers, some.SSOSecret = "", nil, ""
	none.Guests, none.Providers, none.SSOSecret = comment.GuestsLogin, []string{"google"}, "new-secret"
	plain.Providers = []string{}
	for _, site := range []*comment.Site{some, none, plain} {
		if err := s.UpdateSite(ctx, site, nil); err != nil {
			t.Fatal(err)
		}
	}
	some.Guests = comment.GuestsNameEmail
	plain.Guests = comment.GuestsNameEmail
	for _, want := range []*comment.Site{some, none, plain} {
		got, err := s.Site(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		check("after UpdateSite", got, want)
	}
}

// session returns a session with every field set, times to the nanosecond.
func session(id, provider, subject string, expires time.Time) *auth.Session {
	return &auth.Session{
		ID: id,
		Identity: auth.Identity{Provider: provider, Subject: subject, Name: "Zoë O'Brien ‮", Email: subject + "@example.org",
			EmailVerified: true, AvatarURL: "https://img.example/" + subject + ".png?s=64&x=1", ProfileURL: "https://profile.example/" + subject},
		SiteID:  "news",
		Created: expires.Add(-30 * 24 * time.Hour),
		Expires: expires,
	}
}

func mustCreateSession(t *testing.T, s store.Store, sess *auth.Session) {
	t.Helper()
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatalf("CreateSession %s: %v", sess.ID, err)
	}
}

func sameSession(t *testing.T, got, want *auth.Session) {
	t.Helper()
	if got.Created.Location() != time.UTC || got.Expires.Location() != time.UTC {
		t.Errorf("session %s times are not UTC: %v, %v", want.ID, got.Created, got.Expires)
	}
	if got.ID != want.ID || got.Identity != want.Identity || got.SiteID != want.SiteID ||
		!got.Created.Equal(want.Created) || !got.Expires.Equal(want.Expires) {
		t.Errorf("Session = %+v\nwant %+v", *got, *want)
	}
}

func testSessions(t *testing.T, s store.Store) {
	later := time.Date(2036, 5, 6, 7, 8, 9, 123456789, time.UTC)
	a := session("sess-a", "google", "1001", later)
	mustCreateSession(t, s, a)
	got, err := s.Session(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameSession(t, got, a)

	// A session without a site, and with an empty identity's details.
	bare := &auth.Session{ID: "sess-bare", Identity: auth.Identity{Provider: "sso", Subject: "42"},
		Created: later.Add(-time.Hour), Expires: later}
	mustCreateSession(t, s, bare)
	if got, err := s.Session(ctx, bare.ID); err != nil {
		t.Fatal(err)
	} else {
		sameSession(t, got, bare)
	}

	dup := session(a.ID, "github", "other", later.Add(time.Hour))
	if err := s.CreateSession(ctx, dup); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("CreateSession with a taken ID = %v, want ErrConflict", err)
	}
	if got, _ := s.Session(ctx, a.ID); got == nil || got.Identity != a.Identity {
		t.Fatalf("a refused duplicate changed the session: %+v", got)
	}

	// Expired sessions are returned; telling them apart is the caller's job.
	old := session("sess-old", "google", "1001", time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
	mustCreateSession(t, s, old)
	if got, err := s.Session(ctx, old.ID); err != nil {
		t.Fatalf("Session(expired) = %v", err)
	} else {
		sameSession(t, got, old)
	}

	if _, err := s.Session(ctx, "sess-none"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("Session(missing) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, a.ID); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("Session after DeleteSession = %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, a.ID); err != nil {
		t.Fatalf("DeleteSession of a deleted session = %v, want nil", err)
	}
	if err := s.DeleteSession(ctx, "sess-never"); err != nil {
		t.Fatalf("DeleteSession of a missing session = %v, want nil", err)
	}
	if _, err := s.Session(ctx, old.ID); err != nil {
		t.Fatalf("deleting one session removed another: %v", err)
	}
	// The ID is free again.
	mustCreateSession(t, s, dup)
}

func testDeleteSessions(t *testing.T, s store.Store) {
	exp := time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)
	mine := []*auth.Session{
		session("m1", "google", "7", exp),
		session("m2", "google", "7", exp.Add(time.Hour)),
		session("m3", "google", "7", time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)), // expired ones go too
	}
	// Identities that share a prefix, a subject or a provider with mine.
	others := []*auth.Session{
		session("o1", "google", "70", exp),
		session("o2", "github", "7", exp),
		session("o3", "google:7", "", exp),
		session("o4", "google", "7:x", exp),
	}
	for _, sess := range append(append([]*auth.Session{}, mine...), others...) {
		mustCreateSession(t, s, sess)
	}
	n, err := s.DeleteSessions(ctx, "google:7")
	if err != nil || n != len(mine) {
		t.Fatalf("DeleteSessions = %d, %v; want %d", n, err, len(mine))
	}
	for _, sess := range mine {
		if _, err := s.Session(ctx, sess.ID); !errors.Is(err, comment.ErrNotFound) {
			t.Errorf("session %s after DeleteSessions: %v, want ErrNotFound", sess.ID, err)
		}
	}
	for _, sess := range others {
		got, err := s.Session(ctx, sess.ID)
		if err != nil {
			t.Errorf("session %s of %s went with google:7: %v", sess.ID, sess.Identity.Key(), err)
			continue
		}
		sameSession(t, got, sess)
	}
	if n, err := s.DeleteSessions(ctx, "google:7"); err != nil || n != 0 {
		t.Fatalf("DeleteSessions again = %d, %v; want 0", n, err)
	}
	if n, err := s.DeleteSessions(ctx, "nobody:x"); err != nil || n != 0 {
		t.Fatalf("DeleteSessions of a stranger = %d, %v; want 0", n, err)
	}
}

func testUseOnce(t *testing.T, s store.Store) {
	now := time.Now()
	if err := s.UseOnce(ctx, "state:a", now.Add(time.Hour)); err != nil {
		t.Fatalf("first UseOnce = %v", err)
	}
	if err := s.UseOnce(ctx, "state:a", now.Add(time.Hour)); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("second UseOnce = %v, want ErrConflict", err)
	}
	if err := s.UseOnce(ctx, "state:a", now.Add(-time.Hour)); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("UseOnce of a live key with a past expiry = %v, want ErrConflict", err)
	}
	if err := s.UseOnce(ctx, "state:b", now.Add(time.Hour)); err != nil {
		t.Fatalf("UseOnce of another key = %v", err)
	}
	// A record that has expired is replaced, and the new one holds.
	if err := s.UseOnce(ctx, "email:c", now.Add(-time.Second)); err != nil {
		t.Fatalf("UseOnce with a past expiry = %v", err)
	}
	if err := s.UseOnce(ctx, "email:c", now.Add(time.Hour)); err != nil {
		t.Fatalf("UseOnce of an expired key = %v, want nil", err)
	}
	if err := s.UseOnce(ctx, "email:c", now.Add(time.Hour)); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("UseOnce after replacing an expired key = %v, want ErrConflict", err)
	}
}

func testUseOnceConcurrent(t *testing.T, s store.Store) {
	const callers = 16
	now := time.Now()
	// One key nobody used, and one whose old record has expired.
	if err := s.UseOnce(ctx, "race:expired", now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"race:new", "race:expired"} {
		var wg sync.WaitGroup
		errs := make(chan error, callers)
		start := make(chan struct{})
		for i := 0; i < callers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs <- s.UseOnce(ctx, key, now.Add(time.Hour))
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		won, lost := 0, 0
		for err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, comment.ErrConflict):
				lost++
			default:
				t.Errorf("%s: UseOnce = %v", key, err)
			}
		}
		if won != 1 || lost != callers-1 {
			t.Errorf("%s: %d callers won and %d lost; want 1 and %d", key, won, lost, callers-1)
		}
	}
}

func testVerifiedEmails(t *testing.T, s store.Store) {
	key := fmt.Sprintf("%064x", 1)
	if ok, err := s.EmailVerified(ctx, key); err != nil || ok {
		t.Fatalf("EmailVerified before marking = %v, %v; want false", ok, err)
	}
	at := time.Date(2026, 4, 5, 6, 7, 8, 9, time.UTC)
	if err := s.MarkEmailVerified(ctx, key, at); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.EmailVerified(ctx, key); err != nil || !ok {
		t.Fatalf("EmailVerified after marking = %v, %v; want true", ok, err)
	}
	// Marking again is not an error.
	if err := s.MarkEmailVerified(ctx, key, at.Add(time.Hour)); err != nil {
		t.Fatalf("marking again = %v", err)
	}
	if ok, err := s.EmailVerified(ctx, key); err != nil || !ok {
		t.Fatalf("EmailVerified after marking twice = %v, %v; want true", ok, err)
	}
	if ok, err := s.EmailVerified(ctx, fmt.Sprintf("%064x", 2)); err != nil || ok {
		t.Fatalf("EmailVerified of another key = %v, %v; want false", ok, err)
	}
}

func testAvatars(t *testing.T, s store.Store) {
	if _, err := s.Avatar(ctx, "av1"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("Avatar before saving = %v, want ErrNotFound", err)
	}
	first := &store.Avatar{Key: "av1", ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\n\x00\x01\xff"),
		Updated: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	second := &store.Avatar{Key: "av1", ContentType: "image/webp", Data: []byte("RIFF\x00\x00WEBP"),
		Updated: first.Updated.Add(time.Hour)}
	other := &store.Avatar{Key: "av2", ContentType: "image/gif", Data: []byte("GIF89a")}
	// "No picture there", as a Gravatar-compatible service may answer.
	none := &store.Avatar{Key: "av3", ContentType: "", Data: []byte{}, Updated: first.Updated}
	for _, a := range []*store.Avatar{first, other, second, none} {
		if err := s.SaveAvatar(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if other.Updated.IsZero() {
		t.Error("SaveAvatar left a zero Updated zero")
	}
	for _, want := range []*store.Avatar{second, other, none} {
		got, err := s.Avatar(ctx, want.Key)
		if err != nil {
			t.Fatal(err)
		}
		if got.Key != want.Key || got.ContentType != want.ContentType || !bytes.Equal(got.Data, want.Data) ||
			!got.Updated.Equal(want.Updated) || got.Updated.Location() != time.UTC {
			t.Errorf("Avatar(%s) = %q %q %q %v\nwant %q %q %q %v", want.Key, got.Key, got.ContentType, got.Data, got.Updated,
				want.Key, want.ContentType, want.Data, want.Updated)
		}
	}
}

func testPruneAuth(t *testing.T, s store.Store) {
	now := time.Now()
	before := now.Add(-time.Minute).Truncate(time.Second)
	gone := []*auth.Session{
		session("p1", "google", "1", before.Add(-time.Hour)),
		session("p2", "github", "2", before.Add(-time.Nanosecond)),
	}
	kept := []*auth.Session{
		session("k1", "google", "1", before), // not before the cut
		session("k2", "google", "3", now.Add(time.Hour)),
	}
	for _, sess := range append(append([]*auth.Session{}, gone...), kept...) {
		mustCreateSession(t, s, sess)
	}
	for key, exp := range map[string]time.Time{"old:1": before.Add(-time.Hour), "old:2": before.Add(-time.Second), "live:1": now.Add(time.Hour)} {
		if err := s.UseOnce(ctx, key, exp); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MarkEmailVerified(ctx, "verified", before.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveAvatar(ctx, &store.Avatar{Key: "pic", ContentType: "image/png", Data: []byte{1}, Updated: before.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}

	n, err := s.PruneAuth(ctx, before)
	if err != nil || n != 4 {
		t.Fatalf("PruneAuth = %d, %v; want 4 (2 sessions, 2 keys)", n, err)
	}
	for _, sess := range gone {
		if _, err := s.Session(ctx, sess.ID); !errors.Is(err, comment.ErrNotFound) {
			t.Errorf("pruned session %s: %v, want ErrNotFound", sess.ID, err)
		}
	}
	for _, sess := range kept {
		if _, err := s.Session(ctx, sess.ID); err != nil {
			t.Errorf("session %s was pruned: %v", sess.ID, err)
		}
	}
	if err := s.UseOnce(ctx, "live:1", now.Add(time.Hour)); !errors.Is(err, comment.ErrConflict) {
		t.Errorf("a live key was pruned: UseOnce = %v, want ErrConflict", err)
	}
	if ok, err := s.EmailVerified(ctx, "verified"); err != nil || !ok {
		t.Errorf("a verified email was pruned: %v, %v", ok, err)
	}
	if _, err := s.Avatar(ctx, "pic"); err != nil {
		t.Errorf("an avatar was pruned: %v", err)
	}
	if n, err := s.PruneAuth(ctx, before); err != nil || n != 0 {
		t.Fatalf("PruneAuth again = %d, %v; want 0", n, err)
	}
}

func testDeleteProviderSessions(t *testing.T, s store.Store) {
	exp := time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)
	mine := []*auth.Session{session("p1", "sso-news", "7", exp), session("p2", "sso-news", "8", exp)}
	others := []*auth.Session{session("p3", "sso-news2", "7", exp), session("p4", "sso-new", "s:7", exp), session("p5", "google", "sso-news:7", exp)}
	for _, sess := range append(append([]*auth.Session{}, mine...), others...) {
		mustCreateSession(t, s, sess)
	}
	if n, err := s.DeleteProviderSessions(ctx, "sso-news"); err != nil || n != len(mine) {
		t.Fatalf("DeleteProviderSessions = %d, %v; want %d", n, err, len(mine))
	}
	for _, sess := range mine {
		if _, err := s.Session(ctx, sess.ID); !errors.Is(err, comment.ErrNotFound) {
			t.Errorf("session %s after DeleteProviderSessions: %v, want ErrNotFound", sess.ID, err)
		}
	}
	for _, sess := range others {
		if _, err := s.Session(ctx, sess.ID); err != nil {
			t.Errorf("session %s of %s went with sso-news: %v", sess.ID, sess.Identity.Key(), err)
		}
	}
	if n, err := s.DeleteProviderSessions(ctx, "s%"); err != nil || n != 0 {
		t.Errorf("DeleteProviderSessions(s%%) = %d, %v; want 0", n, err)
	}
}
