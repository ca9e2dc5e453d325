package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/store"
)

// TestEraseLeavesNoBytes copies the database files after an erasure and
// looks for the reader's address, name and words in every byte: rows,
// free space, the search index and the write-ahead log.
func TestEraseLeavesNoBytes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "parley.db")
	db, err := Open(ctx, path, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateSite(ctx, &comment.Site{ID: "s", Name: "S", Origins: []string{"https://s.example"}, MaxDepth: 5}, nil); err != nil {
		t.Fatal(err)
	}
	const email, name, word = "quillon.vasquez@example.net", "Quillon Vasquez", "Perambulatorily"
	var first *comment.Comment
	for i := range 300 {
		// The reader's comments between other readers', so that pages
		// hold both and stay in use after the erasure.
		for _, a := range []comment.Author{{Name: name, Email: email, Website: "https://quillon.example"}, {Name: "Someone Else", Email: "else@example.org"}} {
			text := fmt.Sprintf("Comment %d by someone: ordinary thoughts, %s.", i, strings.Repeat("more words ", 20))
			if a.Email == email {
				text = fmt.Sprintf("Comment %d by %s: %s thoughts, %s.", i, a.Name, word, strings.Repeat("more words ", 20))
			}
			c := &comment.Comment{Author: a, Markdown: text, HTML: "<p>" + text + "</p>", Status: comment.StatusApproved, Reader: "rdr-" + a.Email}
			if first != nil && i%7 == 0 && a.Email != email {
				c.ParentID = first.ID // replies to the reader keep their place
			}
			if err := db.CreateComment(ctx, comment.Page{SiteID: "s", Key: fmt.Sprintf("https://s.example/%d", i%7), URL: "https://s.example/"}, c); err != nil {
				t.Fatal(err)
			}
			if first == nil {
				first = c
			}
		}
	}
	// An edit leaves an old version of the text behind in a page.
	if err := db.EditComment(ctx, first.ID, word+" edited", "<p>"+word+" edited</p>", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := db.indexNew(ctx); err != nil { // the search index holds the words too
		t.Fatal(err)
	}
	needles := [][]byte{[]byte(email), []byte(name), []byte(word), []byte(strings.ToLower(word)), []byte("quillon")}
	files := func() []byte {
		var all []byte
		for _, f := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(f)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		return all
	}
	before := files()
	for _, n := range needles {
		if !bytes.Contains(before, n) {
			t.Fatalf("before the erasure the files do not hold %q: the test proves nothing", n)
		}
	}
	n, err := db.EraseReader(ctx, &store.PrivacySubject{Email: email}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.Deleted != 300 {
		t.Errorf("deleted %d comments, want 300", n.Deleted)
	}
	// Copies of the files as they are now, the store still open.
	after := files()
	for _, n := range needles {
		if i := bytes.Index(after, n); i >= 0 {
			t.Errorf("the database files still hold %q at byte %d (page %d): %q", n, i, i/4096, after[max(0, i-60):min(len(after), i+60)])
		}
	}
	// What others wrote is still there.
	if !bytes.Contains(after, []byte("Someone Else")) {
		t.Error("the other reader's comments are gone from the file")
	}
	if c, err := db.Comment(ctx, first.ID); err != nil || c.Type != comment.TypeErased {
		t.Errorf("the reader's first comment, replied to = %+v, %v", c, err)
	}
}

// TestEraseKeepsSearch: the vacuum after an erasure may renumber the
// comments' rowids, by which the search index knows them; the index is
// rebuilt with it, so search still finds the right comments, and a
// second erasure (whose deletions go through the index) still works.
func TestEraseKeepsSearch(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	if err := db.CreateSite(ctx, &comment.Site{ID: "s", Name: "S", Origins: []string{"https://s.example"}, MaxDepth: 5}, nil); err != nil {
		t.Fatal(err)
	}
	post := func(name, email, text string) {
		c := &comment.Comment{Author: comment.Author{Name: name, Email: email}, Markdown: text, HTML: "<p>" + text + "</p>", Status: comment.StatusApproved}
		if err := db.CreateComment(ctx, comment.Page{SiteID: "s", Key: "https://s.example/a", URL: "https://s.example/a"}, c); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 200 {
		post("Ann", "ann@example.org", fmt.Sprintf("aardvark number %d", i))
		post("Bea", "bea@example.org", fmt.Sprintf("bumblebee number %d", i))
		post("Cy", "cy@example.org", fmt.Sprintf("caterpillar number %d", i))
	}
	if err := db.indexNew(ctx); err != nil {
		t.Fatal(err)
	}
	found := func(word string) int {
		t.Helper()
		cs, _, err := db.FindComments(ctx, store.CommentFilter{SiteID: "s", Text: word, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}
	for _, who := range []string{"ann@example.org", "bea@example.org"} {
		if _, err := db.EraseReader(ctx, &store.PrivacySubject{Email: who}, nil, nil); err != nil {
			t.Fatalf("erase %s: %v", who, err)
		}
		post("Dee", "dee@example.org", "dragonfly after "+who)
	}
	if a, b, c, d := found("aardvark"), found("bumblebee"), found("caterpillar"), found("dragonfly"); a != 0 || b != 0 || c != 200 || d != 2 {
		t.Errorf("search finds %d aardvark, %d bumblebee, %d caterpillar, %d dragonfly; want 0, 0, 200, 2", a, b, c, d)
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO comments_fts (comments_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
		t.Errorf("search index integrity: %v", err)
	}
}

// TestEraseNothingScrubsNothing: the scrub rewrites the whole database
// while writes wait; an erasure that found nothing (which anyone asking
// may cause) must not run it.
func TestEraseNothingScrubsNothing(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "parley.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateSite(ctx, &comment.Site{ID: "s", Name: "S", Origins: []string{"https://s.example"}, MaxDepth: 5}, nil); err != nil {
		t.Fatal(err)
	}
	c := &comment.Comment{Author: comment.Author{Name: "Here", Email: "here@example.net"}, Markdown: "hello", HTML: "hello", Status: comment.StatusApproved}
	if err := db.CreateComment(ctx, comment.Page{SiteID: "s", Key: "https://s.example/a", URL: "https://s.example/a"}, c); err != nil {
		t.Fatal(err)
	}
	n, err := db.EraseReader(ctx, &store.PrivacySubject{Email: "nobody@example.net", Identity: "github:0"}, nil, nil)
	if err != nil || n != (store.EraseCounts{}) {
		t.Fatalf("erasing nobody = %+v, %v", n, err)
	}
	if got := db.scrubs.Load(); got != 0 {
		t.Errorf("erasing nobody ran %d scrubs, want 0", got)
	}
	// Erasing someone still scrubs.
	if n, err := db.EraseReader(ctx, &store.PrivacySubject{Email: "here@example.net"}, nil, nil); err != nil || n.Deleted != 1 {
		t.Fatalf("erasing a reader = %+v, %v", n, err)
	}
	if got := db.scrubs.Load(); got != 1 {
		t.Errorf("erasing a reader ran %d scrubs, want 1", got)
	}
}
