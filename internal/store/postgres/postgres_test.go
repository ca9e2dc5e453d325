package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/internal/comment"
	"parley/internal/store"
	"parley/internal/store/storetest"
)

// mustOpen opens a migrated store in a fresh schema of the database named
// by PARLEY_TEST_POSTGRES_URL, dropped when the test ends, and skips the
// test when the variable is not set.
func mustOpen(tb testing.TB) *DB {
	tb.Helper()
	url, schema := testSchema(tb)
	return mustOpenSchema(tb, url, schema)
}

// testSchema names a fresh schema in the database named by
// PARLEY_TEST_POSTGRES_URL and drops it when the test ends. It skips the
// test when the variable is not set.
func testSchema(tb testing.TB) (url, schema string) {
	tb.Helper()
	url = os.Getenv("PARLEY_TEST_POSTGRES_URL")
	if url == "" {
		tb.Skip("PARLEY_TEST_POSTGRES_URL is not set; PostgreSQL tests skipped")
	}
	var b [6]byte
	rand.Read(b[:])
	schema = "parley_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			tb.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema: %v", err)
		}
	})
	return url, schema
}

// mustOpenSchema opens a migrated store in schema, closed when the test
// ends; several may share one schema, as instances share a database.
func mustOpenSchema(tb testing.TB, url, schema string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), url, Options{Migrate: true, Schema: schema, MaxConns: 8})
	if err != nil {
		tb.Fatalf("open postgres: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return mustOpen(t) })
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

// BenchmarkArticles is the desk's article list at 100,000 articles.
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

func TestTakeToken(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		if ok, _, err := db.TakeToken(ctx, "k", 3, time.Minute, now); err != nil || !ok {
			t.Fatalf("take %d = %v, %v", i, ok, err)
		}
	}
	ok, retry, err := db.TakeToken(ctx, "k", 3, time.Minute, now.Add(30*time.Second))
	if err != nil || ok || retry != 30*time.Second {
		t.Fatalf("take from an empty bucket = %v, retry %v, %v; want refused, retry 30s", ok, retry, err)
	}
	if ok, _, _ := db.TakeToken(ctx, "k", 3, time.Minute, now.Add(61*time.Second)); !ok {
		t.Fatal("bucket did not refill")
	}
	if ok, _, _ := db.TakeToken(ctx, "other", 3, time.Minute, now); !ok {
		t.Fatal("buckets are not separate")
	}
	// Concurrent takes from several connections spend each token once.
	var wg sync.WaitGroup
	var got atomic.Int32
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _, err := db.TakeToken(ctx, "race", 5, time.Hour, now); err == nil && ok {
				got.Add(1)
			}
		}()
	}
	wg.Wait()
	if got.Load() != 5 {
		t.Fatalf("%d concurrent takes succeeded from a bucket of 5", got.Load())
	}
}

// TestUseOnce_Instances: instances sharing a database accept a single-use
// key once between them, whether it is new or its old record expired.
func TestUseOnce_Instances(t *testing.T) {
	url, schema := testSchema(t)
	dbs := []*DB{mustOpenSchema(t, url, schema), mustOpenSchema(t, url, schema), mustOpenSchema(t, url, schema)}
	ctx := context.Background()
	now := time.Now()
	if err := dbs[0].UseOnce(ctx, "expired", now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"new", "expired"} {
		var wg sync.WaitGroup
		var won, lost atomic.Int32
		start := make(chan struct{})
		for i := 0; i < 24; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				switch err := dbs[i%len(dbs)].UseOnce(ctx, key, now.Add(time.Hour)); {
				case err == nil:
					won.Add(1)
				case errors.Is(err, comment.ErrConflict):
					lost.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if won.Load() != 1 || lost.Load() != 23 {
			t.Errorf("%s: %d instances' callers won and %d lost; want 1 and 23", key, won.Load(), lost.Load())
		}
	}
}

// TestMigrate_ExistingSitesGetLoginDefaults: a site made before reader
// log-in (migration 0007) gets the default guest policy, every provider
// and no SSO secret.
func TestMigrate_ExistingSitesGetLoginDefaults(t *testing.T) {
	url, schema := testSchema(t)
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := ensureSchema(ctx, cfg, schema); err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = schema
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied BIGINT NOT NULL)`); err != nil {
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
		if _, err := conn.Exec(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", version, err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations VALUES ($1, 0)`, version); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO sites (id, name, origins, created) VALUES ('old', 'Old', '[]', 1)`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	db := mustOpenSchema(t, url, schema)
	site, err := db.Site(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if site.Guests != comment.GuestsNameEmail || site.Providers != nil || site.SSOSecret != "" {
		t.Fatalf("migrated site: Guests %q, Providers %#v, SSOSecret %q; want name_email, nil, empty", site.Guests, site.Providers, site.SSOSecret)
	}
	var null bool
	if err := db.db.QueryRowContext(ctx, `SELECT providers IS NULL FROM sites WHERE id = 'old'`).Scan(&null); err != nil || !null {
		t.Fatalf("migrated site's providers column is NULL = %v, %v; want true", null, err)
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

// TestExportReaderSlowConsumer: a reader's export is read at the pace of
// whoever receives it; the server's statement timeout must not end it.
func TestExportReaderSlowConsumer(t *testing.T) {
	url, schema := testSchema(t)
	ctx := context.Background()
	db, err := Open(ctx, url, Options{Migrate: true, Schema: schema, MaxConns: 4, StatementTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateSite(ctx, &comment.Site{ID: "s", Name: "S", Origins: []string{"https://s.example"}, MaxDepth: 5}, nil); err != nil {
		t.Fatal(err)
	}
	// Rows large enough that the server cannot hand them all to the
	// socket at once, so its statement runs as long as the consumer reads.
	text := strings.Repeat("slow export words ", 12_000)
	const n = 60
	for range n {
		c := &comment.Comment{Author: comment.Author{Name: "Slow", Email: "slow@example.net"}, Markdown: text, HTML: text, Status: comment.StatusApproved}
		if err := db.CreateComment(ctx, comment.Page{SiteID: "s", Key: "https://s.example/a", URL: "https://s.example/a"}, c); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	var got int
	err = db.ExportReader(ctx, &store.PrivacySubject{SiteID: "s", Email: "slow@example.net"}, func(kind string, v any) error {
		if kind == store.RecordComment {
			got++
			time.Sleep(40 * time.Millisecond)
		}
		return nil
	})
	if err != nil || got != n {
		t.Fatalf("export = %d comments, %v; want %d", got, err, n)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("the export took %v: not longer than the 1s timeout, so the test proves nothing", d)
	}
}
