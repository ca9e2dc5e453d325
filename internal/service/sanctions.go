package service

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"parley/internal/comment"
	"parley/internal/staff"
	"parley/internal/store"
)

// Sanctions: what a site's staff do about a reader — warn them, hold all
// their comments, suspend them until a date, or ban them (by log-in,
// email address or domain, IP range, or the address of one of their
// comments), optionally removing their comments in the same action, which
// lifting the sanction undoes.

// NewSanction is a sanction as staff give it.
type NewSanction struct {
	Kind  comment.SanctionKind
	Match comment.MatchKind
	// Value is what it matches (a log-in, an address, a domain, an IP or
	// range); with FromComment, it is taken from that comment instead.
	Value string
	// FromComment names a comment whose author is sanctioned: by their
	// log-in, email, email domain or the comment's address (Match says
	// which; "" picks the log-in, else the email, else the address).
	FromComment string
	Until       time.Time // zero: no end (a suspension needs one)
	Reason      string    // for staff
	Message     string    // a warning's words to the reader
	// RemoveComments also removes the reader's published and held
	// comments (bans and suspensions), in the same undoable action.
	RemoveComments bool
}

// Limits on sanctions.
const (
	MaxSanctionReason  = 500
	MaxWarningMessage  = 1000
	MaxSanctionsActive = 50_000
)

// AddSanction sanctions a reader on a site: moderators of the site and up
// may. Returns the sanction as stored (with how many comments it removed).
func (s *Service) AddSanction(ctx context.Context, a Actor, siteID string, n NewSanction) (*comment.Sanction, error) {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return nil, err
	}
	site, err := s.store.Site(ctx, siteID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if n.Kind == "" {
		n.Kind = comment.SanctionBan
	}
	if _, err := comment.ParseSanctionKind(string(n.Kind)); err != nil {
		return nil, err
	}
	sn := &comment.Sanction{ID: comment.NewID(now), SiteID: siteID, Kind: n.Kind, Created: now, Until: n.Until.UTC(),
		Reason: strings.TrimSpace(n.Reason), Message: strings.TrimSpace(n.Message), Actor: a.Name}
	if n.Until.IsZero() {
		sn.Until = time.Time{}
	}
	switch {
	case !sn.Until.IsZero() && !sn.Until.After(now):
		return nil, &comment.ValidationError{Field: "until", Code: "past_until", Message: "The end date must be in the future."}
	case n.Kind == comment.SanctionSuspend && sn.Until.IsZero():
		return nil, comment.Missing("until", "A suspension needs an end date; a ban may have none.")
	case n.Kind == comment.SanctionWarn && sn.Message == "":
		return nil, comment.Missing("message", "Write the message the reader will see.")
	case utf8.RuneCountInString(sn.Message) > MaxWarningMessage:
		return nil, comment.Invalid("message", fmt.Sprintf("The message has at most %d characters.", MaxWarningMessage))
	case utf8.RuneCountInString(sn.Reason) > MaxSanctionReason || strings.ContainsAny(sn.Reason, "\x00"):
		return nil, comment.Invalid("reason", fmt.Sprintf("The reason has at most %d characters.", MaxSanctionReason))
	case n.RemoveComments && !n.Kind.Refuses():
		return nil, comment.Invalid("remove_comments", "Only a ban or a suspension removes the reader's comments.")
	}
	if n.FromComment != "" {
		c, err := s.Comment(ctx, siteID, n.FromComment)
		if err != nil {
			return nil, err
		}
		if n.Match, n.Value, err = matchOf(c, n.Match); err != nil {
			return nil, err
		}
	}
	v, err := comment.NormalizeMatch(n.Match, n.Value)
	if err != nil {
		return nil, err
	}
	sn.Match, sn.Value = n.Match, v
	var remove *store.SanctionTarget
	if n.RemoveComments {
		if remove, err = s.targetOf(sn); err != nil {
			return nil, err
		}
	}
	active, err := s.store.Sanctions(ctx, siteID, true, now)
	if err != nil {
		return nil, err
	}
	if len(active) >= MaxSanctionsActive {
		return nil, comment.Invalid("kind", fmt.Sprintf("A site has at most %d sanctions in force; lift old ones first.", MaxSanctionsActive))
	}
	e := a.entry(siteID, "sanction."+string(sn.Kind), "sanction:"+sn.ID)
	e.After = auditJSON(s.sanctionAudit(a, site, sn, n.RemoveComments))
	if err := s.store.AddSanction(ctx, sn, remove, e); err != nil {
		return nil, err
	}
	s.forgetBook(siteID)
	if sn.Removed > 0 {
		s.threads.reset()
	}
	return sn, nil
}

// matchOf is how a sanction made from a comment matches its author.
func matchOf(c *comment.Comment, m comment.MatchKind) (comment.MatchKind, string, error) {
	if m == "" {
		switch {
		case c.Author.Identity != "":
			m = comment.MatchIdentity
		case c.Author.Email != "":
			m = comment.MatchEmail
		default:
			m = comment.MatchIPHash
		}
	}
	var v string
	switch m {
	case comment.MatchIdentity:
		v = c.Author.Identity
	case comment.MatchEmail:
		v = c.Author.Email
	case comment.MatchEmailDomain:
		if at := strings.LastIndexByte(c.Author.Email, '@'); at >= 0 {
			v = c.Author.Email[at+1:]
		}
	case comment.MatchIPHash, comment.MatchIP:
		m, v = comment.MatchIPHash, c.IPHash
	}
	if v == "" {
		return m, "", comment.Invalid("match", "This comment's author has no "+map[comment.MatchKind]string{
			comment.MatchIdentity: "log-in", comment.MatchEmail: "email address", comment.MatchEmailDomain: "email address", comment.MatchIPHash: "recorded address",
		}[m]+" to sanction them by.")
	}
	return m, v, nil
}

// targetOf names the comments a ban or suspension removes. Parley keeps
// no addresses, only their keyed hashes, so an IP sanction finds the
// comments of one address, never of a range.
func (s *Service) targetOf(sn *comment.Sanction) (*store.SanctionTarget, error) {
	t := &store.SanctionTarget{SiteID: sn.SiteID}
	switch sn.Match {
	case comment.MatchIdentity:
		t.Identity = sn.Value
	case comment.MatchEmail:
		t.Email = sn.Value
	case comment.MatchEmailDomain:
		t.EmailDomain = sn.Value
	case comment.MatchIPHash:
		t.IPHash = sn.Value
	case comment.MatchIP:
		p, err := comment.ParsePrefix(sn.Value)
		if err != nil {
			return nil, err
		}
		if p.Bits() != p.Addr().BitLen() {
			return nil, comment.Invalid("remove_comments", "Parley keeps no IP addresses, so it cannot find the comments of a range; ban a single address (or ban from a comment's card) to remove them.")
		}
		t.IPHash = s.sign.Hash("ip", p.Addr().String(), 12)
	}
	return t, nil
}

// sanctionAudit is a sanction as the audit log records it: the address
// or address hash only for those who may see them.
func (s *Service) sanctionAudit(a Actor, site *comment.Site, sn *comment.Sanction, remove bool) map[string]any {
	m := map[string]any{"kind": sn.Kind, "match": sn.Match, "value": maskValue(sn, a.SeesPrivate(site)), "reason": sn.Reason}
	if !sn.Until.IsZero() {
		m["until"] = sn.Until.Format(time.RFC3339)
	}
	if sn.Message != "" {
		m["message"] = sn.Message
	}
	if remove {
		m["remove_comments"] = true
	}
	return m
}

// maskValue is a sanction's match as a viewer may see it: staff who may
// not see authors' emails and addresses (see Actor.SeesPrivate) see them
// shortened.
func maskValue(sn *comment.Sanction, private bool) string {
	if private {
		return sn.Value
	}
	switch sn.Match {
	case comment.MatchEmail:
		if at := strings.LastIndexByte(sn.Value, '@'); at > 0 {
			return sn.Value[:1] + "…" + sn.Value[at:]
		}
	case comment.MatchIP, comment.MatchIPHash:
		if len(sn.Value) > 6 {
			return sn.Value[:4] + "…"
		}
	}
	return sn.Value
}

// Sanctions lists a site's sanctions, newest first: those in force, or
// (all) every one ever made.
func (s *Service) Sanctions(ctx context.Context, a Actor, siteID string, all bool) ([]*comment.Sanction, error) {
	site, err := s.DeskSite(ctx, a, siteID)
	if err != nil {
		return nil, err
	}
	list, err := s.store.Sanctions(ctx, siteID, !all, s.now())
	if err != nil {
		return nil, err
	}
	return maskAll(list, a.SeesPrivate(site)), nil
}

func maskAll(list []*comment.Sanction, private bool) []*comment.Sanction {
	if private {
		return list
	}
	out := make([]*comment.Sanction, len(list))
	for i, sn := range list {
		c := *sn
		c.Value = maskValue(sn, false)
		out[i] = &c
	}
	return out
}

// Sanction returns one sanction of a site.
func (s *Service) Sanction(ctx context.Context, a Actor, siteID, id string) (*comment.Sanction, error) {
	site, err := s.DeskSite(ctx, a, siteID)
	if err != nil {
		return nil, err
	}
	sn, err := s.store.Sanction(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	return maskAll([]*comment.Sanction{sn}, a.SeesPrivate(site))[0], nil
}

// LiftSanction ends a sanction before its time; with restore, the
// comments it removed come back (those nobody decided on since).
// Moderators of the site and up may. It returns the sanction and how
// many comments came back.
func (s *Service) LiftSanction(ctx context.Context, a Actor, siteID, id string, restore bool) (*comment.Sanction, int, error) {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return nil, 0, err
	}
	sn, err := s.store.Sanction(ctx, siteID, id)
	if err != nil {
		return nil, 0, err
	}
	sn.Lifted, sn.LiftedBy = s.now().UTC(), a.Name
	e := a.entry(siteID, "sanction.lift", "sanction:"+id)
	e.Before = auditJSON(map[string]any{"kind": sn.Kind, "match": sn.Match})
	e.After = auditJSON(map[string]any{"lifted": true, "restore": restore})
	restored, err := s.store.LiftSanction(ctx, sn, restore, e)
	if err != nil {
		return nil, 0, err
	}
	s.forgetBook(siteID)
	for _, c := range restored {
		s.threads.invalidate(threadGenKey(c.ThreadID))
	}
	return sn, len(restored), nil
}
