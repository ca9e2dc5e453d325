package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"parley/internal/comment"
	"parley/internal/store"
)

// CreateSite stores a new site.
func (db *DB) CreateSite(ctx context.Context, s *comment.Site) error {
	if s.Created.IsZero() {
		s.Created = db.now().UTC()
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sites (`+siteColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, siteValues(s)...)
		return err
	})
}

// UpdateSite replaces a site's name, origins and settings.
func (db *DB) UpdateSite(ctx context.Context, s *comment.Site) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sites SET name = $1, origins = $2, max_depth = $3, moderation = $4, edit_window = $5,
			guests = $6, providers = $7, sso_secret = $8 WHERE id = $9`,
			s.Name, originsJSON(s.Origins), s.MaxDepth, string(s.Moderation), int64(s.EditWindow/time.Second),
			string(guestPolicy(s.Guests)), providersJSON(s.Providers), s.SSOSecret, s.ID)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
}

const siteColumns = `id, name, origins, max_depth, moderation, created, edit_window, api_key_hash, guests, providers, sso_secret`

func siteValues(s *comment.Site) []any {
	return []any{s.ID, s.Name, originsJSON(s.Origins), s.MaxDepth, string(s.Moderation), s.Created.UnixNano(), int64(s.EditWindow / time.Second),
		nullable(s.APIKeyHash), string(guestPolicy(s.Guests)), providersJSON(s.Providers), s.SSOSecret}
}

func scanSite(row interface{ Scan(...any) error }) (*comment.Site, error) {
	var s comment.Site
	var origins, moderation, guests string
	var created, window int64
	var key, providers sql.NullString
	if err := row.Scan(&s.ID, &s.Name, &origins, &s.MaxDepth, &moderation, &created, &window, &key, &guests, &providers, &s.SSOSecret); err != nil {
		return nil, translate(err)
	}
	if err := json.Unmarshal([]byte(origins), &s.Origins); err != nil {
		return nil, fmt.Errorf("site %q origins: %w", s.ID, err)
	}
	if providers.Valid {
		s.Providers = []string{} // "[]" means none, unlike NULL (every provider)
		if err := json.Unmarshal([]byte(providers.String), &s.Providers); err != nil {
			return nil, fmt.Errorf("site %q providers: %w", s.ID, err)
		}
	}
	s.Moderation = comment.Moderation(moderation)
	s.Created = time.Unix(0, created).UTC()
	s.EditWindow = time.Duration(window) * time.Second
	s.APIKeyHash = key.String
	s.Guests = guestPolicy(comment.GuestPolicy(guests))
	return &s, nil
}

// guestPolicy gives the default policy for "".
func guestPolicy(p comment.GuestPolicy) comment.GuestPolicy {
	if p == "" {
		return comment.GuestsNameEmail
	}
	return p
}

// providersJSON keeps nil (every provider) as NULL and an empty list
// (none) as "[]".
func providersJSON(providers []string) any {
	if providers == nil {
		return nil
	}
	b, _ := json.Marshal(providers)
	return string(b)
}

// Site returns one site.
func (db *DB) Site(ctx context.Context, id string) (*comment.Site, error) {
	return scanSite(db.db.QueryRowContext(ctx, `SELECT `+siteColumns+` FROM sites WHERE id = $1`, id))
}

// Sites returns every site, ordered by id.
func (db *DB) Sites(ctx context.Context) ([]*comment.Site, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+siteColumns+` FROM sites ORDER BY id`)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []*comment.Site
	for rows.Next() {
		s, err := scanSite(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, translate(rows.Err())
}

const threadColumns = `id, site_id, key, url, title, closed, created`

func scanThread(row interface{ Scan(...any) error }) (*comment.Thread, error) {
	var t comment.Thread
	var created int64
	if err := row.Scan(&t.ID, &t.SiteID, &t.Key, &t.URL, &t.Title, &t.Closed, &created); err != nil {
		return nil, translate(err)
	}
	t.Created = time.Unix(0, created).UTC()
	return &t, nil
}

// Thread returns the thread of a page.
func (db *DB) Thread(ctx context.Context, siteID, key string) (*comment.Thread, error) {
	return scanThread(db.db.QueryRowContext(ctx, `SELECT `+threadColumns+` FROM threads WHERE site_id = $1 AND key = $2`, siteID, key))
}

// SetThreadClosed closes or reopens a thread.
func (db *DB) SetThreadClosed(ctx context.Context, threadID string, closed bool) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE threads SET closed = $1 WHERE id = $2`, closed, threadID)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
}

// CreateComment stores c, creating its page's thread if needed.
func (db *DB) CreateComment(ctx context.Context, page comment.Page, c *comment.Comment) error {
	if c.ID == "" {
		c.ID = comment.NewID(db.now())
	}
	if c.Created.IsZero() {
		c.Created = db.now().UTC()
	}
	c.SiteID = page.SiteID
	return db.inTx(ctx, func(tx *sql.Tx) error {
		// Two instances may create the same page's thread at once: the
		// unique key decides, and both then read the winner.
		if _, err := tx.ExecContext(ctx, `INSERT INTO threads (`+threadColumns+`) VALUES ($1, $2, $3, $4, $5, false, $6)
			ON CONFLICT (site_id, key) DO NOTHING`,
			comment.NewID(c.Created), page.SiteID, page.Key, page.URL, page.Title, c.Created.UnixNano()); err != nil {
			if isFK(err) {
				return fmt.Errorf("site %q: %w", page.SiteID, comment.ErrNotFound)
			}
			return err
		}
		t, err := scanThread(tx.QueryRowContext(ctx, `SELECT `+threadColumns+` FROM threads WHERE site_id = $1 AND key = $2`, page.SiteID, page.Key))
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
		if _, err = tx.ExecContext(ctx, `INSERT INTO comments (`+commentColumns+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)`, commentValues(c)...); err != nil {
			return err
		}
		if c.Status != comment.StatusApproved {
			return nil
		}
		return db.addEvent(ctx, tx, &comment.Event{SiteID: c.SiteID, ThreadID: t.ID, PageKey: t.Key, CommentID: c.ID, Kind: comment.EventNew})
	})
}

const commentColumns = `id, site_id, thread_id, parent_id, author_name, author_email, author_website, author_identity,
	markdown, html, status, created, edited, likes, reader, ip_hash, user_agent, verdict_layer, verdict_score, verdict_reason, kind`

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
		c.Verdict.Layer, c.Verdict.Score, c.Verdict.Reason, c.Type}
}

func scanComment(row interface{ Scan(...any) error }) (*comment.Comment, error) {
	var c comment.Comment
	var parent sql.NullString
	var status string
	var created, edited int64
	if err := row.Scan(&c.ID, &c.SiteID, &c.ThreadID, &parent, &c.Author.Name, &c.Author.Email, &c.Author.Website, &c.Author.Identity,
		&c.Markdown, &c.HTML, &status, &created, &edited, &c.Likes, &c.Reader, &c.IPHash, &c.UserAgent,
		&c.Verdict.Layer, &c.Verdict.Score, &c.Verdict.Reason, &c.Type); err != nil {
		return nil, translate(err)
	}
	c.ParentID = parent.String
	c.Status = comment.Status(status)
	c.Created = time.Unix(0, created).UTC()
	if edited != 0 {
		c.Edited = time.Unix(0, edited).UTC()
	}
	return &c, nil
}

// Comment returns one comment.
func (db *DB) Comment(ctx context.Context, id string) (*comment.Comment, error) {
	return scanComment(db.db.QueryRowContext(ctx, `SELECT `+commentColumns+` FROM comments WHERE id = $1`, id))
}

// ThreadComments returns a thread's comments in the given states, oldest first.
func (db *DB) ThreadComments(ctx context.Context, threadID string, statuses ...comment.Status) ([]*comment.Comment, error) {
	if len(statuses) == 0 {
		return nil, nil
	}
	states := make([]string, len(statuses))
	for i, s := range statuses {
		states[i] = string(s)
	}
	rows, err := db.db.QueryContext(ctx, `SELECT `+commentColumns+` FROM comments WHERE thread_id = $1 AND status = ANY($2) ORDER BY created, id`, threadID, states)
	if err != nil {
		return nil, translate(err)
	}
	return scanComments(rows)
}

// SetStatus moves a comment to another state.
func (db *DB) SetStatus(ctx context.Context, id string, s comment.Status) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM comments WHERE id = $1 FOR UPDATE`, id).Scan(&old); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE comments SET status = $1 WHERE id = $2`, string(s), id); err != nil {
			return err
		}
		kind := visibilityChange(comment.Status(old), s)
		if kind == "" {
			return nil
		}
		return db.commentEvent(ctx, tx, id, kind)
	})
}

// Counts returns the number of approved comments on each page key.
func (db *DB) Counts(ctx context.Context, siteID string, keys []string) (map[string]int, error) {
	out := make(map[string]int, len(keys))
	for _, k := range keys {
		out[k] = 0
	}
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := db.db.QueryContext(ctx, `SELECT t.key, (SELECT count(*) FROM comments c WHERE c.thread_id = t.id AND c.status = 'approved' AND c.kind = '')
		FROM threads t WHERE t.site_id = $1 AND t.key = ANY($2)`, siteID, keys)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, translate(err)
		}
		out[k] = n
	}
	return out, translate(rows.Err())
}

// Like records one like of a comment by a reader.
func (db *DB) Like(ctx context.Context, commentID, reader string) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE comments SET likes = likes + 1 WHERE id = $1`, commentID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO likes (comment_id, reader, created) VALUES ($1, $2, $3)`, commentID, reader, db.now().UnixNano()); err != nil {
			return err
		}
		if err := db.commentEvent(ctx, tx, commentID, comment.EventUpdate); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT likes FROM comments WHERE id = $1`, commentID).Scan(&n)
	})
	return n, err
}

// Unlike takes a reader's like back.
func (db *DB) Unlike(ctx context.Context, commentID, reader string) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
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
		if err := db.commentEvent(ctx, tx, commentID, comment.EventUpdate); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT likes FROM comments WHERE id = $1`, commentID).Scan(&n)
	})
	return n, err
}

func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return comment.ErrNotFound
	}
	return nil
}

// isFK reports a foreign-key violation.
func isFK(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
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

func originsJSON(origins []string) string {
	if origins == nil {
		origins = []string{}
	}
	b, _ := json.Marshal(origins)
	return string(b)
}

// ListComments returns a site's comments matching f, newest first.
func (db *DB) ListComments(ctx context.Context, f store.ListFilter) ([]*comment.Comment, error) {
	q := `SELECT ` + commentColumns + ` FROM comments WHERE true`
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
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
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, translate(err)
	}
	return scanComments(rows)
}

func listLimit(n int) int {
	if n <= 0 {
		return 50
	}
	return min(n, 1000)
}

// EditComment replaces a comment's text.
func (db *DB) EditComment(ctx context.Context, id, markdown, html string, edited time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM comments WHERE id = $1 FOR UPDATE`, id).Scan(&status); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE comments SET markdown = $1, html = $2, edited = $3 WHERE id = $4`, markdown, html, edited.UnixNano(), id); err != nil {
			return err
		}
		if comment.Status(status) != comment.StatusApproved {
			return nil
		}
		return db.commentEvent(ctx, tx, id, comment.EventUpdate)
	})
}

// nullable stores "" as NULL, for columns with a unique index on set values.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// scanComments reads every comment row and closes rows.
func scanComments(rows *sql.Rows) ([]*comment.Comment, error) {
	defer rows.Close()
	var out []*comment.Comment
	for rows.Next() {
		c, err := scanComment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, translate(rows.Err())
}
