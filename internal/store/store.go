// Package store defines the Store interface that both storage backends
// (sqlite and postgres) implement, composed of one small interface per
// area (Sites, Comments, Logins…), and the small request types it takes.
// Code that needs one area names only that interface. The SQL the two
// backends share lives once, in package sqlstore.
//
// Business rules live in package service, above the store; a store only
// keeps and finds data, atomically.
package store

import (
	"context"
	"time"

	"parley/internal/auth"
	"parley/internal/comment"
	"parley/internal/staff"
)

// Store keeps sites, threads and comments, and the state of readers' log-ins.
// Implementations must be safe for concurrent use, translate driver errors
// into the comment package's errors, and never return (nil, nil).
//
// It is composed of one small interface per area, so that code needing
// one area (and a fake standing in for it) names only that one.
type Store interface {
	Sites
	Threads
	Comments
	Likes
	Events
	Archive
	Backups
	SpamModels
	Logins
	Avatars
	Secrets
	StaffStore
	DeskStore
	AuditStore
	OutboxStore
	SubscriptionStore
	WebhookStore
	EmailAlertStore
	CommunityStore
	AlertMailStore
	PrivacyStore
	Retention
	// Ping reports whether the store can serve.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// Sites keeps the sites a server runs comment sections for.
type Sites interface {
	// CreateSite stores a new site, with the audit entry (if any) in the
	// same transaction. A site with Guests "" gets
	// comment.GuestsNameEmail. Returns comment.ErrConflict if the id is taken.
	CreateSite(ctx context.Context, s *comment.Site, audit *staff.AuditEntry) error
	// UpdateSite replaces a site's name, origins and settings (all but its
	// API key hash), with the audit entry (if any) in the same
	// transaction. Returns comment.ErrNotFound if there is no such site.
	UpdateSite(ctx context.Context, s *comment.Site, audit *staff.AuditEntry) error
	// Site returns one site. Returns comment.ErrNotFound if there is none.
	Site(ctx context.Context, id string) (*comment.Site, error)
	// SetAPIKeyHash sets (or, with "", removes) the hash of a site's API
	// key, with the audit entry (if any) in the same transaction.
	// Returns comment.ErrNotFound if there is no such site.
	SetAPIKeyHash(ctx context.Context, siteID, hash string, audit *staff.AuditEntry) error
	// SiteByAPIKeyHash returns the site whose API key has this hash.
	// Returns comment.ErrNotFound if none has.
	SiteByAPIKeyHash(ctx context.Context, hash string) (*comment.Site, error)
	// Sites returns every site, ordered by id.
	Sites(ctx context.Context) ([]*comment.Site, error)
}

// Threads keeps the pages' threads; CreateComment makes them.
type Threads interface {
	// Thread returns the thread of a page. Returns comment.ErrNotFound if
	// the page has no thread yet.
	Thread(ctx context.Context, siteID, key string) (*comment.Thread, error)
	// SetThreadClosed closes or reopens a thread.
	// Returns comment.ErrNotFound if there is no such thread.
	SetThreadClosed(ctx context.Context, threadID string, closed bool) error
}

// Comments keeps the comments and answers questions about them.
type Comments interface {
	// CreateComment stores c under page, creating the page's thread in the
	// same transaction if it has none, and sets c.ThreadID. The comment is
	// durable when CreateComment returns nil. Returns comment.ErrNotFound
	// if c.ParentID names no comment of that thread, comment.ErrClosed if
	// the thread is closed, and comment.ErrConflict if c.ID is taken or
	// another comment of the site was stored with c.PostKey.
	CreateComment(ctx context.Context, page comment.Page, c *comment.Comment) error
	// Comment returns one comment. Returns comment.ErrNotFound if there is none.
	Comment(ctx context.Context, id string) (*comment.Comment, error)
	// PostedComment returns the comment of a site stored with this post
	// key (comment.Comment.PostKey; PruneEvents forgets old keys).
	// Returns comment.ErrNotFound if there is none.
	PostedComment(ctx context.Context, siteID, postKey string) (*comment.Comment, error)
	// ThreadComments returns the comments of a thread whose status is one
	// of statuses, oldest first.
	ThreadComments(ctx context.Context, threadID string, statuses ...comment.Status) ([]*comment.Comment, error)
	// ListComments returns a site's comments matching f, newest first.
	ListComments(ctx context.Context, f ListFilter) ([]*comment.Comment, error)
	// EditComment replaces a comment's text and sets its Edited time.
	// Returns comment.ErrNotFound if there is no such comment.
	EditComment(ctx context.Context, id, markdown, html string, edited time.Time) error
	// ReviseComment stores an author's edit: c's Markdown, HTML, Edited,
	// Status and Verdict replace the stored ones in one transaction, so an
	// edit held for moderation is never published, not even for a moment.
	// Readers are told (an update, or a removal when it is no longer
	// approved). Returns comment.ErrNotFound if there is no such comment.
	ReviseComment(ctx context.Context, c *comment.Comment) error
	// SetStatus moves a comment to another state.
	// Returns comment.ErrNotFound if there is no such comment.
	SetStatus(ctx context.Context, id string, s comment.Status) error
	// Counts returns the number of approved comments on each page key of
	// a site. Keys without a thread are present with 0.
	Counts(ctx context.Context, siteID string, keys []string) (map[string]int, error)
	// AuthorApproved reports whether the site has an approved comment by
	// the author with this email address.
	AuthorApproved(ctx context.Context, siteID, email string) (bool, error)
	// IdentityApproved reports whether the site has an approved comment by
	// the logged-in reader with this identity ("provider:subject").
	IdentityApproved(ctx context.Context, siteID, identity string) (bool, error)
}

// Likes keeps readers' likes of comments.
type Likes interface {
	// Like records one like of a comment by a reader and returns the new
	// count; listeners hear comment.EventLikes. Returns
	// comment.ErrConflict if the reader already liked it and
	// comment.ErrNotFound if there is no such comment.
	Like(ctx context.Context, commentID, reader string) (int, error)
	// Unlike takes a reader's like back and returns the new count.
	// Returns comment.ErrNotFound if the reader had not liked it.
	Unlike(ctx context.Context, commentID, reader string) (int, error)
}

// Events is the change log that live updates follow.
type Events interface {
	// Events returns up to limit events of a thread with IDs above after,
	// in ID order. Writes that change what readers see (a comment becoming
	// visible or invisible, an edit) record events in the same
	// transaction. Likes are announced to listeners (comment.EventLikes)
	// but not recorded.
	Events(ctx context.Context, threadID string, after int64, limit int) ([]comment.Event, error)
	// LastEvent returns the ID of a thread's latest event, 0 if none.
	LastEvent(ctx context.Context, threadID string) (int64, error)
	// Listen calls fn for every event committed by any instance sharing
	// the database, until ctx ends. When events may have been missed (a
	// lost connection), fn gets an event of kind comment.EventReset.
	// ready, if not nil, is called each time the listener is in place:
	// from then on it hears every committed event. Listen returns only
	// when ctx ends.
	Listen(ctx context.Context, fn func(comment.Event), ready func())
	// PruneEvents deletes events created before t, and the post keys
	// (comment.Comment.PostKey) kept since before then.
	PruneEvents(ctx context.Context, before time.Time) error
}

// Archive moves rows into and out of a store: exports, imports, and
// copies between databases.
type Archive interface {
	// Dump calls fn with every row the store holds (siteID ""), or every
	// row of one site, from one consistent snapshot: sites, then threads,
	// comments (a parent may come after its reply), likes, and — for a
	// whole-store dump — secrets. The change log is not included, nor is
	// readers' log-in state (sessions, used single-use keys, verified
	// emails, cached avatars): it is runtime state that readers rebuild by
	// logging in again.
	Dump(ctx context.Context, siteID string, fn func(*Row) error) error
	// Restore writes rows produced by Dump (until next returns io.EOF) in
	// one transaction: all or nothing. Returns comment.ErrConflict if a
	// site, thread or comment in the rows exists already.
	Restore(ctx context.Context, next func() (*Row, error)) error
	// Import adds threads and comments that are not there yet, in one
	// transaction: all or nothing. A thread is matched by its site and key
	// (an existing one keeps its ID, title and state); a comment by its ID,
	// so importing the same rows again adds nothing. An imported comment's
	// ThreadID holds its thread's KEY, which Import resolves. A reply whose
	// parent is neither imported nor stored in the same thread becomes a
	// top-level comment. Imports record no change events.
	Import(ctx context.Context, siteID string, next func() (*Row, error)) (ImportCounts, error)
}

// Backups copies the whole database.
type Backups interface {
	// Backup writes a consistent copy of the whole database to a new file
	// at path while the store stays in use. Stores that cannot (PostgreSQL,
	// which has pg_dump for this) return an error saying so.
	Backup(ctx context.Context, path string) error
}

// SpamModels keeps what each site's spam filter has learned.
type SpamModels interface {
	// SpamModel returns what a site's spam filter has learned, as saved
	// by SaveSpamModel. Returns comment.ErrNotFound if nothing was saved.
	SpamModel(ctx context.Context, siteID string) ([]byte, error)
	// SaveSpamModel stores what a site's spam filter has learned.
	SaveSpamModel(ctx context.Context, siteID string, model []byte) error
}

// Logins keeps the sessions, single-use keys and verified email addresses
// of readers' log-ins, shared by every instance using the database. See
// package auth for their contracts; auth.MemoryStore behaves the same way.
type Logins interface {
	auth.SessionStore
	auth.OnceStore
	auth.VerifiedEmailStore
	// DeleteProviderSessions removes every session of one log-in provider
	// (identities "provider:…"), as when a site's SSO secret changes, and
	// returns how many there were.
	DeleteProviderSessions(ctx context.Context, provider string) (int, error)
	// PruneAuth deletes sessions whose Expires is before the given time
	// and used single-use keys that expired before it, and returns how
	// many rows went. Verified emails and avatars are kept.
	PruneAuth(ctx context.Context, before time.Time) (int, error)
}

// Retention forgets what Parley keeps only for a while (package
// retention runs it).
type Retention interface {
	// ReduceClientData reduces the client data of a site's comments
	// created before t: each one's address hash becomes its network's
	// (comment.Comment.IPNet) and its user agent is emptied, at most batch
	// comments per transaction (1000 if 0). It returns how many comments
	// changed; a second call with the same t changes none.
	ReduceClientData(ctx context.Context, siteID string, before time.Time, batch int) (int, error)
}

// Avatars keeps the copies of readers' avatars that Parley serves.
type Avatars interface {
	// Avatar returns the cached copy of a reader's avatar.
	// Returns comment.ErrNotFound if there is none.
	Avatar(ctx context.Context, key string) (*Avatar, error)
	// SaveAvatar stores a reader's avatar, replacing any under a.Key. A
	// zero a.Updated is set to the current time.
	SaveAvatar(ctx context.Context, a *Avatar) error
}

// Secrets keeps the server's secrets (signing keys).
type Secrets interface {
	// Secret returns the named server secret, creating it from gen on first
	// use. Every instance sharing a database gets the same value.
	Secret(ctx context.Context, name string, gen func() []byte) ([]byte, error)
}

// Row is one stored record, as Dump produces and Restore takes it.
// Exactly one field is set.
type Row struct {
	Site    *comment.Site    `json:"site,omitempty"`
	Thread  *comment.Thread  `json:"thread,omitempty"`
	Comment *comment.Comment `json:"comment,omitempty"`
	Like    *Like            `json:"like,omitempty"`
	Secret  *Secret          `json:"secret,omitempty"`
	// The community controls' rows (community.go).
	CommunityRows
	// Webhooks and readers' subscriptions (notify.go).
	NotifyRows
	// Erased is the id of a comment a reader erased (privacy.go), so that
	// a store restored or migrated from a dump still refuses to import it.
	Erased *ErasedComment `json:"erased,omitempty"`
	// ErasedAuthor is a reader who had their data erased (privacy.go), so
	// that an import from another system skips their comments too.
	ErasedAuthor *ErasedAuthor `json:"erased_author,omitempty"`
}

// ErasedComment is the tombstone of a comment its author erased.
type ErasedComment struct {
	ID     string    `json:"id"`
	SiteID string    `json:"site"`
	Erased time.Time `json:"erased"`
}

// ErasedAuthor is an erased reader, named by a keyed hash of their
// address or log-in (PrivacySubject.ErasedKeys), on one site or (SiteID
// "") every site.
type ErasedAuthor struct {
	Key    string    `json:"key"`
	SiteID string    `json:"site"`
	Erased time.Time `json:"erased"`
}

// Like is one reader's like of one comment.
type Like struct {
	CommentID string    `json:"comment"`
	Reader    string    `json:"reader"`
	Created   time.Time `json:"created"`
}

// Secret is a named server secret.
type Secret struct {
	Name  string `json:"name"`
	Value []byte `json:"value"`
}

// Avatar is the cached copy of a reader's avatar, fetched once from their
// log-in provider so readers' browsers never load the provider's picture.
type Avatar struct {
	Key         string // chosen by the caller, e.g. a keyed hash of the identity
	ContentType string // e.g. "image/png"
	Data        []byte
	Updated     time.Time
}

// ListFilter selects comments for moderation. Zero fields match anything.
type ListFilter struct {
	SiteID string
	Status comment.Status
	// Before continues a listing after the last comment of the previous
	// page: only comments created before it (by time, then id) are listed.
	Before *comment.Comment
	Limit  int // default 50, at most 1000
}

// ImportCounts says what an Import added and left alone.
type ImportCounts struct {
	Threads  int // threads created
	Comments int // comments added
	Existing int // comments that were there already
	Orphans  int // replies made top-level for want of their parent
	Erased   int // comments skipped: their author had them erased
}
