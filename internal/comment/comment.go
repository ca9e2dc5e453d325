// Package comment holds Parley's domain types: sites, threads, comments and
// their authors, the rules for validating what readers send, and the errors
// every other package branches on. It knows nothing about SQL or HTTP.
package comment

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"net/netip"
	"strings"
	"time"
)

// Status says whether readers can see a comment.
type Status string

// The states a comment moves between. Only approved comments are shown to
// everyone; a pending one is shown to its author alone.
const (
	StatusPending  Status = "pending"
	StatusApproved Status = "approved"
	StatusSpam     Status = "spam"
	StatusDeleted  Status = "deleted"
)

// Valid reports whether s is one of the known states.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusApproved, StatusSpam, StatusDeleted:
		return true
	}
	return false
}

// Sort orders the top-level comments of a thread. Replies are always shown
// oldest first under their parent, as readers expect a conversation to read.
type Sort string

// The orders a reader can choose.
const (
	SortOldest Sort = "oldest"
	SortNewest Sort = "newest"
	SortTop    Sort = "top"
)

// ParseSort turns a query value into a Sort; the empty string means oldest,
// the order WordPress readers know.
func ParseSort(s string) (Sort, error) {
	switch Sort(s) {
	case "", SortOldest:
		return SortOldest, nil
	case SortNewest, SortTop, SortFeatured:
		return Sort(s), nil
	}
	return "", Invalid("sort", "Sort must be oldest, newest, top or featured.")
}

// Site is one website whose pages carry Parley comment sections.
type Site struct {
	ID      string
	Name    string
	Origins []string // allowed origins, e.g. "https://news.example"; scheme://host[:port]
	// MaxDepth is how deep replies nest before they continue at the last
	// level "in reply to NAME". 1 means no nesting.
	MaxDepth int
	// Moderation decides which comments are held before they are shown.
	Moderation Moderation
	// EditWindow is how long after posting authors may edit or delete
	// their own comment; 0 means never.
	EditWindow time.Duration
	// APIKeyHash is the SHA-256 (hex) of the site's key for the
	// Akismet-compatible API; never the key itself. Empty: no key.
	APIKeyHash string
	// Guests decides what readers who are not logged in may do; "" means
	// GuestsNameEmail.
	Guests GuestPolicy
	// Providers lists the log-in providers (ids such as "google",
	// "github", "email", or a configured OpenID Connect id) the site
	// shows, in order. Nil means every provider the server has.
	Providers []string
	// SSOSecret signs the tokens of the site's own accounts (site SSO);
	// "" means the site has none. Private: never shown to readers.
	SSOSecret string
	// HidePrivate hides authors' email addresses and IP hashes from the
	// site's moderators (admins and owners still see them).
	HidePrivate bool
	// IPRetention is how long the site keeps its comments' address
	// hashes and user agents before the retention job reduces them to the
	// network (see Comment.IPNet); 0 means the server's default.
	IPRetention time.Duration
	Created     time.Time
}

// KeepsClientData is how long the site keeps its comments' address
// hashes and user agents: its own IPRetention, or def, the server's.
func (s *Site) KeepsClientData(def time.Duration) time.Duration {
	if s.IPRetention > 0 {
		return s.IPRetention
	}
	return def
}

// GuestPolicy is a site's rule for readers who comment without logging in.
type GuestPolicy string

// The guest policies a site can choose.
const (
	GuestsAnonymous GuestPolicy = "anonymous"  // name and email optional
	GuestsNameEmail GuestPolicy = "name_email" // name and email required (the default)
	GuestsLogin     GuestPolicy = "login"      // only logged-in readers may comment
)

// ParseGuestPolicy checks a guest policy given by an operator; "" gives
// the default.
func ParseGuestPolicy(s string) (GuestPolicy, error) {
	switch p := GuestPolicy(s); p {
	case "":
		return GuestsNameEmail, nil
	case GuestsAnonymous, GuestsNameEmail, GuestsLogin:
		return p, nil
	}
	return "", Invalid("guests", "Guests must be anonymous, name_email or login.")
}

// Moderation is a site's policy for holding new comments.
type Moderation string

// The moderation policies a site can choose.
const (
	ModerateNone  Moderation = "none"  // publish unless a spam check holds it
	ModerateAll   Moderation = "all"   // hold every comment
	ModerateFirst Moderation = "first" // hold comments from authors never approved before
)

// DefaultIPRetention is how long a server keeps comments' address
// hashes and user agents unless told otherwise.
const DefaultIPRetention = 30 * 24 * time.Hour

// IPNetwork returns the network an address belongs to as a prefix that
// identifies nobody: the /24 of an IPv4 address, the /48 of an IPv6 one.
// Anything else is returned as it is.
func IPNetwork(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	bits := 24
	if a.Is6() {
		bits = 48
	}
	p, _ := a.Prefix(bits)
	return p.String()
}

// DefaultMaxDepth is the reply depth a new site gets, as WordPress's default.
const DefaultMaxDepth = 5

// DefaultEditWindow is how long a new site lets authors edit their comments.
const DefaultEditWindow = 15 * time.Minute

// Page identifies the page a thread belongs to: its key (the canonical URL,
// or an explicit page id given by the embedder) and the URL and title
// readers see it under.
type Page struct {
	SiteID string
	Key    string
	URL    string
	Title  string
}

// Thread is the set of comments under one page.
type Thread struct {
	ID      string
	SiteID  string
	Key     string // canonical URL or page id; unique within a site
	URL     string
	Title   string
	Closed  bool
	Created time.Time
}

// Author is who wrote a comment. Email is private: it is stored for
// notifications and avatars and must never reach a public response.
type Author struct {
	Name    string
	Email   string // private
	Website string
	// Identity is "provider:subject" for a logged-in reader and empty for a
	// guest. Log-in providers fill it; the core only stores it.
	Identity string
}

// Comment is one reader's message in one thread.
type Comment struct {
	ID       string
	SiteID   string
	ThreadID string
	ParentID string // empty for a top-level comment
	Author   Author
	Markdown string // as typed; never render this as HTML
	HTML     string // sanitised rendering of Markdown, made once at write time
	Status   Status
	Created  time.Time
	Edited   time.Time // zero if never edited
	Likes    int
	// Reader is a keyed hash of the posting reader's token, so the reader
	// (and nobody else) can be shown their held comment and edit it.
	Reader string
	// PostKey, when set on a new comment, is the keyed hash of the
	// poster's idempotency key and what they sent: the store keeps it with
	// the comment for a day, so that a retry of the same post finds this
	// comment instead of storing a second one. It is not part of exports.
	PostKey string `json:"-"`
	// IPHash is a keyed hash of the poster's IP address, never the
	// address. When the site's retention period ends it becomes IPNet.
	IPHash string
	// IPNet is a keyed hash of the poster's network (IPNetwork), which
	// identifies nobody but still serves bans and the desk's "same
	// address" after IPHash is reduced to it.
	IPNet     string
	UserAgent string // emptied when the retention period ends
	// Verdict records which layer decided the comment's status and why,
	// so a moderator sees it.
	Verdict Verdict
	// Type is "" for an ordinary comment, or "pingback" or "trackback"
	// for notices imported from WordPress, which threads do not show.
	Type string
	// EditedBy names the staff member who last changed the text, shown to
	// readers as "edited by a moderator"; "" when the author did (or
	// nobody did).
	EditedBy string
	// Staff marks a reply written by the site's staff from the moderation
	// desk: readers see a staff badge on it.
	Staff bool
}

// Verdict is the spam pipeline's record on a comment.
type Verdict struct {
	Layer string  // e.g. "moderation", "rules", "classifier"; empty when nothing checked it
	Score float64 // 0 (surely legitimate) .. 1 (surely spam)
	// Reason is the verdict in an English sentence, built from Reasons;
	// it is what the store keeps.
	Reason string
	// Reasons are why, most important first, in a form the moderation
	// desk can put in the moderator's language (spam.Explain does).
	Reasons []Reason
}

// Reason is one reason for a verdict: a stable snake_case code, such as
// "links_over_limit", and its arguments by name, such as n "4" and limit
// "2". The words for each code are in the translation tables under
// "reason.<code>", with the arguments as placeholders.
type Reason struct {
	Code string
	Args map[string]string
}

// NewID returns a new random identifier that sorts roughly by creation
// time: 48 bits of milliseconds and 40 random bits, in 18 characters of
// lower-case base32. It is short enough for a permalink and needs no
// coordination between instances.
func NewID(now time.Time) string {
	var b [11]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	// b[0:6] hold the timestamp; overwrite the rest with randomness.
	rand.Read(b[6:])
	return idEncoding.EncodeToString(b[:])
}

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// EventKind says what changed in a thread.
type EventKind string

// The changes readers' open pages are told about.
const (
	EventNew    EventKind = "new"    // a comment became visible
	EventUpdate EventKind = "update" // a visible comment changed (likes, edit)
	EventRemove EventKind = "remove" // a comment stopped being visible
	// EventReset means changes may have been missed (a lost database
	// connection): every cached thread must be rebuilt.
	EventReset EventKind = "reset"
	// EventHeld means a new comment is waiting for a moderator. Only the
	// moderation desk's open queues hear it; readers never do.
	EventHeld EventKind = "held"
)

// EventLikes means a comment's like count changed. It is announced to
// every instance but not kept in the change log (its ID is 0): open pages
// get the count live, coalesced, and a page that reconnects reads it with
// the thread.
const EventLikes EventKind = "likes"

// Event is one committed change, in the order of its ID within a thread.
type Event struct {
	ID        int64
	SiteID    string
	ThreadID  string
	PageKey   string
	CommentID string
	Kind      EventKind
	Created   time.Time
}

// DerivedID returns an identifier fixed by parts (an imported comment's
// site, source format, page and source id), so that importing the same
// comment twice finds the first copy. It starts with "i" and never
// collides with NewID's time-ordered ids in practice.
func DerivedID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "i" + idEncoding.EncodeToString(h[:11])[:17]
}

// TypeErased is the Type of a comment its author erased while replies
// hung on it: it keeps its place in the thread, without author or text,
// and readers see "deleted comment".
const TypeErased = "erased"
