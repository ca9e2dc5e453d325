package store

import (
	"context"
	"time"

	"parley/internal/staff"
)

// PrivacyStore finds and erases what the store keeps about one reader,
// for their right of access and their right to erasure.
type PrivacyStore interface {
	// ExportReader calls fn with every record the store keeps about the
	// reader s names, from one consistent snapshot, grouped by kind in
	// the order of the Record* constants. Rows are read as fn is called,
	// never gathered first, so a reader with 100,000 comments costs the
	// memory of one.
	ExportReader(ctx context.Context, s *PrivacySubject, fn func(kind string, v any) error) error
	// EraseReader erases the reader s names in one transaction, and then
	// (SQLite) rewrites what the database files still held of it. See
	// EraseCounts for what goes; anonymise names the sites (by id) whose
	// comments keep their text without their author. audit, if not nil,
	// makes the audit entry written in the same transaction from what
	// the erasure counted.
	EraseReader(ctx context.Context, s *PrivacySubject, anonymise map[string]bool, audit func(EraseCounts) *staff.AuditEntry) (EraseCounts, error)
	// ErasedAuthors returns the keys (PrivacySubject.ErasedKeys) of the
	// readers erased on a site or on every site, each with the time of
	// its latest erasure: what an import leaves out.
	ErasedAuthors(ctx context.Context, siteID string) (map[string]time.Time, error)
}

// PrivacySubject names a reader: by email address, log-in identity or
// both, on one site or (SiteID "") every site. The keyed hashes under
// which the store keeps the reader's other rows are the caller's to
// compute, since only it holds the keys.
type PrivacySubject struct {
	SiteID   string
	Email    string // lower-case; "" for none
	Identity string // "provider:subject"; "" for none
	// EmailKey is the address's key in subscriptions and the outbox's
	// streams (notify.Links.EmailKey); VerifiedKey its key among the
	// verified addresses (auth.VerifiedEmails).
	EmailKey, VerifiedKey string
	// AvatarKeys are the keys of the reader's cached pictures.
	AvatarKeys []string
	// Reporters are the reader's reporter keys (comment.Report.Reporter).
	Reporters []string
	// Authors are the reader's author keys (AuthorKey), under which
	// moderators' notes are kept.
	Authors []string
	// ErasedKeys are keyed hashes of the reader's address and log-in,
	// which the erasure keeps (ErasedAuthors) so that an import from
	// another system, whose comment ids differ from the erased ones,
	// leaves the reader's comments out too.
	ErasedKeys []string
}

// The kinds of record ExportReader produces, in its order.
const (
	RecordComment      = "comments"
	RecordLike         = "likes"
	RecordSubscription = "subscriptions"
	RecordSession      = "sessions"
	RecordReport       = "reports"
	RecordNotice       = "notices"
	RecordSanction     = "sanctions"
	RecordNote         = "author_notes"
	RecordVerified     = "verified_emails"
	RecordAvatar       = "avatars"
)

// RecordKinds lists the Record* kinds in ExportReader's order.
var RecordKinds = []string{RecordComment, RecordLike, RecordSubscription, RecordSession, RecordReport,
	RecordNotice, RecordSanction, RecordNote, RecordVerified, RecordAvatar}

// ExportedComment is one of the reader's comments with its page.
type ExportedComment struct {
	ID        string    `json:"id"`
	Site      string    `json:"site"`
	PageKey   string    `json:"page"`
	PageURL   string    `json:"page_url"`
	PageTitle string    `json:"page_title,omitempty"`
	Parent    string    `json:"parent,omitempty"`
	Name      string    `json:"name"`
	Email     string    `json:"email,omitempty"`
	Website   string    `json:"website,omitempty"`
	Identity  string    `json:"identity,omitempty"`
	Markdown  string    `json:"markdown"`
	Status    string    `json:"status"`
	Created   time.Time `json:"created"`
	Edited    time.Time `json:"edited,omitzero"`
	Likes     int       `json:"likes"`
	IPHash    string    `json:"ip_hash,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
}

// ExportedLike is a like given from a browser the reader commented from.
type ExportedLike struct {
	Comment string    `json:"comment"`
	Site    string    `json:"site"`
	Created time.Time `json:"created"`
}

// ExportedSubscription is a subscription to an article's comments.
type ExportedSubscription struct {
	Site      string    `json:"site"`
	PageKey   string    `json:"page"`
	Email     string    `json:"email"`
	Scope     string    `json:"scope"`
	Created   time.Time `json:"created"`
	Confirmed time.Time `json:"confirmed,omitzero"`
}

// ExportedSession is a log-in session.
type ExportedSession struct {
	Site     string    `json:"site,omitempty"`
	Identity string    `json:"identity"`
	Name     string    `json:"name,omitempty"`
	Email    string    `json:"email,omitempty"`
	Avatar   string    `json:"avatar_url,omitempty"`
	Profile  string    `json:"profile_url,omitempty"`
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires"`
}

// ExportedReport is a report the reader made.
type ExportedReport struct {
	Site    string    `json:"site"`
	Comment string    `json:"comment"`
	Reason  string    `json:"reason"`
	Text    string    `json:"text,omitempty"`
	Created time.Time `json:"created"`
}

// ExportedNotice is what the reader was told about a held comment.
type ExportedNotice struct {
	Site     string    `json:"site"`
	Comment  string    `json:"comment"`
	Approved bool      `json:"approved"`
	Reason   string    `json:"reason,omitempty"`
	Created  time.Time `json:"created"`
}

// ExportedSanction is a sanction on the reader's address or log-in.
type ExportedSanction struct {
	Site    string    `json:"site"`
	Kind    string    `json:"kind"`
	Match   string    `json:"match"`
	Value   string    `json:"value"`
	Message string    `json:"message,omitempty"`
	Created time.Time `json:"created"`
	Until   time.Time `json:"until,omitzero"`
	Lifted  time.Time `json:"lifted,omitzero"`
}

// ExportedNote is a moderator's note on the reader.
type ExportedNote struct {
	Site    string    `json:"site"`
	Text    string    `json:"text"`
	Created time.Time `json:"created"`
}

// ExportedVerified says when the reader's address was confirmed.
type ExportedVerified struct {
	Verified time.Time `json:"verified"`
}

// ExportedAvatar is a cached copy of the reader's picture.
type ExportedAvatar struct {
	ContentType string    `json:"content_type"`
	Data        []byte    `json:"data"`
	Updated     time.Time `json:"updated"`
}

// EraseCounts says what an erasure removed.
type EraseCounts struct {
	Deleted       int `json:"deleted"`    // comments removed (their row, or their text where replies hang on them)
	Anonymised    int `json:"anonymised"` // comments kept without their author
	Likes         int `json:"likes"`
	Subscriptions int `json:"subscriptions"`
	Sessions      int `json:"sessions"`
	Reports       int `json:"reports"`
	Other         int `json:"other"` // notices, sanctions, notes, verified addresses, pictures, outbox messages
}
