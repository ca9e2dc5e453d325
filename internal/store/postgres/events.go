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

// PruneEvents deletes events created before t, and rate-limit buckets
// idle since then (a bucket idle that long is full again anyway).
func (db *DB) PruneEvents(ctx context.Context, before time.Time) error {
	if err := db.Store.PruneEvents(ctx, before); err != nil {
		return err
	}
	_, err := db.db.ExecContext(ctx, `DELETE FROM rate_buckets WHERE updated < $1`, before.UnixNano())
	return translate(err)
}
