package store

import (
	"context"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
)

// Message kinds of the outbox.
const (
	// KindEvent is a change that may cause messages: written in the
	// transaction of the change, turned into emails and webhooks by the
	// fan-out (ExpandEvents).
	KindEvent = "event"
	// KindEmail is one email (or a digest's share of one).
	KindEmail = "email"
	// KindWebhook is one webhook delivery.
	KindWebhook = "webhook"
)

// Message states.
const (
	StatePending = "pending" // waiting to go out (or to be fanned out)
	StateSent    = "sent"
	StateFailed  = "failed"  // given up after its deadline
	StateDropped = "dropped" // no longer wanted (unsubscribed, decided on, removed)
)

// Events written to the outbox by changes to comments; webhooks are
// subscribed to them by these names.
const (
	EventCreated  = "comment.created"
	EventApproved = "comment.approved"
	EventSpam     = "comment.spam"
	EventDeleted  = "comment.deleted"
	EventEdited   = "comment.edited"
)

// Message is one row of the outbox: an event to fan out, or an email or
// a webhook delivery to send.
type Message struct {
	ID int64
	// Key makes the message unique: enqueuing one with a key that exists
	// adds nothing (idempotency).
	Key  string
	Kind string
	// Stream is the recipient: messages of one stream go out in ID order,
	// one at a time.
	Stream string
	SiteID string
	// Target is what the message is for: a webhook, subscription or
	// staff account id.
	Target  string
	Payload string // JSON, by kind
	State   string
	Created time.Time
	// Deadline is when a message still not sent is given up.
	Deadline time.Time
	NextAt   time.Time
	Attempts int
	// LastError, LastStatus and LastTook describe the last attempt (the
	// response's status for a webhook).
	LastError  string
	LastStatus int
	LastTook   time.Duration
	// Done is when the message was sent, given up or dropped.
	Done time.Time
}

// Outcome is what became of an attempt to send a stream's head message.
type Outcome struct {
	// State is StateSent, StateFailed or StateDropped; "" leaves the
	// message pending until NextAt (a retry, or a digest waiting for its
	// interval).
	State  string
	NextAt time.Time
	// Attempted counts the attempt (a digest's wait does not).
	Attempted bool
	Error     string
	Status    int
	Took      time.Duration
}

// Settled is the state a message sent along with a stream's head (in a
// digest) ends in.
type Settled struct {
	ID    int64
	State string
}

// OutboxStore keeps the outbox. Every change that causes messages writes
// its event in its own transaction (CreateComment, Moderate…); the
// fan-out expands events into messages; senders claim due messages,
// lease them, and finish them.
type OutboxStore interface {
	// PendingEvents returns up to limit events not fanned out yet, in ID
	// order.
	PendingEvents(ctx context.Context, limit int) ([]*Message, error)
	// ExpandEvents adds msgs (those whose key exists are left out) and
	// removes the events done, in one transaction, and returns how many
	// messages it added. A message is its stream's head, due at its
	// NextAt, if the stream has no pending message; it waits otherwise.
	ExpandEvents(ctx context.Context, done []int64, msgs []*Message) (int, error)
	// Enqueue adds one message (nothing if its key exists) with the audit
	// entry, if any, in one transaction, and reports whether it was added.
	Enqueue(ctx context.Context, m *Message, audit *staff.AuditEntry) (bool, error)
	// TakeLock takes or renews the named lease for owner until the given
	// time (when it is free at now, or owner's already), and reports
	// whether owner holds it.
	TakeLock(ctx context.Context, name, owner string, now, until time.Time) (bool, error)
	// ClaimMessages leases up to limit due email and webhook messages
	// (stream heads whose NextAt has come and whose lease has run out)
	// to owner until the given time, and returns them. With several
	// instances no two get the same message while its lease runs.
	ClaimMessages(ctx context.Context, owner string, now, until time.Time, limit int) ([]*Message, error)
	// StreamPending returns up to limit pending messages of a stream after
	// the one with ID after, in ID order: what a digest may take along.
	StreamPending(ctx context.Context, stream string, after int64, limit int) ([]*Message, error)
	// Finish records the outcome of sending head (leased by owner); when
	// head leaves the pending state, the messages in with (of the same
	// stream, sent in the same email) are settled as they say, and the
	// stream's next pending message becomes its head. Returns
	// comment.ErrConflict if owner no longer holds head's lease.
	Finish(ctx context.Context, owner string, head int64, with []Settled, o Outcome, now time.Time) error
	// FinishNext does what Finish does and, when head left the pending
	// state and leaseUntil is not zero, leases the stream's next message
	// to owner until leaseUntil and returns it (nil if there is none), so
	// one sender can go through a stream without waiting for a claim.
	FinishNext(ctx context.Context, owner string, head int64, with []Settled, o Outcome, now, leaseUntil time.Time) (*Message, error)
	// LastSent returns when a stream last had a message sent (zero if
	// never).
	LastSent(ctx context.Context, stream string) (time.Time, error)
	// Messages returns the messages matching f, newest first, and the
	// cursor of the next page.
	Messages(ctx context.Context, f MessageFilter) ([]*Message, *Cursor, error)
	// OutboxMessage returns one message. Returns comment.ErrNotFound.
	OutboxMessage(ctx context.Context, id int64) (*Message, error)
	// OutboxCounts counts a site's messages (all sites with siteID "") by
	// kind and state, and returns the creation time of the oldest pending
	// one (zero if none).
	OutboxCounts(ctx context.Context, siteID string) (map[string]map[string]int, time.Time, error)
	// PruneOutbox deletes messages sent, failed or dropped before t, and
	// returns how many.
	PruneOutbox(ctx context.Context, before time.Time) (int, error)
}

// MessageFilter selects outbox messages. Zero fields match anything.
type MessageFilter struct {
	SiteID string
	Kind   string
	State  string
	Target string
	Cursor *Cursor
	Limit  int // default 50, at most 500
}

// Subscription scopes.
const (
	ScopeReplies = "replies" // replies to the reader's own comments in the thread
	ScopeAll     = "all"     // every new comment in the thread
)

// Subscription is a reader's wish to be emailed about a thread.
type Subscription struct {
	ID       string `json:"id"`
	SiteID   string `json:"site"`
	ThreadID string `json:"thread"`
	Email    string `json:"email"` // lower-case; never shown to anyone but its owner
	// EmailKey is a keyed hash of Email: what links carry, and how a
	// reader's subscriptions are found.
	EmailKey string    `json:"email_key"`
	Scope    string    `json:"scope"`
	Lang     string    `json:"lang,omitempty"`
	Created  time.Time `json:"created"`
	// Confirmed is when the address was confirmed; zero while a guest's
	// subscription waits for its confirmation link.
	Confirmed time.Time `json:"confirmed"`
	// Thread is the subscription's thread, when listed for its reader.
	Thread *comment.Thread `json:"-"`
}

// NotifyRows are the notifications' rows of a dump (store.Row embeds
// them): sites' webhooks (with their secrets) and readers'
// subscriptions. The outbox and staff members' alerts are runtime state
// and are left out, like sessions.
type NotifyRows struct {
	Webhook      *Webhook      `json:"webhook,omitempty"`
	Subscription *Subscription `json:"subscription,omitempty"`
	// DecisionStop is a reader's wish to hear no more of their held
	// comments (alertmail.go): a choice of theirs, carried like their
	// subscriptions.
	DecisionStop *DecisionStop `json:"decision_stop,omitempty"`
}

// SubscriptionStore keeps readers' subscriptions.
type SubscriptionStore interface {
	// CreateCommentSubscribed does what CreateComment does and, in the
	// same transaction, adds sub to the comment's thread (or widens an
	// existing subscription of the address there to sub's scope, keeping
	// its confirmation) and enqueues confirm, if not nil and not there
	// yet. It sets sub's ThreadID, and its ID and Confirmed to those
	// stored.
	CreateCommentSubscribed(ctx context.Context, page comment.Page, c *comment.Comment, sub *Subscription, confirm *Message) error
	// Subscription returns one subscription. Returns comment.ErrNotFound.
	Subscription(ctx context.Context, id string) (*Subscription, error)
	// SubscriptionsByKey returns an address's subscriptions (on one site,
	// or every site with siteID ""), with their threads, newest first.
	SubscriptionsByKey(ctx context.Context, emailKey, siteID string) ([]*Subscription, error)
	// ConfirmSubscriptions confirms the address's subscriptions on a
	// site that wait for it, and returns how many.
	ConfirmSubscriptions(ctx context.Context, siteID, emailKey string, at time.Time) (int, error)
	// Unsubscribe ends subscriptions: the one with id, or (id "") every
	// one of the address on the site (every site with siteID ""), and
	// returns how many ended. Their emails still in the outbox are
	// dropped when their turn comes.
	Unsubscribe(ctx context.Context, emailKey, siteID, id string) (int, error)
	// Subscribers returns the confirmed subscriptions of a thread that a
	// new comment concerns: those to every comment, and those to replies
	// of parentEmail ("" for none), leaving out the address authorEmail.
	Subscribers(ctx context.Context, threadID, parentEmail, authorEmail string) ([]*Subscription, error)
	// PruneSubscriptions deletes subscriptions never confirmed and
	// created before t, and returns how many.
	PruneSubscriptions(ctx context.Context, before time.Time) (int, error)
}

// Webhook is one of a site's outgoing webhooks.
type Webhook struct {
	ID     string   `json:"id"`
	SiteID string   `json:"site"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	// Secret signs deliveries ("whsec_" and base64, as the Standard
	// Webhooks specification writes it).
	Secret string `json:"secret"`
	// WithEmail puts authors' email addresses in the payload: the site
	// opted in.
	WithEmail bool      `json:"with_email"`
	Created   time.Time `json:"created"`
}

// WebhookStore keeps sites' webhooks.
type WebhookStore interface {
	// CreateWebhook stores a webhook, with the audit entry. Returns
	// comment.ErrNotFound if its site does not exist.
	CreateWebhook(ctx context.Context, w *Webhook, audit *staff.AuditEntry) error
	// Webhooks returns a site's webhooks (every site's with siteID ""),
	// oldest first.
	Webhooks(ctx context.Context, siteID string) ([]*Webhook, error)
	// Webhook returns one webhook. Returns comment.ErrNotFound.
	Webhook(ctx context.Context, id string) (*Webhook, error)
	// DeleteWebhook removes a site's webhook, with the audit entry; its
	// deliveries still in the outbox are dropped when their turn comes.
	// Returns comment.ErrNotFound.
	DeleteWebhook(ctx context.Context, siteID, id string, audit *staff.AuditEntry) error
}

// EmailAlert is a staff member's wish to be emailed about a site's held
// comments: at most one digest per Every.
type EmailAlert struct {
	AccountID string
	SiteID    string
	Every     time.Duration
	Lang      string
}

// EmailAlertStore keeps staff members' email alerts.
type EmailAlertStore interface {
	// SetEmailAlert stores an alert, replacing the member's one for the
	// site; with Every < 0 it removes it. The audit entry goes in the
	// same transaction.
	SetEmailAlert(ctx context.Context, a *EmailAlert, audit *staff.AuditEntry) error
	// EmailAlerts returns a site's alerts, or (siteID "") an account's
	// when accountID is set.
	EmailAlerts(ctx context.Context, siteID, accountID string) ([]*EmailAlert, error)
}
