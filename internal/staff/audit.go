package staff

import "time"

// Actor kinds: who did something.
const (
	ActorStaff  = "staff"  // a person logged in to the desk
	ActorToken  = "token"  // a program with a site's API token
	ActorCLI    = "cli"    // the operator, with the parley command on the server
	ActorLink   = "link"   // a staff member through a signed link in an email
	ActorSystem = "system" // Parley itself (a surge guard, a retention job)
)

// AuditEntry is one row of the audit log: who did what, when, to which
// comment or setting, with the state before and after. Before and After
// are JSON objects of the fields that changed (never a secret).
type AuditEntry struct {
	ID        int64
	SiteID    string // "" for server-wide actions (owners, accounts)
	At        time.Time
	ActorKind string
	ActorID   string // account or token id; "" for the CLI and the system
	ActorName string // email, token name or "cli", as it was then
	// Action names what was done: "comment.approve", "comment.spam",
	// "comment.ham", "comment.delete", "comment.pending", "comment.edit",
	// "comment.reply", "site.update", "staff.add", "token.add", "undo"…
	Action string
	Target string // what it was done to: "comment:ID", "site:ID", "account:ID", "token:ID"
	Before string
	After  string
	// Comments holds, for an action on comments, each changed comment's
	// status before it (id → status): what Undo restores.
	Comments map[string]string
	// Count is how many comments the action changed (for a bulk action,
	// len(Comments), which listings do not load).
	Count int
	// UndoneBy is the id of the entry that undid this one, or 0.
	UndoneBy int64
}
