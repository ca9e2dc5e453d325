package service

import (
	"context"
	"log/slog"

	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/notify"
)

// Emailing the authors of held comments what became of them (a site's
// community setting EmailDecisions; package notify decides who may be
// emailed and writes the email): the language it is written in, and the
// page behind the link in every such email that stops them.

// rememberHeldLang keeps the language a held comment's author wrote in,
// for the email about the decision, on sites that send one. Only the
// language is kept (the address is the comment's); losing it costs the
// email its language, not the email, so a failure is only logged.
func (s *Service) rememberHeldLang(ctx context.Context, site *comment.Site, c *comment.Comment, lang string) {
	if c.Status != comment.StatusPending || c.Author.Email == "" || lang == "" || !s.EmailsDecisions(ctx, site.ID) {
		return
	}
	if err := s.store.SetHeldLang(ctx, c.ID, i18n.Get(lang).Lang(), s.now().UTC()); err != nil {
		s.log.Warn("a held comment's language was not kept", slog.String("site", site.ID), slog.String("err", err.Error()))
	}
}

// EmailsDecisions reports whether a site emails held comments' authors
// what became of them (its community setting, and a mail server).
func (s *Service) EmailsDecisions(ctx context.Context, siteID string) bool {
	if !s.Notifies() {
		return false
	}
	snap, err := s.book(ctx, siteID)
	return err == nil && snap.settings.EmailDecisions
}

// DecisionMailPage is what the link in an email about held comments
// opens: the site, and whether its emails to the link's address are
// stopped.
type DecisionMailPage struct {
	Site    *comment.Site
	Token   notify.Token
	Stopped bool
}

// openDecisionLink checks a link made for PurposeDecisions.
func (s *Service) openDecisionLink(ctx context.Context, tok string) (*DecisionMailPage, error) {
	if s.notify == nil || s.notify.Links == nil {
		return nil, linkError(notify.ErrBadLink)
	}
	t, err := s.notify.Links.Open(notify.PurposeDecisions, tok, s.now())
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
	stopped, err := s.store.DecisionMailStopped(ctx, site.ID, t.EmailKey)
	if err != nil {
		return nil, err
	}
	return &DecisionMailPage{Site: site, Token: t, Stopped: stopped}, nil
}

// DecisionMailLink opens the link, for the page that offers its button.
func (s *Service) DecisionMailLink(ctx context.Context, tok string) (*DecisionMailPage, error) {
	return s.openDecisionLink(ctx, tok)
}

// SetDecisionMail stops (or, with stop false, restarts) the link's
// site's emails to the link's address about its held comments. Stopping
// is what RFC 8058's one-click POST does: no page, no confirmation. The
// emails waiting in the outbox are dropped when their turn comes.
func (s *Service) SetDecisionMail(ctx context.Context, tok string, stop bool) (*DecisionMailPage, error) {
	p, err := s.openDecisionLink(ctx, tok)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetDecisionMail(ctx, p.Site.ID, p.Token.EmailKey, stop, s.now().UTC()); err != nil {
		return nil, err
	}
	p.Stopped = stop
	return p, nil
}
