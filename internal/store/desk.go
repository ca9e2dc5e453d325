package store

import (
	"context"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
)

// StaffStore keeps the people who run comment sections: accounts, their
// roles per site, their desk sessions and the sites' API tokens.
type StaffStore interface {
	// CreateAccount stores a new account with its grants, in one
	// transaction with the audit entry (if any). Returns
	// comment.ErrConflict if the email or identity is taken.
	CreateAccount(ctx context.Context, a *staff.Account, grants []staff.Grant, audit *staff.AuditEntry) error
	// Account returns an account by id, AccountByEmail by its lower-case
	// email, AccountByIdentity by its linked log-in. Each returns
	// comment.ErrNotFound if there is none.
	Account(ctx context.Context, id string) (*staff.Member, error)
	AccountByEmail(ctx context.Context, email string) (*staff.Member, error)
	AccountByIdentity(ctx context.Context, identity string) (*staff.Member, error)
	// UpdateAccount replaces an account's name, password hash, identity
	// and disabled flag. Disabling ends its sessions in the same
	// transaction. Returns comment.ErrNotFound or comment.ErrConflict
	// (identity taken).
	UpdateAccount(ctx context.Context, a *staff.Account, audit *staff.AuditEntry) error
	// Members lists accounts with a grant on siteID (and every owner), or
	// with siteID "" every account; ordered by email.
	Members(ctx context.Context, siteID string) ([]*staff.Member, error)
	// SetGrant gives an account a role on a site (replacing its role
	// there); a grant with Role "" removes it. Returns
	// comment.ErrNotFound if there is no such account.
	SetGrant(ctx context.Context, g staff.Grant, audit *staff.AuditEntry) error

	// CreateStaffSession stores a desk session.
	CreateStaffSession(ctx context.Context, s *staff.Session) error
	// StaffSession returns a session by the hash of its id, with its
	// account. Returns comment.ErrNotFound if there is none.
	StaffSession(ctx context.Context, hash string) (*staff.Session, *staff.Member, error)
	// TouchStaffSession records that a session was used at seen.
	TouchStaffSession(ctx context.Context, hash string, seen time.Time) error
	// StaffSessions lists an account's sessions, newest first.
	StaffSessions(ctx context.Context, accountID string) ([]*staff.Session, error)
	// DeleteStaffSessions ends sessions: the one with hash, or (hash "")
	// every session of the account. Returns how many ended.
	DeleteStaffSessions(ctx context.Context, accountID, hash string) (int, error)
	// PruneStaffSessions deletes sessions created before created or last
	// seen before seen.
	PruneStaffSessions(ctx context.Context, created, seen time.Time) (int, error)

	// CreateToken stores an API token. Returns comment.ErrNotFound if its
	// site does not exist.
	CreateToken(ctx context.Context, t *staff.Token, audit *staff.AuditEntry) error
	// TokenByHash returns the token with this hash. Returns
	// comment.ErrNotFound if there is none.
	TokenByHash(ctx context.Context, hash string) (*staff.Token, error)
	// Tokens lists a site's tokens, oldest first.
	Tokens(ctx context.Context, siteID string) ([]*staff.Token, error)
	// DeleteToken revokes a token of a site. Returns comment.ErrNotFound.
	DeleteToken(ctx context.Context, siteID, id string, audit *staff.AuditEntry) error
	// TouchToken records that a token was used at t.
	TouchToken(ctx context.Context, id string, t time.Time) error
}

// DeskStore finds and changes comments for the moderation desk. Every
// change writes its audit entry in the same transaction.
type DeskStore interface {
	// FindComments returns one page of a site's comments matching f,
	// newest first, and the cursor of the next page (nil at the end).
	FindComments(ctx context.Context, f CommentFilter) ([]*comment.Comment, *Cursor, error)
	// CountComments counts a site's comments matching f in each status
	// (f.Status is ignored), up to limit in each (0: no limit).
	CountComments(ctx context.Context, f CommentFilter, limit int) (map[comment.Status]int, error)
	// Moderate moves comments of a site to status to, records change
	// events for readers, and writes the audit entry with each changed
	// comment's previous status, all in one transaction. Comments already
	// in that status are left alone. It returns the comments as they were
	// before (only those that changed).
	Moderate(ctx context.Context, siteID string, ids []string, to comment.Status, audit *staff.AuditEntry) ([]*comment.Comment, error)
	// ModerateMatching does what Moderate does to every comment matching
	// f (f.Cursor and f.Limit are ignored), in one transaction, and
	// returns how many matched and how many changed.
	ModerateMatching(ctx context.Context, f CommentFilter, to comment.Status, audit *staff.AuditEntry) (matched, changed int, err error)
	// Revert undoes the decision recorded in audit entry id, which moved
	// comments to status set: each goes back to its previous status,
	// unless a later action has moved it since (that one stands). It
	// writes the audit entry (with the statuses it replaced) and marks
	// entry id undone by it, in one transaction, and returns the comments
	// it changed with their ID, SiteID, ThreadID and Status (as before).
	// Returns comment.ErrNotFound if the entry is not the site's, and
	// comment.ErrConflict if it was undone already.
	Revert(ctx context.Context, siteID string, id int64, set comment.Status, audit *staff.AuditEntry) ([]*comment.Comment, error)
	// EndReaderSessions ends every session of a logged-in reader (an
	// identity "provider:subject"), with the audit entry, and returns how
	// many there were.
	EndReaderSessions(ctx context.Context, identity string, audit *staff.AuditEntry) (int, error)
	// EditCommentAs replaces a comment's text as staff: it records who
	// edited it (EditedBy) and the audit entry. Returns comment.ErrNotFound.
	EditCommentAs(ctx context.Context, c *comment.Comment, audit *staff.AuditEntry) error
	// AuthorHistories counts the site's comments by each author (by
	// identity when given, else by email, else by name) in each status,
	// and finds the first one's time, keyed by AuthorKey. Authors with no
	// comment on the site are left out.
	AuthorHistories(ctx context.Context, siteID string, authors []comment.Author) (map[string]*AuthorHistory, error)
	// Threads returns the threads with these ids.
	ThreadsByID(ctx context.Context, ids []string) (map[string]*comment.Thread, error)
	// CommentsByID returns the comments with these ids (missing ones are
	// left out).
	CommentsByID(ctx context.Context, ids []string) (map[string]*comment.Comment, error)
}

// AuditStore keeps the audit log: who did what to which comment or
// setting, and when. Entries are written by the changes themselves (each
// StaffStore and DeskStore change takes its entry); this reads them.
type AuditStore interface {
	// AddAudit writes an entry on its own, for actions that change nothing
	// in the store (an export, an erased address's search).
	AddAudit(ctx context.Context, e *staff.AuditEntry) error
	// AuditEntries returns entries matching f, newest first, and the
	// cursor of the next page.
	AuditEntries(ctx context.Context, f AuditFilter) ([]*staff.AuditEntry, *Cursor, error)
	// AuditEntry returns one entry with its comments' previous statuses.
	// Returns comment.ErrNotFound.
	AuditEntry(ctx context.Context, id int64) (*staff.AuditEntry, error)
}

// CommentFilter selects comments for the desk. Zero fields match
// anything.
type CommentFilter struct {
	SiteID   string
	Status   comment.Status
	ThreadID string
	// Author matches the author's name (without regard to case) or their
	// log-in identity ("provider:subject") exactly.
	Author string
	Email  string // lower-case; exact
	IPHash string
	// Text matches comments containing every word of it (full-text
	// search over the text and the author's name).
	Text  string
	Since time.Time // created at or after
	Until time.Time // created before
	// IDs, when not nil, restricts the match to these comments.
	IDs    []string
	Cursor *Cursor
	Limit  int // default 50, at most 500
}

// Cursor continues a listing after the last item of the previous page
// (keyset pagination: cost does not grow with the page number).
type Cursor struct {
	Time time.Time
	ID   string
}

// AuthorKey names an author as AuthorHistories finds them: by log-in
// identity, else by email address, else by name (the last two without
// regard to case).
func AuthorKey(a comment.Author) string {
	switch {
	case a.Identity != "":
		return "identity:" + a.Identity
	case a.Email != "":
		return "email:" + strings.ToLower(a.Email)
	}
	return "name:" + strings.ToLower(a.Name)
}

// AuthorHistory is what a site knows of one author.
type AuthorHistory struct {
	Counts    map[comment.Status]int
	FirstSeen time.Time
}

// AuditFilter selects audit entries. Zero fields match anything.
type AuditFilter struct {
	SiteID    string // "" matches server-wide entries only when All is false
	All       bool   // every site's entries and the server's (owners)
	ActorID   string
	Action    string // exact, or a prefix ending in "." ("comment.")
	CommentID string // entries that touched this comment
	Cursor    *Cursor
	Limit     int // default 50, at most 500
}
