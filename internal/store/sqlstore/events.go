package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"parley/internal/comment"
)

// record adds ev to the change log in this transaction, fills its ID and
// time, and has it announced (Dialect.Announce now, Dialect.Committed once
// the transaction commits).
func (tx *changeTx) record(ev comment.Event) error {
	ev.Created = tx.s.now().UTC()
	if err := tx.QueryRowContext(tx.ctx, `INSERT INTO events (site_id, thread_id, page_key, comment_id, kind, created) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		ev.SiteID, ev.ThreadID, ev.PageKey, ev.CommentID, string(ev.Kind), ev.Created.UnixNano()).Scan(&ev.ID); err != nil {
		return err
	}
	if a := tx.s.d.Announce; a != nil {
		if err := a(tx.ctx, tx.Tx, ev); err != nil {
			return err
		}
	}
	tx.events = append(tx.events, ev)
	return nil
}

// commentEvent records an event about an existing comment.
func (tx *changeTx) commentEvent(commentID string, kind comment.EventKind) error {
	ev, err := tx.aboutComment(commentID, kind)
	if err != nil {
		return err
	}
	return tx.record(ev)
}

// aboutComment returns an event of kind about a comment, not yet recorded.
func (tx *changeTx) aboutComment(commentID string, kind comment.EventKind) (comment.Event, error) {
	ev := comment.Event{CommentID: commentID, Kind: kind}
	err := tx.QueryRowContext(tx.ctx, `SELECT c.site_id, c.thread_id, t.key FROM comments c JOIN threads t ON t.id = c.thread_id WHERE c.id = $1`, commentID).
		Scan(&ev.SiteID, &ev.ThreadID, &ev.PageKey)
	return ev, err
}

// likesChanged announces that a comment's like count changed, without
// recording it in the change log (comment.EventLikes).
func (tx *changeTx) likesChanged(commentID string) error {
	ev, err := tx.aboutComment(commentID, comment.EventLikes)
	if err != nil {
		return err
	}
	ev.Created = tx.s.now().UTC()
	if a := tx.s.d.Announce; a != nil {
		if err := a(tx.ctx, tx.Tx, ev); err != nil {
			return err
		}
	}
	tx.events = append(tx.events, ev)
	return nil
}

// Events returns a thread's events after an ID.
func (s *Store) Events(ctx context.Context, threadID string, after int64, limit int) ([]comment.Event, error) {
	rows, err := s.d.Read.QueryContext(ctx, `SELECT id, site_id, thread_id, page_key, comment_id, kind, created FROM events
		WHERE thread_id = $1 AND id > $2 AND kind <> 'held' ORDER BY id LIMIT $3`, threadID, after, limit)
	if err != nil {
		return nil, s.read(err)
	}
	defer rows.Close()
	var out []comment.Event
	for rows.Next() {
		var ev comment.Event
		var kind string
		var created int64
		if err := rows.Scan(&ev.ID, &ev.SiteID, &ev.ThreadID, &ev.PageKey, &ev.CommentID, &kind, &created); err != nil {
			return nil, s.read(err)
		}
		ev.Kind, ev.Created = comment.EventKind(kind), time.Unix(0, created).UTC()
		out = append(out, ev)
	}
	return out, s.read(rows.Err())
}

// LastEvent returns the ID of a thread's latest event.
func (s *Store) LastEvent(ctx context.Context, threadID string) (int64, error) {
	var id sql.NullInt64
	err := s.d.Read.QueryRowContext(ctx, `SELECT max(id) FROM events WHERE thread_id = $1`, threadID).Scan(&id)
	return id.Int64, s.read(err)
}

// PruneEvents deletes events and post keys created before t.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		// Ids grow with time: everything before the first event at or
		// after t goes (events has no index on its time, which every post
		// would write).
		if _, err := tx.ExecContext(ctx, `DELETE FROM events WHERE id < coalesce(
			(SELECT id FROM events WHERE created >= $1 ORDER BY id LIMIT 1),
			(SELECT max(id) + 1 FROM events), 0)`, before.UnixNano()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM post_keys WHERE created < $1`, before.UnixNano())
		return err
	})
}
