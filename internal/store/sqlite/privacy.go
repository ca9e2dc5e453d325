package sqlite

import (
	"context"
	"fmt"
	"time"

	"parley/internal/comment"
)

// scrub runs after a reader's erasure. secure_delete zeroes the bytes of
// deleted rows, but not everywhere: the search index keeps deleted words
// in its older segments until they merge, a B-tree page rebuilt when its
// cells move keeps stale bytes in its unused area, and the write-ahead
// log keeps old page images until a checkpoint. So the index is merged
// into one segment (which holds no erased word), VACUUM writes the
// database anew, and the log is truncated.
//
// VACUUM may renumber the rowids of tables without an INTEGER PRIMARY
// KEY, comments among them, and the search index refers to comments by
// rowid: it is rebuilt from the comments in the same hold of the writer's
// one connection, so no write comes between. The cost grows with the
// database (a few seconds at 100,000 comments), once per erasure, while
// other writes wait.
func (db *DB) scrub(ctx context.Context) error {
	db.scrubs.Add(1)
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return translate(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `INSERT INTO comments_fts (comments_fts) VALUES ('optimize')`); err != nil {
		return fmt.Errorf("erase: merge the search index: %w", translate(err))
	}
	if _, err := conn.ExecContext(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("erase: vacuum: %w", translate(err))
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO comments_fts (comments_fts) VALUES ('rebuild')`); err != nil {
		return fmt.Errorf("erase: rebuild the search index: %w", translate(err))
	}
	if _, err := tx.ExecContext(ctx, `UPDATE fts_progress SET indexed = (SELECT coalesce(max(rowid), 0) FROM comments)`); err != nil {
		return translate(err)
	}
	if err := tx.Commit(); err != nil {
		return translate(err)
	}
	// A reader in the middle of a query keeps the log's frames in use:
	// try again for a while.
	for try := 0; ; try++ {
		var busy, logged, moved int
		err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &moved)
		if err != nil {
			return fmt.Errorf("erase: checkpoint: %w", translate(err))
		}
		if busy == 0 {
			return nil
		}
		if try == 50 {
			return fmt.Errorf("%w: erase: the write-ahead log stayed in use; the erased rows are gone but may remain in its file until the next checkpoint", comment.ErrUnavailable)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// FindText lists the "table.column" of every column of every table
// (the search index's own included) that holds needle's bytes: the
// store suite's proof that an erasure reached everywhere.
func (db *DB) FindText(ctx context.Context, needle string) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT m.name, p.name FROM sqlite_schema m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid`)
	if err != nil {
		return nil, err
	}
	var cols [][2]string
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			rows.Close()
			return nil, err
		}
		cols = append(cols, [2]string{t, c})
	}
	rows.Close()
	var found []string
	for _, tc := range cols {
		var n int
		q := fmt.Sprintf(`SELECT count(*) FROM "%s" WHERE instr(CAST("%s" AS BLOB), CAST($1 AS BLOB)) > 0`, tc[0], tc[1])
		if err := db.read.QueryRowContext(ctx, q, needle).Scan(&n); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", tc[0], tc[1], err)
		}
		if n > 0 {
			found = append(found, tc[0]+"."+tc[1])
		}
	}
	return found, nil
}
