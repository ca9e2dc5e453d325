package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"parley/internal/comment"
	"parley/internal/mail"
	"parley/internal/notify"
	"parley/internal/store"
	"parley/internal/webhook"
)

// Readers' subscriptions: the "Notify me of follow-up comments" box, the
// confirmation of a guest's address, and the pages behind the links of
// every email (unsubscribe, see and end subscriptions).

// NotifyOptions turn notifications on (Options.Notify).
type NotifyOptions struct {
	// Notifier makes the outbox's messages (confirmations, resent
	// webhooks).
	Notifier *notify.Notifier
	// Links opens the links of Parley's emails.
	Links *notify.Links
	// Webhooks says where webhooks may be sent: https to public
	// addresses, and the hosts the operator allows (serve
	// --webhook-allow).
	Webhooks WebhookPolicy
	// Wake, if set, is called after something was put in the outbox, so
	// the worker sends it now rather than at its next look.
	Wake func()
}

// Scopes of a subscription, as readers choose them.
const (
	NotifyReplies = store.ScopeReplies
	NotifyAll     = store.ScopeAll
)

// Notifies reports whether readers can ask to be emailed about new
// comments: a mail server and Parley's public address are configured.
func (s *Service) Notifies() bool {
	return s.notify != nil && s.notify.Notifier != nil && s.notify.Notifier.Email()
}

func (s *Service) wake() {
	if s.notify != nil && s.notify.Wake != nil {
		s.notify.Wake()
	}
}

// subscription checks a draft's wish to be notified and returns the
// subscription to store with the comment, and the confirmation email to
// enqueue with it (nil when the log-in vouched for the address). It
// returns nil, nil, nil when the draft asks for nothing.
func (s *Service) subscription(site *comment.Site, d comment.Draft) (*store.Subscription, *store.Message, error) {
	if d.Notify == "" {
		return nil, nil, nil
	}
	if d.Notify != NotifyReplies && d.Notify != NotifyAll {
		return nil, nil, comment.Invalid("notify", "Choose replies (to your comment) or all (new comments on the article).")
	}
	if !s.Notifies() {
		return nil, nil, &comment.ValidationError{Field: "notify", Code: "notify_unavailable", Message: "Email notifications are not available on this site."}
	}
	if strings.TrimSpace(d.Email) == "" {
		return nil, nil, &comment.ValidationError{Field: "email", Code: "notify_needs_email", Message: "To be notified by email, enter your email address."}
	}
	addr, err := mail.NormalizeAddress(d.Email)
	if err != nil {
		return nil, nil, comment.Invalid("email", "That email address looks incomplete.")
	}
	now := s.now().UTC()
	lang := d.Lang
	if len(lang) > 16 {
		lang = ""
	}
	sub := &store.Subscription{ID: comment.NewID(now), SiteID: site.ID, Email: addr, EmailKey: s.notify.Links.EmailKey(addr),
		Scope: d.Notify, Lang: lang, Created: now}
	if d.EmailVerified {
		sub.Confirmed = now
		return sub, nil, nil
	}
	return sub, s.notify.Notifier.ConfirmMessage(site.ID, sub.EmailKey, lang, now), nil
}

// create stores c, with its author's subscription when they asked for
// one — but not for spam: a spammer must not make Parley mail anyone —
// and wakes the outbox for what the comment causes.
func (s *Service) create(ctx context.Context, page comment.Page, c *comment.Comment, sub *store.Subscription, confirm *store.Message) error {
	var err error
	if sub == nil || c.Status == comment.StatusSpam {
		err = s.store.CreateComment(ctx, page, c)
	} else {
		err = s.store.CreateCommentSubscribed(ctx, page, c, sub, confirm)
	}
	if err == nil {
		s.wake()
	}
	return err
}

// SubscriptionState says where a reader's subscription to a comment's
// thread stands: "on" (confirmed), "confirm" (waiting for the emailed
// link) or "" (none).
func (s *Service) SubscriptionState(ctx context.Context, c *comment.Comment, email string) string {
	if !s.Notifies() || email == "" {
		return ""
	}
	addr, err := mail.NormalizeAddress(email)
	if err != nil {
		return ""
	}
	subs, err := s.store.SubscriptionsByKey(ctx, s.notify.Links.EmailKey(addr), c.SiteID)
	if err != nil {
		return ""
	}
	for _, sub := range subs {
		if sub.ThreadID == c.ThreadID {
			if sub.Confirmed.IsZero() {
				return "confirm"
			}
			return "on"
		}
	}
	return ""
}

// SubscriptionPage is what a reader's link opens: the site, what the
// link says, and the address's subscriptions it concerns.
type SubscriptionPage struct {
	Site  *comment.Site
	Token notify.Token
	Subs  []*store.Subscription
}

// linkError turns a link that does not open into an error for the
// reader: invalid (code bad_link) or expired (code expired_link).
func linkError(err error) error {
	if errors.Is(err, notify.ErrExpiredLink) {
		return &comment.ValidationError{Field: "t", Code: "expired_link", Message: "This link has expired."}
	}
	return &comment.ValidationError{Field: "t", Code: "bad_link", Message: "This link is not valid. Please use the link in your latest email."}
}

// openLink opens a reader's link made for purpose.
func (s *Service) openLink(ctx context.Context, purpose, tok string) (*SubscriptionPage, error) {
	if s.notify == nil {
		return nil, linkError(notify.ErrBadLink)
	}
	t, err := s.notify.Links.Open(purpose, tok, s.now())
	if err != nil {
		return nil, linkError(err)
	}
	if t.Site == "" || t.EmailKey == "" {
		return nil, linkError(notify.ErrBadLink)
	}
	site, err := s.Site(ctx, t.Site)
	if err != nil {
		return nil, err
	}
	subs, err := s.store.SubscriptionsByKey(ctx, t.EmailKey, site.ID)
	if err != nil {
		return nil, err
	}
	if t.Subscription != "" {
		var one []*store.Subscription
		for _, sub := range subs {
			if sub.ID == t.Subscription {
				one = append(one, sub)
			}
		}
		subs = one
	}
	return &SubscriptionPage{Site: site, Token: t, Subs: subs}, nil
}

// ConfirmLink opens a confirmation link: the subscriptions it would
// confirm are those of the page still waiting.
func (s *Service) ConfirmLink(ctx context.Context, tok string) (*SubscriptionPage, error) {
	return s.openLink(ctx, notify.PurposeConfirm, tok)
}

// Confirm confirms the address's waiting subscriptions on the link's
// site, and returns how many.
func (s *Service) Confirm(ctx context.Context, tok string) (*SubscriptionPage, int, error) {
	p, err := s.openLink(ctx, notify.PurposeConfirm, tok)
	if err != nil {
		return nil, 0, err
	}
	n, err := s.store.ConfirmSubscriptions(ctx, p.Site.ID, p.Token.EmailKey, s.now().UTC())
	return p, n, err
}

// UnsubscribeLink opens an unsubscribe link.
func (s *Service) UnsubscribeLink(ctx context.Context, tok string) (*SubscriptionPage, error) {
	return s.openLink(ctx, notify.PurposeUnsubscribe, tok)
}

// Unsubscribe ends what an unsubscribe link names — one subscription,
// or every one of the address on the site — and returns how many ended.
// It is what RFC 8058's one-click POST does: no page, no confirmation.
func (s *Service) Unsubscribe(ctx context.Context, tok string) (*SubscriptionPage, int, error) {
	p, err := s.openLink(ctx, notify.PurposeUnsubscribe, tok)
	if err != nil {
		return nil, 0, err
	}
	n, err := s.store.Unsubscribe(ctx, p.Token.EmailKey, p.Site.ID, p.Token.Subscription)
	return p, n, err
}

// ManageLink opens the link to an address's subscriptions on a site.
func (s *Service) ManageLink(ctx context.Context, tok string) (*SubscriptionPage, error) {
	return s.openLink(ctx, notify.PurposeManage, tok)
}

// EndSubscription ends one of the link's address's subscriptions (id),
// or all of them on the site (id ""), and returns the page as it is now.
// Returns comment.ErrNotFound for an id that is not the address's.
func (s *Service) EndSubscription(ctx context.Context, tok, id string) (*SubscriptionPage, error) {
	p, err := s.openLink(ctx, notify.PurposeManage, tok)
	if err != nil {
		return nil, err
	}
	if id != "" {
		found := false
		for _, sub := range p.Subs {
			found = found || sub.ID == id
		}
		if !found {
			return nil, comment.ErrNotFound
		}
	}
	if _, err := s.store.Unsubscribe(ctx, p.Token.EmailKey, p.Site.ID, id); err != nil {
		return nil, err
	}
	return s.openLink(ctx, notify.PurposeManage, tok)
}

// checkRestoredNotify checks a restored webhook or subscription as if
// it were added now (an export is a file like any other): a webhook's
// address and events, a subscription's address and scope. A
// subscription's address key is made again with this server's key, so
// its links and the address's later subscriptions agree.
func (s *Service) checkRestoredNotify(r *store.NotifyRows) error {
	switch {
	case r.Webhook != nil:
		h := r.Webhook
		if _, err := (WebhookPolicy{AllowHTTP: true, AllowPrivate: true}).CheckURL(h.URL); err != nil {
			return fmt.Errorf("webhook %s: %w", h.ID, err)
		}
		events, err := ParseWebhookEvents(h.Events)
		if err != nil {
			return fmt.Errorf("webhook %s: %w", h.ID, err)
		}
		h.Events = events
		if _, err := webhook.Key(h.Secret); err != nil {
			return fmt.Errorf("webhook %s: %w", h.ID, err)
		}
	case r.Subscription != nil:
		sub := r.Subscription
		addr, err := mail.NormalizeAddress(sub.Email)
		if err != nil || (sub.Scope != NotifyReplies && sub.Scope != NotifyAll) {
			return fmt.Errorf("subscription %s: not a valid address and scope", sub.ID)
		}
		sub.Email = addr
		if s.notify != nil && s.notify.Links != nil {
			sub.EmailKey = s.notify.Links.EmailKey(addr)
		}
	case r.DecisionStop != nil:
		// Only a key: it cannot be made again with this server's key, and
		// names the same address where the notification key came along.
		if d := r.DecisionStop; d.SiteID == "" || len(d.EmailKey) != 32 || strings.Trim(d.EmailKey, "0123456789abcdef") != "" {
			return errors.New("stopped decision emails: not a valid site and address key")
		}
	}
	return nil
}
