package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"parley/internal/comment"
	"parley/internal/store"
)

// Dump calls fn with every row, or every row of one site, read from one snapshot.
func (s *Store) Dump(ctx context.Context, siteID string, fn func(*store.Row) error) error {
	opts := s.d.Snapshot
	tx, err := s.d.Read.BeginTx(ctx, &opts)
	if err != nil {
		return s.read(err)
	}
	defer tx.Rollback()
	each := func(q string, scan func(rows *sql.Rows) (*store.Row, error)) error {
		rows, err := tx.QueryContext(ctx, q, siteID)
		if err != nil {
			return s.read(err)
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scan(rows)
			if err != nil {
				return s.read(err)
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return s.read(rows.Err())
	}
	if err := each(`SELECT `+siteColumns+` FROM sites WHERE ($1 = '' OR id = $1) ORDER BY id`, func(rows *sql.Rows) (*store.Row, error) {
		site, err := scanSite(rows)
		return &store.Row{Site: site}, err
	}); err != nil {
		return err
	}
	if err := each(`SELECT `+threadColumns+` FROM threads WHERE ($1 = '' OR site_id = $1) ORDER BY created, id`, func(rows *sql.Rows) (*store.Row, error) {
		t, err := scanThread(rows)
		return &store.Row{Thread: t}, err
	}); err != nil {
		return err
	}
	if err := each(`SELECT `+commentColumns+` FROM comments WHERE ($1 = '' OR site_id = $1) ORDER BY created, id`, func(rows *sql.Rows) (*store.Row, error) {
		c, err := scanComment(rows)
		return &store.Row{Comment: c}, err
	}); err != nil {
		return err
	}
	if err := each(`SELECT l.comment_id, l.reader, l.created FROM likes l JOIN comments c ON c.id = l.comment_id
		WHERE ($1 = '' OR c.site_id = $1) ORDER BY l.comment_id, l.reader`, func(rows *sql.Rows) (*store.Row, error) {
		var l store.Like
		var created int64
		err := rows.Scan(&l.CommentID, &l.Reader, &created)
		l.Created = time.Unix(0, created).UTC()
		return &store.Row{Like: &l}, err
	}); err != nil {
		return err
	}
	if err := s.dumpCommunity(ctx, tx, siteID, fn); err != nil { // community_dump.go
		return err
	}
	if err := s.dumpNotify(ctx, tx, siteID, fn); err != nil { // notify_dump.go
		return err
	}
	if err := each(`SELECT id, site_id, erased FROM erased_comments WHERE ($1 = '' OR site_id = $1) ORDER BY erased, id`, func(rows *sql.Rows) (*store.Row, error) {
		var e store.ErasedComment
		var erased int64
		err := rows.Scan(&e.ID, &e.SiteID, &erased)
		e.Erased = time.Unix(0, erased).UTC()
		return &store.Row{Erased: &e}, err
	}); err != nil {
		return err
	}
	// A site's dump carries the readers erased on every site as erased
	// on that site: restored elsewhere, they apply to it alone.
	if err := each(`SELECT key, site_id, erased FROM erased_authors WHERE $1 = '' OR site_id = $1 OR site_id = '' ORDER BY erased, key, site_id`, func(rows *sql.Rows) (*store.Row, error) {
		var e store.ErasedAuthor
		var erased int64
		err := rows.Scan(&e.Key, &e.SiteID, &erased)
		e.Erased = time.Unix(0, erased).UTC()
		if siteID != "" {
			e.SiteID = siteID
		}
		return &store.Row{ErasedAuthor: &e}, err
	}); err != nil {
		return err
	}
	if siteID != "" {
		return nil // server secrets belong to no one site
	}
	return each(`SELECT name, value FROM secrets WHERE '' = $1 ORDER BY name`, func(rows *sql.Rows) (*store.Row, error) {
		var sec store.Secret
		err := rows.Scan(&sec.Name, &sec.Value)
		return &store.Row{Secret: &sec}, err
	})
}

// Restore writes dumped rows into this empty store in one transaction.
func (s *Store) Restore(ctx context.Context, next func() (*store.Row, error)) error {
	return s.d.WriteAlone(ctx, func(tx *sql.Tx) error {
		// A reply may come before its parent; check references at commit.
		if _, err := tx.ExecContext(ctx, s.d.DeferForeignKeys); err != nil {
			return err
		}
		for {
			r, err := next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			switch {
			case r.Site != nil:
				_, err = tx.ExecContext(ctx, insertSite, siteValues(r.Site)...)
			case r.Thread != nil:
				t := r.Thread
				_, err = tx.ExecContext(ctx, insertThread, t.ID, t.SiteID, t.Key, t.URL, t.Title, t.Closed, t.Created.UnixNano())
			case r.Comment != nil:
				_, err = tx.ExecContext(ctx, insertComment, commentValues(r.Comment)...)
			case r.Like != nil:
				_, err = tx.ExecContext(ctx, `INSERT INTO likes (comment_id, reader, created) VALUES ($1, $2, $3)`, r.Like.CommentID, r.Like.Reader, r.Like.Created.UnixNano())
			case r.Secret != nil:
				_, err = tx.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, r.Secret.Name, r.Secret.Value)
			case r.CommunityRows != (store.CommunityRows{}):
				err = restoreCommunity(ctx, tx, &r.CommunityRows)
			case r.NotifyRows != (store.NotifyRows{}):
				err = restoreNotify(ctx, tx, &r.NotifyRows)
			case r.Erased != nil:
				err = insertErased(ctx, tx, r.Erased.ID, r.Erased.SiteID, r.Erased.Erased)
			case r.ErasedAuthor != nil:
				err = insertErasedAuthor(ctx, tx, r.ErasedAuthor.Key, r.ErasedAuthor.SiteID, r.ErasedAuthor.Erased)
			default:
				err = errors.New("restore: empty row")
			}
			if err != nil {
				return fmt.Errorf("%s: %w", describeRow(r), err)
			}
		}
	})
}

// describeRow names a row for an error message, so that the operator
// of a copy that failed knows which row to look at. Text is quoted with
// %q: a NUL byte or invalid UTF-8 shows as an escape.
func describeRow(r *store.Row) string {
	switch {
	case r.Site != nil:
		return fmt.Sprintf("site %q", r.Site.ID)
	case r.Thread != nil:
		return fmt.Sprintf("thread %s (site %q, page key %q)", r.Thread.ID, r.Thread.SiteID, r.Thread.Key)
	case r.Comment != nil:
		return fmt.Sprintf("comment %s (site %q, thread %s)", r.Comment.ID, r.Comment.SiteID, r.Comment.ThreadID)
	case r.Like != nil:
		return fmt.Sprintf("like of comment %s", r.Like.CommentID)
	case r.Secret != nil:
		return fmt.Sprintf("secret %q", r.Secret.Name)
	case r.CommunityRows != (store.CommunityRows{}):
		return describeCommunity(&r.CommunityRows)
	case r.NotifyRows != (store.NotifyRows{}):
		return describeNotify(&r.NotifyRows)
	case r.Erased != nil:
		return fmt.Sprintf("erased comment %s (site %q)", r.Erased.ID, r.Erased.SiteID)
	case r.ErasedAuthor != nil:
		return fmt.Sprintf("erased reader %s (site %q)", r.ErasedAuthor.Key, r.ErasedAuthor.SiteID)
	}
	return "an empty row"
}

// Import adds threads and comments that are not there yet.
func (s *Store) Import(ctx context.Context, siteID string, next func() (*store.Row, error)) (store.ImportCounts, error) {
	var n store.ImportCounts
	err := s.d.WriteAlone(ctx, func(tx *sql.Tx) error {
		// Replies may come before their parents; references are checked
		// at commit, after orphans have been made top-level.
		if _, err := tx.ExecContext(ctx, s.d.DeferForeignKeys); err != nil {
			return err
		}
		threads := map[string]string{} // key -> id
		threadID := func(t *comment.Thread) (string, error) {
			if id, ok := threads[t.Key]; ok {
				return id, nil
			}
			res, err := tx.ExecContext(ctx, insertThread+` ON CONFLICT (site_id, key) DO NOTHING`,
				t.ID, siteID, t.Key, t.URL, t.Title, t.Closed, t.Created.UnixNano())
			if err != nil {
				return "", err
			}
			if k, _ := res.RowsAffected(); k > 0 {
				n.Threads++
			}
			var id string
			if err := tx.QueryRowContext(ctx, `SELECT id FROM threads WHERE site_id = $1 AND key = $2`, siteID, t.Key).Scan(&id); err != nil {
				return "", err
			}
			threads[t.Key] = id
			return id, nil
		}
		for {
			r, err := next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			switch {
			case r.Thread != nil:
				if _, err := threadID(r.Thread); err != nil {
					return err
				}
			case r.Comment != nil:
				c := *r.Comment
				c.SiteID = siteID
				id, ok := threads[c.ThreadID]
				if !ok {
					if id, err = threadID(&comment.Thread{ID: comment.NewID(c.Created), Key: c.ThreadID, URL: c.ThreadID, Created: c.Created}); err != nil {
						return err
					}
				}
				c.ThreadID = id
				// A comment its author had erased stays erased.
				var erased bool
				if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM erased_comments WHERE id = $1)`, c.ID).Scan(&erased); err != nil {
					return err
				}
				if erased {
					n.Erased++
					continue
				}
				res, err := tx.ExecContext(ctx, insertComment+` ON CONFLICT (id) DO NOTHING`, commentValues(&c)...)
				if err != nil {
					return err
				}
				if k, _ := res.RowsAffected(); k > 0 {
					n.Comments++
				} else {
					n.Existing++
				}
			case r.Erased != nil:
				// An export's tombstones join this store's: what was erased
				// there is not imported here, now or later.
				if err := insertErased(ctx, tx, r.Erased.ID, siteID, r.Erased.Erased); err != nil {
					return err
				}
			case r.ErasedAuthor != nil:
				if err := insertErasedAuthor(ctx, tx, r.ErasedAuthor.Key, siteID, r.ErasedAuthor.Erased); err != nil {
					return err
				}
			default:
				return errors.New("import: a row must be a thread or a comment")
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE comments SET parent_id = NULL WHERE site_id = $1 AND parent_id IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM comments p WHERE p.id = comments.parent_id AND p.thread_id = comments.thread_id)`, siteID)
		if err != nil {
			return err
		}
		orphans, _ := res.RowsAffected()
		n.Orphans = int(orphans)
		return nil
	})
	return n, err
}

// insertErased keeps the tombstone of an erased comment (once).
func insertErased(ctx context.Context, tx *sql.Tx, id, siteID string, erased time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO erased_comments (id, site_id, erased) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`, id, siteID, erased.UnixNano())
	return err
}

// insertErasedAuthor keeps an erased reader's key, with its latest erasure.
func insertErasedAuthor(ctx context.Context, tx *sql.Tx, key, siteID string, erased time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO erased_authors (key, site_id, erased) VALUES ($1, $2, $3)
		ON CONFLICT (key, site_id) DO UPDATE SET erased = CASE WHEN excluded.erased > erased_authors.erased THEN excluded.erased ELSE erased_authors.erased END`,
		key, siteID, erased.UnixNano())
	return err
}
