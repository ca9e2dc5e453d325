package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"parley/internal/store"
)

// dumpNotify writes a dump's webhooks and subscriptions (of one site, or
// all), from the dump's snapshot tx.
func (s *Store) dumpNotify(ctx context.Context, tx *sql.Tx, siteID string, fn func(*store.Row) error) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE ($1 = '' OR site_id = $1) ORDER BY created, id`, siteID)
	if err != nil {
		return s.read(err)
	}
	var hooks []*store.Webhook
	for rows.Next() {
		h, err := scanWebhook(rows)
		if err != nil {
			rows.Close()
			return s.read(err)
		}
		hooks = append(hooks, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.read(err)
	}
	for _, h := range hooks {
		if err := fn(&store.Row{NotifyRows: store.NotifyRows{Webhook: h}}); err != nil {
			return err
		}
	}
	rows, err = tx.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE ($1 = '' OR site_id = $1) ORDER BY created, id`, siteID)
	if err != nil {
		return s.read(err)
	}
	defer rows.Close()
	for rows.Next() {
		sub, err := scanSubscription(rows)
		if err != nil {
			return s.read(err)
		}
		if err := fn(&store.Row{NotifyRows: store.NotifyRows{Subscription: sub}}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.read(err)
	}
	return s.dumpDecisionStops(ctx, tx, siteID, fn) // alertmail.go
}

// restoreNotify writes one webhook or subscription of a dump.
func restoreNotify(ctx context.Context, tx *sql.Tx, r *store.NotifyRows) error {
	switch {
	case r.Webhook != nil:
		h := r.Webhook
		_, err := tx.ExecContext(ctx, `INSERT INTO webhooks (`+webhookColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			h.ID, h.SiteID, h.URL, strings.Join(h.Events, ","), h.Secret, h.WithEmail, h.Created.UnixNano())
		return err
	case r.Subscription != nil:
		sub := r.Subscription
		confirmed := int64(0)
		if !sub.Confirmed.IsZero() {
			confirmed = sub.Confirmed.UnixNano()
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (`+subscriptionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			sub.ID, sub.SiteID, sub.ThreadID, sub.Email, sub.EmailKey, sub.Scope, sub.Lang, sub.Created.UnixNano(), confirmed)
		return err
	case r.DecisionStop != nil:
		d := r.DecisionStop
		_, err := tx.ExecContext(ctx, `INSERT INTO decision_mail_stops (site_id, email_key, created) VALUES ($1, $2, $3)
			ON CONFLICT (site_id, email_key) DO NOTHING`, d.SiteID, d.EmailKey, d.Created.UnixNano())
		return err
	}
	return nil
}

// describeNotify names a webhook or subscription row for an error.
func describeNotify(r *store.NotifyRows) string {
	if r.Webhook != nil {
		return fmt.Sprintf("webhook %s (site %q)", r.Webhook.ID, r.Webhook.SiteID)
	}
	if r.DecisionStop != nil {
		return fmt.Sprintf("stopped decision emails (site %q)", r.DecisionStop.SiteID)
	}
	return fmt.Sprintf("subscription %s (site %q)", r.Subscription.ID, r.Subscription.SiteID)
}
