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

// The community controls' queries: sanctions, reports, community
// settings and rules, article controls and the article list, featured
// comments, readers' notices, notes on authors, alerts.

const sanctionColumns = `id, site_id, kind, match, value, reason, message, created, until, actor, audit_id, removed, lifted, lifted_by, seen`

func scanSanction(row interface{ Scan(...any) error }) (*comment.Sanction, error) {
	var s comment.Sanction
	var kind, match string
	var created, until, lifted, seen int64
	if err := row.Scan(&s.ID, &s.SiteID, &kind, &match, &s.Value, &s.Reason, &s.Message, &created, &until, &s.Actor, &s.AuditID, &s.Removed, &lifted, &s.LiftedBy, &seen); err != nil {
		return nil, err
	}
	s.Kind, s.Match = comment.SanctionKind(kind), comment.MatchKind(match)
	s.Created = time.Unix(0, created).UTC()
	s.Until, s.Lifted, s.Seen = unixTime(until), unixTime(lifted), unixTime(seen)
	return &s, nil
}

// unixTime reads a stored time where 0 means none.
func unixTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// unixNano stores a time where the zero time means none.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// bumpVersion marks a site's sanctions or rules changed.
func bumpVersion(ctx context.Context, tx *sql.Tx, siteID string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO site_community (site_id, version) VALUES ($1, 1)
		ON CONFLICT (site_id) DO UPDATE SET version = site_community.version + 1`, siteID)
	return err
}

// targetCond returns the condition on comments (alias c) that selects a
// reader's comments, adding its values with arg.
func targetCond(t store.SanctionTarget, arg func(any) string) (string, error) {
	switch {
	case t.Identity != "":
		return `c.author_identity = ` + arg(t.Identity), nil
	case t.Email != "":
		return `c.author_email = ` + arg(t.Email), nil
	case t.EmailDomain != "":
		// A domain's letters are [a-z0-9.-] and beyond ASCII: no LIKE
		// wildcard can be among them (comment.NormalizeMatch checks).
		return `(c.author_email LIKE ` + arg("%@"+t.EmailDomain) + ` OR c.author_email LIKE ` + arg("%."+t.EmailDomain) + `)`, nil
	case t.IPHash != "":
		return `c.ip_hash = ` + arg(t.IPHash), nil
	case t.Name != "":
		return `c.author_identity = '' AND c.author_email = '' AND lower(c.author_name) = lower(` + arg(t.Name) + `)`, nil
	}
	return "", errors.New("sanction target: nothing to match")
}

// AddSanction stores a sanction and removes its reader's comments.
func (s *Store) AddSanction(ctx context.Context, sn *comment.Sanction, remove *store.SanctionTarget, audit *staff.AuditEntry) error {
	if sn.Created.IsZero() {
		sn.Created = s.now().UTC()
	}
	return s.change(ctx, func(tx *changeTx) error {
		sn.Removed = 0
		if remove != nil {
			args := []any{sn.SiteID}
			arg := func(v any) string {
				args = append(args, v)
				return "$" + strconv.Itoa(len(args))
			}
			cond, err := targetCond(*remove, arg)
			if err != nil {
				return err
			}
			rows, err := tx.QueryContext(ctx, `SELECT c.id, c.thread_id, c.status FROM comments c WHERE c.site_id = $1 AND `+cond+
				` AND c.status IN ('approved', 'pending')`+s.d.ForUpdate, args...)
			if err != nil {
				return err
			}
			var list []moderated
			for rows.Next() {
				var m moderated
				if err := rows.Scan(&m.id, &m.threadID, &m.status); err != nil {
					rows.Close()
					return err
				}
				list = append(list, m)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			// The decision writes the audit entry with each comment's
			// previous status: what Lift (and Undo) restore.
			if err := s.applyDecision(tx, list, comment.StatusDeleted, audit); err != nil {
				return err
			}
			sn.Removed = len(list)
		} else if err := s.insertAudit(ctx, tx.Tx, audit); err != nil {
			return err
		}
		if audit != nil {
			sn.AuditID = audit.ID
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sanctions (`+sanctionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			sn.ID, sn.SiteID, string(sn.Kind), string(sn.Match), sn.Value, sn.Reason, sn.Message, sn.Created.UnixNano(), unixNano(sn.Until),
			sn.Actor, sn.AuditID, sn.Removed, unixNano(sn.Lifted), sn.LiftedBy, unixNano(sn.Seen)); err != nil {
			if s.d.IsForeignKey(err) {
				return comment.ErrNotFound
			}
			return err
		}
		return bumpVersion(ctx, tx.Tx, sn.SiteID)
	})
}

// Sanctions lists a site's sanctions, newest first.
func (s *Store) Sanctions(ctx context.Context, siteID string, active bool, now time.Time) ([]*comment.Sanction, error) {
	q := `SELECT ` + sanctionColumns + ` FROM sanctions WHERE site_id = $1`
	args := []any{siteID}
	if active {
		q += ` AND lifted = 0 AND (until = 0 OR until > $2) AND (kind <> 'warn' OR seen = 0)`
		args = append(args, now.UnixNano())
	}
	rows, err := s.d.Read.QueryContext(ctx, q+` ORDER BY created DESC, id DESC`, args...)
	if err != nil {
		return nil, s.read(err)
	}
	return s.scanSanctions(rows)
}

func (s *Store) scanSanctions(rows *sql.Rows) ([]*comment.Sanction, error) {
	defer rows.Close()
	var out []*comment.Sanction
	for rows.Next() {
		sn, err := scanSanction(rows)
		if err != nil {
			return nil, s.read(err)
		}
		out = append(out, sn)
	}
	return out, s.read(rows.Err())
}

// Sanction returns one sanction of a site.
func (s *Store) Sanction(ctx context.Context, siteID, id string) (*comment.Sanction, error) {
	sn, err := scanSanction(s.d.Read.QueryRowContext(ctx, `SELECT `+sanctionColumns+` FROM sanctions WHERE site_id = $1 AND id = $2`, siteID, id))
	return sn, s.read(err)
}

// LiftSanction ends a sanction and restores what it removed.
func (s *Store) LiftSanction(ctx context.Context, sn *comment.Sanction, restore bool, audit *staff.AuditEntry) ([]*comment.Comment, error) {
	var restored []*comment.Comment
	err := s.change(ctx, func(tx *changeTx) error {
		restored = nil
		cur, err := scanSanction(tx.QueryRowContext(ctx, `SELECT `+sanctionColumns+` FROM sanctions WHERE site_id = $1 AND id = $2`+s.d.ForUpdate, sn.SiteID, sn.ID))
		if err != nil {
			return err
		}
		if !cur.Lifted.IsZero() {
			return comment.ErrConflict
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sanctions SET lifted = $1, lifted_by = $2 WHERE id = $3`, sn.Lifted.UnixNano(), sn.LiftedBy, sn.ID); err != nil {
			return err
		}
		var undone int64
		if restore && cur.AuditID != 0 && cur.Removed > 0 {
			if err := tx.QueryRowContext(ctx, `SELECT undone_by FROM audit_log WHERE id = $1`, cur.AuditID).Scan(&undone); err != nil {
				return err
			}
		}
		if restore && cur.AuditID != 0 && cur.Removed > 0 && undone == 0 {
			if restored, err = s.revert(tx, sn.SiteID, cur.AuditID, comment.StatusDeleted, audit); err != nil {
				return err
			}
		} else if err := s.insertAudit(ctx, tx.Tx, audit); err != nil {
			return err
		}
		return bumpVersion(ctx, tx.Tx, sn.SiteID)
	})
	if err != nil {
		return nil, err
	}
	return restored, nil
}

// SeeWarning records that a warned reader was shown the message.
func (s *Store) SeeWarning(ctx context.Context, siteID, id string, at time.Time) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sanctions SET seen = $1 WHERE site_id = $2 AND id = $3 AND seen = 0`, at.UnixNano(), siteID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // seen through another instance already
		}
		return bumpVersion(ctx, tx, siteID)
	})
}

// SanctionsVersion returns the site's change counter.
func (s *Store) SanctionsVersion(ctx context.Context, siteID string) (int64, error) {
	var v int64
	err := s.d.Read.QueryRowContext(ctx, `SELECT version FROM site_community WHERE site_id = $1`, siteID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, s.read(err)
}

// communityJSON is how a site's community settings are stored.
type communityJSON struct {
	ReportHide  int      `json:"report_hide"`
	CloseAfter  int64    `json:"close_after,omitempty"` // seconds
	Message     string   `json:"message,omitempty"`
	SurgeRate   int      `json:"surge_rate,omitempty"`
	SurgeAction string   `json:"surge_action,omitempty"`
	SurgeFor    int64    `json:"surge_for,omitempty"` // seconds
	Reasons     []string `json:"reasons,omitempty"`
	// EmailDecisions: authors of held comments are emailed the decision.
	EmailDecisions bool `json:"email_decisions,omitempty"`
	// Anonymise: an erased reader's published comments stay, anonymous.
	Anonymise bool `json:"anonymise,omitempty"`
}

// rulesJSON is how a site's rules are stored.
type rulesJSON struct {
	BlockedWords   []string `json:"blocked_words,omitempty"`
	HoldWords      []string `json:"hold_words,omitempty"`
	BlockedDomains []string `json:"blocked_domains,omitempty"`
	BlockedEmails  []string `json:"blocked_emails,omitempty"`
	BlockedIPs     []string `json:"blocked_ips,omitempty"`
	HoldLinks      int      `json:"hold_links,omitempty"`
	SpamLinks      int      `json:"spam_links,omitempty"`
}

// Community returns a site's community settings and rules.
func (s *Store) Community(ctx context.Context, siteID string) (*comment.Community, *comment.SiteRules, error) {
	var settings, rules string
	err := s.d.Read.QueryRowContext(ctx, `SELECT settings, rules FROM site_community WHERE site_id = $1`, siteID).Scan(&settings, &rules)
	if errors.Is(err, sql.ErrNoRows) {
		settings, rules = "", ""
	} else if err != nil {
		return nil, nil, s.read(err)
	}
	c, r, err := parseCommunity(settings, rules)
	if err != nil {
		return nil, nil, errors.New("site " + siteID + ": " + err.Error())
	}
	return c, r, nil
}

// parseCommunity reads site_community's two columns; "" means the
// defaults and no rules.
func parseCommunity(settings, rules string) (*comment.Community, *comment.SiteRules, error) {
	c, r := comment.DefaultCommunity(), comment.SiteRules{}
	if settings != "" {
		var j communityJSON
		if err := json.Unmarshal([]byte(settings), &j); err != nil {
			return nil, nil, errors.New("community settings are unreadable: " + err.Error())
		}
		c = comment.Community{ReportHide: j.ReportHide, CloseAfter: time.Duration(j.CloseAfter) * time.Second, Message: j.Message,
			SurgeRate: j.SurgeRate, SurgeAction: j.SurgeAction, SurgeFor: time.Duration(j.SurgeFor) * time.Second, Reasons: j.Reasons,
			EmailDecisions: j.EmailDecisions, Anonymise: j.Anonymise}
	}
	if rules != "" {
		var j rulesJSON
		if err := json.Unmarshal([]byte(rules), &j); err != nil {
			return nil, nil, errors.New("rules are unreadable: " + err.Error())
		}
		r = comment.SiteRules(j)
	}
	return &c, &r, nil
}

// SetCommunity stores a site's community settings.
func (s *Store) SetCommunity(ctx context.Context, siteID string, c *comment.Community, audit *staff.AuditEntry) error {
	b, err := json.Marshal(communityJSON{ReportHide: c.ReportHide, CloseAfter: int64(c.CloseAfter / time.Second), Message: c.Message,
		SurgeRate: c.SurgeRate, SurgeAction: c.SurgeAction, SurgeFor: int64(c.SurgeFor / time.Second), Reasons: c.Reasons,
		EmailDecisions: c.EmailDecisions, Anonymise: c.Anonymise})
	if err != nil {
		return err
	}
	return s.setCommunityColumn(ctx, siteID, "settings", string(b), audit)
}

// SetSiteRules stores a site's rules.
func (s *Store) SetSiteRules(ctx context.Context, siteID string, r *comment.SiteRules, audit *staff.AuditEntry) error {
	b, err := json.Marshal(rulesJSON(*r))
	if err != nil {
		return err
	}
	return s.setCommunityColumn(ctx, siteID, "rules", string(b), audit)
}

// setCommunityColumn writes one JSON column of site_community and counts
// the change.
func (s *Store) setCommunityColumn(ctx context.Context, siteID, column, value string, audit *staff.AuditEntry) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO site_community (site_id, `+column+`, version) VALUES ($1, $2, 1)
			ON CONFLICT (site_id) DO UPDATE SET `+column+` = excluded.`+column+`, version = site_community.version + 1`, siteID, value); err != nil {
			if s.d.IsForeignKey(err) {
				return comment.ErrNotFound
			}
			return err
		}
		return s.insertAudit(ctx, tx, audit)
	})
}

// AddReport stores a report and hides the comment at the threshold.
func (s *Store) AddReport(ctx context.Context, r *comment.Report, hideAt int, hidden comment.Verdict, audit *staff.AuditEntry) (open int, hid bool, err error) {
	if r.Created.IsZero() {
		r.Created = s.now().UTC()
	}
	err = s.change(ctx, func(tx *changeTx) error {
		open, hid = 0, false
		var site, thread, status string
		if err := tx.QueryRowContext(ctx, `SELECT site_id, thread_id, status FROM comments WHERE id = $1`+s.d.ForUpdate, r.CommentID).Scan(&site, &thread, &status); err != nil {
			return err
		}
		if site != r.SiteID {
			return comment.ErrNotFound
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO reports (site_id, comment_id, thread_id, reporter, reader, reason, text, created)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			r.SiteID, r.CommentID, thread, r.Reporter, r.Reader, string(r.Reason), r.Text, r.Created.UnixNano()).Scan(&r.ID); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM reports WHERE comment_id = $1 AND resolved = 0`, r.CommentID).Scan(&open); err != nil {
			return err
		}
		if hideAt <= 0 || open < hideAt || comment.Status(status) != comment.StatusApproved {
			return nil
		}
		if err := s.applyDecision(tx, []moderated{{r.CommentID, thread, status, site}}, comment.StatusPending, audit); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE comments SET verdict_layer = $1, verdict_score = $2, verdict_reason = $3 WHERE id = $4`,
			hidden.Layer, hidden.Score, hidden.Reason, r.CommentID); err != nil {
			return err
		}
		hid = true
		return nil
	})
	return open, hid, err
}

// ReportedComments lists a site's comments with open reports.
func (s *Store) ReportedComments(ctx context.Context, siteID string, cursor *store.Cursor, limit int) ([]*comment.Reported, *store.Cursor, error) {
	limit = pageLimit(limit)
	args := []any{siteID}
	having := ""
	if cursor != nil {
		having = ` HAVING (max(created), comment_id) < ($2, $3)`
		args = append(args, cursor.Time.UnixNano(), cursor.ID)
	}
	args = append(args, limit+1)
	rows, err := s.d.Read.QueryContext(ctx, `SELECT comment_id, count(*), max(created) FROM reports WHERE site_id = $1 AND resolved = 0
		GROUP BY comment_id`+having+` ORDER BY max(created) DESC, comment_id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, nil, s.read(err)
	}
	var out []*comment.Reported
	byID := map[string]*comment.Reported{}
	for rows.Next() {
		var r comment.Reported
		var last int64
		if err := rows.Scan(&r.CommentID, &r.Count, &last); err != nil {
			rows.Close()
			return nil, nil, s.read(err)
		}
		r.Last, r.Reasons = time.Unix(0, last).UTC(), map[comment.ReportReason]int{}
		out = append(out, &r)
		byID[r.CommentID] = &r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, s.read(err)
	}
	var next *store.Cursor
	if len(out) > limit {
		out = out[:limit]
		last := out[len(out)-1]
		next = &store.Cursor{Time: last.Last, ID: last.CommentID}
	}
	if len(out) == 0 {
		return out, nil, nil
	}
	ids := []any{siteID}
	for _, r := range out {
		ids = append(ids, r.CommentID)
	}
	rows, err = s.d.Read.QueryContext(ctx, `SELECT comment_id, reason, text FROM reports WHERE site_id = $1 AND resolved = 0
		AND comment_id IN (`+params(2, len(out))+`) ORDER BY created DESC, id DESC`, ids...)
	if err != nil {
		return nil, nil, s.read(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, reason, text string
		if err := rows.Scan(&id, &reason, &text); err != nil {
			return nil, nil, s.read(err)
		}
		r := byID[id]
		if r == nil {
			continue
		}
		r.Reasons[comment.ReportReason(reason)]++
		if text != "" && len(r.Texts) < 5 {
			r.Texts = append(r.Texts, text)
		}
	}
	return out, next, s.read(rows.Err())
}

// CountReported counts a site's comments with open reports.
func (s *Store) CountReported(ctx context.Context, siteID string, limit int) (int, error) {
	var n int
	err := s.d.Read.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT DISTINCT comment_id FROM reports WHERE site_id = $1 AND resolved = 0 LIMIT $2) AS r`,
		siteID, limit).Scan(&n)
	return n, s.read(err)
}

// ResolveReports closes the open reports of comments.
func (s *Store) ResolveReports(ctx context.Context, siteID string, commentIDs []string, at time.Time, by string, audit *staff.AuditEntry) (int, error) {
	var n int64
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		n = 0
		for start := 0; start < len(commentIDs); start += 500 {
			chunk := commentIDs[start:min(start+500, len(commentIDs))]
			args := []any{at.UnixNano(), by, siteID}
			for _, id := range chunk {
				args = append(args, id)
			}
			res, err := tx.ExecContext(ctx, `UPDATE reports SET resolved = $1, resolved_by = $2 WHERE site_id = $3 AND resolved = 0 AND comment_id IN (`+params(4, len(chunk))+`)`, args...)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		if audit != nil {
			audit.Count = int(n)
		}
		return s.insertAudit(ctx, tx, audit)
	})
	return int(n), err
}

const controlColumns = `close_after, premod, message, pinned, surge_until, surge_action`

// scanControls reads controlColumns, any of which may be NULL (an
// article without controls, in a LEFT JOIN).
func scanControls(c *comment.PageControls, closeAfter sql.NullInt64, premod sql.NullBool, message, pinned sql.NullString, surge sql.NullInt64, action sql.NullString) {
	if closeAfter.Valid {
		d := time.Duration(closeAfter.Int64) * time.Second
		c.CloseAfter = &d
	}
	c.Premod, c.Message, c.Pinned = premod.Bool, message.String, pinned.String
	c.SurgeUntil, c.SurgeAction = unixTime(surge.Int64), action.String
}

// PageControls returns an article's controls.
func (s *Store) PageControls(ctx context.Context, threadID string) (*comment.PageControls, error) {
	c := &comment.PageControls{ThreadID: threadID}
	var closeAfter, surge sql.NullInt64
	var premod sql.NullBool
	var message, pinned, action sql.NullString
	err := s.d.Read.QueryRowContext(ctx, `SELECT `+controlColumns+` FROM page_controls WHERE thread_id = $1`, threadID).
		Scan(&closeAfter, &premod, &message, &pinned, &surge, &action)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return nil, s.read(err)
	}
	scanControls(c, closeAfter, premod, message, pinned, surge, action)
	return c, nil
}

// SetPageControls replaces an article's controls and closed flag.
func (s *Store) SetPageControls(ctx context.Context, c *comment.PageControls, closed bool, audit *staff.AuditEntry) error {
	return s.change(ctx, func(tx *changeTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE threads SET closed = $1 WHERE id = $2`, closed, c.ThreadID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		var closeAfter any
		if c.CloseAfter != nil {
			closeAfter = int64(*c.CloseAfter / time.Second)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO page_controls (thread_id, `+controlColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (thread_id) DO UPDATE SET close_after = excluded.close_after, premod = excluded.premod, message = excluded.message,
			pinned = excluded.pinned, surge_until = excluded.surge_until, surge_action = excluded.surge_action`,
			c.ThreadID, closeAfter, c.Premod, c.Message, c.Pinned, unixNano(c.SurgeUntil), c.SurgeAction); err != nil {
			return err
		}
		if err := tx.pageEvent(c.ThreadID); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx.Tx, audit)
	})
}

// pageEvent records that an article's settings changed, for open pages.
func (tx *changeTx) pageEvent(threadID string) error {
	ev := comment.Event{ThreadID: threadID, Kind: comment.EventPage}
	if err := tx.QueryRowContext(tx.ctx, `SELECT site_id, key FROM threads WHERE id = $1`, threadID).Scan(&ev.SiteID, &ev.PageKey); err != nil {
		return err
	}
	return tx.record(ev)
}

// StartSurge starts the surge guard on an article unless it is on.
func (s *Store) StartSurge(ctx context.Context, a *comment.Alert, now time.Time, audit *staff.AuditEntry) (bool, error) {
	if a.Created.IsZero() {
		a.Created = now.UTC()
	}
	started := false
	err := s.change(ctx, func(tx *changeTx) error {
		started = false
		// One statement decides, so that two instances that see the same
		// surge start it once: the row is written only if the guard is
		// off (no row, or one whose guard has ended).
		var id string
		err := tx.QueryRowContext(ctx, `INSERT INTO page_controls (thread_id, surge_until, surge_action) VALUES ($1, $2, $3)
			ON CONFLICT (thread_id) DO UPDATE SET surge_until = excluded.surge_until, surge_action = excluded.surge_action
			WHERE page_controls.surge_until <= $4 RETURNING thread_id`, a.ThreadID, a.Until.UnixNano(), a.Action, now.UnixNano()).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			if s.d.IsForeignKey(err) {
				return comment.ErrNotFound
			}
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO alerts (site_id, kind, thread_id, rate, threshold, action, until, created)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			a.SiteID, a.Kind, a.ThreadID, a.Rate, a.Threshold, a.Action, a.Until.UnixNano(), a.Created.UnixNano()).Scan(&a.ID); err != nil {
			return err
		}
		if err := tx.pageEvent(a.ThreadID); err != nil {
			return err
		}
		// Staff and webhooks hear of it through the outbox (alertmail.go).
		if err := tx.alertNotice(a); err != nil {
			return err
		}
		started = true
		return s.insertAudit(ctx, tx.Tx, audit)
	})
	return started, err
}

// RecentComments counts an article's comments created since a time.
func (s *Store) RecentComments(ctx context.Context, threadID string, since time.Time) (int, error) {
	var n int
	err := s.d.Read.QueryRowContext(ctx, `SELECT count(*) FROM comments WHERE thread_id = $1 AND created >= $2`, threadID, since.UnixNano()).Scan(&n)
	return n, s.read(err)
}

// Articles returns one page of a site's articles. Each count is one range
// of an index per article on the page, so a page costs the same however
// many articles the site has.
func (s *Store) Articles(ctx context.Context, f store.ArticleFilter) ([]*comment.Article, *store.Cursor, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	order := "t.last_comment"
	if f.Order == "new" {
		order = "t.created"
	}
	q := `SELECT t.id, t.site_id, t.key, t.url, t.title, t.closed, t.created, t.last_comment, ` + prefixed("pc.", controlColumns) + `,
		(SELECT count(*) FROM comments c WHERE c.thread_id = t.id AND c.status = 'approved' AND c.kind = ''),
		(SELECT count(*) FROM comments c WHERE c.thread_id = t.id AND c.status = 'pending'),
		(SELECT count(DISTINCT r.comment_id) FROM reports r WHERE r.thread_id = t.id AND r.resolved = 0)
		FROM threads t LEFT JOIN page_controls pc ON pc.thread_id = t.id WHERE t.site_id = ` + arg(f.SiteID)
	if f.ThreadID != "" {
		q += ` AND t.id = ` + arg(f.ThreadID)
	}
	if text := strings.ToLower(strings.TrimSpace(f.Text)); text != "" {
		p := arg("%" + likeEscape(text) + "%")
		q += ` AND (lower(t.title) LIKE ` + p + ` ESCAPE '\' OR lower(t.url) LIKE ` + p + ` ESCAPE '\' OR lower(t.key) LIKE ` + p + ` ESCAPE '\')`
	}
	if f.Cursor != nil {
		q += ` AND (` + order + `, t.id) < (` + arg(f.Cursor.Time.UnixNano()) + `, ` + arg(f.Cursor.ID) + `)`
	}
	limit := pageLimit(f.Limit)
	q += ` ORDER BY ` + order + ` DESC, t.id DESC LIMIT ` + arg(limit+1)
	rows, err := s.d.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, s.read(err)
	}
	defer rows.Close()
	var out []*comment.Article
	for rows.Next() {
		a := &comment.Article{Thread: &comment.Thread{}}
		t := a.Thread
		var created, last int64
		var closeAfter, surge sql.NullInt64
		var premod sql.NullBool
		var message, pinned, action sql.NullString
		if err := rows.Scan(&t.ID, &t.SiteID, &t.Key, &t.URL, &t.Title, &t.Closed, &created, &last,
			&closeAfter, &premod, &message, &pinned, &surge, &action, &a.Comments, &a.Held, &a.Reported); err != nil {
			return nil, nil, s.read(err)
		}
		t.Created, a.LastComment = time.Unix(0, created).UTC(), unixTime(last)
		a.Controls.ThreadID = t.ID
		scanControls(&a.Controls, closeAfter, premod, message, pinned, surge, action)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, s.read(err)
	}
	var next *store.Cursor
	if len(out) > limit {
		out = out[:limit]
		last := out[len(out)-1]
		at := last.LastComment
		if f.Order == "new" {
			at = last.Thread.Created
		}
		next = &store.Cursor{Time: at, ID: last.Thread.ID}
	}
	return out, next, nil
}

// prefixed puts a table alias before each column of a list.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// likeEscape escapes LIKE's wildcards (with ESCAPE '\').
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// SetFeatured marks a comment featured or not.
func (s *Store) SetFeatured(ctx context.Context, c *comment.Comment, on bool, at time.Time, audit *staff.AuditEntry) error {
	return s.change(ctx, func(tx *changeTx) error {
		var res sql.Result
		var err error
		if on {
			res, err = tx.ExecContext(ctx, `INSERT INTO featured (comment_id, thread_id, created) VALUES ($1, $2, $3) ON CONFLICT (comment_id) DO NOTHING`,
				c.ID, c.ThreadID, at.UnixNano())
		} else {
			res, err = tx.ExecContext(ctx, `DELETE FROM featured WHERE comment_id = $1`, c.ID)
		}
		if err != nil {
			if s.d.IsForeignKey(err) {
				return comment.ErrNotFound
			}
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // as it was: nothing to record
		}
		if err := tx.pageEvent(c.ThreadID); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx.Tx, audit)
	})
}

// Featured returns the ids of a thread's featured comments.
func (s *Store) Featured(ctx context.Context, threadID string) (map[string]bool, error) {
	rows, err := s.d.Read.QueryContext(ctx, `SELECT comment_id FROM featured WHERE thread_id = $1`, threadID)
	if err != nil {
		return nil, s.read(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, s.read(err)
		}
		out[id] = true
	}
	return out, s.read(rows.Err())
}

// FeaturedOf says which of these comments are featured.
func (s *Store) FeaturedOf(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.d.Read.QueryContext(ctx, `SELECT comment_id FROM featured WHERE comment_id IN (`+params(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, s.read(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, s.read(err)
			}
			out[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.read(err)
		}
	}
	return out, nil
}

// AddNotices stores readers' notices.
func (s *Store) AddNotices(ctx context.Context, list []*comment.Notice) error {
	if len(list) == 0 {
		return nil
	}
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		for _, n := range list {
			if n.Created.IsZero() {
				n.Created = s.now().UTC()
			}
			if err := tx.QueryRowContext(ctx, `INSERT INTO reader_notices (site_id, reader, comment_id, approved, reason, created) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
				n.SiteID, n.Reader, n.CommentID, n.Approved, n.Reason, n.Created.UnixNano()).Scan(&n.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// Notices returns a reader's unseen notices on a site.
func (s *Store) Notices(ctx context.Context, siteID, reader string, limit int) ([]*comment.Notice, error) {
	rows, err := s.d.Read.QueryContext(ctx, `SELECT n.id, n.comment_id, n.approved, n.reason, n.created, t.title, t.url
		FROM reader_notices n JOIN comments c ON c.id = n.comment_id JOIN threads t ON t.id = c.thread_id
		WHERE n.reader = $1 AND n.site_id = $2 AND n.seen = 0 ORDER BY n.id LIMIT $3`, reader, siteID, pageLimit(limit))
	if err != nil {
		return nil, s.read(err)
	}
	defer rows.Close()
	var out []*comment.Notice
	for rows.Next() {
		n := &comment.Notice{SiteID: siteID, Reader: reader}
		var created int64
		if err := rows.Scan(&n.ID, &n.CommentID, &n.Approved, &n.Reason, &created, &n.PageTitle, &n.PageURL); err != nil {
			return nil, s.read(err)
		}
		n.Created = time.Unix(0, created).UTC()
		out = append(out, n)
	}
	return out, s.read(rows.Err())
}

// SeeNotices marks a reader's notices seen.
func (s *Store) SeeNotices(ctx context.Context, siteID, reader string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{s.now().UnixNano(), reader, siteID}
	for _, id := range ids {
		args = append(args, id)
	}
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE reader_notices SET seen = $1 WHERE reader = $2 AND site_id = $3 AND id IN (`+params(4, len(ids))+`)`, args...)
		return err
	})
}

// AddNote stores a note on an author.
func (s *Store) AddNote(ctx context.Context, n *comment.Note, audit *staff.AuditEntry) error {
	if n.Created.IsZero() {
		n.Created = s.now().UTC()
	}
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO author_notes (site_id, author, text, created, actor) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			n.SiteID, n.Author, n.Text, n.Created.UnixNano(), n.Actor).Scan(&n.ID); err != nil {
			if s.d.IsForeignKey(err) {
				return comment.ErrNotFound
			}
			return err
		}
		if audit != nil {
			audit.Target = "note:" + strconv.FormatInt(n.ID, 10)
		}
		return s.insertAudit(ctx, tx, audit)
	})
}

// Notes lists a site's notes on an author.
func (s *Store) Notes(ctx context.Context, siteID, author string) ([]*comment.Note, error) {
	rows, err := s.d.Read.QueryContext(ctx, `SELECT id, text, created, actor FROM author_notes WHERE site_id = $1 AND author = $2 ORDER BY id DESC LIMIT 200`, siteID, author)
	if err != nil {
		return nil, s.read(err)
	}
	defer rows.Close()
	var out []*comment.Note
	for rows.Next() {
		n := &comment.Note{SiteID: siteID, Author: author}
		var created int64
		if err := rows.Scan(&n.ID, &n.Text, &created, &n.Actor); err != nil {
			return nil, s.read(err)
		}
		n.Created = time.Unix(0, created).UTC()
		out = append(out, n)
	}
	return out, s.read(rows.Err())
}

// DeleteNote removes a note of a site.
func (s *Store) DeleteNote(ctx context.Context, siteID string, id int64, audit *staff.AuditEntry) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM author_notes WHERE site_id = $1 AND id = $2`, siteID, id)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, audit)
	})
}

// AuthorAudit returns the audit entries about an author's comments.
func (s *Store) AuthorAudit(ctx context.Context, siteID string, t store.SanctionTarget, limit int) ([]*staff.AuditEntry, error) {
	args := []any{siteID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	cond, err := targetCond(t, arg)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + auditColumns + ` FROM audit_log WHERE id IN (
		SELECT ac.entry_id FROM comments c JOIN audit_comments ac ON ac.comment_id = c.id WHERE c.site_id = $1 AND ` + cond + `
		UNION SELECT a.id FROM comments c JOIN audit_log a ON a.site_id = c.site_id AND a.target = 'comment:' || c.id WHERE c.site_id = $1 AND ` + cond + `
	) ORDER BY id DESC LIMIT ` + arg(pageLimit(limit))
	rows, err := s.d.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.read(err)
	}
	defer rows.Close()
	var out []*staff.AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, s.read(err)
		}
		out = append(out, e)
	}
	return out, s.read(rows.Err())
}

// AuthorSanctions lists the sanctions matching any of the targets.
func (s *Store) AuthorSanctions(ctx context.Context, siteID string, targets []store.SanctionTarget) ([]*comment.Sanction, error) {
	args := []any{siteID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var or []string
	for _, t := range targets {
		for _, mv := range []struct {
			m comment.MatchKind
			v string
		}{{comment.MatchIdentity, t.Identity}, {comment.MatchEmail, t.Email}, {comment.MatchEmailDomain, t.EmailDomain}, {comment.MatchIPHash, t.IPHash}} {
			if mv.v != "" {
				or = append(or, `(match = `+arg(string(mv.m))+` AND value = `+arg(mv.v)+`)`)
			}
		}
	}
	if len(or) == 0 {
		return nil, nil
	}
	rows, err := s.d.Read.QueryContext(ctx, `SELECT `+sanctionColumns+` FROM sanctions WHERE site_id = $1 AND (`+strings.Join(or, " OR ")+`) ORDER BY created DESC, id DESC LIMIT 200`, args...)
	if err != nil {
		return nil, s.read(err)
	}
	return s.scanSanctions(rows)
}

const alertColumns = `a.id, a.site_id, a.kind, a.thread_id, a.rate, a.threshold, a.action, a.until, a.created, a.dismissed, a.dismissed_by, a.delivered, coalesce(t.title, ''), coalesce(t.url, '')`

// Alerts lists a site's alerts, newest first.
func (s *Store) Alerts(ctx context.Context, siteID string, open bool, limit int) ([]*comment.Alert, error) {
	q := `SELECT ` + alertColumns + ` FROM alerts a LEFT JOIN threads t ON t.id = a.thread_id WHERE a.site_id = $1`
	if open {
		q += ` AND a.dismissed = 0`
	}
	rows, err := s.d.Read.QueryContext(ctx, q+` ORDER BY a.id DESC LIMIT $2`, siteID, pageLimit(limit))
	if err != nil {
		return nil, s.read(err)
	}
	return s.scanAlerts(rows)
}

// scanAlerts reads rows of alertColumns.
func (s *Store) scanAlerts(rows *sql.Rows) ([]*comment.Alert, error) {
	defer rows.Close()
	var out []*comment.Alert
	for rows.Next() {
		a := &comment.Alert{}
		var until, created, dismissed, delivered int64
		if err := rows.Scan(&a.ID, &a.SiteID, &a.Kind, &a.ThreadID, &a.Rate, &a.Threshold, &a.Action, &until, &created, &dismissed, &a.DismissedBy, &delivered,
			&a.PageTitle, &a.PageURL); err != nil {
			return nil, s.read(err)
		}
		a.Until, a.Created, a.Dismissed, a.Delivered = unixTime(until), time.Unix(0, created).UTC(), unixTime(dismissed), unixTime(delivered)
		out = append(out, a)
	}
	return out, s.read(rows.Err())
}

// DismissAlert dismisses an alert of a site.
func (s *Store) DismissAlert(ctx context.Context, siteID string, id int64, at time.Time, by string, audit *staff.AuditEntry) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE alerts SET dismissed = $1, dismissed_by = $2 WHERE site_id = $3 AND id = $4 AND dismissed = 0`, at.UnixNano(), by, siteID, id)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, audit)
	})
}
