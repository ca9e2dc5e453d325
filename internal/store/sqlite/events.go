package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"parley/internal/comment"
)

// hub fans committed events out to the listeners of this process. One
// SQLite file has one server process, so no other instance needs telling.
type hub struct {
	mu        sync.Mutex
	listeners map[*func(comment.Event)]struct{}
}

func (h *hub) publish(evs []comment.Event) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	fns := make([]func(comment.Event), 0, len(h.listeners))
	for fn := range h.listeners {
		fns = append(fns, *fn)
	}
	h.mu.Unlock()
	for _, fn := range fns {
		for _, ev := range evs {
			fn(ev)
		}
	}
}

// Listen calls fn for every event committed through this DB until ctx ends.
func (db *DB) Listen(ctx context.Context, fn func(comment.Event), ready func()) {
	db.hub.mu.Lock()
	if db.hub.listeners == nil {
		db.hub.listeners = map[*func(comment.Event)]struct{}{}
	}
	db.hub.listeners[&fn] = struct{}{}
	db.hub.mu.Unlock()
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	db.hub.mu.Lock()
	delete(db.hub.listeners, &fn)
	db.hub.mu.Unlock()
}

// addEvent records ev in tx and fills its ID and time.
func (db *DB) addEvent(ctx context.Context, tx *sql.Tx, ev *comment.Event) error {
	ev.Created = db.now().UTC()
	return tx.QueryRowContext(ctx, `INSERT INTO events (site_id, thread_id, page_key, comment_id, kind, created) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		ev.SiteID, ev.ThreadID, ev.PageKey, ev.CommentID, string(ev.Kind), ev.Created.UnixNano()).Scan(&ev.ID)
}

// commentEvent records an event about an existing comment.
func (db *DB) commentEvent(ctx context.Context, tx *sql.Tx, commentID string, kind comment.EventKind) (comment.Event, error) {
	ev := comment.Event{CommentID: commentID, Kind: kind}
	err := tx.QueryRowContext(ctx, `SELECT c.site_id, c.thread_id, t.key FROM comments c JOIN threads t ON t.id = c.thread_id WHERE c.id = ?`, commentID).
		Scan(&ev.SiteID, &ev.ThreadID, &ev.PageKey)
	if err != nil {
		return ev, err
	}
	return ev, db.addEvent(ctx, tx, &ev)
}

// Events returns a thread's events after an ID.
func (db *DB) Events(ctx context.Context, threadID string, after int64, limit int) ([]comment.Event, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, site_id, thread_id, page_key, comment_id, kind, created FROM events
		WHERE thread_id = ? AND id > ? ORDER BY id LIMIT ?`, threadID, after, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []comment.Event
	for rows.Next() {
		var ev comment.Event
		var kind string
		var created int64
		if err := rows.Scan(&ev.ID, &ev.SiteID, &ev.ThreadID, &ev.PageKey, &ev.CommentID, &kind, &created); err != nil {
			return nil, translate(err)
		}
		ev.Kind, ev.Created = comment.EventKind(kind), time.Unix(0, created).UTC()
		out = append(out, ev)
	}
	return out, translate(rows.Err())
}

// LastEvent returns the ID of a thread's latest event.
func (db *DB) LastEvent(ctx context.Context, threadID string) (int64, error) {
	var id sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT max(id) FROM events WHERE thread_id = ?`, threadID).Scan(&id)
	return id.Int64, translate(err)
}

// PruneEvents deletes events created before t.
func (db *DB) PruneEvents(ctx context.Context, before time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM events WHERE created < ?`, before.UnixNano())
		return err
	})
}
