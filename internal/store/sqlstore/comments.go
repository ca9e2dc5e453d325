package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/store"
)

const threadColumns = `id, site_id, key, url, title, closed, created`

// insertThread is the statement that adds one thread.
const insertThread = `INSERT INTO threads (` + threadColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7)`

// selectThread reads a page's thread.
const selectThread = `SELECT ` + threadColumns + ` FROM threads WHERE site_id = $1 AND key = $2`

// scanThread reads one row of threadColumns. Driver errors are not translated.
func scanThread(row interface{ Scan(...any) error }) (*comment.Thread, error) {
	var t comment.Thread
	var created int64
	if err := row.Scan(&t.ID, &t.SiteID, &t.Key, &t.URL, &t.Title, &t.Closed, &created); err != nil {
		return nil, err
	}
	t.Created = time.Unix(0, created).UTC()
	return &t, nil
}

const commentColumns = `id, site_id, thread_id, parent_id, author_name, author_email, author_website, author_identity,
	markdown, html, status, created, edited, likes, reader, ip_hash, user_agent, verdict_layer, verdict_score, verdict_reason, kind, edited_by, staff, verdict_reasons, ip_net`

// insertComment is the statement that adds one comment, with commentValues.
const insertComment = `INSERT INTO comments (` + commentColumns + `) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25)`

func commentValues(c *comment.Comment) []any {
	var parent, edited any
	if c.ParentID != "" {
		parent = c.ParentID
	}
	edited = int64(0)
	if !c.Edited.IsZero() {
		edited = c.Edited.UnixNano()
	}
	return []any{c.ID, c.SiteID, c.ThreadID, parent, c.Author.Name, c.Author.Email, c.Author.Website, c.Author.Identity,
		c.Markdown, c.HTML, string(c.Status), c.Created.UnixNano(), edited, c.Likes, c.Reader, c.IPHash, c.UserAgent,
		c.Verdict.Layer, c.Verdict.Score, c.Verdict.Reason, c.Type, c.EditedBy, c.Staff, reasonsJSON(c.Verdict.Reasons), c.IPNet}
}

// reasonsJSON is a verdict's reasons as stored: "" when there are none.
func reasonsJSON(rs []comment.Reason) string {
	if len(rs) == 0 {
		return ""
	}
	b, err := json.Marshal(rs)
	if err != nil {
		return ""
	}
	return string(b)
}

// scanComment reads one row of commentColumns. Driver errors are not translated.
func scanComment(row interface{ Scan(...any) error }) (*comment.Comment, error) {
	var c comment.Comment
	var parent sql.NullString
	var status string
	var created, edited int64
	var reasons string
	if err := row.Scan(&c.ID, &c.SiteID, &c.ThreadID, &parent, &c.Author.Name, &c.Author.Email, &c.Author.Website, &c.Author.Identity,
		&c.Markdown, &c.HTML, &status, &created, &edited, &c.Likes, &c.Reader, &c.IPHash, &c.UserAgent,
		&c.Verdict.Layer, &c.Verdict.Score, &c.Verdict.Reason, &c.Type, &c.EditedBy, &c.Staff, &reasons, &c.IPNet); err != nil {
		return nil, err
	}
	if reasons != "" {
		// A row written by a later version may hold reasons this one
		// cannot read; the English sentence in verdict_reason remains.
		json.Unmarshal([]byte(reasons), &c.Verdict.Reasons)
	}
	c.ParentID = parent.String
	c.Status = comment.Status(status)
	c.Created = time.Unix(0, created).UTC()
	if edited != 0 {
		c.Edited = time.Unix(0, edited).UTC()
	}
	return &c, nil
}

// scanComments reads every comment row and closes rows.
func (s *Store) scanComments(rows *sql.Rows) ([]*comment.Comment, error) {
	defer rows.Close()
	var out []*comment.Comment
	for rows.Next() {
		c, err := scanComment(rows)
		if err != nil {
			return nil, s.read(err)
		}
		out = append(out, c)
	}
	return out, s.read(rows.Err())
}

// params returns "$from, $from+1, …" for n parameters, for an IN list.
func params(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	return b.String()
}

// Thread returns the thread of a page.
func (s *Store) Thread(ctx context.Context, siteID, key string) (*comment.Thread, error) {
	t, err := scanThread(s.d.Read.QueryRowContext(ctx, selectThread, siteID, key))
	return t, s.read(err)
}

// SetThreadClosed closes or reopens a thread.
func (s *Store) SetThreadClosed(ctx context.Context, threadID string, closed bool) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE threads SET closed = $1 WHERE id = $2`, closed, threadID)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
}

// CreateComment stores c, creating its page's thread if needed.
func (s *Store) CreateComment(ctx context.Context, page comment.Page, c *comment.Comment) error {
	if c.ID == "" {
		c.ID = comment.NewID(s.now())
	}
	if c.Created.IsZero() {
		c.Created = s.now().UTC()
	}
	c.SiteID = page.SiteID
	return s.change(ctx, func(tx *changeTx) error { return tx.insertComment(page, c) })
}

// insertComment stores c under page in tx, creating the page's thread
// if needed, records its change event and its outbox event.
func (tx *changeTx) insertComment(page comment.Page, c *comment.Comment) error {
	ctx, s := tx.ctx, tx.s
	t, err := scanThread(tx.QueryRowContext(ctx, selectThread, page.SiteID, page.Key))
	if errors.Is(err, sql.ErrNoRows) {
		// Two instances may create the same page's thread at once: the
		// unique key decides, and both then read the winner.
		if _, err := tx.ExecContext(ctx, insertThread+` ON CONFLICT (site_id, key) DO NOTHING`,
			comment.NewID(c.Created), page.SiteID, page.Key, page.URL, page.Title, false, c.Created.UnixNano()); err != nil {
			if s.d.IsForeignKey(err) {
				return fmt.Errorf("site %q: %w", page.SiteID, comment.ErrNotFound)
			}
			return err
		}
		t, err = scanThread(tx.QueryRowContext(ctx, selectThread, page.SiteID, page.Key))
	}
	if err != nil {
		return err
	}
	if t.Closed {
		return comment.ErrClosed
	}
	c.ThreadID = t.ID
	if c.ParentID != "" {
		var parentThread string
		err := tx.QueryRowContext(ctx, `SELECT thread_id FROM comments WHERE id = $1`, c.ParentID).Scan(&parentThread)
		if err != nil || parentThread != t.ID {
			return fmt.Errorf("parent %q: %w", c.ParentID, comment.ErrNotFound)
		}
	}
	if _, err = tx.ExecContext(ctx, insertComment, commentValues(c)...); err != nil {
		return err
	}
	if c.PostKey != "" {
		// A second post with the key hits the primary key: a conflict.
		if _, err := tx.ExecContext(ctx, `INSERT INTO post_keys (site_id, key, comment_id, created) VALUES ($1, $2, $3, $4)`,
			c.SiteID, c.PostKey, c.ID, c.Created.UnixNano()); err != nil {
			return err
		}
	}
	if err := tx.notice([]noticeRow{{siteID: c.SiteID, commentID: c.ID, event: store.EventCreated, status: c.Status}}); err != nil {
		return err
	}
	switch c.Status {
	case comment.StatusApproved:
		return tx.record(comment.Event{SiteID: c.SiteID, ThreadID: t.ID, PageKey: t.Key, CommentID: c.ID, Kind: comment.EventNew})
	case comment.StatusPending:
		// Open moderation queues are told (readers never are).
		return tx.record(comment.Event{SiteID: c.SiteID, ThreadID: t.ID, PageKey: t.Key, CommentID: c.ID, Kind: comment.EventHeld})
	}
	return nil
}

// Comment returns one comment.
func (s *Store) Comment(ctx context.Context, id string) (*comment.Comment, error) {
	c, err := scanComment(s.d.Read.QueryRowContext(ctx, `SELECT `+commentColumns+` FROM comments WHERE id = $1`, id))
	return c, s.read(err)
}

// PostedComment returns the comment stored with a post key.
func (s *Store) PostedComment(ctx context.Context, siteID, postKey string) (*comment.Comment, error) {
	c, err := scanComment(s.d.Read.QueryRowContext(ctx, `SELECT `+commentColumns+` FROM comments
		WHERE id = (SELECT comment_id FROM post_keys WHERE site_id = $1 AND key = $2)`, siteID, postKey))
	return c, s.read(err)
}

// ThreadComments returns a thread's comments in the given states, oldest first.
func (s *Store) ThreadComments(ctx context.Context, threadID string, statuses ...comment.Status) ([]*comment.Comment, error) {
	if len(statuses) == 0 {
		return nil, nil
	}
	args := []any{threadID}
	for _, st := range statuses {
		args = append(args, string(st))
	}
	rows, err := s.d.Read.QueryContext(ctx, `SELECT `+commentColumns+` FROM comments
		WHERE thread_id = $1 AND status IN (`+params(2, len(statuses))+`) ORDER BY created, id`, args...)
	if err != nil {
		return nil, s.read(err)
	}
	return s.scanComments(rows)
}

// ListComments returns a site's comments matching f, newest first.
func (s *Store) ListComments(ctx context.Context, f store.ListFilter) ([]*comment.Comment, error) {
	q := `SELECT ` + commentColumns + ` FROM comments WHERE true`
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.SiteID != "" {
		q += ` AND site_id = ` + arg(f.SiteID)
	}
	if f.Status != "" {
		q += ` AND status = ` + arg(string(f.Status))
	}
	if f.Before != nil {
		q += ` AND (created, id) < (` + arg(f.Before.Created.UnixNano()) + `, ` + arg(f.Before.ID) + `)`
	}
	q += ` ORDER BY created DESC, id DESC LIMIT ` + arg(listLimit(f.Limit))
	rows, err := s.d.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.read(err)
	}
	return s.scanComments(rows)
}

func listLimit(n int) int {
	if n <= 0 {
		return 50
	}
	return min(n, 1000)
}

// EditComment replaces a comment's text.
func (s *Store) EditComment(ctx context.Context, id, markdown, html string, edited time.Time) error {
	return s.change(ctx, func(tx *changeTx) error {
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM comments WHERE id = $1`+s.d.ForUpdate, id).Scan(&status); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE comments SET markdown = $1, html = $2, edited = $3 WHERE id = $4`, markdown, html, edited.UnixNano(), id); err != nil {
			return err
		}
		if err := tx.commentNotice(id, store.EventEdited, comment.Status(status)); err != nil {
			return err
		}
		if comment.Status(status) != comment.StatusApproved {
			return nil
		}
		return tx.commentEvent(id, comment.EventUpdate)
	})
}

// ReviseComment stores an author's edit, text and judgement together.
func (s *Store) ReviseComment(ctx context.Context, c *comment.Comment) error {
	return s.change(ctx, func(tx *changeTx) error {
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM comments WHERE id = $1`+s.d.ForUpdate, c.ID).Scan(&old); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE comments SET markdown = $1, html = $2, edited = $3, status = $4,
			verdict_layer = $5, verdict_score = $6, verdict_reason = $7, verdict_reasons = $8, edited_by = '' WHERE id = $9`,
			c.Markdown, c.HTML, c.Edited.UnixNano(), string(c.Status), c.Verdict.Layer, c.Verdict.Score, c.Verdict.Reason,
			reasonsJSON(c.Verdict.Reasons), c.ID); err != nil {
			return err
		}
		if err := tx.commentNotice(c.ID, store.EventEdited, c.Status); err != nil {
			return err
		}
		if ev := decisionEvent(c.Status); ev != "" && comment.Status(old) != c.Status {
			if err := tx.commentNotice(c.ID, ev, c.Status); err != nil {
				return err
			}
		}
		kind := visibilityChange(comment.Status(old), c.Status)
		if kind == "" && c.Status == comment.StatusApproved {
			kind = comment.EventUpdate
		}
		if kind == "" {
			return nil
		}
		return tx.commentEvent(c.ID, kind)
	})
}

// SetStatus moves a comment to another state.
func (s *Store) SetStatus(ctx context.Context, id string, st comment.Status) error {
	return s.change(ctx, func(tx *changeTx) error {
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM comments WHERE id = $1`+s.d.ForUpdate, id).Scan(&old); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE comments SET status = $1 WHERE id = $2`, string(st), id); err != nil {
			return err
		}
		if ev := decisionEvent(st); ev != "" && comment.Status(old) != st {
			if err := tx.commentNotice(id, ev, st); err != nil {
				return err
			}
		}
		kind := visibilityChange(comment.Status(old), st)
		if kind == "" {
			return nil
		}
		return tx.commentEvent(id, kind)
	})
}

// visibilityChange says which event a status change is for readers.
func visibilityChange(old, new comment.Status) comment.EventKind {
	switch {
	case old != comment.StatusApproved && new == comment.StatusApproved:
		return comment.EventNew
	case old == comment.StatusApproved && new != comment.StatusApproved:
		return comment.EventRemove
	}
	return ""
}

// Counts returns the number of approved comments on each page key.
func (s *Store) Counts(ctx context.Context, siteID string, keys []string) (map[string]int, error) {
	out := make(map[string]int, len(keys))
	for _, k := range keys {
		out[k] = 0
	}
	if len(keys) == 0 {
		return out, nil
	}
	args := []any{siteID}
	for _, k := range keys {
		args = append(args, k)
	}
	rows, err := s.d.Read.QueryContext(ctx, `SELECT t.key, (SELECT count(*) FROM comments c WHERE c.thread_id = t.id AND c.status = 'approved' AND c.kind = '')
		FROM threads t WHERE t.site_id = $1 AND t.key IN (`+params(2, len(keys))+`)`, args...)
	if err != nil {
		return nil, s.read(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, s.read(err)
		}
		out[k] = n
	}
	return out, s.read(rows.Err())
}

// AuthorApproved reports whether the author has an approved comment on the site.
func (s *Store) AuthorApproved(ctx context.Context, siteID, email string) (bool, error) {
	var ok bool
	err := s.d.Read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM comments WHERE site_id = $1 AND author_email = $2 AND status = 'approved')`, siteID, email).Scan(&ok)
	return ok, s.read(err)
}

// IdentityApproved reports whether the logged-in reader has an approved
// comment on the site.
func (s *Store) IdentityApproved(ctx context.Context, siteID, identity string) (bool, error) {
	var ok bool
	err := s.d.Read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM comments WHERE site_id = $1 AND author_identity = $2 AND author_identity <> '' AND status = 'approved')`, siteID, identity).Scan(&ok)
	return ok, s.read(err)
}

// Like records one like of a comment by a reader.
func (s *Store) Like(ctx context.Context, commentID, reader string) (int, error) {
	var n int
	err := s.change(ctx, func(tx *changeTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE comments SET likes = likes + 1 WHERE id = $1`, commentID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO likes (comment_id, reader, created) VALUES ($1, $2, $3)`, commentID, reader, s.now().UnixNano()); err != nil {
			return err
		}
		if err := tx.likesChanged(commentID); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT likes FROM comments WHERE id = $1`, commentID).Scan(&n)
	})
	return n, err
}

// Unlike takes a reader's like back.
func (s *Store) Unlike(ctx context.Context, commentID, reader string) (int, error) {
	var n int
	err := s.change(ctx, func(tx *changeTx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM likes WHERE comment_id = $1 AND reader = $2`, commentID, reader)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE comments SET likes = likes - 1 WHERE id = $1`, commentID); err != nil {
			return err
		}
		if err := tx.likesChanged(commentID); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT likes FROM comments WHERE id = $1`, commentID).Scan(&n)
	})
	return n, err
}
