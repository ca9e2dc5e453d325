package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/safehttp"
	"parley/internal/staff"
	"parley/internal/store"
	"parley/internal/webhook"
)

// Sites' outgoing webhooks, and what the desk shows of the outbox: every
// action takes the Actor who asks (a site's admins, or owners) and is
// audited in the same transaction.

// WebhookPolicy says where webhooks may be sent (see safehttp.Policy).
type WebhookPolicy = safehttp.Policy

// WebhookEvents are the events a webhook may be subscribed to: changes
// to comments, and page.surge (the surge guard started on an article).
var WebhookEvents = []string{store.EventCreated, store.EventApproved, store.EventSpam, store.EventDeleted, store.EventEdited, store.EventSurge}

// MaxWebhooks bounds a site's webhooks.
const MaxWebhooks = 20

// NewWebhook is a webhook to add.
type NewWebhook struct {
	SiteID string
	URL    string
	Events []string // nil: every event
	// WithEmail puts authors' email addresses in the payloads.
	WithEmail bool
}

// CheckWebhookURL checks a webhook address against the server's policy:
// https to a public address, or a host the operator allowed.
func (s *Service) CheckWebhookURL(ctx context.Context, raw string) (string, error) {
	var p WebhookPolicy
	if s.notify != nil {
		p = s.notify.Webhooks
	}
	return CheckWebhookURL(ctx, p, raw)
}

// CheckWebhookURL checks a webhook address against policy p; the
// refusal says why, for the person who typed it.
func CheckWebhookURL(ctx context.Context, p WebhookPolicy, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > 2000 {
		return "", comment.Invalid("url", "A webhook address has at most 2,000 characters.")
	}
	u, err := p.CheckURL(raw)
	if err == nil {
		err = p.CheckHost(ctx, u.Hostname())
	}
	var r *safehttp.Refusal
	if errors.As(err, &r) {
		return "", comment.Invalid("url", r.Reason+".")
	}
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// ParseWebhookEvents checks a list of events ("" or "all" for all).
func ParseWebhookEvents(list []string) ([]string, error) {
	var out []string
	for _, e := range list {
		for _, e := range strings.Split(e, ",") {
			e = strings.TrimSpace(e)
			switch {
			case e == "":
			case e == "all":
				return slices.Clone(WebhookEvents), nil
			case !slices.Contains(WebhookEvents, e):
				return nil, comment.Invalid("events", fmt.Sprintf("%q is not an event; choose from %s.", e, strings.Join(WebhookEvents, ", ")))
			case !slices.Contains(out, e):
				out = append(out, e)
			}
		}
	}
	if len(out) == 0 {
		return slices.Clone(WebhookEvents), nil
	}
	return out, nil
}

// AddWebhook adds a webhook to a site and returns it with its secret,
// which is shown once here (the store keeps it to sign with; the desk
// never shows it again). Site admins and owners may.
func (s *Service) AddWebhook(ctx context.Context, a Actor, w NewWebhook) (*store.Webhook, error) {
	if err := a.can(w.SiteID, staff.RoleAdmin); err != nil {
		return nil, err
	}
	u, err := s.CheckWebhookURL(ctx, w.URL)
	if err != nil {
		return nil, err
	}
	events, err := ParseWebhookEvents(w.Events)
	if err != nil {
		return nil, err
	}
	existing, err := s.store.Webhooks(ctx, w.SiteID)
	if err != nil {
		return nil, err
	}
	if len(existing) >= MaxWebhooks {
		return nil, comment.Invalid("url", fmt.Sprintf("A site has at most %d webhooks; remove one first.", MaxWebhooks))
	}
	h := &store.Webhook{ID: comment.NewID(s.now()), SiteID: w.SiteID, URL: u, Events: events, Secret: webhook.NewSecret(), WithEmail: w.WithEmail, Created: s.now().UTC()}
	e := a.entry(w.SiteID, "webhook.add", "webhook:"+h.ID)
	e.After = auditJSON(map[string]any{"url": u, "events": events, "with_email": w.WithEmail})
	if err := s.store.CreateWebhook(ctx, h, e); err != nil {
		return nil, err
	}
	return h, nil
}

// WebhooksShare says, for the site's privacy page, whether comments go
// to the site's webhooks, and whether authors' addresses go with them.
func (s *Service) WebhooksShare(ctx context.Context, siteID string) (any, email bool) {
	list, err := s.store.Webhooks(ctx, siteID)
	if err != nil {
		return false, false
	}
	for _, h := range list {
		email = email || h.WithEmail
	}
	return len(list) > 0, email
}

// Webhooks returns a site's webhooks, without their secrets.
func (s *Service) Webhooks(ctx context.Context, a Actor, siteID string) ([]*store.Webhook, error) {
	if err := a.can(siteID, staff.RoleAdmin); err != nil {
		return nil, err
	}
	list, err := s.store.Webhooks(ctx, siteID)
	for _, h := range list {
		h.Secret = ""
	}
	return list, err
}

// AllWebhooks returns every site's webhooks, without their secrets: for
// the operator's `parley webhook list`.
func (s *Service) AllWebhooks(ctx context.Context, a Actor) ([]*store.Webhook, error) {
	if !a.IsOwner() {
		return nil, comment.ErrNotFound
	}
	list, err := s.store.Webhooks(ctx, "")
	for _, h := range list {
		h.Secret = ""
	}
	return list, err
}

// RemoveWebhook removes a site's webhook; its deliveries still waiting
// are dropped.
func (s *Service) RemoveWebhook(ctx context.Context, a Actor, siteID, id string) error {
	if err := a.can(siteID, staff.RoleAdmin); err != nil {
		return err
	}
	h, err := s.store.Webhook(ctx, id)
	if err != nil {
		return err
	}
	if h.SiteID != siteID {
		return comment.ErrNotFound
	}
	e := a.entry(siteID, "webhook.remove", "webhook:"+id)
	e.Before = auditJSON(map[string]any{"url": h.URL, "events": h.Events})
	return s.store.DeleteWebhook(ctx, siteID, id, e)
}

// Deliveries returns one page of a site's outbox messages — one
// webhook's deliveries with hookID, else every email and webhook —
// newest first, filtered by state ("" for any), and the next page's
// cursor.
func (s *Service) Deliveries(ctx context.Context, a Actor, siteID, hookID, state, cursor string) ([]*store.Message, string, error) {
	if err := a.can(siteID, staff.RoleAdmin); err != nil {
		return nil, "", err
	}
	f := store.MessageFilter{SiteID: siteID, State: state, Target: hookID, Limit: 50}
	if hookID != "" {
		h, err := s.store.Webhook(ctx, hookID)
		if err != nil {
			return nil, "", err
		}
		if h.SiteID != siteID {
			return nil, "", comment.ErrNotFound
		}
		f.Kind = store.KindWebhook
	}
	switch state {
	case "", store.StatePending, store.StateSent, store.StateFailed, store.StateDropped:
	default:
		return nil, "", comment.Invalid("state", "The state must be pending, sent, failed or dropped.")
	}
	if cursor != "" {
		c, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		f.Cursor = c
	}
	list, next, err := s.store.Messages(ctx, f)
	if err != nil {
		return nil, "", err
	}
	for _, m := range list {
		m.Payload = "" // what readers wrote and their addresses stay out of the log
	}
	return list, encodeCursor(next), nil
}

// OutboxStatus is what the desk shows of a site's outbox.
type OutboxStatus struct {
	// Counts holds the messages by kind and state.
	Counts map[string]map[string]int
	// OldestPending is when the oldest message still waiting was made
	// (zero if none).
	OldestPending time.Time
}

// Outbox returns the state of a site's outbox.
func (s *Service) Outbox(ctx context.Context, a Actor, siteID string) (*OutboxStatus, error) {
	if err := a.can(siteID, staff.RoleAdmin); err != nil {
		return nil, err
	}
	counts, oldest, err := s.store.OutboxCounts(ctx, siteID)
	if err != nil {
		return nil, err
	}
	return &OutboxStatus{Counts: counts, OldestPending: oldest}, nil
}

// Redeliver sends a site's webhook message again, with the same
// webhook-id and body (receivers that had it drop the repeat), after the
// webhook's pending deliveries, and returns the new message.
func (s *Service) Redeliver(ctx context.Context, a Actor, siteID string, id int64) (*store.Message, error) {
	if err := a.can(siteID, staff.RoleAdmin); err != nil {
		return nil, err
	}
	if s.notify == nil || s.notify.Notifier == nil {
		return nil, comment.ErrNotFound
	}
	m, err := s.store.OutboxMessage(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.SiteID != siteID || m.Kind != store.KindWebhook {
		return nil, comment.ErrNotFound
	}
	if _, err := s.store.Webhook(ctx, m.Target); err != nil {
		return nil, err
	}
	again, err := s.notify.Notifier.Resend(m, s.now())
	if err != nil {
		return nil, err
	}
	e := a.entry(siteID, "webhook.resend", "webhook:"+m.Target)
	e.After = auditJSON(map[string]string{"message": strconv.FormatInt(m.ID, 10)})
	if _, err := s.store.Enqueue(ctx, again, e); err != nil {
		return nil, err
	}
	s.wake()
	again.Payload = ""
	return again, nil
}
