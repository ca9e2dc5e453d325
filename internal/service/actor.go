package service

import (
	"encoding/json"

	"parley/internal/comment"
	"parley/internal/staff"
)

// Actor is who asks for a staff action: a member logged in to the desk, a
// program with a site's API token, the operator at the command line, or
// Parley itself. Every staff action of the service takes one, checks what
// it may do, and records it in the audit log.
type Actor struct {
	Kind string // staff.ActorStaff, ActorToken, ActorCLI, ActorLink, ActorSystem
	ID   string // account or token id
	Name string // what the audit log shows: an email, a token's name, "cli"

	member *staff.Member
	token  *staff.Token
}

// MemberActor returns the actor for a staff member logged in to the desk.
func MemberActor(m *staff.Member) Actor {
	return Actor{Kind: staff.ActorStaff, ID: m.Account.ID, Name: m.Account.Email, member: m}
}

// TokenActor returns the actor for a program using a site's API token.
func TokenActor(t *staff.Token) Actor {
	return Actor{Kind: staff.ActorToken, ID: t.ID, Name: "token " + t.Name, token: t}
}

// OperatorActor is the operator running the parley command on the server,
// who can read the database anyway and so may do everything.
func OperatorActor() Actor { return Actor{Kind: staff.ActorCLI, Name: "cli"} }

// SystemActor is Parley acting on its own, e.g. a retention job.
func SystemActor(what string) Actor { return Actor{Kind: staff.ActorSystem, Name: what} }

// Member returns the staff member behind a desk actor, or nil.
func (a Actor) Member() *staff.Member { return a.member }

// Role returns what the actor may do on a site ("" for nothing).
func (a Actor) Role(siteID string) staff.Role {
	switch a.Kind {
	case staff.ActorCLI, staff.ActorSystem:
		return staff.RoleOwner
	case staff.ActorToken:
		if a.token != nil && a.token.SiteID == siteID {
			return a.token.Role
		}
		return ""
	}
	if a.member != nil {
		return a.member.RoleOn(siteID)
	}
	return ""
}

// IsOwner reports whether the actor runs the whole server.
func (a Actor) IsOwner() bool {
	switch a.Kind {
	case staff.ActorCLI, staff.ActorSystem:
		return true
	case staff.ActorStaff, staff.ActorLink:
		return a.member != nil && a.member.IsOwner()
	}
	return false
}

// can checks that the actor has at least role min on a site. An actor
// with no role there learns nothing, not even that the site exists:
// comment.ErrNotFound. One with too small a role gets comment.ErrForbidden.
func (a Actor) can(siteID string, min staff.Role) error {
	r := a.Role(siteID)
	if r == "" {
		return comment.ErrNotFound
	}
	if !r.AtLeast(min) {
		return comment.ErrForbidden
	}
	return nil
}

// SeesPrivate reports whether the actor may see authors' email addresses
// and IP hashes on a site: admins and owners always, moderators unless
// the site hides them.
func (a Actor) SeesPrivate(site *comment.Site) bool {
	r := a.Role(site.ID)
	return r.AtLeast(staff.RoleAdmin) || (r == staff.RoleModerator && !site.HidePrivate)
}

// entry starts an audit entry for an action of a on siteID.
func (a Actor) entry(siteID, action, target string) *staff.AuditEntry {
	return &staff.AuditEntry{SiteID: siteID, ActorKind: a.Kind, ActorID: a.ID, ActorName: a.Name, Action: action, Target: target}
}

// auditJSON encodes v for an audit entry's Before or After.
func auditJSON(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
