package service

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"parley/internal/auth"
	"parley/internal/comment"
	"parley/internal/mail"
	"parley/internal/notify"
	"parley/internal/ratelimit"
	"parley/internal/spam"
	"parley/internal/staff"
	"parley/internal/store"
)

// A reader's own requests for their data: by a link emailed to their
// address, or, logged in, from the widget. Both end in a grant: a sealed
// token the pages' forms carry (never a link), good until the link's
// expiry, that downloads the reader's data and erases it once.

// DataLinkLimit bounds the links a client's network may ask for.
var DataLinkLimit = ratelimit.Limit{Burst: 5, Every: 10 * time.Minute}

// DataGrantLimit bounds the grants a logged-in reader may ask for.
var DataGrantLimit = ratelimit.Limit{Burst: 5, Every: 10 * time.Minute}

// DataGrant is a reader's standing to see and erase their data.
type DataGrant struct {
	Site *comment.Site
	// SiteOnly: the grant reaches the reader's data on Site alone. A
	// logged-in reader's grant is; an emailed link's reaches every site.
	// A session belongs to one site, and its token lives in that site's
	// pages, where any of the site's scripts can read it: it must not
	// open the reader's data on the server's other sites.
	SiteOnly bool
	Email    string // "" for a log-in without a confirmed address
	Identity string // "" for an emailed link
	Lang     string
	Expires  time.Time
	// Token is the sealed grant the page's forms send back.
	Token string
	nonce string
}

// RequestDataLink emails a link to the reader's data to addr: the same
// answer, and the same work, whether or not the address has any data on
// the server, so the form tells nobody whether it has. Bad input is
// refused; a client asking too often gets a *spam.RateLimitError.
func (s *Service) RequestDataLink(ctx context.Context, siteID, addr, lang, ip string) error {
	site, err := s.Site(ctx, siteID)
	if err != nil {
		return err
	}
	if !s.Notifies() {
		return &comment.ValidationError{Field: "email", Code: "no_mail", Message: "This server cannot send email; ask the site's owner for your data."}
	}
	email, err := mail.NormalizeAddress(addr)
	if err != nil {
		return &comment.ValidationError{Field: "email", Code: "invalid_email", Message: "Type the email address you comment with, such as ana@example.org."}
	}
	if ip != "" {
		ok, retry, err := s.buckets().Take(ctx, "data-link:"+comment.IPNetwork(ip), DataLinkLimit, s.now())
		if err != nil {
			return err
		}
		if !ok {
			return &spam.RateLimitError{Key: "data_link", RetryAfter: retry}
		}
	}
	// One link a minute to an address at most: a second ask within it
	// adds nothing (the message's key is taken), and says the same.
	if _, err := s.store.Enqueue(ctx, s.notify.Notifier.PrivacyMessage(site.ID, email, lang, s.now()), nil); err != nil {
		return err
	}
	s.wake()
	return nil
}

// dataLinkError is a link that cannot be used: bad, expired or used.
func dataLinkError(err error) error {
	if errors.Is(err, comment.ErrConflict) {
		return &comment.ValidationError{Field: "t", Code: "used_link", Message: "This link was used already. Ask for a new one."}
	}
	return linkError(err)
}

// openDataLink checks a link to a reader's data without using it.
func (s *Service) openDataLink(tok string) (notify.Token, error) {
	if s.notify == nil || s.notify.Links == nil {
		return notify.Token{}, linkError(notify.ErrBadLink)
	}
	t, err := s.notify.Links.Open(notify.PurposePrivacy, tok, s.now())
	if err != nil {
		return t, linkError(err)
	}
	if t.Site == "" || t.EmailKey == "" || t.Nonce == "" || t.Expires == 0 {
		return t, linkError(notify.ErrBadLink)
	}
	return t, nil
}

// DataLinkSite returns the site of a link to a reader's data, checking
// the link (not using it): the page the link opens.
func (s *Service) DataLinkSite(ctx context.Context, tok string) (*comment.Site, error) {
	t, err := s.openDataLink(tok)
	if err != nil {
		return nil, err
	}
	return s.Site(ctx, t.Site)
}

// UseDataLink spends a link to a reader's data and returns the grant.
// A link is good once, until its expiry, for the address it was sent to.
func (s *Service) UseDataLink(ctx context.Context, tok string) (*DataGrant, error) {
	t, err := s.openDataLink(tok)
	if err != nil {
		return nil, err
	}
	site, err := s.Site(ctx, t.Site)
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseInt(t.Nonce, 10, 64)
	if err != nil {
		return nil, linkError(notify.ErrBadLink)
	}
	m, err := s.store.OutboxMessage(ctx, id)
	if errors.Is(err, comment.ErrNotFound) {
		return nil, linkError(notify.ErrBadLink)
	}
	if err != nil {
		return nil, err
	}
	email, ok := notify.PrivacyAddress(m, t.EmailKey)
	if !ok || m.SiteID != site.ID {
		return nil, linkError(notify.ErrBadLink)
	}
	expires := time.Unix(t.Expires, 0)
	if err := s.store.UseOnce(ctx, "data-link:"+t.Nonce, expires); err != nil {
		return nil, dataLinkError(err)
	}
	return s.grant(site, email, "", t.Lang, "l"+t.Nonce, expires), nil
}

// SessionGrant is the grant of a logged-in reader: their log-in, and the
// address their provider confirmed, if any.
func (s *Service) SessionGrant(ctx context.Context, siteID string, sess *auth.Session, lang string) (*DataGrant, error) {
	site, err := s.Site(ctx, siteID)
	if err != nil {
		return nil, err
	}
	if s.notify == nil || s.notify.Links == nil {
		return nil, comment.ErrUnavailable
	}
	email := ""
	if sess.Identity.EmailVerified {
		email = strings.ToLower(sess.Identity.Email)
	}
	// A few grants per log-in and hour: each may erase, and an erasure
	// rewrites the SQLite file.
	ok, retry, err := s.buckets().Take(ctx, "data-grant:"+sess.Identity.Key(), DataGrantLimit, s.now())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &spam.RateLimitError{Key: "data_grant", RetryAfter: retry}
	}
	return s.grant(site, email, sess.Identity.Key(), lang, sessionNonce+comment.NewID(s.now()), s.now().Add(notify.PrivacyTTL)), nil
}

// sessionNonce starts the nonce of a logged-in reader's grant (an emailed
// link's starts with "l").
const sessionNonce = "s"

func sessionGrant(nonce string) bool { return strings.HasPrefix(nonce, sessionNonce) }

func (s *Service) grant(site *comment.Site, email, identity, lang, nonce string, expires time.Time) *DataGrant {
	g := &DataGrant{Site: site, SiteOnly: sessionGrant(nonce), Email: email, Identity: identity, Lang: lang, Expires: expires, nonce: nonce}
	g.Token = s.notify.Links.Seal(notify.PurposePrivacyGrant, notify.Token{Site: site.ID, Email: email, Identity: identity, Lang: lang,
		Nonce: nonce, Expires: expires.Unix()})
	return g
}

// OpenGrant checks a grant the page's form sent back.
func (s *Service) OpenGrant(ctx context.Context, tok string) (*DataGrant, error) {
	if s.notify == nil || s.notify.Links == nil {
		return nil, linkError(notify.ErrBadLink)
	}
	t, err := s.notify.Links.Open(notify.PurposePrivacyGrant, tok, s.now())
	if err != nil {
		return nil, linkError(err)
	}
	if t.Site == "" || t.Nonce == "" || t.Email == "" && t.Identity == "" {
		return nil, linkError(notify.ErrBadLink)
	}
	site, err := s.Site(ctx, t.Site)
	if err != nil {
		return nil, err
	}
	return &DataGrant{Site: site, SiteOnly: sessionGrant(t.Nonce), Email: t.Email, Identity: t.Identity, Lang: t.Lang, Expires: time.Unix(t.Expires, 0), Token: tok, nonce: t.Nonce}, nil
}

// request is whose data a grant opens, and where.
func (g *DataGrant) request() PrivacyRequest {
	r := PrivacyRequest{Email: g.Email, Identity: g.Identity}
	if g.SiteOnly {
		r.SiteID = g.Site.ID
	}
	return r
}

// readerActor is the reader acting on their own data, in the audit log.
var readerActor = Actor{Kind: staff.ActorSystem, Name: "reader's own request"}

// ReaderExport writes the grant's reader's data, on every site.
func (s *Service) ReaderExport(ctx context.Context, g *DataGrant, w io.Writer) error {
	subj, err := s.subject(ctx, g.request())
	if err != nil {
		return err
	}
	if err := s.store.AddAudit(ctx, readerActor.entry(g.Site.ID, "privacy.export", s.privacyTarget(subj))); err != nil {
		return err
	}
	return s.writeExport(ctx, subj, w)
}

// ReaderErase erases the grant's reader's data on every site, once.
func (s *Service) ReaderErase(ctx context.Context, g *DataGrant) (store.EraseCounts, error) {
	subj, err := s.subject(ctx, g.request())
	if err != nil {
		return store.EraseCounts{}, err
	}
	if err := s.store.UseOnce(ctx, "data-erase:"+g.nonce, g.Expires); err != nil {
		return store.EraseCounts{}, dataLinkError(err)
	}
	return s.erase(ctx, readerActor, subj, false)
}
