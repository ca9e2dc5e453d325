package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"testing"
)

// TestStmtCache runs the writer's connection through what the cache must
// get right: a statement run again after an error, the same query run
// while its rows are still being read (inside a transaction, where the
// connection is the same), rollbacks to a savepoint, and more distinct
// queries than it keeps.
func TestStmtCache(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := db.write
	if _, err := w.ExecContext(ctx, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	insert := "INSERT INTO t (k, v) VALUES (?, ?)"
	for i := range 5 {
		if _, err := w.ExecContext(ctx, insert, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.ExecContext(ctx, insert, 1, "again"); err == nil {
		t.Fatal("duplicate key: want an error")
	}
	if _, err := w.ExecContext(ctx, insert, 5, "v5"); err != nil {
		t.Fatalf("the statement after an error: %v", err)
	}

	err = db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT k FROM t WHERE k < ? ORDER BY k", 3)
		if err != nil {
			return err
		}
		defer rows.Close()
		var outer []int
		for rows.Next() {
			var k int
			rows.Scan(&k)
			outer = append(outer, k)
			// The same query while the first one's rows are open.
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT k FROM t WHERE k < ? ORDER BY k)", k).Scan(&n); err != nil {
				return err
			}
			inner, err := tx.QueryContext(ctx, "SELECT k FROM t WHERE k < ? ORDER BY k", k)
			if err != nil {
				return err
			}
			m := 0
			for inner.Next() {
				m++
			}
			inner.Close()
			if m != n || m != k {
				return fmt.Errorf("inner query under k=%d found %d rows, count says %d", k, m, n)
			}
		}
		if fmt.Sprint(outer) != "[0 1 2]" {
			return fmt.Errorf("outer query read %v", outer)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}

	for i := range maxCachedStmts + 10 {
		var v int
		if err := w.QueryRowContext(ctx, fmt.Sprintf("SELECT %d", i)).Scan(&v); err != nil || v != i {
			t.Fatalf("SELECT %d = %d, %v", i, v, err)
		}
	}
	conn, err := w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Raw(func(c any) error {
		if n := len(c.(interface{ Unwrap() driver.Conn }).Unwrap().(*stmtCache).stmts); n != maxCachedStmts {
			t.Errorf("%d statements kept, want the bound %d", n, maxCachedStmts)
		}
		return nil
	})
}
