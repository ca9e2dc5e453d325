package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
	"parley/internal/store"
)

// What the emails of the community controls need (migration 0075): the
// outbox event of a surge alert, the alerts by id, held comments'
// languages, and the addresses that stopped a site's emails about their
// held comments.

// alertNotice writes the outbox event of a new alert in this
// transaction (the one that makes the alert), and marks the alert
// handed over.
func (tx *changeTx) alertNotice(a *comment.Alert) error {
	now := tx.s.now().UTC().UnixNano()
	payload, err := json.Marshal(struct {
		Event string `json:"event"`
		Alert int64  `json:"alert"`
	}{store.EventSurge, a.ID})
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(tx.ctx, `INSERT INTO outbox (key, kind, stream, site_id, payload, state, created, deadline, next_at)
		VALUES ($1, $2, '', $3, $4, 'pending', $5, $6, $5)`,
		"event:alert:"+strconv.FormatInt(a.ID, 10), store.KindEvent, a.SiteID, string(payload), now, farFuture); err != nil {
		return err
	}
	if _, err := tx.ExecContext(tx.ctx, `UPDATE alerts SET delivered = $1 WHERE id = $2`, now, a.ID); err != nil {
		return err
	}
	a.Delivered = time.Unix(0, now).UTC()
	return nil
}

// decisionHeld reports whether a change of comments is a staff member's
// decision, whose held comments' authors are told what became of them
// (the widget's notices, and an email where the site asks for it), and
// returns the reason chosen, which the audit entry records. Other
// changes — a ban's removal of comments, a report hiding one, an undo —
// tell nobody.
func decisionHeld(audit *staff.AuditEntry) (bool, string) {
	if audit == nil || !strings.HasPrefix(audit.Action, "comment.") {
		return false, ""
	}
	var after struct {
		Reason string `json:"reason"`
	}
	if audit.After != "" {
		json.Unmarshal([]byte(audit.After), &after)
	}
	return true, after.Reason
}

// AlertsByID returns alerts by id.
func (s *Store) AlertsByID(ctx context.Context, ids []int64) (map[int64]*comment.Alert, error) {
	out := make(map[int64]*comment.Alert, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.d.Read.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts a LEFT JOIN threads t ON t.id = a.thread_id
			WHERE a.id IN (`+params(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, s.read(err)
		}
		list, err := s.scanAlerts(rows)
		if err != nil {
			return nil, err
		}
		for _, a := range list {
			out[a.ID] = a
		}
	}
	return out, nil
}

// SetHeldLang records the language of a held comment's author.
func (s *Store) SetHeldLang(ctx context.Context, commentID, lang string, at time.Time) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO held_langs (comment_id, lang, created) VALUES ($1, $2, $3)
			ON CONFLICT (comment_id) DO UPDATE SET lang = excluded.lang, created = excluded.created`, commentID, lang, at.UnixNano())
		if err != nil && s.d.IsForeignKey(err) {
			return comment.ErrNotFound
		}
		return err
	})
}

// HeldLangs returns the languages recorded for comments.
func (s *Store) HeldLangs(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.d.Read.QueryContext(ctx, `SELECT comment_id, lang FROM held_langs WHERE comment_id IN (`+params(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, s.read(err)
		}
		for rows.Next() {
			var id, lang string
			if err := rows.Scan(&id, &lang); err != nil {
				rows.Close()
				return nil, s.read(err)
			}
			out[id] = lang
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.read(err)
		}
	}
	return out, nil
}

// PruneHeldLangs deletes the languages of comments decided on.
func (s *Store) PruneHeldLangs(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM held_langs WHERE created < $1
			AND EXISTS (SELECT 1 FROM comments c WHERE c.id = held_langs.comment_id AND c.status <> 'pending')`, before.UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// SetDecisionMail records whether an address wants a site's emails about
// its held comments.
func (s *Store) SetDecisionMail(ctx context.Context, siteID, emailKey string, stop bool, at time.Time) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		if !stop {
			_, err := tx.ExecContext(ctx, `DELETE FROM decision_mail_stops WHERE site_id = $1 AND email_key = $2`, siteID, emailKey)
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO decision_mail_stops (site_id, email_key, created) VALUES ($1, $2, $3)
			ON CONFLICT (site_id, email_key) DO NOTHING`, siteID, emailKey, at.UnixNano())
		if err != nil && s.d.IsForeignKey(err) {
			return comment.ErrNotFound
		}
		return err
	})
}

// DecisionMailStopped reports whether an address stopped a site's emails
// about its held comments.
func (s *Store) DecisionMailStopped(ctx context.Context, siteID, emailKey string) (bool, error) {
	var one int
	err := s.d.Read.QueryRowContext(ctx, `SELECT 1 FROM decision_mail_stops WHERE site_id = $1 AND email_key = $2`, siteID, emailKey).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, s.read(err)
}

// dumpDecisionStops writes a dump's stopped decision emails (of one site,
// or all), from the dump's snapshot tx.
func (s *Store) dumpDecisionStops(ctx context.Context, tx *sql.Tx, siteID string, fn func(*store.Row) error) error {
	rows, err := tx.QueryContext(ctx, `SELECT site_id, email_key, created FROM decision_mail_stops WHERE ($1 = '' OR site_id = $1) ORDER BY site_id, email_key`, siteID)
	if err != nil {
		return s.read(err)
	}
	defer rows.Close()
	for rows.Next() {
		d := &store.DecisionStop{}
		var created int64
		if err := rows.Scan(&d.SiteID, &d.EmailKey, &created); err != nil {
			return s.read(err)
		}
		d.Created = time.Unix(0, created).UTC()
		if err := fn(&store.Row{NotifyRows: store.NotifyRows{DecisionStop: d}}); err != nil {
			return err
		}
	}
	return s.read(rows.Err())
}
