package service

import (
	"context"
	"errors"
	"time"

	"parley/internal/comment"
	"parley/internal/notify"
	"parley/internal/staff"
	"parley/internal/store"
)

// Staff members' alerts of held comments, and the one-click actions of
// those emails.

// LinkActor is a staff member acting through a signed link in an email:
// what they may do is what their role allows now, and the audit log
// names them, as having acted by link.
func LinkActor(m *staff.Member) Actor {
	return Actor{Kind: staff.ActorLink, ID: m.Account.ID, Name: m.Account.Email, member: m}
}

// EmailAlertEvery are the intervals a staff member may choose between alerts
// (0: one email per held comment as it comes).
var EmailAlertEvery = []time.Duration{0, 15 * time.Minute, time.Hour, 24 * time.Hour}

// SetAlert turns a staff member's email alerts of a site's held comments
// on (at most one email per every) or, with every < 0, off, in their
// language. A member sets their own; site admins and owners may set
// anyone's on their site.
func (s *Service) SetEmailAlert(ctx context.Context, a Actor, siteID, accountID string, every time.Duration, lang string) error {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return err
	}
	if accountID != a.ID || a.Kind != staff.ActorStaff && a.Kind != staff.ActorLink {
		if err := a.can(siteID, staff.RoleAdmin); err != nil {
			return err
		}
	}
	m, err := s.store.Account(ctx, accountID)
	if err != nil {
		return err
	}
	if !m.RoleOn(siteID).AtLeast(staff.RoleModerator) {
		return comment.ErrNotFound
	}
	if every >= 0 {
		ok := false
		for _, e := range EmailAlertEvery {
			ok = ok || e == every
		}
		if !ok {
			return comment.Invalid("every", "Choose each comment, every 15 minutes, every hour or once a day.")
		}
		if !s.Notifies() {
			return &comment.ValidationError{Field: "every", Code: "notify_unavailable", Message: "This server has no mail server configured, so it cannot send alerts."}
		}
	}
	if len(lang) > 16 {
		lang = ""
	}
	action, after := "alert.on", map[string]string{"every": every.String(), "lang": lang}
	if every < 0 {
		action, after = "alert.off", nil
	}
	e := a.entry(siteID, action, "account:"+accountID)
	e.After = auditJSON(after)
	return s.store.SetEmailAlert(ctx, &store.EmailAlert{AccountID: accountID, SiteID: siteID, Every: every, Lang: lang}, e)
}

// EmailAlerts returns a staff member's email alerts, by site.
func (s *Service) EmailAlerts(ctx context.Context, a Actor) (map[string]*store.EmailAlert, error) {
	if a.ID == "" {
		return nil, nil
	}
	list, err := s.store.EmailAlerts(ctx, "", a.ID)
	if err != nil {
		return nil, err
	}
	out := map[string]*store.EmailAlert{}
	for _, al := range list {
		out[al.SiteID] = al
	}
	return out, nil
}

// ActionPage is what a moderator's action link opens: the comment, the
// decision the link makes, and who makes it.
type ActionPage struct {
	Card     *Card
	Decision Decision
	Member   *staff.Member
	Site     *comment.Site
	Lang     string
	Expires  time.Time
}

// openAction checks an action link: made by Parley, not expired, for a
// staff member who may still moderate the site, about one of its
// comments.
func (s *Service) openAction(ctx context.Context, tok string) (*ActionPage, notify.Token, Actor, error) {
	if s.notify == nil {
		return nil, notify.Token{}, Actor{}, linkError(notify.ErrBadLink)
	}
	t, err := s.notify.Links.Open(notify.PurposeAction, tok, s.now())
	if err != nil {
		return nil, t, Actor{}, linkError(err)
	}
	d, err := ParseDecision(t.Decision)
	if err != nil || (d != Approve && d != Spam && d != Delete) || t.Nonce == "" || t.Expires == 0 {
		return nil, t, Actor{}, linkError(notify.ErrBadLink)
	}
	m, err := s.store.Account(ctx, t.Account)
	if errors.Is(err, comment.ErrNotFound) || err == nil && m.Account.Disabled {
		return nil, t, Actor{}, comment.ErrForbidden
	}
	if err != nil {
		return nil, t, Actor{}, err
	}
	a := LinkActor(m)
	card, err := s.Card(ctx, a, t.Site, t.Comment)
	if err != nil {
		return nil, t, Actor{}, err
	}
	site, err := s.store.Site(ctx, t.Site)
	if err != nil {
		return nil, t, Actor{}, err
	}
	return &ActionPage{Card: card, Decision: d, Member: m, Site: site, Lang: t.Lang, Expires: time.Unix(t.Expires, 0)}, t, a, nil
}

// ActionLink opens a moderator's one-click action link, for the page
// that asks them to confirm (a link scanner opening it changes nothing).
func (s *Service) ActionLink(ctx context.Context, tok string) (*ActionPage, error) {
	p, _, _, err := s.openAction(ctx, tok)
	return p, err
}

// Act makes the decision of an action link: once (every link of that
// comment in that email is spent with it), as the staff member it was
// made for, audited as theirs. A link used before is a
// *comment.ValidationError with code link_used.
func (s *Service) Act(ctx context.Context, tok string) (*ActionPage, error) {
	p, t, a, err := s.openAction(ctx, tok)
	if err != nil {
		return nil, err
	}
	if err := s.store.UseOnce(ctx, "act:"+t.Nonce, time.Unix(t.Expires, 0)); err != nil {
		if errors.Is(err, comment.ErrConflict) {
			return p, &comment.ValidationError{Field: "t", Code: "link_used", Message: "This link was used already."}
		}
		return nil, err
	}
	changed, err := s.Decide(ctx, a, p.Site.ID, []string{p.Card.Comment.ID}, p.Decision)
	if err != nil {
		return nil, err
	}
	if len(changed) == 1 {
		p.Card.Comment = changed[0]
	} else {
		p.Card.Comment.Status = p.Decision.Status()
	}
	return p, nil
}

// AlertsOffLink opens an alert's stop link, for the page that offers
// the button, and returns the site it is about.
func (s *Service) AlertsOffLink(ctx context.Context, tok string) (*comment.Site, error) {
	if s.notify == nil {
		return nil, linkError(notify.ErrBadLink)
	}
	t, err := s.notify.Links.Open(notify.PurposeAlertsOff, tok, s.now())
	if err != nil {
		return nil, linkError(err)
	}
	return s.store.Site(ctx, t.Site)
}

// AlertsOff turns off a staff member's alerts of a site from the link in
// every alert (RFC 8058 one-click, or the page's button).
func (s *Service) AlertsOff(ctx context.Context, tok string) (*comment.Site, string, error) {
	if s.notify == nil {
		return nil, "", linkError(notify.ErrBadLink)
	}
	t, err := s.notify.Links.Open(notify.PurposeAlertsOff, tok, s.now())
	if err != nil {
		return nil, "", linkError(err)
	}
	m, err := s.store.Account(ctx, t.Account)
	if err != nil {
		return nil, "", err
	}
	site, err := s.store.Site(ctx, t.Site)
	if err != nil {
		return nil, "", err
	}
	a := LinkActor(m)
	if err := s.SetEmailAlert(ctx, a, t.Site, m.Account.ID, -1, ""); err != nil {
		return nil, "", err
	}
	return site, t.Lang, nil
}
