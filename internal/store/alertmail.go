package store

import (
	"context"
	"time"

	"parley/internal/comment"
)

// EventSurge is the outbox event of a surge alert (comment.Alert): the
// surge guard started on an article. Webhooks may subscribe to it; staff
// members who asked for email alerts of the site are emailed.
const EventSurge = "page.surge"

// AlertMailStore keeps what the emails of the community controls need
// beyond the outbox: the alerts they are about, the language a held
// comment's author wrote in, and the addresses that asked a site to stop
// emailing them about their held comments.
type AlertMailStore interface {
	// AlertsByID returns alerts by id, with their articles' titles and
	// addresses; ids of none are left out.
	AlertsByID(ctx context.Context, ids []int64) (map[int64]*comment.Alert, error)

	// SetHeldLang records the language of a held comment's author (at
	// the time given), replacing one recorded before. Returns
	// comment.ErrNotFound if there is no such comment.
	SetHeldLang(ctx context.Context, commentID, lang string, at time.Time) error
	// HeldLangs returns the languages recorded for these comments, by id.
	HeldLangs(ctx context.Context, ids []string) (map[string]string, error)
	// PruneHeldLangs deletes the languages recorded before t of comments
	// no longer held, and returns how many.
	PruneHeldLangs(ctx context.Context, before time.Time) (int, error)

	// SetDecisionMail records that an address (by its key) wants (stop
	// false) or no longer wants (stop true) a site's emails about its
	// held comments. Returns comment.ErrNotFound if there is no such site.
	SetDecisionMail(ctx context.Context, siteID, emailKey string, stop bool, at time.Time) error
	// DecisionMailStopped reports whether an address asked a site to stop
	// emailing it about its held comments.
	DecisionMailStopped(ctx context.Context, siteID, emailKey string) (bool, error)
}

// DecisionStop is an address, by its key, that asked a site to stop
// emailing it about its held comments, as a dump carries it. The key is
// the server's (notify.Links.EmailKey): it names the same address on a
// server with the same notification key, which a whole-server dump
// carries.
type DecisionStop struct {
	SiteID   string    `json:"site"`
	EmailKey string    `json:"email_key"`
	Created  time.Time `json:"created"`
}
