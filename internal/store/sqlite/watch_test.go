package sqlite

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"parley/internal/comment"
)

// resets opens a server-side store at path and counts the resets its
// listeners hear.
func resets(t *testing.T, path string) (*DB, *atomic.Int64) {
	t.Helper()
	db, err := Open(context.Background(), path, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var n atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ready := make(chan struct{})
	go db.Listen(ctx, func(ev comment.Event) {
		if ev.Kind == comment.EventReset {
			n.Add(1)
		}
	}, func() { close(ready) })
	<-ready
	return db, &n
}

func postTo(t *testing.T, db *DB, text string) {
	t.Helper()
	c := &comment.Comment{Author: comment.Author{Name: "n"}, Markdown: text, HTML: "<p>" + text + "</p>", Status: comment.StatusApproved}
	if err := db.CreateComment(context.Background(), comment.Page{SiteID: "s", Key: "https://s.example/p"}, c); err != nil {
		t.Fatal(err)
	}
}

// TestWatchOthers: the server's own writes and a command that only reads
// tell its listeners nothing; a command that commits for a while (as
// parley avatars does) makes one reset, once it is done, not one at every
// look.
func TestWatchOthers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.db")
	db, n := resets(t, path)
	if err := db.CreateSite(ctx, &comment.Site{ID: "s", Name: "S", Origins: []string{"https://s.example"}, MaxDepth: 5}, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		postTo(t, db, "own "+string(rune('a'+i)))
	}
	reader, err := Open(ctx, path, Options{Migrate: true, Command: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Sites(ctx); err != nil {
		t.Fatal(err)
	}
	reader.Close()
	time.Sleep(4 * othersEvery)
	if got := n.Load(); got != 0 {
		t.Fatalf("%d resets after the server's own writes and a reading command, want none", got)
	}

	cmd, err := Open(ctx, path, Options{Migrate: true, Command: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 15 {
		postTo(t, cmd, "command "+string(rune('a'+i)))
		time.Sleep(othersEvery / 5)
	}
	cmd.Close()
	done := time.Now()
	for n.Load() == 0 && time.Since(done) < 5*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("reset %v after the command's last commit", time.Since(done).Round(time.Millisecond))
	time.Sleep(4 * othersEvery)
	if got := n.Load(); got != 1 {
		t.Fatalf("%d resets for one command's 15 commits over %v, want 1", got, 3*othersEvery)
	}
}
