package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"parley/internal/comment"
	"parley/internal/staff"
	"parley/internal/store"
)

// The moderation desk's queries. Pages are keyset-paginated by (created,
// id), newest first, and every filter has an index ending in those two
// columns (migration 0030), so a page costs the same at 100,000 comments
// as at 100.

// where returns the SQL condition of a filter, adding its values through
// arg. withStatus false leaves the status out (for counts per view).
func (s *Store) where(f store.CommentFilter, arg func(any) string, withStatus bool) string {
	var b strings.Builder
	b.WriteString(`site_id = ` + arg(f.SiteID))
	if withStatus && f.Status != "" {
		b.WriteString(` AND status = ` + arg(string(f.Status)))
	}
	if f.ThreadID != "" {
		b.WriteString(` AND thread_id = ` + arg(f.ThreadID))
	}
	if f.Email != "" {
		b.WriteString(` AND author_email = ` + arg(f.Email))
	}
	if f.IPHash != "" {
		b.WriteString(` AND ip_hash = ` + arg(f.IPHash))
	}
	if f.Author != "" {
		if looksLikeIdentity(f.Author) {
			v := arg(f.Author)
			b.WriteString(` AND (author_identity = ` + v + ` OR lower(author_name) = lower(` + v + `))`)
		} else {
			b.WriteString(` AND lower(author_name) = lower(` + arg(f.Author) + `)`)
		}
	}
	if !f.Since.IsZero() {
		b.WriteString(` AND created >= ` + arg(f.Since.UnixNano()))
	}
	if !f.Until.IsZero() {
		b.WriteString(` AND created < ` + arg(f.Until.UnixNano()))
	}
	if f.Text != "" {
		b.WriteString(` AND ` + s.d.TextMatch(arg, f.Text))
	}
	if f.IDs != nil {
		if len(f.IDs) == 0 {
			b.WriteString(` AND false`)
		} else {
			list := make([]string, len(f.IDs))
			for i, id := range f.IDs {
				list[i] = arg(id)
			}
			b.WriteString(` AND id IN (` + strings.Join(list, ", ") + `)`)
		}
	}
	return b.String()
}

// looksLikeIdentity reports whether an author filter may be a log-in
// identity ("provider:subject").
func looksLikeIdentity(v string) bool {
	p, rest, ok := strings.Cut(v, ":")
	if !ok || p == "" || rest == "" || len(p) > 32 {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// FindComments returns one page of comments matching f, newest first.
func (s *Store) FindComments(ctx context.Context, f store.CommentFilter) ([]*comment.Comment, *store.Cursor, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	q := `SELECT ` + commentColumns + ` FROM comments WHERE ` + s.where(f, arg, true)
	if f.Cursor != nil {
		q += ` AND (created, id) < (` + arg(f.Cursor.Time.UnixNano()) + `, ` + arg(f.Cursor.ID) + `)`
	}
	limit := pageLimit(f.Limit)
	q += ` ORDER BY created DESC, id DESC LIMIT ` + arg(limit+1)
	rows, err := s.d.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, s.read(err)
	}
	list, err := s.scanComments(rows)
	if err != nil {
		return nil, nil, err
	}
	var next *store.Cursor
	if len(list) > limit {
		list = list[:limit]
		last := list[len(list)-1]
		next = &store.Cursor{Time: last.Created, ID: last.ID}
	}
	return list, next, nil
}

// CountComments counts comments matching f in each status, up to limit.
func (s *Store) CountComments(ctx context.Context, f store.CommentFilter, limit int) (map[comment.Status]int, error) {
	out := map[comment.Status]int{}
	// Counting stops at the cap however large a spam wave is.
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	cond := s.where(f, arg, false)
	var q string
	if f.Text != "" || limit <= 0 {
		// A text search finds its rows through the text index, whatever
		// their status: count them in one pass (up to four views' caps)
		// rather than searching once per view.
		capClause := ""
		if limit > 0 {
			capClause = ` LIMIT ` + arg(4*limit)
		}
		q = `SELECT status, count(*) FROM (SELECT status FROM comments WHERE ` + cond + capClause + `) AS m GROUP BY status`
	} else {
		// Otherwise each view is one range of an index that starts with
		// the status: one capped count each.
		var parts []string
		for _, st := range []comment.Status{comment.StatusPending, comment.StatusApproved, comment.StatusSpam, comment.StatusDeleted} {
			parts = append(parts, `SELECT `+arg(string(st))+`, count(*) FROM (SELECT 1 FROM comments WHERE `+cond+` AND status = `+arg(string(st))+` LIMIT `+arg(limit)+`) AS v`+string(st[0]))
		}
		q = strings.Join(parts, ` UNION ALL `)
	}
	rows, err := s.d.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.read(err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, s.read(err)
		}
		if limit > 0 {
			n = min(n, limit)
		}
		out[comment.Status(st)] = n
	}
	return out, s.read(rows.Err())
}

// moderated is a comment a decision changes: enough to record its event.
type moderated struct {
	id, threadID, status, siteID string
}

// Moderate moves comments of a site to status to, with the audit entry.
func (s *Store) Moderate(ctx context.Context, siteID string, ids []string, to comment.Status, audit *staff.AuditEntry) ([]*comment.Comment, error) {
	var before []*comment.Comment
	err := s.change(ctx, func(tx *changeTx) error {
		before = before[:0]
		var args []any
		arg := func(v any) string {
			args = append(args, v)
			return "$" + strconv.Itoa(len(args))
		}
		cond := s.where(store.CommentFilter{SiteID: siteID, IDs: ids}, arg, false)
		rows, err := tx.QueryContext(ctx, `SELECT `+commentColumns+` FROM comments WHERE `+cond+` AND status <> `+arg(string(to))+s.d.ForUpdate, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			c, err := scanComment(rows)
			if err != nil {
				rows.Close()
				return err
			}
			before = append(before, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		list := make([]moderated, len(before))
		for i, c := range before {
			list[i] = moderated{c.ID, c.ThreadID, string(c.Status), c.SiteID}
		}
		return s.applyDecision(tx, list, to, audit)
	})
	if err != nil {
		return nil, err
	}
	return before, nil
}

// applyDecision moves the listed comments to status to, records the
// events readers' pages need, and writes the audit entry with their
// previous statuses.
func (s *Store) applyDecision(tx *changeTx, list []moderated, to comment.Status, audit *staff.AuditEntry) error {
	if audit != nil {
		audit.Comments = make(map[string]string, len(list))
		for _, m := range list {
			audit.Comments[m.id] = m.status
		}
		audit.Count = len(list)
	}
	const per = 500
	for start := 0; start < len(list); start += per {
		chunk := list[start:min(start+per, len(list))]
		args := []any{string(to)}
		for _, m := range chunk {
			args = append(args, m.id)
		}
		if _, err := tx.ExecContext(tx.ctx, `UPDATE comments SET status = $1 WHERE id IN (`+params(2, len(chunk))+`)`, args...); err != nil {
			return err
		}
	}
	for _, m := range list {
		if kind := visibilityChange(comment.Status(m.status), to); kind != "" {
			if err := tx.commentEvent(m.id, kind); err != nil {
				return err
			}
		}
	}
	if ev := decisionEvent(to); ev != "" {
		decision, reason := decisionHeld(audit) // alertmail.go
		rows := make([]noticeRow, 0, len(list))
		for _, m := range list {
			if m.siteID == "" {
				// A caller that did not say the site: one query to find it.
				if err := tx.QueryRowContext(tx.ctx, `SELECT site_id FROM comments WHERE id = $1`, m.id).Scan(&m.siteID); err != nil {
					return err
				}
			}
			row := noticeRow{siteID: m.siteID, commentID: m.id, event: ev, status: to}
			if decision && m.status == string(comment.StatusPending) {
				row.held, row.reason = true, reason
			}
			rows = append(rows, row)
		}
		if err := tx.notice(rows); err != nil {
			return err
		}
	}
	return s.insertAudit(tx.ctx, tx.Tx, audit)
}

// ModerateMatching applies a decision to every comment matching f.
func (s *Store) ModerateMatching(ctx context.Context, f store.CommentFilter, to comment.Status, audit *staff.AuditEntry) (matched, changed int, err error) {
	err = s.change(ctx, func(tx *changeTx) error {
		var args []any
		arg := func(v any) string {
			args = append(args, v)
			return "$" + strconv.Itoa(len(args))
		}
		cond := s.where(f, arg, true)
		rows, err := tx.QueryContext(ctx, `SELECT id, thread_id, status FROM comments WHERE `+cond+s.d.ForUpdate, args...)
		if err != nil {
			return err
		}
		var list []moderated
		matched = 0
		for rows.Next() {
			m := moderated{siteID: f.SiteID}
			if err := rows.Scan(&m.id, &m.threadID, &m.status); err != nil {
				rows.Close()
				return err
			}
			matched++
			if m.status != string(to) {
				list = append(list, m)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		changed = len(list)
		if changed == 0 {
			return nil
		}
		return s.applyDecision(tx, list, to, audit)
	})
	return matched, changed, err
}

// Revert undoes the decision of audit entry id.
func (s *Store) Revert(ctx context.Context, siteID string, id int64, set comment.Status, audit *staff.AuditEntry) ([]*comment.Comment, error) {
	var restored []*comment.Comment
	err := s.change(ctx, func(tx *changeTx) error {
		var err error
		restored, err = s.revert(tx, siteID, id, set, audit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return restored, nil
}

// revert undoes, in tx, the decision of audit entry id, which moved
// comments to status set (see Revert).
func (s *Store) revert(tx *changeTx, siteID string, id int64, set comment.Status, audit *staff.AuditEntry) ([]*comment.Comment, error) {
	ctx := tx.ctx
	var restored []*comment.Comment
	var site string
	var undone int64
	if err := tx.QueryRowContext(ctx, `SELECT site_id, undone_by FROM audit_log WHERE id = $1`+s.d.ForUpdate, id).Scan(&site, &undone); err != nil {
		return nil, err
	}
	if site != siteID {
		return nil, comment.ErrNotFound
	}
	if undone != 0 {
		return nil, comment.ErrConflict
	}
	// Only comments still in the status the decision set go back: a
	// later decision on one of them stands.
	rows, err := tx.QueryContext(ctx, `SELECT c.id, c.thread_id, c.status, a.before_status FROM audit_comments a JOIN comments c ON c.id = a.comment_id
		WHERE a.entry_id = $1 AND c.status = $2`+s.d.ForUpdate, id, string(set))
	if err != nil {
		return nil, err
	}
	byStatus := map[string][]moderated{}
	for rows.Next() {
		m := moderated{siteID: siteID}
		var prev string
		if err := rows.Scan(&m.id, &m.threadID, &m.status, &prev); err != nil {
			rows.Close()
			return nil, err
		}
		restored = append(restored, &comment.Comment{ID: m.id, SiteID: siteID, ThreadID: m.threadID, Status: comment.Status(m.status)})
		byStatus[prev] = append(byStatus[prev], m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	all := map[string]string{}
	for prev, list := range byStatus {
		if err := s.applyDecision(tx, list, comment.Status(prev), nil); err != nil {
			return nil, err
		}
		for _, m := range list {
			all[m.id] = m.status
		}
	}
	audit.Comments = all
	if err := s.insertAudit(ctx, tx.Tx, audit); err != nil {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE audit_log SET undone_by = $1 WHERE id = $2`, audit.ID, id)
	return restored, err
}

// EditCommentAs replaces a comment's text as staff.
func (s *Store) EditCommentAs(ctx context.Context, c *comment.Comment, audit *staff.AuditEntry) error {
	return s.change(ctx, func(tx *changeTx) error {
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM comments WHERE id = $1`+s.d.ForUpdate, c.ID).Scan(&status); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE comments SET markdown = $1, html = $2, edited = $3, edited_by = $4 WHERE id = $5`,
			c.Markdown, c.HTML, c.Edited.UnixNano(), c.EditedBy, c.ID); err != nil {
			return err
		}
		if err := tx.commentNotice(c.ID, store.EventEdited, comment.Status(status)); err != nil {
			return err
		}
		if comment.Status(status) == comment.StatusApproved {
			if err := tx.commentEvent(c.ID, comment.EventUpdate); err != nil {
				return err
			}
		}
		return s.insertAudit(ctx, tx.Tx, audit)
	})
}

// AuthorHistories counts a site's comments by each author in each
// status: one query per kind of key (identity, email, name), however many
// authors a page shows.
func (s *Store) AuthorHistories(ctx context.Context, siteID string, authors []comment.Author) (map[string]*store.AuthorHistory, error) {
	out := map[string]*store.AuthorHistory{}
	byColumn := map[string][]any{}
	for _, a := range authors {
		switch k := store.AuthorKey(a); {
		case strings.HasPrefix(k, "identity:"):
			byColumn["author_identity"] = append(byColumn["author_identity"], strings.TrimPrefix(k, "identity:"))
		case strings.HasPrefix(k, "email:"):
			byColumn["author_email"] = append(byColumn["author_email"], strings.TrimPrefix(k, "email:"))
		default:
			byColumn["lower(author_name)"] = append(byColumn["lower(author_name)"], strings.TrimPrefix(k, "name:"))
		}
	}
	prefix := map[string]string{"author_identity": "identity:", "author_email": "email:", "lower(author_name)": "name:"}
	for col, values := range byColumn {
		values = slices.Compact(values)
		for start := 0; start < len(values); start += 500 {
			chunk := values[start:min(start+500, len(values))]
			args := append([]any{siteID}, chunk...)
			rows, err := s.d.Read.QueryContext(ctx, `SELECT `+col+`, status, count(*), min(created) FROM comments
				WHERE site_id = $1 AND `+col+` IN (`+params(2, len(chunk))+`) GROUP BY `+col+`, status`, args...)
			if err != nil {
				return nil, s.read(err)
			}
			for rows.Next() {
				var who, st string
				var n int
				var first int64
				if err := rows.Scan(&who, &st, &n, &first); err != nil {
					rows.Close()
					return nil, s.read(err)
				}
				key := prefix[col] + who
				h := out[key]
				if h == nil {
					h = &store.AuthorHistory{Counts: map[comment.Status]int{}}
					out[key] = h
				}
				h.Counts[comment.Status(st)] = n
				if t := time.Unix(0, first).UTC(); h.FirstSeen.IsZero() || t.Before(h.FirstSeen) {
					h.FirstSeen = t
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, s.read(err)
			}
		}
	}
	return out, nil
}

// ThreadsByID returns the threads with these ids.
func (s *Store) ThreadsByID(ctx context.Context, ids []string) (map[string]*comment.Thread, error) {
	out := make(map[string]*comment.Thread, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.d.Read.QueryContext(ctx, `SELECT `+threadColumns+` FROM threads WHERE id IN (`+params(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, s.read(err)
		}
		for rows.Next() {
			t, err := scanThread(rows)
			if err != nil {
				rows.Close()
				return nil, s.read(err)
			}
			out[t.ID] = t
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.read(err)
		}
	}
	return out, nil
}

// CommentsByID returns the comments with these ids.
func (s *Store) CommentsByID(ctx context.Context, ids []string) (map[string]*comment.Comment, error) {
	out := make(map[string]*comment.Comment, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.d.Read.QueryContext(ctx, `SELECT `+commentColumns+` FROM comments WHERE id IN (`+params(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, s.read(err)
		}
		list, err := s.scanComments(rows)
		if err != nil {
			return nil, err
		}
		for _, c := range list {
			out[c.ID] = c
		}
	}
	return out, nil
}

// Words splits a search into the words both engines index: runs of
// letters and digits, lower-cased, at most 16 of them. Each engine's
// TextMatch builds its query from them, so no operator syntax a person
// types reaches either engine's query parser.
func Words(text string) []string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) > 16 {
		words = words[:16]
	}
	return words
}

// EndReaderSessions ends a reader's sessions, with the audit entry.
func (s *Store) EndReaderSessions(ctx context.Context, identity string, audit *staff.AuditEntry) (int, error) {
	var n int64
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE identity = $1`, identity)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if audit != nil {
			audit.After = `{"sessions":` + strconv.FormatInt(n, 10) + `}`
		}
		return s.insertAudit(ctx, tx, audit)
	})
	return int(n), err
}
