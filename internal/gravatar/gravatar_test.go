package gravatar_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"parley/internal/gravatar"
	"parley/internal/gravatar/gravatartest"
	"parley/internal/store/sqlite"
)

func newFinder(t *testing.T, svc *gravatartest.Service, now func() time.Time) (*gravatar.Finder, *sqlite.DB) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"), sqlite.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := gravatar.New(gravatar.Config{URL: svc.URL + "/avatar", Store: st, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return f, st
}

func TestURL(t *testing.T) {
	f, err := gravatar.New(gravatar.Config{URL: "https://gravatar.com/avatar/", Store: nopStore{}})
	if err != nil {
		t.Fatal(err)
	}
	want := "https://gravatar.com/avatar/84059b07d4be67b806386c0aad8070a23f18836bbaae342275dc0a83414c32ee?s=80&d=404"
	if got := f.URL(" MyEmailAddress@example.com "); got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	for _, bad := range []string{"", "gravatar.com/avatar/", "ftp://gravatar.com/avatar/", "https://gravatar.com/avatar/?d=mp", "https:///avatar/"} {
		if _, err := gravatar.New(gravatar.Config{URL: bad, Store: nopStore{}}); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}

func TestFind(t *testing.T) {
	svc := gravatartest.Start(t, "MyEmailAddress@example.com")
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	f, st := newFinder(t, svc, func() time.Time { return now })
	ctx := context.Background()

	found, err := f.Find(ctx, "k-jane", "MyEmailAddress@Example.com")
	if err != nil || !found {
		t.Fatalf("Find = %v, %v", found, err)
	}
	a, err := st.Avatar(ctx, "k-jane")
	if err != nil || a.ContentType != "image/png" || !bytes.Equal(a.Data, svc.PictureOf("myemailaddress@example.com")) {
		t.Fatalf("kept %+v, %v", a, err)
	}
	if _, size := svc.Asked(); size != "80" {
		t.Errorf("asked for size %v", size)
	}
	// An address without a picture is kept as such.
	found, err = f.Find(ctx, "k-sam", "sam@example.org")
	if err != nil || found {
		t.Fatalf("Find without a picture = %v, %v", found, err)
	}
	if a, err := st.Avatar(ctx, "k-sam"); err != nil || len(a.Data) != 0 {
		t.Fatalf("no picture kept as %+v, %v", a, err)
	}
	// Both answers are trusted for a week, then asked for again.
	asked, _ := svc.Asked()
	f.Find(ctx, "k-jane", "myemailaddress@example.com")
	f.Find(ctx, "k-sam", "sam@example.org")
	if n, _ := svc.Asked(); n != asked {
		t.Error("asked again within the week")
	}
	now = now.Add(gravatar.Refresh + time.Minute)
	f.Find(ctx, "k-sam", "sam@example.org")
	if n, _ := svc.Asked(); n != asked+1 {
		t.Error("not asked again after a week")
	}
	// The service failing keeps what was known.
	svc.Close()
	now = now.Add(gravatar.Refresh + time.Minute)
	if _, err := f.Find(ctx, "k-jane", "myemailaddress@example.com"); err == nil {
		t.Error("no error from a service that is down")
	}
	if a, err := st.Avatar(ctx, "k-jane"); err != nil || len(a.Data) == 0 {
		t.Errorf("picture lost when the service was down: %+v, %v", a, err)
	}
}

func TestWantAndRun(t *testing.T) {
	svc := gravatartest.Start(t, "MyEmailAddress@example.com")
	f, st := newFinder(t, svc, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.Run(ctx)
	f.Want("k-jane", "myemailaddress@example.com")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if a, err := st.Avatar(ctx, "k-jane"); err == nil && len(a.Data) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the picture was never kept")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n, _ := svc.Asked(); n != 1 {
		t.Errorf("service asked %d times", n)
	}
}

// nopStore is a Store for tests that never reach it.
type nopStore struct{ gravatar.Store }
