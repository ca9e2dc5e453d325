package sqlite

import (
	"context"
	"database/sql"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
	"parley/internal/store"
)

// The search index (comments_fts, migrations 0030 and 0033) is filled in
// batches: every comment above fts_progress.indexed is added in one
// statement, by the writer, at most every ftsEvery — and at once before a
// search, so a search always sees every comment. Filling it per comment
// (a trigger) made FTS5 write a segment at every post's savepoint.

const (
	ftsEvery = time.Second
	ftsBatch = 10_000
)

// indexLoop keeps the search index filled until the store closes.
func (db *DB) indexLoop() {
	t := time.NewTicker(ftsEvery)
	defer t.Stop()
	for {
		select {
		case <-db.closed:
			return
		case <-t.C:
			db.indexNew(context.Background())
		}
	}
}

// indexNew adds the comments not yet in the search index, in batches.
func (db *DB) indexNew(ctx context.Context) error {
	for {
		var pending bool
		err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM comments WHERE rowid > (SELECT indexed FROM fts_progress))`).Scan(&pending)
		if err != nil || !pending {
			return translate(err)
		}
		var done int
		err = db.inTx(ctx, func(tx *sql.Tx) error {
			var from int64
			if err := tx.QueryRowContext(ctx, `SELECT indexed FROM fts_progress`).Scan(&from); err != nil {
				return err
			}
			var to sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT max(rowid) FROM (SELECT rowid FROM comments WHERE rowid > $1 ORDER BY rowid LIMIT $2)`, from, ftsBatch).Scan(&to); err != nil || !to.Valid {
				return err
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO comments_fts (rowid, markdown, author_name) SELECT rowid, markdown, author_name FROM comments WHERE rowid > $1 AND rowid <= $2`, from, to.Int64)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			done = int(n)
			_, err = tx.ExecContext(ctx, `UPDATE fts_progress SET indexed = $1`, to.Int64)
			return err
		})
		if err != nil || done < ftsBatch {
			return err
		}
	}
}

// FindComments indexes new comments first when the filter searches text.
func (db *DB) FindComments(ctx context.Context, f store.CommentFilter) ([]*comment.Comment, *store.Cursor, error) {
	if f.Text != "" {
		if err := db.indexNew(ctx); err != nil {
			return nil, nil, err
		}
	}
	return db.Store.FindComments(ctx, f)
}

// CountComments indexes new comments first when the filter searches text.
func (db *DB) CountComments(ctx context.Context, f store.CommentFilter, limit int) (map[comment.Status]int, error) {
	if f.Text != "" {
		if err := db.indexNew(ctx); err != nil {
			return nil, err
		}
	}
	return db.Store.CountComments(ctx, f, limit)
}

// ModerateMatching indexes new comments first when the filter searches
// text.
func (db *DB) ModerateMatching(ctx context.Context, f store.CommentFilter, to comment.Status, audit *staff.AuditEntry) (int, int, error) {
	if f.Text != "" {
		if err := db.indexNew(ctx); err != nil {
			return 0, 0, err
		}
	}
	return db.Store.ModerateMatching(ctx, f, to, audit)
}
