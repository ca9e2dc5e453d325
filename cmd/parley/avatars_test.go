package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"parley/internal/comment"
	"parley/internal/gravatar/gravatartest"
	"parley/internal/service"
)

// TestAvatarsCommand: guests who commented before --gravatar get their
// pictures looked up once; a second run asks nothing; a service that is
// down fails the command.
func TestAvatarsCommand(t *testing.T) {
	pics := gravatartest.Start(t, "noor@example.org")
	db, st, svc := sitesDB(t, "s")
	ctx := context.Background()
	var noor *comment.Comment
	for _, email := range []string{"Noor@example.org", "sam@example.org", "noor@example.org"} {
		c, err := svc.Post(ctx, comment.Draft{SiteID: "s", Page: "https://s.example/a", Name: "N", Email: email, Body: "Hello " + email}, service.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		if noor == nil {
			noor = c
		}
	}
	args := []string{"avatars", "--db", db, "--site", "s", "--gravatar", pics.URL + "/avatar/"}
	var out bytes.Buffer
	if err := run(ctx, args, &out, io.Discard); err != nil {
		t.Fatalf("avatars: %v", err)
	}
	if !strings.HasPrefix(out.String(), "2 guest addresses: 1 with a picture, 1 without, 0 failed") {
		t.Errorf("said %q", out.String())
	}
	a, err := st.Avatar(ctx, svc.AvatarKey(noor.Author))
	if err != nil || !bytes.Equal(a.Data, pics.PictureOf("noor@example.org")) {
		t.Fatalf("Noor's picture not kept: %v", err)
	}
	asked, _ := pics.Asked()
	if err := run(ctx, args, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if n, _ := pics.Asked(); n != asked {
		t.Errorf("second run asked %d more times", n-asked)
	}

	var ue usageError
	if err := run(ctx, []string{"avatars", "--db", db, "--site", "s"}, io.Discard, io.Discard); !errors.As(err, &ue) {
		t.Errorf("without --gravatar: %v", err)
	}
	if err := run(ctx, []string{"avatars", "--db", db, "--site", "nope", "--gravatar", pics.URL + "/avatar/"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown site: %v", err)
	}
	// Stopped (Ctrl-C): it says so, and blames no lookup.
	stopped, cancel := context.WithCancel(ctx)
	cancel()
	out.Reset()
	if err := run(stopped, args, &out, io.Discard); !errors.Is(err, context.Canceled) || strings.Contains(out.String(), "1 failed") {
		t.Errorf("stopped: %v, said %q", err, out.String())
	}
	// A new guest, and the service is down.
	if _, err := svc.Post(ctx, comment.Draft{SiteID: "s", Page: "https://s.example/a", Name: "Ada", Email: "ada@example.org", Body: "Hi"}, service.Meta{}); err != nil {
		t.Fatal(err)
	}
	pics.Close()
	out.Reset()
	if err := run(ctx, args, &out, io.Discard); err == nil || !strings.Contains(out.String(), "1 failed") {
		t.Errorf("service down: %v, said %q", err, out.String())
	}
}
