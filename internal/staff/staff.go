// Package staff holds the people who run comment sections — owners,
// admins and moderators — and what each may do: accounts, per-site roles,
// API tokens, and password hashing. It does no I/O: the store keeps
// accounts, the service asks this package whether an actor may act, and
// the desk (package admin) and the REST API only present the answer.
package staff

import (
	"errors"
	"slices"
	"time"
)

// Role is what a staff member may do on a site.
type Role string

// The roles, from most to least powerful.
const (
	// RoleOwner runs the server: every site, its settings and its staff,
	// and the owners themselves. An owner's grant has no site.
	RoleOwner Role = "owner"
	// RoleAdmin runs one site: its settings, its staff, and moderation.
	RoleAdmin Role = "admin"
	// RoleModerator moderates one site's comments, nothing else.
	RoleModerator Role = "moderator"
)

// ParseRole checks a role given by a person.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleOwner, RoleAdmin, RoleModerator:
		return r, nil
	}
	return "", errors.New("role must be owner, admin or moderator")
}

// rank orders roles so that a higher one includes a lower one.
func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleModerator:
		return 1
	}
	return 0
}

// AtLeast reports whether r includes everything min may do.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() && r.rank() > 0 }

// Account is one person on the staff. They log in with their email and
// password, or with a reader log-in provider linked to the account.
type Account struct {
	ID    string
	Email string // lower-case; unique
	Name  string // shown in the audit log and on staff replies
	// PasswordHash is an Argon2id hash in PHC form (see HashPassword);
	// "" means the account logs in only through its linked identity.
	PasswordHash string
	// Identity links a reader log-in ("provider:subject", as package auth
	// writes it) to the account; "" means none.
	Identity string
	Created  time.Time
	// Disabled accounts cannot log in and their sessions end.
	Disabled bool
}

// Grant gives an account a role, on one site or (owners) on all of them.
type Grant struct {
	AccountID string
	SiteID    string // "" for an owner's grant
	Role      Role
}

// Token is an API token for one site: scripts and other programs use it
// as `Authorization: Bearer TOKEN` on the admin API.
type Token struct {
	ID      string
	SiteID  string
	Name    string // what it is for, e.g. "newsroom CMS"
	Role    Role   // admin or moderator
	Hash    string // SHA-256 (hex) of the token; the token itself is shown once
	Created time.Time
	// LastUsed is when the token last authenticated a request, to the
	// minute; zero if never.
	LastUsed time.Time
}

// Session is a staff member's log-in to the desk. The cookie holds a
// random id; the store keeps only its hash.
type Session struct {
	Hash      string
	AccountID string
	Created   time.Time
	Seen      time.Time // last request, to the minute
	UserAgent string    // to tell one's sessions apart when ending them
}

// Session lifetimes: a desk left alone logs out after IdleTimeout, and
// every session ends AbsoluteTimeout after log-in whatever its use.
const (
	IdleTimeout     = 2 * time.Hour
	AbsoluteTimeout = 7 * 24 * time.Hour
)

// Live reports whether a session may still be used at now.
func (s *Session) Live(now time.Time) bool {
	return now.Before(s.Created.Add(AbsoluteTimeout)) && now.Before(s.Seen.Add(IdleTimeout))
}

// Member is an account with its grants: what the service needs to decide
// whether someone may act.
type Member struct {
	Account Account
	Grants  []Grant
}

// IsOwner reports whether the member runs the whole server.
func (m *Member) IsOwner() bool {
	return slices.ContainsFunc(m.Grants, func(g Grant) bool { return g.Role == RoleOwner })
}

// RoleOn returns the member's role on a site ("" if none). An owner is
// owner everywhere.
func (m *Member) RoleOn(siteID string) Role {
	best := Role("")
	for _, g := range m.Grants {
		if g.Role == RoleOwner {
			return RoleOwner
		}
		if g.SiteID == siteID && g.Role.rank() > best.rank() {
			best = g.Role
		}
	}
	return best
}

// Sites returns the ids of the sites the member has a role on (owners:
// nil, meaning all of them, which the caller lists).
func (m *Member) Sites() []string {
	if m.IsOwner() {
		return nil
	}
	var ids []string
	for _, g := range m.Grants {
		if !slices.Contains(ids, g.SiteID) {
			ids = append(ids, g.SiteID)
		}
	}
	slices.Sort(ids)
	return ids
}
