package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
	"parley/internal/store"
)

// Readers' subscriptions, sites' webhooks and staff members' alerts
// (migration 0040).

const subscriptionColumns = `id, site_id, thread_id, email, email_key, scope, lang, created, confirmed`

func scanSubscription(row interface{ Scan(...any) error }, more ...any) (*store.Subscription, error) {
	var sub store.Subscription
	var created, confirmed int64
	dest := append([]any{&sub.ID, &sub.SiteID, &sub.ThreadID, &sub.Email, &sub.EmailKey, &sub.Scope, &sub.Lang, &created, &confirmed}, more...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	sub.Created = time.Unix(0, created).UTC()
	if confirmed != 0 {
		sub.Confirmed = time.Unix(0, confirmed).UTC()
	}
	return &sub, nil
}

// CreateCommentSubscribed stores a comment and its author's subscription
// in one transaction.
func (s *Store) CreateCommentSubscribed(ctx context.Context, page comment.Page, c *comment.Comment, sub *store.Subscription, confirm *store.Message) error {
	if c.ID == "" {
		c.ID = comment.NewID(s.now())
	}
	if c.Created.IsZero() {
		c.Created = s.now().UTC()
	}
	c.SiteID = page.SiteID
	return s.change(ctx, func(tx *changeTx) error {
		if err := tx.insertComment(page, c); err != nil {
			return err
		}
		sub.ThreadID, sub.SiteID = c.ThreadID, c.SiteID
		if sub.Created.IsZero() {
			sub.Created = s.now().UTC()
		}
		confirmed := int64(0)
		if !sub.Confirmed.IsZero() {
			confirmed = sub.Confirmed.UnixNano()
		} else {
			// An address confirmed once on the site stays confirmed there.
			var prev sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT max(confirmed) FROM subscriptions WHERE site_id = $1 AND email_key = $2`, sub.SiteID, sub.EmailKey).Scan(&prev); err != nil {
				return err
			}
			confirmed = prev.Int64
		}
		var stored int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO subscriptions (`+subscriptionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (thread_id, email) DO UPDATE SET
				scope = CASE WHEN excluded.scope = 'all' THEN 'all' ELSE subscriptions.scope END,
				lang = excluded.lang,
				confirmed = CASE WHEN subscriptions.confirmed > 0 THEN subscriptions.confirmed ELSE excluded.confirmed END
			RETURNING id, confirmed`,
			sub.ID, sub.SiteID, sub.ThreadID, sub.Email, sub.EmailKey, sub.Scope, sub.Lang, sub.Created.UnixNano(), confirmed).Scan(&sub.ID, &stored); err != nil {
			return err
		}
		sub.Confirmed = time.Time{}
		if stored != 0 {
			sub.Confirmed = time.Unix(0, stored).UTC()
			return nil
		}
		if confirm == nil {
			return nil
		}
		_, err := s.enqueue(ctx, tx.Tx, confirm)
		return err
	})
}

// Subscription returns one subscription.
func (s *Store) Subscription(ctx context.Context, id string) (*store.Subscription, error) {
	sub, err := scanSubscription(s.d.Read.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = $1`, id))
	return sub, s.read(err)
}

// SubscriptionsByKey returns an address's subscriptions with their threads.
func (s *Store) SubscriptionsByKey(ctx context.Context, emailKey, siteID string) ([]*store.Subscription, error) {
	cols := strings.ReplaceAll(`s.`+subscriptionColumns, ", ", ", s.")
	tcols := strings.ReplaceAll(`t.`+threadColumns, ", ", ", t.")
	rows, err := s.d.Read.QueryContext(ctx, `SELECT `+cols+`, `+tcols+` FROM subscriptions s JOIN threads t ON t.id = s.thread_id
		WHERE s.email_key = $1 AND ($2 = '' OR s.site_id = $2) ORDER BY s.created DESC, s.id`, emailKey, siteID)
	if err != nil {
		return nil, s.read(err)
	}
	defer rows.Close()
	var out []*store.Subscription
	for rows.Next() {
		var t comment.Thread
		var tcreated int64
		sub, err := scanSubscription(rows, &t.ID, &t.SiteID, &t.Key, &t.URL, &t.Title, &t.Closed, &tcreated)
		if err != nil {
			return nil, s.read(err)
		}
		t.Created = time.Unix(0, tcreated).UTC()
		sub.Thread = &t
		out = append(out, sub)
	}
	return out, s.read(rows.Err())
}

// ConfirmSubscriptions confirms an address's waiting subscriptions on a site.
func (s *Store) ConfirmSubscriptions(ctx context.Context, siteID, emailKey string, at time.Time) (int, error) {
	var n int64
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE subscriptions SET confirmed = $1 WHERE site_id = $2 AND email_key = $3 AND confirmed = 0`, at.UnixNano(), siteID, emailKey)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// Unsubscribe ends one subscription, or every one of an address.
func (s *Store) Unsubscribe(ctx context.Context, emailKey, siteID, id string) (int, error) {
	var n int64
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if id != "" {
			res, err = tx.ExecContext(ctx, `DELETE FROM subscriptions WHERE id = $1`, id)
		} else {
			res, err = tx.ExecContext(ctx, `DELETE FROM subscriptions WHERE email_key = $1 AND ($2 = '' OR site_id = $2)`, emailKey, siteID)
		}
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// Subscribers returns the confirmed subscriptions a new comment concerns.
func (s *Store) Subscribers(ctx context.Context, threadID, parentEmail, authorEmail string) ([]*store.Subscription, error) {
	rows, err := s.d.Read.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE thread_id = $1 AND confirmed > 0 AND (scope = 'all' OR (email = $2 AND $2 <> '')) AND email <> $3 ORDER BY created, id`,
		threadID, parentEmail, authorEmail)
	if err != nil {
		return nil, s.read(err)
	}
	defer rows.Close()
	var out []*store.Subscription
	for rows.Next() {
		sub, err := scanSubscription(rows)
		if err != nil {
			return nil, s.read(err)
		}
		out = append(out, sub)
	}
	return out, s.read(rows.Err())
}

// PruneSubscriptions deletes subscriptions never confirmed.
func (s *Store) PruneSubscriptions(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM subscriptions WHERE confirmed = 0 AND created < $1`, before.UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

const webhookColumns = `id, site_id, url, events, secret, with_email, created`

func scanWebhook(row interface{ Scan(...any) error }) (*store.Webhook, error) {
	var w store.Webhook
	var events string
	var created int64
	if err := row.Scan(&w.ID, &w.SiteID, &w.URL, &events, &w.Secret, &w.WithEmail, &created); err != nil {
		return nil, err
	}
	if events != "" {
		w.Events = strings.Split(events, ",")
	}
	w.Created = time.Unix(0, created).UTC()
	return &w, nil
}

// CreateWebhook stores a webhook, with the audit entry.
func (s *Store) CreateWebhook(ctx context.Context, w *store.Webhook, audit *staff.AuditEntry) error {
	if w.Created.IsZero() {
		w.Created = s.now().UTC()
	}
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhooks (`+webhookColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			w.ID, w.SiteID, w.URL, strings.Join(w.Events, ","), w.Secret, w.WithEmail, w.Created.UnixNano()); err != nil {
			if s.d.IsForeignKey(err) {
				return comment.ErrNotFound
			}
			return err
		}
		return s.insertAudit(ctx, tx, audit)
	})
}

// Webhooks returns a site's webhooks, oldest first.
func (s *Store) Webhooks(ctx context.Context, siteID string) ([]*store.Webhook, error) {
	rows, err := s.d.Read.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE ($1 = '' OR site_id = $1) ORDER BY created, id`, siteID)
	if err != nil {
		return nil, s.read(err)
	}
	defer rows.Close()
	var out []*store.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, s.read(err)
		}
		out = append(out, w)
	}
	return out, s.read(rows.Err())
}

// Webhook returns one webhook.
func (s *Store) Webhook(ctx context.Context, id string) (*store.Webhook, error) {
	w, err := scanWebhook(s.d.Read.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = $1`, id))
	return w, s.read(err)
}

// DeleteWebhook removes a site's webhook, with the audit entry.
func (s *Store) DeleteWebhook(ctx context.Context, siteID, id string, audit *staff.AuditEntry) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE site_id = $1 AND id = $2`, siteID, id)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, audit)
	})
}

// SetAlert stores (or, with Every < 0, removes) a staff member's alert.
func (s *Store) SetEmailAlert(ctx context.Context, a *store.EmailAlert, audit *staff.AuditEntry) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		var err error
		if a.Every < 0 {
			_, err = tx.ExecContext(ctx, `DELETE FROM staff_alerts WHERE account_id = $1 AND site_id = $2`, a.AccountID, a.SiteID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO staff_alerts (account_id, site_id, every, lang) VALUES ($1, $2, $3, $4)
				ON CONFLICT (account_id, site_id) DO UPDATE SET every = excluded.every, lang = excluded.lang`,
				a.AccountID, a.SiteID, int64(a.Every), a.Lang)
		}
		if err != nil {
			if s.d.IsForeignKey(err) {
				return comment.ErrNotFound
			}
			return err
		}
		return s.insertAudit(ctx, tx, audit)
	})
}

// Alerts returns a site's alerts, or an account's.
func (s *Store) EmailAlerts(ctx context.Context, siteID, accountID string) ([]*store.EmailAlert, error) {
	rows, err := s.d.Read.QueryContext(ctx, `SELECT account_id, site_id, every, lang FROM staff_alerts
		WHERE ($1 = '' OR site_id = $1) AND ($2 = '' OR account_id = $2) ORDER BY site_id, account_id`, siteID, accountID)
	if err != nil {
		return nil, s.read(err)
	}
	defer rows.Close()
	var out []*store.EmailAlert
	for rows.Next() {
		var a store.EmailAlert
		var every int64
		if err := rows.Scan(&a.AccountID, &a.SiteID, &every, &a.Lang); err != nil {
			return nil, s.read(err)
		}
		a.Every = time.Duration(every)
		out = append(out, &a)
	}
	return out, s.read(rows.Err())
}
