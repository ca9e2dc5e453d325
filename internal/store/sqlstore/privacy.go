package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
	"parley/internal/store"
)

// A reader's rows are found by their address and log-in (comments,
// subscriptions, sessions, sanctions), by the keyed hashes the service
// computed (verified addresses, pictures, reports, notes), and by the
// reader tokens of the browsers they commented from (likes, reports,
// notices about held comments).

// privacyQuery builds the conditions of one subject's queries: $1 is the
// site ("" every site), $2 the address, $3 the identity; further values
// are added with arg.
type privacyQuery struct {
	s    *store.PrivacySubject
	args []any
}

func newPrivacyQuery(s *store.PrivacySubject) *privacyQuery {
	return &privacyQuery{s: s, args: []any{s.SiteID, strings.ToLower(strings.TrimSpace(s.Email)), s.Identity}}
}

func (q *privacyQuery) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// in returns "col IN (…)" over vs, or "false" when vs is empty.
func (q *privacyQuery) in(col string, vs []string) string {
	if len(vs) == 0 {
		return "false"
	}
	p := make([]string, len(vs))
	for i, v := range vs {
		p[i] = q.arg(v)
	}
	return col + " IN (" + strings.Join(p, ", ") + ")"
}

// comments is the condition that a comment (alias a) is the reader's.
func (q *privacyQuery) comments(a string) string {
	return "(($2 <> '' AND " + a + ".author_email = $2) OR ($3 <> '' AND " + a + ".author_identity = $3)) AND ($1 = '' OR " + a + ".site_id = $1)"
}

// readers is the condition that col holds the reader token of a browser
// the reader commented from.
func (q *privacyQuery) readers(col string) string {
	return col + " IN (SELECT r.reader FROM comments r WHERE " + q.comments("r") + " AND r.reader <> '')"
}

// touch names $1, $2 and $3 in a query that needs not all of them:
// PostgreSQL refuses a parameter whose type nothing tells.
const touch = "CAST($1 AS TEXT) = CAST($1 AS TEXT) AND CAST($2 AS TEXT) = CAST($2 AS TEXT) AND CAST($3 AS TEXT) = CAST($3 AS TEXT)"

// site is the condition that col is the subject's site.
func (q *privacyQuery) site(col string) string { return "($1 = '' OR " + col + " = $1)" }

// sessions is the condition on the reader's sessions.
func (q *privacyQuery) sessions() string {
	return "(($3 <> '' AND identity = $3) OR ($2 <> '' AND lower(email) = $2)) AND " + q.site("site_id")
}

// sanctions is the condition on sanctions naming the reader.
func (q *privacyQuery) sanctions() string {
	return "(($2 <> '' AND match = 'email' AND value = $2) OR ($3 <> '' AND match = 'identity' AND value = $3)) AND " + q.site("site_id")
}

// subscriptions is the condition on the reader's subscriptions.
func (q *privacyQuery) subscriptions() string {
	return "(($2 <> '' AND email = $2) OR email_key = " + q.arg(nonEmpty(q.s.EmailKey)) + ") AND " + q.site("site_id") + " AND " + touch
}

// nonEmpty keeps an absent key from matching rows whose key is "".
func nonEmpty(k string) string {
	if k == "" {
		return " none" // keys are hex: never this
	}
	return k
}

// ExportReader calls fn with every record about the reader, read from
// one snapshot as fn is called.
func (s *Store) ExportReader(ctx context.Context, subj *store.PrivacySubject, fn func(kind string, v any) error) error {
	opts := s.d.Snapshot
	tx, err := s.d.Read.BeginTx(ctx, &opts)
	if err != nil {
		return s.read(err)
	}
	defer tx.Rollback()
	if s.d.Unbounded != "" {
		// The server's statement timeout would end the export when its
		// consumer is slow, not when a query is.
		if _, err := tx.ExecContext(ctx, s.d.Unbounded); err != nil {
			return s.read(err)
		}
	}
	each := func(kind string, q *privacyQuery, query string, scan func(rows *sql.Rows) (any, error)) error {
		rows, err := tx.QueryContext(ctx, query, q.args...)
		if err != nil {
			return s.read(err)
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return s.read(err)
			}
			if err := fn(kind, v); err != nil {
				return err
			}
		}
		return s.read(rows.Err())
	}
	q := newPrivacyQuery(subj)
	if err := each(store.RecordComment, q, `SELECT c.id, c.site_id, t.key, t.url, t.title, coalesce(c.parent_id, ''), c.author_name, c.author_email,
		c.author_website, c.author_identity, c.markdown, c.status, c.created, c.edited, c.likes, c.ip_hash, c.user_agent
		FROM comments c JOIN threads t ON t.id = c.thread_id WHERE `+q.comments("c")+` ORDER BY c.created, c.id`, func(rows *sql.Rows) (any, error) {
		var c store.ExportedComment
		var created, edited int64
		err := rows.Scan(&c.ID, &c.Site, &c.PageKey, &c.PageURL, &c.PageTitle, &c.Parent, &c.Name, &c.Email, &c.Website, &c.Identity,
			&c.Markdown, &c.Status, &created, &edited, &c.Likes, &c.IPHash, &c.UserAgent)
		c.Created, c.Edited = unixTime(created), unixTime(edited)
		return &c, err
	}); err != nil {
		return err
	}
	q = newPrivacyQuery(subj)
	if err := each(store.RecordLike, q, `SELECT l.comment_id, c.site_id, l.created FROM likes l JOIN comments c ON c.id = l.comment_id
		WHERE `+q.readers("l.reader")+` AND `+q.site("c.site_id")+` ORDER BY l.created, l.comment_id`, func(rows *sql.Rows) (any, error) {
		var l store.ExportedLike
		var created int64
		err := rows.Scan(&l.Comment, &l.Site, &created)
		l.Created = unixTime(created)
		return &l, err
	}); err != nil {
		return err
	}
	q = newPrivacyQuery(subj)
	if err := each(store.RecordSubscription, q, `SELECT s.site_id, t.key, s.email, s.scope, s.created, s.confirmed FROM subscriptions s
		JOIN threads t ON t.id = s.thread_id WHERE s.id IN (SELECT id FROM subscriptions WHERE `+q.subscriptions()+`) ORDER BY s.created, s.id`, func(rows *sql.Rows) (any, error) {
		var v store.ExportedSubscription
		var created, confirmed int64
		err := rows.Scan(&v.Site, &v.PageKey, &v.Email, &v.Scope, &created, &confirmed)
		v.Created, v.Confirmed = unixTime(created), unixTime(confirmed)
		return &v, err
	}); err != nil {
		return err
	}
	q = newPrivacyQuery(subj)
	if err := each(store.RecordSession, q, `SELECT site_id, identity, name, email, avatar_url, profile_url, created, expires FROM sessions
		WHERE `+q.sessions()+` ORDER BY created, id`, func(rows *sql.Rows) (any, error) {
		var v store.ExportedSession
		var created, expires int64
		err := rows.Scan(&v.Site, &v.Identity, &v.Name, &v.Email, &v.Avatar, &v.Profile, &created, &expires)
		v.Created, v.Expires = unixTime(created), unixTime(expires)
		return &v, err
	}); err != nil {
		return err
	}
	q = newPrivacyQuery(subj)
	if err := each(store.RecordReport, q, `SELECT site_id, comment_id, reason, text, created FROM reports
		WHERE (`+q.in("reporter", subj.Reporters)+` OR `+q.readers("reader")+`) AND `+q.site("site_id")+` ORDER BY created, id`, func(rows *sql.Rows) (any, error) {
		var v store.ExportedReport
		var created int64
		err := rows.Scan(&v.Site, &v.Comment, &v.Reason, &v.Text, &created)
		v.Created = unixTime(created)
		return &v, err
	}); err != nil {
		return err
	}
	q = newPrivacyQuery(subj)
	if err := each(store.RecordNotice, q, `SELECT site_id, comment_id, approved, reason, created FROM reader_notices
		WHERE `+q.readers("reader")+` AND `+q.site("site_id")+` ORDER BY created, id`, func(rows *sql.Rows) (any, error) {
		var v store.ExportedNotice
		var created int64
		err := rows.Scan(&v.Site, &v.Comment, &v.Approved, &v.Reason, &created)
		v.Created = unixTime(created)
		return &v, err
	}); err != nil {
		return err
	}
	q = newPrivacyQuery(subj)
	if err := each(store.RecordSanction, q, `SELECT site_id, kind, match, value, message, created, until, lifted FROM sanctions
		WHERE `+q.sanctions()+` ORDER BY created, id`, func(rows *sql.Rows) (any, error) {
		var v store.ExportedSanction
		var created, until, lifted int64
		err := rows.Scan(&v.Site, &v.Kind, &v.Match, &v.Value, &v.Message, &created, &until, &lifted)
		v.Created, v.Until, v.Lifted = unixTime(created), unixTime(until), unixTime(lifted)
		return &v, err
	}); err != nil {
		return err
	}
	q = newPrivacyQuery(subj)
	if err := each(store.RecordNote, q, `SELECT site_id, text, created FROM author_notes
		WHERE `+q.in("author", subj.Authors)+` AND `+q.site("site_id")+` AND `+touch+` ORDER BY created, id`, func(rows *sql.Rows) (any, error) {
		var v store.ExportedNote
		var created int64
		err := rows.Scan(&v.Site, &v.Text, &created)
		v.Created = unixTime(created)
		return &v, err
	}); err != nil {
		return err
	}
	q = newPrivacyQuery(subj)
	if err := each(store.RecordVerified, q, `SELECT verified FROM verified_emails WHERE key = `+q.arg(nonEmpty(subj.VerifiedKey))+` AND `+touch, func(rows *sql.Rows) (any, error) {
		var at int64
		err := rows.Scan(&at)
		return &store.ExportedVerified{Verified: unixTime(at)}, err
	}); err != nil {
		return err
	}
	q = newPrivacyQuery(subj)
	return each(store.RecordAvatar, q, `SELECT content_type, data, updated FROM avatars WHERE `+q.in("key", subj.AvatarKeys)+` AND `+touch+` ORDER BY key`, func(rows *sql.Rows) (any, error) {
		var v store.ExportedAvatar
		var updated int64
		err := rows.Scan(&v.ContentType, &v.Data, &updated)
		v.Updated = unixTime(updated)
		return &v, err
	})
}

// erasedComment is one of the reader's comments as an erasure sees it.
type erasedComment struct {
	id, site, thread, parent string
	status                   comment.Status
	keep                     bool // replies hang on it: it stays, without author and text
}

// eraseChunk is how many ids go in one IN list.
const eraseChunk = 500

// EraseReader erases the reader in one transaction, then has the engine
// rewrite what its files still hold (Dialect.Scrub).
func (s *Store) EraseReader(ctx context.Context, subj *store.PrivacySubject, anonymise map[string]bool, audit func(store.EraseCounts) *staff.AuditEntry) (store.EraseCounts, error) {
	var n store.EraseCounts
	var uncounted int // rows changed that no count shows (audit entries, outbox streams)
	w := &changeTx{s: s, ctx: ctx}
	err := s.d.WriteAlone(ctx, func(tx *sql.Tx) error {
		w.Tx, w.events, n, uncounted = tx, w.events[:0], store.EraseCounts{}, 0
		if err := w.eraseReader(subj, anonymise, &n, &uncounted); err != nil {
			return err
		}
		if audit == nil {
			return nil
		}
		return s.insertAudit(ctx, tx, audit(n))
	})
	if err != nil {
		return n, err
	}
	if len(w.events) > 0 && s.d.Committed != nil {
		s.d.Committed(w.events)
	}
	// Scrubbing rewrites the whole database while writes wait: not for an
	// erasure that found nothing, which anyone asking may cause.
	if s.d.Scrub != nil && (n != store.EraseCounts{} || uncounted > 0) {
		if err := s.d.Scrub(ctx); err != nil {
			return n, err
		}
	}
	return n, nil
}

// exec runs a statement and adds the rows it changed to *count.
func (tx *changeTx) execCount(count *int, q string, args ...any) error {
	res, err := tx.ExecContext(tx.ctx, q, args...)
	if err != nil {
		return err
	}
	k, _ := res.RowsAffected()
	*count += int(k)
	return nil
}

// chunks calls fn with ids in IN lists of at most eraseChunk.
func chunks(ids []string, fn func(in string, args []any) error) error {
	for start := 0; start < len(ids); start += eraseChunk {
		part := ids[start:min(start+eraseChunk, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		if err := fn("("+params(1, len(part))+")", args); err != nil {
			return err
		}
	}
	return nil
}

func (tx *changeTx) eraseReader(subj *store.PrivacySubject, anonymise map[string]bool, n *store.EraseCounts, uncounted *int) error {
	ctx := tx.ctx
	if _, err := tx.ExecContext(ctx, tx.s.d.DeferForeignKeys); err != nil {
		return err
	}
	q := newPrivacyQuery(subj)
	// What the reader's other rows are found by, read before the comments
	// that hold it change.
	var readers []string
	if err := tx.strings(&readers, `SELECT DISTINCT r.reader FROM comments r WHERE `+q.comments("r")+` AND r.reader <> ''`, q.args...); err != nil {
		return err
	}
	q = newPrivacyQuery(subj)
	var subs []string
	if err := tx.strings(&subs, `SELECT id FROM subscriptions WHERE `+q.subscriptions(), q.args...); err != nil {
		return err
	}
	// The reader's comments, and which of them replies hang on.
	q = newPrivacyQuery(subj)
	rows, err := tx.QueryContext(ctx, `SELECT c.id, c.site_id, c.thread_id, coalesce(c.parent_id, ''), c.status,
		EXISTS (SELECT 1 FROM comments k WHERE k.parent_id = c.id AND NOT (`+q.comments("k")+`))
		FROM comments c WHERE `+q.comments("c"), q.args...)
	if err != nil {
		return err
	}
	var mine []*erasedComment
	byID := map[string]*erasedComment{}
	for rows.Next() {
		c := &erasedComment{}
		var st string
		if err := rows.Scan(&c.id, &c.site, &c.thread, &c.parent, &st, &c.keep); err != nil {
			rows.Close()
			return err
		}
		c.status = comment.Status(st)
		mine = append(mine, c)
		byID[c.id] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// A comment that stays (anonymised, or kept for its replies) keeps
	// its parent in place too: one of the reader's that would go stays
	// as a blank placeholder instead.
	anonymised := func(c *erasedComment) bool { return anonymise[c.site] && c.status == comment.StatusApproved }
	for _, c := range mine {
		for p := c; p.keep || anonymised(p); {
			up := byID[p.parent]
			if up == nil || up.keep || anonymised(up) {
				break // not the reader's, or stays and keeps its own parent
			}
			up.keep = true
			p = up
		}
	}
	now := tx.s.now().UTC().UnixNano()
	// The reader, by keyed hashes only: imports from other systems leave
	// out what they wrote before now (store.ErasedAuthor).
	for _, key := range subj.ErasedKeys {
		if _, err := tx.ExecContext(ctx, `INSERT INTO erased_authors (key, site_id, erased) VALUES ($1, $2, $3)
			ON CONFLICT (key, site_id) DO UPDATE SET erased = excluded.erased`, key, subj.SiteID, now); err != nil {
			return err
		}
	}
	var gone, blank, anon, all []string
	for _, c := range mine {
		all = append(all, c.id)
		switch {
		case anonymised(c):
			anon = append(anon, c.id)
		case c.keep:
			blank = append(blank, c.id)
		default:
			gone = append(gone, c.id)
		}
	}
	// The change log forgets the comments; each page that showed one is
	// told once to load its thread again (an article's page event), which
	// also drops every instance's built copy: one event per page, not one
	// per comment, for a reader with 100,000 of them.
	var pages []comment.Event
	seen := map[string]bool{}
	for _, c := range mine {
		if c.status == comment.StatusApproved && !seen[c.thread] {
			seen[c.thread] = true
			pages = append(pages, comment.Event{ThreadID: c.thread, Kind: comment.EventPage})
		}
	}
	// Likes given from the reader's browsers: the counts they were part of
	// are counted again.
	// A site's erasure leaves the reader's rows on other sites: likes
	// are a site's through their comment.
	var liked []string
	if err := siteChunks(readers, subj.SiteID, func(in, site string, args []any) error {
		return tx.strings(&liked, `SELECT DISTINCT comment_id FROM likes WHERE reader IN `+in+`
			AND (`+site+` = '' OR comment_id IN (SELECT id FROM comments WHERE site_id = `+site+`))`, args...)
	}); err != nil {
		return err
	}
	if err := siteChunks(readers, subj.SiteID, func(in, site string, args []any) error {
		if err := tx.execCount(&n.Likes, `DELETE FROM likes WHERE reader IN `+in+`
			AND (`+site+` = '' OR comment_id IN (SELECT id FROM comments WHERE site_id = `+site+`))`, args...); err != nil {
			return err
		}
		if err := tx.execCount(&n.Reports, `DELETE FROM reports WHERE reader IN `+in+` AND (`+site+` = '' OR site_id = `+site+`)`, args...); err != nil {
			return err
		}
		return tx.execCount(&n.Other, `DELETE FROM reader_notices WHERE reader IN `+in+` AND (`+site+` = '' OR site_id = `+site+`)`, args...)
	}); err != nil {
		return err
	}
	if err := chunks(liked, func(in string, args []any) error {
		_, err := tx.ExecContext(ctx, `UPDATE comments SET likes = (SELECT count(*) FROM likes WHERE comment_id = comments.id) WHERE id IN `+in, args...)
		return err
	}); err != nil {
		return err
	}
	if err := siteChunks(subj.Reporters, subj.SiteID, func(in, site string, args []any) error {
		return tx.execCount(&n.Reports, `DELETE FROM reports WHERE reporter IN `+in+` AND (`+site+` = '' OR site_id = `+site+`)`, args...)
	}); err != nil {
		return err
	}
	// The comments: gone, kept without author and text, or kept without
	// author; with their copies in the change log and the audit log.
	const noAuthor = `author_name = '', author_email = '', author_website = '', author_identity = '', reader = '', ip_hash = '', ip_net = '',
		user_agent = '', verdict_reason = '', verdict_reasons = '', edited_by = ''`
	if err := chunks(all, func(in string, args []any) error {
		for _, q := range []string{`DELETE FROM events WHERE comment_id IN ` + in, `DELETE FROM post_keys WHERE comment_id IN ` + in,
			`DELETE FROM held_langs WHERE comment_id IN ` + in} {
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		// Tombstones: an import of an old export skips these ids.
		if _, err := tx.ExecContext(ctx, `INSERT INTO erased_comments (id, site_id, erased) SELECT id, site_id, `+strconv.FormatInt(now, 10)+`
			FROM comments WHERE id IN `+in+` ON CONFLICT (id) DO NOTHING`, args...); err != nil {
			return err
		}
		targets := make([]any, len(args))
		for i, a := range args {
			targets[i] = "comment:" + a.(string)
		}
		_, err := tx.ExecContext(ctx, `UPDATE audit_log SET before = '', after = '' WHERE target IN `+in, targets...)
		return err
	}); err != nil {
		return err
	}
	if err := chunks(gone, func(in string, args []any) error {
		return tx.execCount(&n.Deleted, `DELETE FROM comments WHERE id IN `+in, args...)
	}); err != nil {
		return err
	}
	if err := chunks(blank, func(in string, args []any) error {
		return tx.execCount(&n.Deleted, `UPDATE comments SET markdown = '', html = '', kind = '`+comment.TypeErased+`', `+noAuthor+` WHERE id IN `+in, args...)
	}); err != nil {
		return err
	}
	if err := chunks(anon, func(in string, args []any) error {
		return tx.execCount(&n.Anonymised, `UPDATE comments SET `+noAuthor+` WHERE id IN `+in, args...)
	}); err != nil {
		return err
	}
	for _, ev := range pages {
		if err := tx.pageEvent(ev.ThreadID); err != nil {
			return err
		}
	}
	// The reader's other rows.
	q = newPrivacyQuery(subj)
	if err := tx.execCount(&n.Subscriptions, `DELETE FROM subscriptions WHERE `+q.subscriptions(), q.args...); err != nil {
		return err
	}
	q = newPrivacyQuery(subj)
	if err := tx.execCount(&n.Sessions, `DELETE FROM sessions WHERE `+q.sessions(), q.args...); err != nil {
		return err
	}
	q = newPrivacyQuery(subj)
	if err := tx.execCount(&n.Other, `DELETE FROM sanctions WHERE `+q.sanctions(), q.args...); err != nil {
		return err
	}
	q = newPrivacyQuery(subj)
	if err := tx.execCount(&n.Other, `DELETE FROM author_notes WHERE `+q.in("author", subj.Authors)+` AND `+q.site("site_id")+` AND `+touch, q.args...); err != nil {
		return err
	}
	if subj.EmailKey != "" {
		q = newPrivacyQuery(subj)
		if err := tx.execCount(&n.Other, `DELETE FROM decision_mail_stops WHERE email_key = `+q.arg(subj.EmailKey)+` AND `+q.site("site_id")+` AND `+touch, q.args...); err != nil {
			return err
		}
	}
	if subj.SiteID == "" && subj.VerifiedKey != "" {
		// A confirmed address is confirmed for every site.
		if err := tx.execCount(&n.Other, `DELETE FROM verified_emails WHERE key = $1`, subj.VerifiedKey); err != nil {
			return err
		}
	}
	// Cached pictures serve every site, like a confirmed address: only
	// an erasure from every site removes them.
	if subj.SiteID == "" {
		if err := chunks(subj.AvatarKeys, func(in string, args []any) error {
			return tx.execCount(&n.Other, `DELETE FROM avatars WHERE key IN `+in, args...)
		}); err != nil {
			return err
		}
	}
	// Audit entries that quote the address or the log-in (a sanction's,
	// a note's) keep who did what, without them.
	for _, v := range []string{q.args[1].(string), subj.Identity} {
		if err := tx.eraseAudit(subj.SiteID, v, uncounted); err != nil {
			return err
		}
	}
	return tx.eraseOutbox(subj, byID, subs, &n.Other, uncounted)
}

// siteChunks is chunks for a statement that also names the subject's
// site ("" every site): fn gets the IN list and the site's parameter.
func siteChunks(ids []string, site string, fn func(in, site string, args []any) error) error {
	return chunks(ids, func(in string, args []any) error {
		p := "CAST($" + strconv.Itoa(len(args)+1) + " AS TEXT)"
		return fn(in, p, append(args, site))
	})
}

// eraseAudit empties the audit entries of site ("" every site) that
// quote v: as a whole JSON string ("v"), as the end of one after a colon
// (":v", a target such as "author:email:v" within a value), or as such a
// target. Only whole values match: erasing ann@example.org leaves
// joann@example.org's entries, github:1234 leaves github:12345's.
func (tx *changeTx) eraseAudit(site, v string, count *int) error {
	if v == "" {
		return nil
	}
	// As JSON writes it, with and without <, > and & escaped.
	var forms []string
	for _, html := range []bool{true, false} {
		var b bytes.Buffer
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(html)
		if err := e.Encode(v); err != nil {
			return err
		}
		if f := strings.TrimSpace(b.String()); !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	var conds []string
	args := []any{site}
	for _, f := range forms {
		inner := likeEscape(f[1 : len(f)-1])
		args = append(args, "%\""+inner+"\"%", "%:"+inner+"\"%")
		for _, p := range []string{"$" + strconv.Itoa(len(args)-1), "$" + strconv.Itoa(len(args))} {
			conds = append(conds, "before LIKE "+p+" ESCAPE '\\'", "after LIKE "+p+" ESCAPE '\\'")
		}
	}
	if err := tx.execCount(count, `UPDATE audit_log SET before = '', after = '' WHERE (`+strings.Join(conds, " OR ")+`) AND ($1 = '' OR site_id = $1)`, args...); err != nil {
		return err
	}
	return tx.execCount(count, `UPDATE audit_log SET target = 'erased' WHERE (target = $2 OR target LIKE $3 ESCAPE '\') AND ($1 = '' OR site_id = $1)`,
		site, v, "%:"+likeEscape(v))
}

// strings appends the first column of every row of q to *out.
func (tx *changeTx) strings(out *[]string, q string, args ...any) error {
	rows, err := tx.QueryContext(tx.ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return err
		}
		*out = append(*out, v)
	}
	return rows.Err()
}

// eraseOutbox removes the outbox's messages to the reader's address and
// about their comments or subscriptions, whatever their state: pending
// ones are never sent, sent ones leave no copy. Webhook deliveries carry
// their body base64-encoded, which is looked into too.
func (tx *changeTx) eraseOutbox(subj *store.PrivacySubject, comments map[string]*erasedComment, subs []string, count, uncounted *int) error {
	needles := map[string]bool{}
	for id := range comments {
		needles[id] = true
	}
	for _, id := range subs {
		needles[id] = true
	}
	for _, v := range []string{strings.ToLower(subj.Email), subj.Identity, subj.EmailKey} {
		if v != "" {
			needles[v] = true
		}
	}
	rows, err := tx.QueryContext(tx.ctx, `SELECT id, stream, target, payload FROM outbox WHERE ($1 = '' OR site_id = $1)`, subj.SiteID)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id int64
		var stream, target, payload string
		if err := rows.Scan(&id, &stream, &target, &payload); err != nil {
			rows.Close()
			return err
		}
		if needles[target] || subj.EmailKey != "" && strings.HasSuffix(stream, ":"+subj.EmailKey) || mentions(payload, needles) {
			ids = append(ids, strconv.FormatInt(id, 10))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if err := chunks(ids, func(in string, args []any) error {
		return tx.execCount(count, `DELETE FROM outbox WHERE CAST(id AS TEXT) IN `+in, args...)
	}); err != nil {
		return err
	}
	if subj.EmailKey != "" {
		// Streams are "KIND:SITE:KEY" ("r:", "c:"): a site's erasure
		// leaves the reader's streams on other sites.
		site := "%"
		if subj.SiteID != "" {
			site = likeEscape(subj.SiteID)
		}
		return tx.execCount(uncounted, `DELETE FROM outbox_streams WHERE stream LIKE $1 ESCAPE '\'`, "%:"+site+":"+likeEscape(subj.EmailKey))
	}
	return nil
}

// mentions reports whether a JSON payload holds one of needles as a
// string, or as an email address within one, looking into base64 strings
// that hold JSON (a webhook delivery's body).
func mentions(payload string, needles map[string]bool) bool {
	var v any
	if json.Unmarshal([]byte(payload), &v) != nil {
		return false
	}
	var walk func(v any, depth int) bool
	walk = func(v any, depth int) bool {
		switch v := v.(type) {
		case string:
			if needles[v] || needles[strings.ToLower(v)] {
				return true
			}
			if depth < 3 && len(v) > 16 {
				if b, err := base64.StdEncoding.DecodeString(v); err == nil {
					var inner any
					if json.Unmarshal(b, &inner) == nil {
						return walk(inner, depth+1)
					}
				}
			}
		case []any:
			for _, e := range v {
				if walk(e, depth) {
					return true
				}
			}
		case map[string]any:
			for _, e := range v {
				if walk(e, depth) {
					return true
				}
			}
		}
		return false
	}
	return walk(v, 0)
}

// ErasedAuthors returns the erased readers' keys of a site and of every
// site, each with its latest erasure.
func (s *Store) ErasedAuthors(ctx context.Context, siteID string) (map[string]time.Time, error) {
	rows, err := s.d.Read.QueryContext(ctx, `SELECT key, max(erased) FROM erased_authors WHERE site_id = $1 OR site_id = '' GROUP BY key`, siteID)
	if err != nil {
		return nil, s.read(err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var key string
		var erased int64
		if err := rows.Scan(&key, &erased); err != nil {
			return nil, s.read(err)
		}
		out[key] = time.Unix(0, erased).UTC()
	}
	return out, s.read(rows.Err())
}
