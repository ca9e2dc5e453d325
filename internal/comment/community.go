package comment

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Community controls: what a site's staff do about people (sanctions),
// what readers tell them (reports), and how each article's comments run
// (page controls, featured and pinned comments).

// SanctionKind is what a sanction does to the reader it matches.
type SanctionKind string

// The sanctions, from mildest to strictest.
const (
	// SanctionWarn shows the reader the moderator's message the next
	// time they post; that post waits until they have read it.
	SanctionWarn SanctionKind = "warn"
	// SanctionPremod holds every comment of the reader for a moderator.
	SanctionPremod SanctionKind = "premod"
	// SanctionSuspend refuses the reader's comments until a date.
	SanctionSuspend SanctionKind = "suspend"
	// SanctionBan refuses the reader's comments, for good or until a date.
	SanctionBan SanctionKind = "ban"
)

// Refuses reports whether the sanction turns the reader's comments away.
func (k SanctionKind) Refuses() bool { return k == SanctionSuspend || k == SanctionBan }

// rank orders sanctions by strictness.
func (k SanctionKind) rank() int {
	switch k {
	case SanctionWarn:
		return 1
	case SanctionPremod:
		return 2
	case SanctionSuspend:
		return 3
	case SanctionBan:
		return 4
	}
	return 0
}

// Stricter reports whether k is stricter than o.
func (k SanctionKind) Stricter(o SanctionKind) bool { return k.rank() > o.rank() }

// ParseSanctionKind checks a sanction kind given by a person or program.
func ParseSanctionKind(s string) (SanctionKind, error) {
	if k := SanctionKind(s); k.rank() > 0 {
		return k, nil
	}
	return "", Invalid("kind", "The kind must be warn, premod, suspend or ban.")
}

// MatchKind says how a sanction recognises a reader.
type MatchKind string

// The ways a sanction matches.
const (
	MatchIdentity    MatchKind = "identity"     // a log-in, "provider:subject"
	MatchEmail       MatchKind = "email"        // one address, lower-case
	MatchEmailDomain MatchKind = "email_domain" // every address at a domain or its subdomains
	MatchIP          MatchKind = "ip"           // an address or CIDR range, IPv4 or IPv6
	// MatchIPHash is the address a comment was posted from, by its keyed
	// hash (Parley keeps no addresses): a ban made from a comment's card.
	MatchIPHash MatchKind = "ip_hash"
)

// Sanction is a measure a site's staff took against a reader.
type Sanction struct {
	ID     string
	SiteID string
	Kind   SanctionKind
	Match  MatchKind
	Value  string // normalised: see NormalizeMatch
	// Reason is the staff's own note of why; readers never see it.
	Reason string
	// Message is what a warning tells the reader, in the moderator's words.
	Message string
	Created time.Time
	Until   time.Time // zero: no end
	// Actor names who took it, as the audit log does.
	Actor string
	// AuditID is the audit entry that recorded it, with the comments it
	// removed (Undo and Lift put them back).
	AuditID int64
	Removed int // how many of the reader's comments it removed
	Lifted  time.Time
	// LiftedBy names who lifted it, as the audit log does.
	LiftedBy string
	// Seen is when a warned reader was shown the message; a warning
	// applies once.
	Seen time.Time
}

// Active reports whether the sanction applies at now.
func (s *Sanction) Active(now time.Time) bool {
	if !s.Lifted.IsZero() || !s.Until.IsZero() && !now.Before(s.Until) {
		return false
	}
	return s.Kind != SanctionWarn || s.Seen.IsZero()
}

// NormalizeMatch checks a sanction's match value and returns it in the
// form it is stored and matched in: lower-case addresses and domains, a
// masked CIDR range (a single address as /32 or /128).
func NormalizeMatch(kind MatchKind, v string) (string, error) {
	v = strings.TrimSpace(v)
	switch kind {
	case MatchIdentity:
		p, sub, ok := strings.Cut(v, ":")
		if !ok || p == "" || sub == "" || len(v) > 300 || strings.ContainsAny(p, " \t\r\n") {
			return "", Invalid("identity", "A log-in is written PROVIDER:SUBJECT, such as github:1234 (the desk shows it on the author's card).")
		}
		return v, nil
	case MatchEmail:
		v = strings.ToLower(v)
		at := strings.LastIndexByte(v, '@')
		if at <= 0 || at == len(v)-1 || len(v) > MaxEmailLen || !validEmail(v) {
			return "", Invalid("email", fmt.Sprintf("%q is not an email address.", v))
		}
		return v, nil
	case MatchEmailDomain:
		v = strings.TrimPrefix(strings.ToLower(v), "@")
		if !validDomain(v) {
			return "", Invalid("email_domain", fmt.Sprintf("%q is not a domain, such as spam.example.", v))
		}
		return v, nil
	case MatchIP:
		p, err := ParsePrefix(v)
		if err != nil {
			return "", err
		}
		return p.String(), nil
	case MatchIPHash:
		if len(v) == 0 || len(v) > 64 || strings.Trim(v, "0123456789abcdef") != "" {
			return "", Invalid("ip", "That is not an address hash as the desk shows it.")
		}
		return v, nil
	}
	return "", Invalid("match", "Ban by identity, email, email_domain or ip.")
}

// ParsePrefix reads an IP address or CIDR range, v4 or v6, as a masked
// prefix; a single address is /32 or /128.
func ParsePrefix(v string) (netip.Prefix, error) {
	v = strings.TrimSpace(v)
	if p, err := netip.ParsePrefix(v); err == nil {
		a := p.Addr().Unmap()
		bits := p.Bits()
		if p.Addr().Is4In6() {
			bits -= 96
		}
		if bits >= 0 {
			return netip.PrefixFrom(a, bits).Masked(), nil
		}
	}
	if a, err := netip.ParseAddr(v); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, Invalid("ip", fmt.Sprintf("%q is neither an IP address nor a CIDR range such as 203.0.113.0/24 or 2001:db8::/32.", v))
}

// validDomain accepts host names such as "mail.example.org".
func validDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
		return false
	}
	for _, r := range d {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r >= 0x80) {
			return false
		}
	}
	return !strings.Contains(d, "..")
}

// ReportReason is why a reader reports a comment.
type ReportReason string

// The reasons a reader can give.
const (
	ReportSpam     ReportReason = "spam"
	ReportAbuse    ReportReason = "abuse"
	ReportOffTopic ReportReason = "off_topic"
	ReportOther    ReportReason = "other"
)

// ReportReasons are the reasons in the order readers are offered them.
var ReportReasons = []ReportReason{ReportSpam, ReportAbuse, ReportOffTopic, ReportOther}

// ParseReportReason checks a reason sent by a reader.
func ParseReportReason(s string) (ReportReason, error) {
	for _, r := range ReportReasons {
		if string(r) == s {
			return r, nil
		}
	}
	return "", Invalid("reason", "Choose why you are reporting this comment.")
}

// MaxReportText bounds what a reader may add to a report.
const MaxReportText = 500

// Report is one reader's report of a comment.
type Report struct {
	ID        int64
	SiteID    string
	CommentID string
	// Reporter counts distinct readers: "id:" and a keyed hash of the
	// log-in, or "net:" and a keyed hash of the address's network (/24,
	// /48), never the address. One report per reporter and comment.
	Reporter string
	// Reader is a keyed hash of the reader token, if any: one report per
	// browser too.
	Reader   string
	Reason   ReportReason
	Text     string
	Created  time.Time
	Resolved time.Time // zero while open
	// ResolvedBy names who dealt with it, as the audit log does.
	ResolvedBy string
}

// Reported is a comment with open reports, as the desk's Reported view
// lists it.
type Reported struct {
	CommentID string
	Count     int // open reports (distinct readers)
	Reasons   map[ReportReason]int
	Texts     []string // what readers wrote, newest first (a few)
	Last      time.Time
}

// Community is a site's settings for its community controls.
type Community struct {
	// ReportHide hides a published comment pending review once this many
	// distinct readers have reported it; 0 never hides.
	ReportHide int
	// CloseAfter closes an article's comments this long after its first
	// comment; 0 never does. An article may override it.
	CloseAfter time.Duration
	// Message is Markdown shown above every article's comment form
	// (community guidelines); an article's own message replaces it.
	Message string
	// SurgeRate: more new comments than this in a minute on one article
	// starts the surge guard; 0 turns it off.
	SurgeRate int
	// SurgeAction is what the guard does: SurgeHold or SurgeClose.
	SurgeAction string
	// SurgeFor is how long the guard holds (or closes) once started.
	SurgeFor time.Duration
	// Reasons are the site's reasons a moderator chooses from when a held
	// comment is not published; its author is told the one chosen.
	Reasons []string
	// EmailDecisions emails the author of a held comment when a moderator
	// publishes it or not (with the reason chosen), if the author gave an
	// address they confirmed (package notify decides).
	EmailDecisions bool
	// Anonymise: when a reader has their data erased, their published
	// comments stay, without their name or anything else of them
	// ("anonymous"). Otherwise (the default) they are deleted, keeping
	// their place as "deleted comment" where replies hang on them.
	Anonymise bool
}

// The surge guard's actions.
const (
	SurgeHold  = "hold"  // hold new comments for moderation
	SurgeClose = "close" // close the article's comments
)

// Community defaults for a site that never set them.
const (
	DefaultSurgeFor = 30 * time.Minute
)

// DefaultCommunity is what a site starts with: reports hide a comment
// after three readers (the policy publishers commonly use), nothing
// closes by itself, and the surge guard is off.
func DefaultCommunity() Community {
	return Community{ReportHide: 3, SurgeAction: SurgeHold, SurgeFor: DefaultSurgeFor}
}

// SiteRules are a site's own word, domain, address and link rules, edited
// in the desk. They apply on top of the server-wide rules (--spam-rules).
type SiteRules struct {
	// BlockedWords make a comment spam, HoldWords hold it: words and
	// phrases matched as whole words in the text and the author's name,
	// without regard to case; "word*" matches words that begin so.
	BlockedWords []string
	HoldWords    []string
	// BlockedDomains: links to these domains (and their subdomains), or
	// an author's website there, make a comment spam.
	BlockedDomains []string
	// BlockedEmails: addresses, or "@domain" for a whole domain.
	BlockedEmails []string
	// BlockedIPs: addresses or CIDR ranges.
	BlockedIPs []string
	// HoldLinks holds a comment with more links than this, SpamLinks
	// makes it spam; 0 leaves the server's limit alone. The stricter of
	// the site's and the server's limit applies.
	HoldLinks int
	SpamLinks int
}

// PageControls are the staff's settings for one article's comments.
type PageControls struct {
	ThreadID string
	// CloseAfter overrides the site's: nil follows the site, 0 never
	// closes, else the time after the first comment.
	CloseAfter *time.Duration
	Premod     bool   // hold every comment on this article
	Message    string // Markdown above the form; "" uses the site's
	Pinned     string // the comment shown first, or ""
	// SurgeUntil is when a surge guard started on the article ends, and
	// SurgeAction what it does meanwhile.
	SurgeUntil  time.Time
	SurgeAction string
}

// Article is a thread as the desk's article list shows it.
type Article struct {
	Thread   *Thread
	Controls PageControls
	Comments int // published
	Held     int // pending
	Reported int // with open reports
	// LastComment is when its latest comment was posted.
	LastComment time.Time
}

// Notice tells a reader what became of a comment of theirs that was held.
type Notice struct {
	ID        int64
	SiteID    string
	Reader    string // keyed hash of the reader token, as on the comment
	CommentID string
	Approved  bool
	Reason    string // the reason the moderator chose, if any
	Created   time.Time
	// PageTitle and PageURL are the article's, filled when read.
	PageTitle, PageURL string
}

// Note is a moderator's private note on an author.
type Note struct {
	ID      int64
	SiteID  string
	Author  string // the author's key (store.AuthorKey)
	Text    string
	Created time.Time
	Actor   string // who wrote it, as the audit log names them
}

// Alert is something Parley tells a site's staff without being asked: a
// surge of comments on an article. The desk shows open alerts; the
// notifications outbox emails them to the staff who asked for alerts, and
// posts them to the site's webhooks (its event is written with the alert).
type Alert struct {
	ID        int64
	SiteID    string
	Kind      string // "surge"
	ThreadID  string
	Rate      int // comments in the minute that set it off
	Threshold int
	Action    string
	Until     time.Time
	Created   time.Time
	Dismissed time.Time
	// DismissedBy names who dismissed it, as the audit log does.
	DismissedBy string
	// Delivered is when the alert was handed to the notifications outbox
	// (in the transaction that made it); zero for alerts made before
	// Parley had one.
	Delivered time.Time
	// PageTitle and PageURL are the article's, filled when read.
	PageTitle, PageURL string
}

// EventPage means an article's settings changed (closed or opened, its
// message, the pinned or featured comments): open pages reload the
// thread.
const EventPage EventKind = "page"

// SortFeatured shows only the comments the editors featured, newest
// first: the thread's "Featured" tab.
const SortFeatured Sort = "featured"

// BannedError says the site does not accept the reader's comments, until
// Until if it is set. Readers are told so plainly, never silently dropped.
type BannedError struct {
	Until time.Time
}

func (e *BannedError) Error() string {
	if e.Until.IsZero() {
		return "this site does not accept your comments"
	}
	return "this site does not accept your comments until " + e.Until.UTC().Format(time.RFC3339)
}

// WarnedError carries a moderator's warning to a reader: their comment
// was not posted yet; once they have read it, they may post again.
type WarnedError struct {
	Message string
}

func (e *WarnedError) Error() string { return "a moderator's message: " + e.Message }
