package store

import (
	"context"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
)

// CommunityStore keeps the community controls: sanctions, reader reports,
// a site's community settings and rules, each article's controls,
// featured comments, what readers are told about their held comments,
// moderators' notes on authors, and alerts to staff. Every change a staff
// member (or Parley itself) makes writes its audit entry in the same
// transaction.
type CommunityStore interface {
	// AddSanction stores a sanction and, when remove is not nil, moves
	// the matching reader's published and held comments of the site to
	// deleted, recording each one's previous status with the audit entry
	// (one undoable action). It sets s.AuditID and s.Removed.
	AddSanction(ctx context.Context, s *comment.Sanction, remove *SanctionTarget, audit *staff.AuditEntry) error
	// Sanctions lists a site's sanctions, newest first: only those in
	// force at now when active is true, else every one.
	Sanctions(ctx context.Context, siteID string, active bool, now time.Time) ([]*comment.Sanction, error)
	// Sanction returns one sanction of a site. Returns comment.ErrNotFound.
	Sanction(ctx context.Context, siteID, id string) (*comment.Sanction, error)
	// LiftSanction ends a sanction at s.Lifted (by s.LiftedBy) and, with
	// restore, puts back the comments it removed that nobody has decided
	// on since, marking its audit entry undone. It returns the comments
	// restored (ID, SiteID, ThreadID, Status as before). Returns
	// comment.ErrNotFound, or comment.ErrConflict if it was lifted already.
	LiftSanction(ctx context.Context, s *comment.Sanction, restore bool, audit *staff.AuditEntry) ([]*comment.Comment, error)
	// SeeWarning records that a warned reader was shown the message.
	SeeWarning(ctx context.Context, siteID, id string, at time.Time) error
	// SanctionsVersion is a number that changes whenever the site's
	// sanctions or rules change, so an instance can tell cheaply whether
	// its compiled copy is current.
	SanctionsVersion(ctx context.Context, siteID string) (int64, error)

	// Community returns a site's community settings and rules; a site
	// that never set them gets comment.DefaultCommunity and no rules.
	Community(ctx context.Context, siteID string) (*comment.Community, *comment.SiteRules, error)
	// SetCommunity stores a site's community settings.
	SetCommunity(ctx context.Context, siteID string, c *comment.Community, audit *staff.AuditEntry) error
	// SetSiteRules stores a site's rules.
	SetSiteRules(ctx context.Context, siteID string, r *comment.SiteRules, audit *staff.AuditEntry) error

	// AddReport stores a reader's report. When the comment is published
	// and now has at least hideAt open reports (hideAt > 0), it is moved
	// to pending in the same transaction, with the verdict and audit entry
	// given. It returns the comment's open reports and whether it was
	// hidden now. Returns comment.ErrConflict if the reporter (or the
	// reader token) reported the comment before, comment.ErrNotFound if
	// there is no such comment.
	AddReport(ctx context.Context, r *comment.Report, hideAt int, hidden comment.Verdict, audit *staff.AuditEntry) (open int, hid bool, err error)
	// ReportedComments lists a site's comments with open reports, the
	// latest reported first, and the cursor of the next page.
	ReportedComments(ctx context.Context, siteID string, cursor *Cursor, limit int) ([]*comment.Reported, *Cursor, error)
	// CountReported counts a site's comments with open reports, up to limit.
	CountReported(ctx context.Context, siteID string, limit int) (int, error)
	// ResolveReports closes the open reports of comments of a site, with
	// the audit entry (if any), and returns how many it closed.
	ResolveReports(ctx context.Context, siteID string, commentIDs []string, at time.Time, by string, audit *staff.AuditEntry) (int, error)

	// PageControls returns an article's controls (zero ones if it has
	// none set).
	PageControls(ctx context.Context, threadID string) (*comment.PageControls, error)
	// SetPageControls replaces an article's controls, and its closed
	// flag, with the audit entry. Returns comment.ErrNotFound.
	SetPageControls(ctx context.Context, c *comment.PageControls, closed bool, audit *staff.AuditEntry) error
	// StartSurge starts the surge guard on an article unless it is on
	// already: it sets the article's SurgeUntil and SurgeAction and writes
	// the alert and audit entry, in one transaction. It reports whether
	// it started (false: another instance started it first).
	StartSurge(ctx context.Context, alert *comment.Alert, now time.Time, audit *staff.AuditEntry) (bool, error)
	// RecentComments counts an article's comments created at or after since.
	RecentComments(ctx context.Context, threadID string, since time.Time) (int, error)
	// Articles returns one page of a site's articles with their counts,
	// and the cursor of the next page.
	Articles(ctx context.Context, f ArticleFilter) ([]*comment.Article, *Cursor, error)

	// SetFeatured marks a comment featured (or not), with the audit entry.
	// Returns comment.ErrNotFound.
	SetFeatured(ctx context.Context, c *comment.Comment, on bool, at time.Time, audit *staff.AuditEntry) error
	// Featured returns the ids of a thread's featured comments.
	Featured(ctx context.Context, threadID string) (map[string]bool, error)
	// FeaturedOf says which of these comments are featured.
	FeaturedOf(ctx context.Context, ids []string) (map[string]bool, error)

	// AddNotices stores what readers are to be told about comments of
	// theirs that were held and have been decided on.
	AddNotices(ctx context.Context, list []*comment.Notice) error
	// Notices returns a reader's notices on a site not yet seen, oldest
	// first (at most limit), with their articles' titles and addresses.
	Notices(ctx context.Context, siteID, reader string, limit int) ([]*comment.Notice, error)
	// SeeNotices marks a reader's notices seen.
	SeeNotices(ctx context.Context, siteID, reader string, ids []int64) error

	// AddNote stores a moderator's note on an author, with the audit entry.
	AddNote(ctx context.Context, n *comment.Note, audit *staff.AuditEntry) error
	// Notes lists a site's notes on an author, newest first.
	Notes(ctx context.Context, siteID, author string) ([]*comment.Note, error)
	// DeleteNote removes a note of a site, with the audit entry. Returns
	// comment.ErrNotFound.
	DeleteNote(ctx context.Context, siteID string, id int64, audit *staff.AuditEntry) error
	// AuthorAudit returns the audit entries that touched an author's
	// comments on a site (decisions, edits, replies), newest first.
	AuthorAudit(ctx context.Context, siteID string, t SanctionTarget, limit int) ([]*staff.AuditEntry, error)
	// AuthorSanctions lists a site's sanctions (in force or not) that
	// match any of the targets, newest first.
	AuthorSanctions(ctx context.Context, siteID string, targets []SanctionTarget) ([]*comment.Sanction, error)

	// Alerts lists a site's alerts, newest first: only those nobody has
	// dismissed when open is true.
	Alerts(ctx context.Context, siteID string, open bool, limit int) ([]*comment.Alert, error)
	// DismissAlert dismisses an alert of a site, with the audit entry.
	// Returns comment.ErrNotFound.
	DismissAlert(ctx context.Context, siteID string, id int64, at time.Time, by string, audit *staff.AuditEntry) error
}

// SanctionTarget names the comments of one reader on a site: those with a
// log-in identity, an email address, an address at a domain (or its
// subdomains), or an address hash. Exactly one field is set. Name (an
// anonymous guest's) serves an author's history only: sanctions never
// match a name anyone can type.
type SanctionTarget struct {
	SiteID      string
	Identity    string
	Email       string
	EmailDomain string
	IPHash      string
	Name        string
}

// ArticleFilter selects a site's articles for the desk.
type ArticleFilter struct {
	SiteID string
	// Order is "activity" (latest comment first, the default) or "new"
	// (newest article first).
	Order string
	// Text matches articles whose title or address contains it.
	Text string
	// ThreadID, when set, selects that one article.
	ThreadID string
	Cursor   *Cursor
	Limit    int // default 50, at most 500
}

// CommunityRows are the community controls' rows of a dump (store.Row
// embeds them): what staff set and readers reported. Alerts and readers'
// notices are runtime state and are left out, like sessions.
type CommunityRows struct {
	Sanction  *comment.Sanction     `json:"sanction,omitempty"`
	Community *SiteCommunity        `json:"community,omitempty"`
	Controls  *comment.PageControls `json:"controls,omitempty"`
	Featured  *Featured             `json:"featured,omitempty"`
	Note      *comment.Note         `json:"note,omitempty"`
	Report    *comment.Report       `json:"report,omitempty"`
}

// SiteCommunity is a site's community settings and rules, as dumped.
type SiteCommunity struct {
	SiteID   string             `json:"site"`
	Settings *comment.Community `json:"settings"`
	Rules    *comment.SiteRules `json:"rules"`
}

// Featured is one featured comment, as dumped.
type Featured struct {
	CommentID string    `json:"comment"`
	ThreadID  string    `json:"thread"`
	Created   time.Time `json:"created"`
}
