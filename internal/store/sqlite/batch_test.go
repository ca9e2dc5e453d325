package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"
	"testing"

	"modernc.org/sqlite"
)

// hangUp is cancelled by the SQL function parley_test_hang_up when a
// statement calls it: a caller giving up while its statement runs.
var (
	hangUpOnce sync.Once
	hangUpMu   sync.Mutex
	hangUp     context.CancelFunc
)

func registerHangUp() {
	hangUpOnce.Do(func() {
		err := writerDriver.RegisterScalarFunction("parley_test_hang_up", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			if args[0].(int64) == 1000 {
				hangUpMu.Lock()
				hangUp()
				hangUpMu.Unlock()
			}
			return args[0], nil
		})
		if err != nil {
			panic(err)
		}
	})
}

// TestBatch_CallerHangsUpMidStatement: three writes share one batch; the
// second one's caller gives up while its (long) statement is running. The
// others must be committed and told so, and every write must be stored if
// and only if its caller was told it succeeded. (Before the writer's
// statements ran to their end whatever their callers did (sqlstore.Detach), SQLite rolled the whole batch back when
// the statement was interrupted, the first writer was told "cannot commit
// - no transaction is active", and the third was committed by its own
// savepoint although it too was told it failed.)
func TestBatch_CallerHangsUpMidStatement(t *testing.T) {
	registerHangUp()
	db := mustOpen(t)
	bg := context.Background()
	insert := func(ctx context.Context, name string, rows int) func(tx *sql.Tx) error {
		return func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < $1)
				INSERT INTO secrets (name, value) SELECT $2 || parley_test_hang_up(x), x'00' FROM c`, rows, name)
			return err
		}
	}
	hctx, cancel := context.WithCancel(bg)
	defer cancel()
	hangUpMu.Lock()
	hangUp = cancel
	hangUpMu.Unlock()
	reqs := []*writeReq{
		{ctx: bg, fn: insert(bg, "first-", 1)},
		{ctx: hctx, fn: insert(hctx, "gone-", 50_000)},
		{ctx: bg, fn: insert(bg, "third-", 1)},
	}
	for _, r := range reqs {
		r.done = make(chan error, 1)
	}
	db.runBatch(reqs)
	if hctx.Err() == nil {
		t.Fatal("the second caller never hung up: the test did not test anything")
	}
	for i, prefix := range []string{"first-", "gone-", "third-"} {
		err := <-reqs[i].done
		var n int
		if qerr := db.read.QueryRow(`SELECT count(*) FROM secrets WHERE name LIKE $1`, prefix+"%").Scan(&n); qerr != nil {
			t.Fatal(qerr)
		}
		switch {
		case err == nil && n == 0:
			t.Errorf("write %d was acknowledged but is not stored", i+1)
		case err != nil && n > 0:
			t.Errorf("write %d failed (%v) but %d of its rows are stored", i+1, err, n)
		case err != nil && i != 1:
			t.Errorf("write %d, whose caller waited, failed because another caller hung up: %v", i+1, err)
		}
		t.Log(fmt.Sprintf("write %d: err %v, %d rows", i+1, err, n))
	}
}
