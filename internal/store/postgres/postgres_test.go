package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/internal/store"
	"parley/internal/store/storetest"
)

// MustOpen opens a migrated store in a fresh schema of the database named
// by PARLEY_TEST_POSTGRES_URL, dropped when the test ends, and skips the
// test when the variable is not set.
func mustOpen(tb testing.TB) *DB {
	tb.Helper()
	url := os.Getenv("PARLEY_TEST_POSTGRES_URL")
	if url == "" {
		tb.Skip("PARLEY_TEST_POSTGRES_URL is not set; PostgreSQL tests skipped")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "parley_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	db, err := Open(ctx, url, Options{Migrate: true, Schema: schema, MaxConns: 8})
	if err != nil {
		tb.Fatalf("open postgres: %v", err)
	}
	tb.Cleanup(func() {
		db.Close()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			tb.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema: %v", err)
		}
	})
	return db
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return mustOpen(t) })
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
