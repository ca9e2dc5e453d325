// Package notify decides who hears about what, and writes it: it fans
// the outbox's events out into messages (readers' reply notifications,
// moderators' alerts of held comments, sites' webhooks), and sends each
// kind of message for the outbox's worker (package outbox) — emails
// through package mail, in the recipient's language, as one email or a
// digest; webhooks through package webhook, signed as the Standard
// Webhooks specification says. It also makes the signed links those
// emails carry (Links), which the service opens.
package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"parley/internal/comment"
	"parley/internal/mail"
	"parley/internal/outbox"
	"parley/internal/staff"
	"parley/internal/store"
	"parley/internal/webhook"
)

// Store is what notifications need of the store.
type Store interface {
	store.SubscriptionStore
	store.WebhookStore
	store.EmailAlertStore
	store.AlertMailStore
	Community(ctx context.Context, siteID string) (*comment.Community, *comment.SiteRules, error)
	LastSent(ctx context.Context, stream string) (time.Time, error)
	StreamPending(ctx context.Context, stream string, after int64, limit int) ([]*store.Message, error)
	CommentsByID(ctx context.Context, ids []string) (map[string]*comment.Comment, error)
	ThreadsByID(ctx context.Context, ids []string) (map[string]*comment.Thread, error)
	Site(ctx context.Context, id string) (*comment.Site, error)
	Account(ctx context.Context, id string) (*staff.Member, error)
}

// Config configures a Notifier. Store and Links are required.
type Config struct {
	Store Store
	Links *Links
	// Mailer sends email; nil means none is configured, and no email
	// message is made.
	Mailer mail.Mailer
	// Hooks delivers webhooks; nil means none are delivered.
	Hooks *webhook.Client
	// DigestEvery is how often at most one reader is emailed about one
	// site: replies arriving sooner wait and go out together, as one
	// digest. 0 sends one email per comment.
	DigestEvery time.Duration
	// GiveUp is how long a message is tried before it is given up.
	GiveUp time.Duration
	// Verified, if set, tells whether an address was confirmed through
	// an emailed log-in link (package auth): such an address, like one
	// with a confirmed subscription on the site, may be told what became
	// of its held comments.
	Verified func(ctx context.Context, email string) (bool, error)
	Logger   *slog.Logger
	Now      func() time.Time
}

// DefaultGiveUp is Config.GiveUp when zero: three days, long enough for
// a receiver's weekend outage.
const DefaultGiveUp = 72 * time.Hour

// ActionTTL is how long a moderator's action link works.
const ActionTTL = 72 * time.Hour

// ConfirmTTL is how long a confirmation link works (unconfirmed
// subscriptions are deleted then too).
const ConfirmTTL = 7 * 24 * time.Hour

// Notifier fans events out and sends messages.
type Notifier struct {
	c   Config
	log *slog.Logger
	now func() time.Time
}

// New checks c and returns a Notifier.
func New(c Config) (*Notifier, error) {
	if c.Store == nil || c.Links == nil {
		return nil, errors.New("notify: a store and links are required")
	}
	if c.GiveUp <= 0 {
		c.GiveUp = DefaultGiveUp
	}
	n := &Notifier{c: c, log: c.Logger, now: c.Now}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.now == nil {
		n.now = time.Now
	}
	return n, nil
}

// Email reports whether email is configured.
func (n *Notifier) Email() bool { return n.c.Mailer != nil }

// Streams and keys. A stream is one recipient: its messages go out in
// order, one at a time, and digests gather them.

// ReplyStream is the stream of an address's notifications from a site.
func ReplyStream(siteID, emailKey string) string { return "r:" + siteID + ":" + emailKey }

// ConfirmStream is the stream of an address's confirmations on a site.
func ConfirmStream(siteID, emailKey string) string { return "c:" + siteID + ":" + emailKey }

// AlertStream is the stream of a staff member's alerts about a site.
func AlertStream(siteID, accountID string) string { return "s:" + siteID + ":" + accountID }

// HookStream is the stream of a webhook's deliveries.
func HookStream(hookID string) string { return "w:" + hookID }

// SurgeStream is the stream of a staff member's surge alerts about a
// site: apart from their alerts of held comments, so that a digest
// waiting for its interval never holds an urgent alert back.
func SurgeStream(siteID, accountID string) string { return "a:" + siteID + ":" + accountID }

// DecisionStream is the stream of an address's emails about its held
// comments on a site.
func DecisionStream(siteID, emailKey string) string { return "d:" + siteID + ":" + emailKey }

// Email payloads, by type.
const (
	mailReply   = "reply"
	mailConfirm = "confirm"
	mailHeld    = "held"
	mailSurge   = "surge"
	mailDecided = "decided"
)

// emailPayload is the payload of an email message.
type emailPayload struct {
	Type    string `json:"type"`
	Comment string `json:"comment,omitempty"`
	// For a confirmation or a decision: the address's key and the
	// language.
	EmailKey string `json:"key,omitempty"`
	Lang     string `json:"lang,omitempty"`
	// For a surge: the alert.
	Alert int64 `json:"alert,omitempty"`
	// For a decision: published or not, and the reason chosen.
	Approved bool   `json:"approved,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// For a link to a reader's data: the address (privacy.go).
	Email string `json:"email,omitempty"`
}

// hookPayload is the payload of a webhook message: the webhook-id, the
// same on every try, and the exact body that is signed.
type hookPayload struct {
	ID   string          `json:"id"`
	Body json.RawMessage `json:"body"`
}

// ConfirmThrottle is how often at most a confirmation goes to one
// address about one site: a form cannot be made to flood an inbox.
const ConfirmThrottle = time.Hour

// ConfirmMessage returns the confirmation email asking the owner of an
// address to confirm their subscriptions on a site. Its key allows one
// per address, site and hour.
func (n *Notifier) ConfirmMessage(siteID, emailKey, lang string, now time.Time) *store.Message {
	b, _ := json.Marshal(emailPayload{Type: mailConfirm, EmailKey: emailKey, Lang: lang})
	slot := now.Unix() / int64(ConfirmThrottle/time.Second)
	return &store.Message{
		Key: "confirm:" + siteID + ":" + emailKey + ":" + strconv.FormatInt(slot, 10), Kind: store.KindEmail,
		Stream: ConfirmStream(siteID, emailKey), SiteID: siteID, Target: emailKey, Payload: string(b),
		Created: now.UTC(), Deadline: now.Add(n.c.GiveUp).UTC(),
	}
}

// webhookID is the webhook-id of a message key: stable, so receivers
// can tell a retry from a new message.
func webhookID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "msg_" + hex.EncodeToString(sum[:12])
}

// Resend returns a new delivery of a webhook message, with the same
// webhook-id and body, to go after the stream's pending ones.
func (n *Notifier) Resend(m *store.Message, now time.Time) (*store.Message, error) {
	if m.Kind != store.KindWebhook {
		return nil, fmt.Errorf("notify: message %d is not a webhook", m.ID)
	}
	return &store.Message{
		Key: "resend:" + strconv.FormatInt(m.ID, 10) + ":" + strconv.FormatInt(now.UnixNano(), 36), Kind: store.KindWebhook,
		Stream: m.Stream, SiteID: m.SiteID, Target: m.Target, Payload: m.Payload,
		Created: now.UTC(), Deadline: now.Add(n.c.GiveUp).UTC(),
	}, nil
}

// event is an outbox event's payload (written by the store): a change
// to a comment, or an alert (Alert set).
type event struct {
	Event   string         `json:"event"`
	Comment string         `json:"comment"`
	Status  comment.Status `json:"status"`
	// Held: a staff member decided on the comment while it was held, with
	// Reason chosen (if any); its author may be told.
	Held   bool   `json:"held"`
	Reason string `json:"reason"`
	Alert  int64  `json:"alert"`
}

// Worker returns the outbox worker that fans n's events out and sends
// its messages: emails (when a mailer is configured) and webhooks. c's
// Store, Expander and Senders are set here.
func (n *Notifier) Worker(st outbox.Store, c outbox.Config) (*outbox.Worker, error) {
	c.Store, c.Expander = st, n
	c.Senders = map[string]outbox.Sender{store.KindWebhook: n.WebhookSender()}
	if n.c.Mailer != nil {
		c.Senders[store.KindEmail] = n.EmailSender()
	}
	if c.Logger == nil {
		c.Logger = n.log
	}
	if c.Now == nil {
		c.Now = n.now
	}
	c.Prune = func(ctx context.Context, now time.Time) error {
		// A guest who never confirmed is forgotten with their address.
		if _, err := n.c.Store.PruneSubscriptions(ctx, now.Add(-ConfirmTTL)); err != nil {
			return err
		}
		// A decided comment's language served its email (the fan-out put
		// it in the message).
		_, err := n.c.Store.PruneHeldLangs(ctx, now.Add(-HeldLangKeep))
		return err
	}
	return outbox.New(c)
}
