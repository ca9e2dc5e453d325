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

// The outbox (migration 0040). A message's stream is its recipient:
// only the stream's oldest pending message, its head, has a real next_at;
// the others wait at blocked until the head is settled. Writes that add
// to a stream or settle its head first lock the stream's row in
// outbox_streams, so on PostgreSQL two instances never make two heads of
// one stream, nor leave one without.

// blocked is the next_at of a pending message that is not its stream's
// head.
const blocked = int64(1) << 62

// farFuture is the deadline of events, which are never given up.
const farFuture = int64(1) << 62

const messageColumns = `id, key, kind, stream, site_id, target, payload, state, created, deadline, next_at, attempts, last_error, last_status, last_ms, done_at`

func scanMessage(row interface{ Scan(...any) error }) (*store.Message, error) {
	var m store.Message
	var created, deadline, next, done, ms int64
	if err := row.Scan(&m.ID, &m.Key, &m.Kind, &m.Stream, &m.SiteID, &m.Target, &m.Payload, &m.State, &created, &deadline, &next,
		&m.Attempts, &m.LastError, &m.LastStatus, &ms, &done); err != nil {
		return nil, err
	}
	m.Created, m.Deadline, m.NextAt = time.Unix(0, created).UTC(), time.Unix(0, deadline).UTC(), time.Unix(0, next).UTC()
	m.LastTook = time.Duration(ms) * time.Millisecond
	if done != 0 {
		m.Done = time.Unix(0, done).UTC()
	}
	return &m, nil
}

func (s *Store) scanMessages(rows *sql.Rows) ([]*store.Message, error) {
	defer rows.Close()
	var out []*store.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, s.read(err)
		}
		out = append(out, m)
	}
	return out, s.read(rows.Err())
}

// noticeRow is one outbox event about a comment. held marks a staff
// member's decision on a comment that was held, with the reason chosen
// (decisionHeld): its author may be told.
type noticeRow struct {
	siteID, commentID, event string
	status                   comment.Status
	held                     bool
	reason                   string
}

// decisionEvent is the outbox event of a comment moving to status st,
// "" for none (back to pending).
func decisionEvent(st comment.Status) string {
	switch st {
	case comment.StatusApproved:
		return store.EventApproved
	case comment.StatusSpam:
		return store.EventSpam
	case comment.StatusDeleted:
		return store.EventDeleted
	}
	return ""
}

// notice writes outbox events in this transaction: what the fan-out
// later turns into emails and webhooks. Many rows go in one statement.
func (tx *changeTx) notice(list []noticeRow) error {
	now := tx.s.now().UTC().UnixNano()
	const per = 200
	for start := 0; start < len(list); start += per {
		chunk := list[start:min(start+per, len(list))]
		var b strings.Builder
		args := make([]any, 0, 6*len(chunk)+3)
		args = append(args, store.KindEvent, now, farFuture)
		for i, n := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			payload, err := json.Marshal(struct {
				Event   string `json:"event"`
				Comment string `json:"comment"`
				Status  string `json:"status"`
				Held    bool   `json:"held,omitempty"`
				Reason  string `json:"reason,omitempty"`
			}{n.event, n.commentID, string(n.status), n.held, n.reason})
			if err != nil {
				return err
			}
			k := len(args)
			args = append(args, "event:"+comment.NewID(tx.s.now())+":"+n.commentID, n.siteID, string(payload))
			b.WriteString("($" + strconv.Itoa(k+1) + ", $1, '', $" + strconv.Itoa(k+2) + ", $" + strconv.Itoa(k+3) + ", 'pending', $2, $3, $2)")
		}
		if _, err := tx.ExecContext(tx.ctx, `INSERT INTO outbox (key, kind, stream, site_id, payload, state, created, deadline, next_at) VALUES `+b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// commentNotice writes the outbox event of a change to one comment.
func (tx *changeTx) commentNotice(id, event string, st comment.Status) error {
	var site string
	if err := tx.QueryRowContext(tx.ctx, `SELECT site_id FROM comments WHERE id = $1`, id).Scan(&site); err != nil {
		return err
	}
	return tx.notice([]noticeRow{{siteID: site, commentID: id, event: event, status: st}})
}

// lockStream takes the stream's row lock for the rest of tx (creating the
// row), so that adding to the stream and settling its head never
// interleave.
func (s *Store) lockStream(ctx context.Context, tx *sql.Tx, stream string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO outbox_streams (stream, last_sent) VALUES ($1, 0)
		ON CONFLICT (stream) DO UPDATE SET last_sent = outbox_streams.last_sent`, stream)
	return err
}

// enqueue adds m in tx unless its key exists, as its stream's head if
// the stream has no pending message, and reports whether it was added.
func (s *Store) enqueue(ctx context.Context, tx *sql.Tx, m *store.Message) (bool, error) {
	if m.Created.IsZero() {
		m.Created = s.now().UTC()
	}
	if m.NextAt.IsZero() {
		m.NextAt = m.Created
	}
	if m.State == "" {
		m.State = store.StatePending
	}
	next := m.NextAt.UnixNano()
	if m.Stream != "" {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM outbox WHERE key = $1)`, m.Key).Scan(&exists); err != nil || exists {
			return false, err
		}
		if err := s.lockStream(ctx, tx, m.Stream); err != nil {
			return false, err
		}
		var busy bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM outbox WHERE stream = $1 AND stream <> '' AND state = 'pending')`, m.Stream).Scan(&busy); err != nil {
			return false, err
		}
		if busy {
			next = blocked
		}
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO outbox (key, kind, stream, site_id, target, payload, state, created, deadline, next_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (key) DO NOTHING RETURNING id`,
		m.Key, m.Kind, m.Stream, m.SiteID, m.Target, m.Payload, m.State, m.Created.UnixNano(), m.Deadline.UnixNano(), next).Scan(&m.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	m.NextAt = time.Unix(0, next).UTC()
	return true, nil
}

// PendingEvents returns events not fanned out yet, in ID order.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]*store.Message, error) {
	rows, err := s.d.Read.QueryContext(ctx, `SELECT `+messageColumns+` FROM outbox WHERE state = 'pending' AND kind = 'event' ORDER BY id LIMIT $1`, limit)
	if err != nil {
		return nil, s.read(err)
	}
	return s.scanMessages(rows)
}

// ExpandEvents adds the fanned-out messages and removes the events done.
func (s *Store) ExpandEvents(ctx context.Context, done []int64, msgs []*store.Message) (int, error) {
	var added int
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		added = 0
		for _, m := range msgs {
			ok, err := s.enqueue(ctx, tx, m)
			if err != nil {
				return err
			}
			if ok {
				added++
			}
		}
		for start := 0; start < len(done); start += 500 {
			chunk := done[start:min(start+500, len(done))]
			args := make([]any, len(chunk))
			for i, id := range chunk {
				args[i] = id
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE kind = 'event' AND id IN (`+params(1, len(chunk))+`)`, args...); err != nil {
				return err
			}
		}
		return nil
	})
	return added, err
}

// Enqueue adds one message, with the audit entry.
func (s *Store) Enqueue(ctx context.Context, m *store.Message, audit *staff.AuditEntry) (bool, error) {
	var added bool
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		var err error
		if added, err = s.enqueue(ctx, tx, m); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, audit)
	})
	return added, err
}

// TakeLock takes or renews a named lease.
func (s *Store) TakeLock(ctx context.Context, name, owner string, now, until time.Time) (bool, error) {
	var n int64
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO outbox_locks (name, owner, expires) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires = excluded.expires
			WHERE outbox_locks.owner = excluded.owner OR outbox_locks.expires < $4`, name, owner, until.UnixNano(), now.UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}

// ClaimMessages leases due stream heads to owner.
func (s *Store) ClaimMessages(ctx context.Context, owner string, now, until time.Time, limit int) ([]*store.Message, error) {
	var out []*store.Message
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE outbox SET lease_owner = $1, lease_until = $2
			WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND kind <> 'event' AND next_at <= $3 AND lease_until <= $3
				ORDER BY next_at, id LIMIT $4`+s.d.SkipLocked+`)
			RETURNING `+messageColumns, owner, until.UnixNano(), now.UnixNano(), limit)
		if err != nil {
			return err
		}
		out, err = s.scanMessages(rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	// RETURNING gives no order; the caller sends in due order.
	sortMessages(out)
	return out, nil
}

func sortMessages(ms []*store.Message) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && (ms[j].NextAt.Before(ms[j-1].NextAt) || ms[j].NextAt.Equal(ms[j-1].NextAt) && ms[j].ID < ms[j-1].ID); j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// StreamPending returns a stream's pending messages after one.
func (s *Store) StreamPending(ctx context.Context, stream string, after int64, limit int) ([]*store.Message, error) {
	rows, err := s.d.Read.QueryContext(ctx, `SELECT `+messageColumns+` FROM outbox WHERE stream = $1 AND stream <> '' AND state = 'pending' AND id > $2 ORDER BY id LIMIT $3`, stream, after, limit)
	if err != nil {
		return nil, s.read(err)
	}
	return s.scanMessages(rows)
}

// Finish records the outcome of sending a stream's head.
func (s *Store) Finish(ctx context.Context, owner string, head int64, with []store.Settled, o store.Outcome, now time.Time) error {
	_, err := s.FinishNext(ctx, owner, head, with, o, now, time.Time{})
	return err
}

// FinishNext does what Finish does and, when head left the pending
// state and leaseUntil is not zero, leases the stream's next message to
// owner until then if it is due, and returns it (nil if none).
func (s *Store) FinishNext(ctx context.Context, owner string, head int64, with []store.Settled, o store.Outcome, now, leaseUntil time.Time) (*store.Message, error) {
	var next *store.Message
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		next = nil
		var stream, state, leasedBy string
		if err := tx.QueryRowContext(ctx, `SELECT stream, state, lease_owner FROM outbox WHERE id = $1`, head).Scan(&stream, &state, &leasedBy); err != nil {
			return err
		}
		if err := s.lockStream(ctx, tx, stream); err != nil {
			return err
		}
		// Read again under the stream's lock: the lease may have moved.
		if err := tx.QueryRowContext(ctx, `SELECT state, lease_owner FROM outbox WHERE id = $1`+s.d.ForUpdate, head).Scan(&state, &leasedBy); err != nil {
			return err
		}
		if state != store.StatePending || leasedBy != owner {
			return comment.ErrConflict
		}
		attempt := 0
		if o.Attempted {
			attempt = 1
		}
		errText := o.Error
		if len(errText) > 500 {
			errText = errText[:500]
		}
		if o.State == "" {
			_, err := tx.ExecContext(ctx, `UPDATE outbox SET next_at = $1, lease_until = 0, lease_owner = '', attempts = attempts + $2,
				last_error = CASE WHEN $3 = 1 THEN $4 ELSE last_error END, last_status = CASE WHEN $3 = 1 THEN $5 ELSE last_status END,
				last_ms = CASE WHEN $3 = 1 THEN $6 ELSE last_ms END WHERE id = $7`,
				o.NextAt.UnixNano(), attempt, attempt, errText, o.Status, o.Took.Milliseconds(), head)
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = $1, done_at = $2, lease_until = 0, lease_owner = '', attempts = attempts + $3,
			last_error = $4, last_status = $5, last_ms = $6 WHERE id = $7`,
			o.State, now.UnixNano(), attempt, errText, o.Status, o.Took.Milliseconds(), head); err != nil {
			return err
		}
		for _, w := range with {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = $1, done_at = $2, lease_until = 0, lease_owner = '', attempts = attempts + $3,
				last_status = $4, last_ms = $5 WHERE id = $6 AND stream = $7 AND state = 'pending'`,
				w.State, now.UnixNano(), attempt, o.Status, o.Took.Milliseconds(), w.ID, stream); err != nil {
				return err
			}
		}
		if o.State == store.StateSent {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox_streams SET last_sent = $1 WHERE stream = $2`, now.UnixNano(), stream); err != nil {
				return err
			}
		}
		// The stream's next message is its head now, and this owner's to
		// send at once if it asked.
		if leaseUntil.IsZero() {
			_, err := tx.ExecContext(ctx, `UPDATE outbox SET next_at = $1 WHERE id = (SELECT min(id) FROM outbox WHERE stream = $2 AND stream <> '' AND state = 'pending')`, now.UnixNano(), stream)
			return err
		}
		m, err := scanMessage(tx.QueryRowContext(ctx, `UPDATE outbox SET next_at = $1, lease_owner = $2, lease_until = $3
			WHERE id = (SELECT min(id) FROM outbox WHERE stream = $4 AND stream <> '' AND state = 'pending') RETURNING `+messageColumns,
			now.UnixNano(), owner, leaseUntil.UnixNano(), stream))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		next = m
		return err
	})
	return next, err
}

// LastSent returns when a stream last had a message sent.
func (s *Store) LastSent(ctx context.Context, stream string) (time.Time, error) {
	var at int64
	err := s.d.Read.QueryRowContext(ctx, `SELECT last_sent FROM outbox_streams WHERE stream = $1`, stream).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) || at == 0 {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, s.read(err)
	}
	return time.Unix(0, at).UTC(), nil
}

// Messages returns messages matching f, newest first.
func (s *Store) Messages(ctx context.Context, f store.MessageFilter) ([]*store.Message, *store.Cursor, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	q := `SELECT ` + messageColumns + ` FROM outbox WHERE kind <> 'event'`
	if f.SiteID != "" {
		q += ` AND site_id = ` + arg(f.SiteID)
	}
	if f.Kind != "" {
		q += ` AND kind = ` + arg(f.Kind)
	}
	if f.State != "" {
		q += ` AND state = ` + arg(f.State)
	}
	if f.Target != "" {
		q += ` AND target = ` + arg(f.Target)
	}
	if f.Cursor != nil {
		id, err := strconv.ParseInt(f.Cursor.ID, 10, 64)
		if err != nil {
			return nil, nil, comment.Invalid("cursor", "This page link is not valid; start from the first page.")
		}
		q += ` AND id < ` + arg(id)
	}
	limit := pageLimit(f.Limit)
	q += ` ORDER BY id DESC LIMIT ` + arg(limit+1)
	rows, err := s.d.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, s.read(err)
	}
	out, err := s.scanMessages(rows)
	if err != nil {
		return nil, nil, err
	}
	var next *store.Cursor
	if len(out) > limit {
		out = out[:limit]
		last := out[len(out)-1]
		next = &store.Cursor{Time: last.Created, ID: strconv.FormatInt(last.ID, 10)}
	}
	return out, next, nil
}

// OutboxMessage returns one message.
func (s *Store) OutboxMessage(ctx context.Context, id int64) (*store.Message, error) {
	m, err := scanMessage(s.d.Read.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM outbox WHERE id = $1`, id))
	return m, s.read(err)
}

// OutboxCounts counts messages by kind and state.
func (s *Store) OutboxCounts(ctx context.Context, siteID string) (map[string]map[string]int, time.Time, error) {
	out := map[string]map[string]int{}
	// Event rows (one per new comment, deleted once fanned out) are only
	// ever pending, and the indexes that cover the other rows leave them
	// out (migration 0080): each part reads its own index, never the table.
	rows, err := s.d.Read.QueryContext(ctx, `SELECT kind, state, count(*) FROM outbox WHERE kind <> 'event' AND ($1 = '' OR site_id = $1) GROUP BY kind, state
		UNION ALL SELECT kind, state, count(*) FROM outbox WHERE state = 'pending' AND kind = 'event' AND ($1 = '' OR site_id = $1) GROUP BY kind, state`, siteID)
	if err != nil {
		return nil, time.Time{}, s.read(err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, state string
		var n int
		if err := rows.Scan(&kind, &state, &n); err != nil {
			return nil, time.Time{}, s.read(err)
		}
		if out[kind] == nil {
			out[kind] = map[string]int{}
		}
		out[kind][state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, s.read(err)
	}
	var oldest sql.NullInt64
	if err := s.d.Read.QueryRowContext(ctx, `SELECT min(m) FROM (
		SELECT min(created) AS m FROM outbox WHERE state = 'pending' AND kind <> 'event' AND ($1 = '' OR site_id = $1)
		UNION ALL SELECT min(created) FROM outbox WHERE state = 'pending' AND kind = 'event' AND ($1 = '' OR site_id = $1)) AS pending`, siteID).Scan(&oldest); err != nil {
		return nil, time.Time{}, s.read(err)
	}
	var t time.Time
	if oldest.Valid {
		t = time.Unix(0, oldest.Int64).UTC()
	}
	return out, t, nil
}

// PruneOutbox deletes settled messages older than t.
func (s *Store) PruneOutbox(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE state <> 'pending' AND done_at < $1`, before.UnixNano())
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM outbox_locks WHERE expires < $1`, before.UnixNano())
		return err
	})
	return int(n), err
}
