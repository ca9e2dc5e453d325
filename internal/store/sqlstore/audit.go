package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
	"parley/internal/store"
)

// insertAudit writes an audit entry, and the previous status of each
// comment it changed, in tx. It fills e.ID and e.At. A nil entry writes
// nothing: the service passes one with every staff change, and the
// store's own tests may not.
func (s *Store) insertAudit(ctx context.Context, tx *sql.Tx, e *staff.AuditEntry) error {
	if e == nil {
		return nil
	}
	if e.At.IsZero() {
		e.At = s.now().UTC()
	}
	if len(e.Comments) > 0 {
		e.Count = len(e.Comments)
	}
	if err := tx.QueryRowContext(ctx, `INSERT INTO audit_log (site_id, at, actor_kind, actor_id, actor_name, action, target, before, after, count)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		e.SiteID, e.At.UnixNano(), e.ActorKind, e.ActorID, e.ActorName, e.Action, e.Target, e.Before, e.After, e.Count).Scan(&e.ID); err != nil {
		return err
	}
	// Many rows per statement: a bulk decision on 10,000 comments is 20
	// statements, not 10,000.
	const per = 300
	ids := make([]string, 0, len(e.Comments))
	for id := range e.Comments {
		ids = append(ids, id)
	}
	for start := 0; start < len(ids); start += per {
		chunk := ids[start:min(start+per, len(ids))]
		var b strings.Builder
		args := make([]any, 0, 3*len(chunk))
		for i, id := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			n := len(args)
			b.WriteString("($" + strconv.Itoa(n+1) + ", $" + strconv.Itoa(n+2) + ", $" + strconv.Itoa(n+3) + ")")
			args = append(args, e.ID, id, e.Comments[id])
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_comments (entry_id, comment_id, before_status) VALUES `+b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// AddAudit writes an entry on its own.
func (s *Store) AddAudit(ctx context.Context, e *staff.AuditEntry) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error { return s.insertAudit(ctx, tx, e) })
}

const auditColumns = `id, site_id, at, actor_kind, actor_id, actor_name, action, target, before, after, count, undone_by`

func scanAudit(row interface{ Scan(...any) error }) (*staff.AuditEntry, error) {
	var e staff.AuditEntry
	var at int64
	if err := row.Scan(&e.ID, &e.SiteID, &at, &e.ActorKind, &e.ActorID, &e.ActorName, &e.Action, &e.Target, &e.Before, &e.After, &e.Count, &e.UndoneBy); err != nil {
		return nil, err
	}
	e.At = time.Unix(0, at).UTC()
	return &e, nil
}

// AuditEntries returns entries matching f, newest first. The cursor's ID
// holds the last entry's id.
func (s *Store) AuditEntries(ctx context.Context, f store.AuditFilter) ([]*staff.AuditEntry, *store.Cursor, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	q := `SELECT ` + auditColumns + ` FROM audit_log WHERE true`
	if !f.All {
		q += ` AND site_id = ` + arg(f.SiteID)
	}
	if f.ActorID != "" {
		q += ` AND actor_id = ` + arg(f.ActorID)
	}
	switch {
	case strings.HasSuffix(f.Action, "."):
		// A prefix: every action of one kind. The upper bound makes it a
		// range an index could use, and needs no LIKE escaping.
		q += ` AND action >= ` + arg(f.Action) + ` AND action < ` + arg(f.Action[:len(f.Action)-1]+"/")
	case f.Action != "":
		q += ` AND action = ` + arg(f.Action)
	}
	if f.CommentID != "" {
		q += ` AND (target = ` + arg("comment:"+f.CommentID) + ` OR id IN (SELECT entry_id FROM audit_comments WHERE comment_id = ` + arg(f.CommentID) + `))`
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
	defer rows.Close()
	var out []*staff.AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, nil, s.read(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, s.read(err)
	}
	var next *store.Cursor
	if len(out) > limit {
		out = out[:limit]
		last := out[len(out)-1]
		next = &store.Cursor{Time: last.At, ID: strconv.FormatInt(last.ID, 10)}
	}
	return out, next, nil
}

// AuditEntry returns one entry with its comments' previous statuses.
func (s *Store) AuditEntry(ctx context.Context, id int64) (*staff.AuditEntry, error) {
	e, err := scanAudit(s.d.Read.QueryRowContext(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE id = $1`, id))
	if err != nil {
		return nil, s.read(err)
	}
	rows, err := s.d.Read.QueryContext(ctx, `SELECT comment_id, before_status FROM audit_comments WHERE entry_id = $1`, id)
	if err != nil {
		return nil, s.read(err)
	}
	defer rows.Close()
	e.Comments = map[string]string{}
	for rows.Next() {
		var cid, st string
		if err := rows.Scan(&cid, &st); err != nil {
			return nil, s.read(err)
		}
		e.Comments[cid] = st
	}
	return e, s.read(rows.Err())
}

// pageLimit is a listing's page size: 50 unless asked, at most 500.
func pageLimit(n int) int {
	if n <= 0 {
		return 50
	}
	return min(n, 500)
}
