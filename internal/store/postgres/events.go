package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/internal/comment"
)

// eventJSON is an event as carried in a NOTIFY payload.
type eventJSON struct {
	ID        int64  `json:"id"`
	SiteID    string `json:"site"`
	ThreadID  string `json:"thread"`
	PageKey   string `json:"page"`
	CommentID string `json:"comment"`
	Kind      string `json:"kind"`
	Created   int64  `json:"created"`
}

// addEvent records ev in tx and announces it to every instance. PostgreSQL
// delivers the notification only if and when the transaction commits.
func (db *DB) addEvent(ctx context.Context, tx *sql.Tx, ev *comment.Event) error {
	ev.Created = db.now().UTC()
	if err := tx.QueryRowContext(ctx, `INSERT INTO events (site_id, thread_id, page_key, comment_id, kind, created) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		ev.SiteID, ev.ThreadID, ev.PageKey, ev.CommentID, string(ev.Kind), ev.Created.UnixNano()).Scan(&ev.ID); err != nil {
		return err
	}
	return db.announce(ctx, tx, *ev)
}

// announce tells every instance about ev with NOTIFY. PostgreSQL delivers
// the notification only if and when the transaction commits.
func (db *DB) announce(ctx context.Context, tx *sql.Tx, ev comment.Event) error {
	payload, _ := json.Marshal(eventJSON{ev.ID, ev.SiteID, ev.ThreadID, ev.PageKey, ev.CommentID, string(ev.Kind), ev.Created.UnixNano()})
	if len(payload) > 7900 {
		// NOTIFY payloads are limited to 8000 bytes; a page key that long
		// is announced as a reset, which rebuilds every cache.
		payload, _ = json.Marshal(eventJSON{Kind: string(comment.EventReset)})
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, db.channel, string(payload))
	return err
}

// commentEvent records an event about an existing comment.
func (db *DB) commentEvent(ctx context.Context, tx *sql.Tx, commentID string, kind comment.EventKind) error {
	ev := comment.Event{CommentID: commentID, Kind: kind}
	err := tx.QueryRowContext(ctx, `SELECT c.site_id, c.thread_id, t.key FROM comments c JOIN threads t ON t.id = c.thread_id WHERE c.id = $1`, commentID).
		Scan(&ev.SiteID, &ev.ThreadID, &ev.PageKey)
	if err != nil {
		return err
	}
	return db.addEvent(ctx, tx, &ev)
}

// Listen calls fn for every event any instance commits, until ctx ends.
// It holds one connection of its own and reconnects after losing it; as
// events may have been missed meanwhile, it then reports a reset.
func (db *DB) Listen(ctx context.Context, fn func(comment.Event), ready func()) {
	backoff := 100 * time.Millisecond
	connected := false
	for ctx.Err() == nil {
		err := db.listenOnce(ctx, func(ev comment.Event) {
			backoff = 100 * time.Millisecond
			fn(ev)
		}, func() {
			if connected {
				// Back after a loss: whatever happened meanwhile is unknown.
				fn(comment.Event{Kind: comment.EventReset})
			}
			connected = true
			if ready != nil {
				ready()
			}
		})
		if ctx.Err() != nil {
			return
		}
		db.log.Warn("lost the PostgreSQL change listener; reconnecting", slog.String("err", err.Error()), slog.Duration("backoff", backoff))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (db *DB) listenOnce(ctx context.Context, fn func(comment.Event), ready func()) error {
	cfg := db.cfg.Copy()
	// The listener waits for notifications indefinitely.
	delete(cfg.RuntimeParams, "statement_timeout")
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{db.channel}.Sanitize()); err != nil {
		return err
	}
	ready()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var e eventJSON
		if err := json.Unmarshal([]byte(n.Payload), &e); err != nil {
			continue
		}
		fn(comment.Event{ID: e.ID, SiteID: e.SiteID, ThreadID: e.ThreadID, PageKey: e.PageKey, CommentID: e.CommentID,
			Kind: comment.EventKind(e.Kind), Created: time.Unix(0, e.Created).UTC()})
	}
}

// Events returns a thread's events after an ID.
func (db *DB) Events(ctx context.Context, threadID string, after int64, limit int) ([]comment.Event, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id, site_id, thread_id, page_key, comment_id, kind, created FROM events
		WHERE thread_id = $1 AND id > $2 ORDER BY id LIMIT $3`, threadID, after, limit)
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
	err := db.db.QueryRowContext(ctx, `SELECT max(id) FROM events WHERE thread_id = $1`, threadID).Scan(&id)
	return id.Int64, translate(err)
}

// PruneEvents deletes events created before t, and rate-limit buckets
// idle since then (a bucket idle that long is full again anyway).
func (db *DB) PruneEvents(ctx context.Context, before time.Time) error {
	if _, err := db.db.ExecContext(ctx, `DELETE FROM events WHERE created < $1`, before.UnixNano()); err != nil {
		return translate(err)
	}
	_, err := db.db.ExecContext(ctx, `DELETE FROM rate_buckets WHERE updated < $1`, before.UnixNano())
	return translate(err)
}
