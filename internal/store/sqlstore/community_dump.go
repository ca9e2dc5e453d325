package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"parley/internal/comment"
	"parley/internal/store"
)

// The community controls' rows in dumps and restores (exports, backups
// of a site, migrate-db): sanctions, settings and rules, article controls,
// featured comments, notes and reports.

// dumpCommunity calls fn with the community rows of a site (or of all,
// with siteID ""), in tx's snapshot.
func (s *Store) dumpCommunity(ctx context.Context, tx *sql.Tx, siteID string, fn func(*store.Row) error) error {
	each := func(q string, scan func(rows *sql.Rows) (*store.Row, error)) error {
		rows, err := tx.QueryContext(ctx, q, siteID)
		if err != nil {
			return s.read(err)
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scan(rows)
			if err != nil {
				return s.read(err)
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return s.read(rows.Err())
	}
	if err := each(`SELECT `+sanctionColumns+` FROM sanctions WHERE ($1 = '' OR site_id = $1) ORDER BY created, id`, func(rows *sql.Rows) (*store.Row, error) {
		sn, err := scanSanction(rows)
		if sn != nil {
			sn.AuditID = 0 // the audit log is not part of a dump
		}
		return &store.Row{CommunityRows: store.CommunityRows{Sanction: sn}}, err
	}); err != nil {
		return err
	}
	if err := each(`SELECT site_id, settings, rules FROM site_community WHERE ($1 = '' OR site_id = $1) ORDER BY site_id`, func(rows *sql.Rows) (*store.Row, error) {
		var id, settings, rules string
		if err := rows.Scan(&id, &settings, &rules); err != nil {
			return nil, err
		}
		// Parsed as Community parses them, so defaults and bad JSON are
		// handled once.
		c, r, err := parseCommunity(settings, rules)
		return &store.Row{CommunityRows: store.CommunityRows{Community: &store.SiteCommunity{SiteID: id, Settings: c, Rules: r}}}, err
	}); err != nil {
		return err
	}
	if err := each(`SELECT pc.thread_id, `+prefixed("pc.", controlColumns)+` FROM page_controls pc JOIN threads t ON t.id = pc.thread_id
		WHERE ($1 = '' OR t.site_id = $1) ORDER BY pc.thread_id`, func(rows *sql.Rows) (*store.Row, error) {
		c := &comment.PageControls{}
		var closeAfter, surge sql.NullInt64
		var premod sql.NullBool
		var message, pinned, action sql.NullString
		err := rows.Scan(&c.ThreadID, &closeAfter, &premod, &message, &pinned, &surge, &action)
		scanControls(c, closeAfter, premod, message, pinned, surge, action)
		return &store.Row{CommunityRows: store.CommunityRows{Controls: c}}, err
	}); err != nil {
		return err
	}
	if err := each(`SELECT f.comment_id, f.thread_id, f.created FROM featured f JOIN threads t ON t.id = f.thread_id
		WHERE ($1 = '' OR t.site_id = $1) ORDER BY f.comment_id`, func(rows *sql.Rows) (*store.Row, error) {
		f := &store.Featured{}
		var created int64
		err := rows.Scan(&f.CommentID, &f.ThreadID, &created)
		f.Created = time.Unix(0, created).UTC()
		return &store.Row{CommunityRows: store.CommunityRows{Featured: f}}, err
	}); err != nil {
		return err
	}
	if err := each(`SELECT id, site_id, author, text, created, actor FROM author_notes WHERE ($1 = '' OR site_id = $1) ORDER BY id`, func(rows *sql.Rows) (*store.Row, error) {
		n := &comment.Note{}
		var created int64
		err := rows.Scan(&n.ID, &n.SiteID, &n.Author, &n.Text, &created, &n.Actor)
		n.Created = time.Unix(0, created).UTC()
		return &store.Row{CommunityRows: store.CommunityRows{Note: n}}, err
	}); err != nil {
		return err
	}
	return each(`SELECT id, site_id, comment_id, reporter, reader, reason, text, created, resolved, resolved_by FROM reports
		WHERE ($1 = '' OR site_id = $1) ORDER BY id`, func(rows *sql.Rows) (*store.Row, error) {
		r := &comment.Report{}
		var reason string
		var created, resolved int64
		err := rows.Scan(&r.ID, &r.SiteID, &r.CommentID, &r.Reporter, &r.Reader, &reason, &r.Text, &created, &resolved, &r.ResolvedBy)
		r.Reason, r.Created, r.Resolved = comment.ReportReason(reason), time.Unix(0, created).UTC(), unixTime(resolved)
		return &store.Row{CommunityRows: store.CommunityRows{Report: r}}, err
	})
}

// restoreCommunity writes one community row of a dump.
func restoreCommunity(ctx context.Context, tx *sql.Tx, r *store.CommunityRows) error {
	switch {
	case r.Sanction != nil:
		sn := r.Sanction
		_, err := tx.ExecContext(ctx, `INSERT INTO sanctions (`+sanctionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			sn.ID, sn.SiteID, string(sn.Kind), string(sn.Match), sn.Value, sn.Reason, sn.Message, sn.Created.UnixNano(), unixNano(sn.Until),
			sn.Actor, 0, sn.Removed, unixNano(sn.Lifted), sn.LiftedBy, unixNano(sn.Seen))
		// The audit entry it points to is not part of a dump: its
		// removed comments stay as they are restored.
		return err
	case r.Community != nil:
		c := r.Community
		if c.Settings == nil || c.Rules == nil {
			return errors.New("community settings without their settings or rules")
		}
		settings, err := json.Marshal(communityJSON{ReportHide: c.Settings.ReportHide, CloseAfter: int64(c.Settings.CloseAfter / time.Second), Message: c.Settings.Message,
			SurgeRate: c.Settings.SurgeRate, SurgeAction: c.Settings.SurgeAction, SurgeFor: int64(c.Settings.SurgeFor / time.Second), Reasons: c.Settings.Reasons})
		if err != nil {
			return err
		}
		rules, err := json.Marshal(rulesJSON(*c.Rules))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO site_community (site_id, settings, rules, version) VALUES ($1, $2, $3, 1)`, c.SiteID, string(settings), string(rules))
		return err
	case r.Controls != nil:
		c := r.Controls
		var closeAfter any
		if c.CloseAfter != nil {
			closeAfter = int64(*c.CloseAfter / time.Second)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO page_controls (thread_id, `+controlColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			c.ThreadID, closeAfter, c.Premod, c.Message, c.Pinned, unixNano(c.SurgeUntil), c.SurgeAction)
		return err
	case r.Featured != nil:
		_, err := tx.ExecContext(ctx, `INSERT INTO featured (comment_id, thread_id, created) VALUES ($1, $2, $3)`, r.Featured.CommentID, r.Featured.ThreadID, r.Featured.Created.UnixNano())
		return err
	case r.Note != nil:
		n := r.Note
		_, err := tx.ExecContext(ctx, `INSERT INTO author_notes (site_id, author, text, created, actor) VALUES ($1, $2, $3, $4, $5)`, n.SiteID, n.Author, n.Text, n.Created.UnixNano(), n.Actor)
		return err
	case r.Report != nil:
		rp := r.Report
		_, err := tx.ExecContext(ctx, `INSERT INTO reports (site_id, comment_id, thread_id, reporter, reader, reason, text, created, resolved, resolved_by)
			SELECT $1, $2, c.thread_id, $3, $4, $5, $6, $7, $8, $9 FROM comments c WHERE c.id = $2`,
			rp.SiteID, rp.CommentID, rp.Reporter, rp.Reader, string(rp.Reason), rp.Text, rp.Created.UnixNano(), unixNano(rp.Resolved), rp.ResolvedBy)
		return err
	}
	return errors.New("restore: empty community row")
}

// describeCommunity names a community row for an error message.
func describeCommunity(r *store.CommunityRows) string {
	switch {
	case r.Sanction != nil:
		return fmt.Sprintf("sanction %s (site %q)", r.Sanction.ID, r.Sanction.SiteID)
	case r.Community != nil:
		return fmt.Sprintf("community settings of site %q", r.Community.SiteID)
	case r.Controls != nil:
		return fmt.Sprintf("controls of thread %s", r.Controls.ThreadID)
	case r.Featured != nil:
		return fmt.Sprintf("featured comment %s", r.Featured.CommentID)
	case r.Note != nil:
		return fmt.Sprintf("note on %q (site %q)", r.Note.Author, r.Note.SiteID)
	case r.Report != nil:
		return fmt.Sprintf("report of comment %s", r.Report.CommentID)
	}
	return "an empty community row"
}
