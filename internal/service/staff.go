package service

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
)

// Staff accounts, desk sessions and API tokens: who may run which site.

// NewMember is a staff member to add: a new account, or a new role for an
// existing one (matched by email).
type NewMember struct {
	Email    string
	Name     string
	Password string // for a new account; "" lets it log in only through a provider whose verified email is Email
	SiteID   string // "" with RoleOwner
	Role     staff.Role
}

// AddMember gives someone a role, creating their account if it is new.
// Owners may grant any role; a site's admins may grant admin and
// moderator on their site. Returns the member as they are now.
func (s *Service) AddMember(ctx context.Context, a Actor, n NewMember) (*staff.Member, error) {
	email, err := normalizeEmail(n.Email)
	if err != nil {
		return nil, err
	}
	switch n.Role {
	case staff.RoleOwner:
		if !a.IsOwner() {
			return nil, comment.ErrForbidden
		}
		n.SiteID = ""
	case staff.RoleAdmin, staff.RoleModerator:
		if n.SiteID == "" {
			return nil, comment.Missing("site", "Say which site the role is for.")
		}
		if err := a.can(n.SiteID, staff.RoleAdmin); err != nil {
			return nil, err
		}
		if _, err := s.store.Site(ctx, n.SiteID); err != nil {
			return nil, err
		}
	default:
		return nil, comment.Invalid("role", "The role must be owner, admin or moderator.")
	}
	grant := staff.Grant{SiteID: n.SiteID, Role: n.Role}
	existing, err := s.store.AccountByEmail(ctx, email)
	switch {
	case err == nil:
		grant.AccountID = existing.Account.ID
		e := a.entry(n.SiteID, "staff.grant", "account:"+existing.Account.ID)
		e.Before = auditJSON(map[string]string{"email": email, "role": string(existing.RoleOn(n.SiteID))})
		e.After = auditJSON(map[string]string{"email": email, "role": string(n.Role)})
		if err := s.store.SetGrant(ctx, grant, e); err != nil {
			return nil, err
		}
		return s.store.Account(ctx, existing.Account.ID)
	case !errors.Is(err, comment.ErrNotFound):
		return nil, err
	}
	acc := &staff.Account{ID: comment.NewID(s.now()), Email: email, Name: strings.TrimSpace(n.Name), Created: s.now().UTC()}
	if len(acc.Name) > 100 {
		return nil, comment.Invalid("name", "A name has at most 100 characters.")
	}
	if n.Password != "" {
		h, err := staff.HashPassword(n.Password)
		if err != nil {
			return nil, comment.Invalid("password", capitalise(err.Error())+".")
		}
		acc.PasswordHash = h
	}
	grant.AccountID = acc.ID
	e := a.entry(n.SiteID, "staff.add", "account:"+acc.ID)
	e.After = auditJSON(map[string]string{"email": email, "role": string(n.Role)})
	if err := s.store.CreateAccount(ctx, acc, []staff.Grant{grant}, e); err != nil {
		return nil, err
	}
	return &staff.Member{Account: *acc, Grants: []staff.Grant{grant}}, nil
}

// SetRole changes (or, with role "", removes) an account's role on a site.
// Owners' grants are changed by owners only, and nobody removes the last
// owner.
func (s *Service) SetRole(ctx context.Context, a Actor, accountID, siteID string, role staff.Role) error {
	m, err := s.store.Account(ctx, accountID)
	if err != nil {
		return err
	}
	if role == staff.RoleOwner || m.IsOwner() && siteID == "" {
		if !a.IsOwner() {
			return comment.ErrForbidden
		}
		siteID = ""
		if role == "" {
			owners, err := s.owners(ctx)
			if err != nil {
				return err
			}
			if owners <= 1 {
				return comment.Invalid("role", "This is the last owner; make someone else an owner first.")
			}
		}
	} else if err := a.can(siteID, staff.RoleAdmin); err != nil {
		return err
	}
	if role != "" && role != staff.RoleAdmin && role != staff.RoleModerator && role != staff.RoleOwner {
		return comment.Invalid("role", "The role must be owner, admin or moderator.")
	}
	e := a.entry(siteID, "staff.role", "account:"+accountID)
	e.Before = auditJSON(map[string]string{"email": m.Account.Email, "role": string(m.RoleOn(siteID))})
	e.After = auditJSON(map[string]string{"email": m.Account.Email, "role": string(role)})
	return s.store.SetGrant(ctx, staff.Grant{AccountID: accountID, SiteID: siteID, Role: role}, e)
}

func (s *Service) owners(ctx context.Context) (int, error) {
	all, err := s.store.Members(ctx, "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range all {
		if m.IsOwner() && !m.Account.Disabled {
			n++
		}
	}
	return n, nil
}

// Members lists the staff of a site (with the owners), or every account
// for an owner with siteID "".
func (s *Service) Members(ctx context.Context, a Actor, siteID string) ([]*staff.Member, error) {
	if siteID == "" {
		if !a.IsOwner() {
			return nil, comment.ErrNotFound
		}
	} else if err := a.can(siteID, staff.RoleModerator); err != nil {
		return nil, err
	}
	return s.store.Members(ctx, siteID)
}

// LogInStaff checks an email address and password and starts a desk
// session. Every failure is the same comment.ErrForbidden and takes the
// same time, so the answer tells nobody which addresses have accounts.
// It returns the session's secret for the cookie.
func (s *Service) LogInStaff(ctx context.Context, email, password, userAgent string) (*staff.Member, string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	m, err := s.store.AccountByEmail(ctx, email)
	if errors.Is(err, comment.ErrNotFound) || err == nil && m.Account.PasswordHash == "" {
		staff.VerifyNobody(password)
		return nil, "", comment.ErrForbidden
	}
	if err != nil {
		return nil, "", err
	}
	if err := staff.VerifyPassword(m.Account.PasswordHash, password); err != nil {
		if !errors.Is(err, staff.ErrWrongPassword) {
			s.log.Error("a staff password hash is unreadable", slog.String("account", m.Account.ID), slog.String("err", err.Error()))
		}
		return nil, "", comment.ErrForbidden
	}
	if m.Account.Disabled {
		return nil, "", comment.ErrForbidden
	}
	secret, err := s.startStaffSession(ctx, m, userAgent)
	return m, secret, err
}

// LogInStaffWith starts a desk session for a reader log-in (a provider's
// identity). The identity must be linked to an account; an account with
// no linked identity is linked to the first log-in whose provider
// vouches for the account's email address. Returns comment.ErrForbidden
// when no account matches.
func (s *Service) LogInStaffWith(ctx context.Context, identity, email string, emailVerified bool, userAgent string) (*staff.Member, string, error) {
	m, err := s.store.AccountByIdentity(ctx, identity)
	if errors.Is(err, comment.ErrNotFound) && emailVerified && email != "" {
		m, err = s.store.AccountByEmail(ctx, strings.ToLower(email))
		if err == nil {
			if m.Account.Identity != "" {
				return nil, "", comment.ErrForbidden
			}
			m.Account.Identity = identity
			e := OperatorActor().entry("", "staff.link", "account:"+m.Account.ID)
			e.ActorKind, e.ActorID, e.ActorName = staff.ActorStaff, m.Account.ID, m.Account.Email
			e.After = auditJSON(map[string]string{"identity": identity})
			if err := s.store.UpdateAccount(ctx, &m.Account, e); err != nil {
				return nil, "", err
			}
		}
	}
	if errors.Is(err, comment.ErrNotFound) {
		return nil, "", comment.ErrForbidden
	}
	if err != nil {
		return nil, "", err
	}
	if m.Account.Disabled {
		return nil, "", comment.ErrForbidden
	}
	secret, err := s.startStaffSession(ctx, m, userAgent)
	return m, secret, err
}

func (s *Service) startStaffSession(ctx context.Context, m *staff.Member, userAgent string) (string, error) {
	secret, hash := staff.NewSecret("psd_")
	now := s.now().UTC()
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	sess := &staff.Session{Hash: hash, AccountID: m.Account.ID, Created: now, Seen: now, UserAgent: userAgent}
	if err := s.store.CreateStaffSession(ctx, sess); err != nil {
		return "", err
	}
	return secret, nil
}

// StaffSession returns the member and session behind a desk cookie, and
// records its use (at most once a minute). Returns comment.ErrNotFound for
// an unknown, expired or disabled one.
func (s *Service) StaffSession(ctx context.Context, secret string) (*staff.Member, *staff.Session, error) {
	if secret == "" || len(secret) > 100 {
		return nil, nil, comment.ErrNotFound
	}
	hash := staff.HashSecret(secret)
	sess, m, err := s.store.StaffSession(ctx, hash)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	if !sess.Live(now) || m.Account.Disabled {
		s.store.DeleteStaffSessions(ctx, sess.AccountID, hash)
		return nil, nil, comment.ErrNotFound
	}
	if now.Sub(sess.Seen) >= time.Minute {
		if err := s.store.TouchStaffSession(ctx, hash, now.UTC()); err != nil {
			s.log.Warn("could not record a desk session's use", slog.String("err", err.Error()))
		}
		sess.Seen = now
	}
	return m, sess, nil
}

// EndStaffSessions ends desk sessions of the actor's own account: the one
// with hash, or (hash "") all of them. It returns how many ended.
func (s *Service) EndStaffSessions(ctx context.Context, a Actor, hash string) (int, error) {
	m := a.Member()
	if m == nil {
		return 0, comment.ErrForbidden
	}
	return s.store.DeleteStaffSessions(ctx, m.Account.ID, hash)
}

// LogOutStaff ends the desk session with this secret.
func (s *Service) LogOutStaff(ctx context.Context, secret string) error {
	sess, _, err := s.store.StaffSession(ctx, staff.HashSecret(secret))
	if err != nil {
		return err
	}
	_, err = s.store.DeleteStaffSessions(ctx, sess.AccountID, sess.Hash)
	return err
}

// StaffSessions lists the actor's own desk sessions.
func (s *Service) StaffSessions(ctx context.Context, a Actor) ([]*staff.Session, error) {
	m := a.Member()
	if m == nil {
		return nil, comment.ErrForbidden
	}
	return s.store.StaffSessions(ctx, m.Account.ID)
}

// ChangePassword sets a new password on the actor's own account after
// checking the current one (if it has one), and ends its other sessions.
func (s *Service) ChangePassword(ctx context.Context, a Actor, current, next, keepHash string) error {
	m := a.Member()
	if m == nil {
		return comment.ErrForbidden
	}
	fresh, err := s.store.Account(ctx, m.Account.ID)
	if err != nil {
		return err
	}
	if fresh.Account.PasswordHash != "" {
		if err := staff.VerifyPassword(fresh.Account.PasswordHash, current); err != nil {
			return comment.Invalid("current", "The current password is not right.")
		}
	}
	h, err := staff.HashPassword(next)
	if err != nil {
		return comment.Invalid("password", capitalise(err.Error())+".")
	}
	fresh.Account.PasswordHash = h
	e := a.entry("", "staff.password", "account:"+m.Account.ID)
	if err := s.store.UpdateAccount(ctx, &fresh.Account, e); err != nil {
		return err
	}
	sessions, err := s.store.StaffSessions(ctx, m.Account.ID)
	if err != nil {
		return err
	}
	for _, sess := range sessions {
		if sess.Hash != keepHash {
			s.store.DeleteStaffSessions(ctx, m.Account.ID, sess.Hash)
		}
	}
	return nil
}

// SetPassword sets an account's password as the operator (the CLI), for
// a staff member who lost theirs; it ends the account's sessions.
func (s *Service) SetPassword(ctx context.Context, a Actor, email, password string) error {
	if !a.IsOwner() {
		return comment.ErrForbidden
	}
	m, err := s.store.AccountByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return err
	}
	h, err := staff.HashPassword(password)
	if err != nil {
		return comment.Invalid("password", capitalise(err.Error())+".")
	}
	m.Account.PasswordHash = h
	if err := s.store.UpdateAccount(ctx, &m.Account, a.entry("", "staff.password", "account:"+m.Account.ID)); err != nil {
		return err
	}
	_, err = s.store.DeleteStaffSessions(ctx, m.Account.ID, "")
	return err
}

// AddToken makes an API token for a site and returns it (the only time it
// is shown) with its record. Admins of the site and owners may.
func (s *Service) AddToken(ctx context.Context, a Actor, siteID, name string, role staff.Role) (string, *staff.Token, error) {
	if err := a.can(siteID, staff.RoleAdmin); err != nil {
		return "", nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", nil, comment.Invalid("name", "Name the token (what uses it), in at most 100 characters.")
	}
	if role != staff.RoleAdmin && role != staff.RoleModerator {
		return "", nil, comment.Invalid("role", "A token's role is admin or moderator.")
	}
	secret, hash := staff.NewSecret("pst_")
	t := &staff.Token{ID: comment.NewID(s.now()), SiteID: siteID, Name: name, Role: role, Hash: hash, Created: s.now().UTC()}
	e := a.entry(siteID, "token.add", "token:"+t.ID)
	e.After = auditJSON(map[string]string{"name": name, "role": string(role)})
	if err := s.store.CreateToken(ctx, t, e); err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// Tokens lists a site's API tokens (never the tokens themselves).
func (s *Service) Tokens(ctx context.Context, a Actor, siteID string) ([]*staff.Token, error) {
	if err := a.can(siteID, staff.RoleAdmin); err != nil {
		return nil, err
	}
	return s.store.Tokens(ctx, siteID)
}

// RevokeToken removes a site's API token.
func (s *Service) RevokeToken(ctx context.Context, a Actor, siteID, id string) error {
	if err := a.can(siteID, staff.RoleAdmin); err != nil {
		return err
	}
	return s.store.DeleteToken(ctx, siteID, id, a.entry(siteID, "token.remove", "token:"+id))
}

// TokenActorFor returns the actor behind an API token, or
// comment.ErrNotFound.
func (s *Service) TokenActorFor(ctx context.Context, secret string) (Actor, error) {
	if !strings.HasPrefix(secret, "pst_") || len(secret) > 100 {
		return Actor{}, comment.ErrNotFound
	}
	t, err := s.store.TokenByHash(ctx, staff.HashSecret(secret))
	if err != nil {
		return Actor{}, err
	}
	if now := s.now(); now.Sub(t.LastUsed) >= time.Minute {
		if err := s.store.TouchToken(ctx, t.ID, now.UTC().Truncate(time.Minute)); err != nil {
			s.log.Warn("could not record an API token's use", slog.String("err", err.Error()))
		}
	}
	return TokenActor(t), nil
}

// normalizeEmail checks a staff member's address and lower-cases it.
func normalizeEmail(e string) (string, error) {
	e = strings.ToLower(strings.TrimSpace(e))
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || len(e) > 254 {
		return "", comment.Invalid("email", fmt.Sprintf("%q is not an email address.", e))
	}
	return e, nil
}

// capitalise upper-cases the first letter of a message.
func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// DeskCSRF returns the token that the desk's forms and scripts send with
// every change made in a session, bound to the session (by its hash).
func (s *Service) DeskCSRF(sessionHash string) string {
	return b64.EncodeToString(s.sign.Sum("desk-csrf", []byte(sessionHash))[:18])
}

// CheckDeskCSRF reports whether tok is DeskCSRF of the session.
func (s *Service) CheckDeskCSRF(sessionHash, tok string) bool {
	want := s.DeskCSRF(sessionHash)
	return len(tok) == len(want) && hmac.Equal([]byte(tok), []byte(want))
}

// LoginFormToken returns the token of the desk's log-in form, bound to a
// random value the browser keeps in a cookie (a double submit: a page on
// another site cannot read the cookie, so it cannot log a person in to an
// account of its choosing).
func (s *Service) LoginFormToken(nonce string) string {
	return s.sign.SignTimed("desk-login", nonce, s.now())
}

// CheckLoginFormToken checks a log-in form's token against the browser's
// value; forms are good for a day.
func (s *Service) CheckLoginFormToken(nonce, tok string) bool {
	sub, issued, ok := s.sign.OpenTimed("desk-login", tok, maxTokenLen)
	age := s.now().Sub(issued)
	return ok && nonce != "" && hmac.Equal([]byte(sub), []byte(nonce)) && age < 24*time.Hour && age > -time.Minute
}
