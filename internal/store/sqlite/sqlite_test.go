package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"parley/internal/comment"
	"parley/internal/store"
	"parley/internal/store/storetest"
)

// mustOpen opens a migrated database in a fresh temporary directory.
func mustOpen(tb testing.TB) *DB {
	tb.Helper()
	db, err := Open(context.Background(), filepath.Join(tb.TempDir(), "parley.db"), Options{Migrate: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return mustOpen(t) })
}

func TestOpen_RefusesOldSchemaWithoutMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	_, err := Open(context.Background(), path, Options{Migrate: false})
	if err == nil || !strings.Contains(err.Error(), "parley migrate") {
		t.Fatalf("Open without migrate = %v, want an error naming `parley migrate`", err)
	}
	db, err := Open(context.Background(), path, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Once migrated, opening without auto-migration works.
	db, err = Open(context.Background(), path, Options{Migrate: false})
	if err != nil {
		t.Fatalf("reopen migrated db: %v", err)
	}
	db.Close()
}

// BenchmarkCreateComment measures durable inserts with 8 concurrent posters.
func BenchmarkCreateComment(b *testing.B) {
	db := mustOpen(b)
	ctx := context.Background()
	if err := db.CreateSite(ctx, &comment.Site{ID: "b", Name: "b", Origins: []string{"https://b.example"}, MaxDepth: 5}, nil); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8 / runtime.GOMAXPROCS(0))
	written := writtenBytes()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := &comment.Comment{Author: comment.Author{Name: "n", Email: "e@x.y"}, Markdown: "hello", HTML: "<p>hello</p>", Status: comment.StatusApproved}
			if err := db.CreateComment(ctx, comment.Page{SiteID: "b", Key: "https://b.example/p", URL: "https://b.example/p"}, c); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if written >= 0 {
		// What the posts' commits wrote (WAL frames, checkpoints): every
		// index a post updates is a page more.
		b.ReportMetric(float64(writtenBytes()-written)/float64(b.N), "written-B/post")
	}
}

// writtenBytes is how many bytes this process has handed to write
// system calls (Linux's /proc/self/io wchar), or -1 where unknown.
func writtenBytes() int64 {
	io, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(io), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// BenchmarkQueue is the moderation desk's first page and filtered pages
// with 100 and with 100,000 comments pending: the cost should barely
// change.
func BenchmarkQueue(b *testing.B) {
	for _, total := range []int{100, 100_000} {
		b.Run(fmt.Sprintf("pending=%d", total), func(b *testing.B) {
			storetest.BenchQueue(b, mustOpen(b), total)
		})
	}
}

// BenchmarkArticles is the desk's article list at 100,000 articles: the
// first page and one in the middle cost about the same.
func BenchmarkArticles(b *testing.B) {
	storetest.BenchArticles(b, mustOpen(b), 100_000)
}

// BenchmarkBulk marks 10,000 comments from one address as spam (and back)
// in one transaction, among 1,000,000.
func BenchmarkBulk(b *testing.B) {
	storetest.BenchBulk(b, mustOpen(b), 10_000)
}

// BenchmarkThreadRead reads a 200-comment thread from databases of 1,000
// and 1,000,000 comments: the cost should barely change.
func BenchmarkThreadRead(b *testing.B) {
	for _, total := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("comments=%d", total), func(b *testing.B) {
			storetest.BenchThreadRead(b, mustOpen(b), total)
		})
	}
}

// TestBatchedWrites: writes that share a transaction fail or succeed one
// by one; a failing write undoes only itself.
func TestBatchedWrites(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	db.CreateSite(ctx, &comment.Site{ID: "b", Name: "b", Origins: []string{"https://b.example"}, MaxDepth: 5}, nil)
	closed := &comment.Comment{Author: comment.Author{Name: "n"}, Markdown: "x", HTML: "x", Status: comment.StatusApproved}
	if err := db.CreateComment(ctx, comment.Page{SiteID: "b", Key: "closed"}, closed); err != nil {
		t.Fatal(err)
	}
	db.SetThreadClosed(ctx, closed.ThreadID, true)
	var wg sync.WaitGroup
	errs := make([]error, 64)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "open"
			if i%2 == 1 {
				key = "closed"
			}
			errs[i] = db.CreateComment(ctx, comment.Page{SiteID: "b", Key: key}, &comment.Comment{Author: comment.Author{Name: "n"}, Markdown: "x", HTML: "x", Status: comment.StatusApproved})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i%2 == 0 && err != nil {
			t.Errorf("post %d to an open thread: %v", i, err)
		}
		if i%2 == 1 && !errors.Is(err, comment.ErrClosed) {
			t.Errorf("post %d to a closed thread = %v, want ErrClosed", i, err)
		}
	}
	counts, _ := db.Counts(ctx, "b", []string{"open", "closed"})
	if counts["open"] != 32 || counts["closed"] != 1 {
		t.Fatalf("counts = %v, want open 32, closed 1", counts)
	}
}

// TestBackup copies a database that is being written to, and the copy
// opens with everything that was committed before the backup began.
func TestBackup(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	db.CreateSite(ctx, &comment.Site{ID: "b", Name: "b", Origins: []string{"https://b.example"}, MaxDepth: 5}, nil)
	for i := 0; i < 50; i++ {
		db.CreateComment(ctx, comment.Page{SiteID: "b", Key: "k"}, &comment.Comment{Author: comment.Author{Name: "n"}, Markdown: "x", HTML: "x", Status: comment.StatusApproved})
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // writes go on during the backup
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				db.CreateComment(ctx, comment.Page{SiteID: "b", Key: "k"}, &comment.Comment{Author: comment.Author{Name: "n"}, Markdown: "y", HTML: "y", Status: comment.StatusApproved})
			}
		}
	}()
	path := filepath.Join(t.TempDir(), "copy.db")
	err := db.Backup(ctx, path)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, path); err == nil {
		t.Fatal("backup over an existing file succeeded")
	}
	cp, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	counts, err := cp.Counts(ctx, "b", []string{"k"})
	if err != nil || counts["k"] < 50 {
		t.Fatalf("backup holds %v comments, %v; want at least 50", counts, err)
	}
}

// TestMigrate_ExistingSitesGetLoginDefaults: a site made before reader
// log-in (migration 0007) gets the default guest policy, every provider
// and no SSO secret.
func TestMigrate_ExistingSitesGetLoginDefaults(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.ExecContext(ctx, `CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		if version >= "0007" {
			break
		}
		body, _ := migrations.ReadFile(name)
		if _, err := old.ExecContext(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", version, err)
		}
		if _, err := old.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, 0)`, version); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := old.ExecContext(ctx, `INSERT INTO sites (id, name, origins, created) VALUES ('old', 'Old', '[]', 1)`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	db, err := Open(ctx, path, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	site, err := db.Site(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if site.Guests != comment.GuestsNameEmail || site.Providers != nil || site.SSOSecret != "" {
		t.Fatalf("migrated site: Guests %q, Providers %#v, SSOSecret %q; want name_email, nil, empty", site.Guests, site.Providers, site.SSOSecret)
	}
	var providers any
	if err := db.read.QueryRowContext(ctx, `SELECT providers FROM sites WHERE id = 'old'`).Scan(&providers); err != nil || providers != nil {
		t.Fatalf("migrated site's providers column = %#v, %v; want NULL", providers, err)
	}
}

// BenchmarkExportReader exports a reader with 100,000 comments.
func BenchmarkExportReader(b *testing.B) {
	storetest.BenchExport(b, mustOpen(b), 100_000)
}

func TestExportReaderFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 50,000 comments")
	}
	storetest.TestExportFlat(t, mustOpen(t), 50_000)
}

// BenchmarkEraseReader erases a reader with 100,000 comments.
func BenchmarkEraseReader(b *testing.B) {
	storetest.BenchErase(b, mustOpen(b), 100_000)
}

// TestPlans_OutboxPartialIndexes: the outbox's stream, target and site
// indexes leave out the per-post event rows (migration 0080), so a query
// reads them only when it says it wants no event rows, as the store's
// do. Without the extra condition SQLite scans the table instead.
func TestPlans_OutboxPartialIndexes(t *testing.T) {
	db := mustOpen(t)
	for _, tc := range []struct{ query, index string }{
		{`SELECT id FROM outbox WHERE stream = 'w:1' AND stream <> '' AND state = 'pending' AND id > 0 ORDER BY id LIMIT 10`, "outbox_stream"},
		{`SELECT min(id) FROM outbox WHERE stream = 'w:1' AND stream <> '' AND state = 'pending'`, "outbox_stream"},
		{`SELECT id FROM outbox WHERE kind <> 'event' AND target = 'h1' ORDER BY id DESC LIMIT 10`, "outbox_target"},
		{`SELECT id FROM outbox WHERE kind <> 'event' AND site_id = 'a' AND kind = 'email' AND state = 'sent' ORDER BY id DESC LIMIT 10`, "outbox_site"},
		// OutboxCounts, for the operator's metrics and the desk ($1: a site, or '' for all).
		{`SELECT kind, state, count(*) FROM outbox WHERE kind <> 'event' AND ($1 = '' OR site_id = $1) GROUP BY kind, state`, "outbox_site"},
		{`SELECT kind, state, count(*) FROM outbox WHERE state = 'pending' AND kind = 'event' AND ($1 = '' OR site_id = $1) GROUP BY kind, state`, "outbox_events"},
		// (Without statistics SQLite walks outbox_site, checking the state
		// in the index; either way not the table with its payloads.)
		{`SELECT min(created) FROM outbox WHERE state = 'pending' AND kind <> 'event' AND ($1 = '' OR site_id = $1)`, "outbox_due|outbox_site"},
		{`SELECT min(created) FROM outbox WHERE state = 'pending' AND kind = 'event' AND ($1 = '' OR site_id = $1)`, "outbox_events"},
	} {
		var args []any
		if strings.Contains(tc.query, "$1") {
			args = append(args, "a")
		}
		rows, err := db.read.Query("EXPLAIN QUERY PLAN "+tc.query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		got := strings.Join(plan, "; ")
		if !slices.ContainsFunc(strings.Split(tc.index, "|"), func(ix string) bool { return strings.Contains(got, "INDEX "+ix) }) {
			t.Errorf("%s\nplan: %s\nwant it to read %s", tc.query, got, tc.index)
		}
	}
}
