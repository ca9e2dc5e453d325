package service

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"parley/internal/comment"
	"parley/internal/markup"
	"parley/internal/ratelimit"
	"parley/internal/rulebook"
	"parley/internal/spam"
	"parley/internal/staff"
	"parley/internal/store"
)

// The community controls as a new comment meets them: the article's state
// (closed, auto-closed, pre-moderated, a surge), the author's sanctions
// and the site's rules. Every way a comment arrives goes through them —
// the widget and the plain form (Post), the Akismet-compatible API
// (Classify) — except imports, which bring old comments as they were.

// community is the service's state for the community controls.
type community struct {
	sites   sync.Map // site id -> *siteBook
	pages   sync.Map // site + "\x00" + page key -> *pageState
	once    sync.Once
	buckets ratelimit.Store
}

// BookCheckInterval is how often an instance asks whether a site's
// sanctions or rules changed (a one-row read): a ban made through another
// instance, or the CLI, applies within it.
const BookCheckInterval = 2 * time.Second

// PageStateTTL is how long an instance trusts its copy of an article's
// state when a comment is posted; changes made here apply at once.
const PageStateTTL = 2 * time.Second

// siteBook is a site's compiled sanctions and rules and its community
// settings, replaced whole when they change.
type siteBook struct {
	mu  sync.Mutex // one refresh at a time
	cur atomic.Pointer[bookSnap]
}

type bookSnap struct {
	version  int64
	checked  time.Time
	book     *rulebook.Book
	settings comment.Community
	rules    comment.SiteRules
}

// buckets returns the token buckets that count reports and surges: the
// spam filter's (shared by instances on PostgreSQL), or this instance's.
func (s *Service) buckets() ratelimit.Store {
	s.cm.once.Do(func() {
		if s.spam != nil && s.spam.opt.Buckets != nil {
			s.cm.buckets = s.spam.opt.Buckets
		} else {
			s.cm.buckets = ratelimit.NewMemory(100_000)
		}
	})
	return s.cm.buckets
}

// book returns a site's compiled sanctions, rules and settings, checking
// at most every BookCheckInterval whether they changed.
func (s *Service) book(ctx context.Context, siteID string) (*bookSnap, error) {
	v, _ := s.cm.sites.LoadOrStore(siteID, &siteBook{})
	sb := v.(*siteBook)
	now := s.now()
	if cur := sb.cur.Load(); cur != nil && now.Sub(cur.checked) < BookCheckInterval {
		return cur, nil
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	cur := sb.cur.Load()
	if cur != nil && now.Sub(cur.checked) < BookCheckInterval {
		return cur, nil // refreshed while we waited
	}
	version, err := s.store.SanctionsVersion(ctx, siteID)
	if err != nil {
		if cur != nil {
			s.log.Warn("could not check a site's sanctions; using the copy in memory", slog.String("site", siteID), slog.String("err", err.Error()))
			return cur, nil
		}
		return nil, err
	}
	if cur != nil && cur.version == version {
		next := *cur
		next.checked = now
		sb.cur.Store(&next)
		return &next, nil
	}
	list, err := s.store.Sanctions(ctx, siteID, true, now)
	if err != nil {
		return nil, err
	}
	settings, rules, err := s.store.Community(ctx, siteID)
	if err != nil {
		return nil, err
	}
	b, err := rulebook.Compile(list, *rules)
	if err != nil {
		// Rules are checked when they are saved; this is a database
		// edited by hand. Sanctions must still apply.
		s.log.Error("a site's rules cannot be compiled; applying its sanctions only", slog.String("site", siteID), slog.String("err", err.Error()))
		if b, err = rulebook.Compile(list, comment.SiteRules{}); err != nil {
			return nil, err
		}
	}
	next := &bookSnap{version: version, checked: now, book: b, settings: *settings, rules: *rules}
	sb.cur.Store(next)
	return next, nil
}

// forgetBook drops a site's compiled copy after a change made here.
func (s *Service) forgetBook(siteID string) {
	s.cm.sites.Delete(siteID)
}

// forgetCommunity drops every site's book and article state (after a
// restore).
func (s *Service) forgetCommunity() {
	s.cm.sites.Range(func(k, _ any) bool { s.cm.sites.Delete(k); return true })
	s.cm.pages.Range(func(k, _ any) bool { s.cm.pages.Delete(k); return true })
}

// checkRestoredCommunity checks a community row of an export as the desk
// checks what staff save: an edited file cannot hold a sanction that
// matches nothing, or settings and rules the desk would refuse.
func checkRestoredCommunity(r *store.CommunityRows) error {
	switch {
	case r.Sanction != nil:
		sn := r.Sanction
		if _, err := comment.ParseSanctionKind(string(sn.Kind)); err != nil {
			return fmt.Errorf("sanction %s: %w", sn.ID, err)
		}
		v, err := comment.NormalizeMatch(sn.Match, sn.Value)
		if err != nil {
			return fmt.Errorf("sanction %s: %w", sn.ID, err)
		}
		sn.Value = v
	case r.Community != nil:
		if r.Community.Settings == nil || r.Community.Rules == nil {
			return fmt.Errorf("community settings of site %q: settings and rules are both needed", r.Community.SiteID)
		}
		if err := normalizeCommunity(r.Community.Settings); err != nil {
			return fmt.Errorf("community settings of site %q: %w", r.Community.SiteID, err)
		}
		if _, err := rulebook.Compile(nil, *r.Community.Rules); err != nil {
			return fmt.Errorf("rules of site %q: %w", r.Community.SiteID, err)
		}
	case r.Controls != nil:
		if c := r.Controls; len([]rune(c.Message)) > MaxMessageLen {
			return fmt.Errorf("controls of thread %s: the message is too long", c.ThreadID)
		}
	case r.Report != nil:
		if _, err := comment.ParseReportReason(string(r.Report.Reason)); err != nil {
			return fmt.Errorf("report of comment %s: %w", r.Report.CommentID, err)
		}
	}
	return nil
}

// pageState is an article's state as posting needs it.
type pageState struct {
	threadID string
	created  time.Time
	closed   bool // closed by staff
	controls comment.PageControls
	expires  time.Time
}

// pageState returns an article's state, from memory for PageStateTTL. A
// page without comments yet has no thread and an empty state.
func (s *Service) pageState(ctx context.Context, siteID, key string) (*pageState, error) {
	k := siteID + "\x00" + key
	if v, ok := s.cm.pages.Load(k); ok && s.now().Before(v.(*pageState).expires) {
		return v.(*pageState), nil
	}
	ps := &pageState{expires: s.now().Add(PageStateTTL)}
	th, err := s.store.Thread(ctx, siteID, key)
	switch {
	case err == nil:
		ps.threadID, ps.created, ps.closed = th.ID, th.Created, th.Closed
		pc, err := s.store.PageControls(ctx, th.ID)
		if err != nil {
			return nil, err
		}
		ps.controls = *pc
	case err != comment.ErrNotFound:
		return nil, err
	}
	s.cm.pages.Store(k, ps)
	return ps, nil
}

// forgetPage drops an article's state after a change made here.
func (s *Service) forgetPage(siteID, key string) {
	s.cm.pages.Delete(siteID + "\x00" + key)
}

// closing says whether an article takes comments at now, and, when that
// will change by itself (auto-close, the end of a surge), when.
func closing(staffClosed bool, created time.Time, pc *comment.PageControls, cm *comment.Community, now time.Time) (closed bool, next time.Time) {
	if staffClosed {
		return true, time.Time{}
	}
	if !pc.SurgeUntil.IsZero() && pc.SurgeAction == comment.SurgeClose {
		if now.Before(pc.SurgeUntil) {
			return true, pc.SurgeUntil
		}
	}
	after := cm.CloseAfter
	if pc.CloseAfter != nil {
		after = *pc.CloseAfter
	}
	if after > 0 && !created.IsZero() {
		at := created.Add(after)
		if !now.Before(at) {
			return true, time.Time{}
		}
		next = at
	}
	if !pc.SurgeUntil.IsZero() && now.Before(pc.SurgeUntil) && (next.IsZero() || pc.SurgeUntil.Before(next)) {
		next = pc.SurgeUntil
	}
	return false, next
}

// guard is what the community controls decided about a new comment
// before the spam checks: holds and verdicts to apply after them.
type guard struct {
	spam *comment.Verdict // the site's rules call it spam
	hold *comment.Verdict // held: the author's, the article's, a rule's or a surge's
}

// guardPost checks a new comment against the article's state, the
// author's sanctions and the site's rules. A refusal is an error:
// comment.ErrClosed, *comment.BannedError, *comment.WarnedError (the
// warning is then marked seen).
func (s *Service) guardPost(ctx context.Context, site *comment.Site, c *comment.Comment, key string, m Meta) (guard, error) {
	var g guard
	now := s.now()
	snap, err := s.book(ctx, site.ID)
	if err != nil {
		return g, err
	}
	ps, err := s.pageState(ctx, site.ID, key)
	if err != nil {
		return g, err
	}
	if closed, _ := closing(ps.closed, ps.created, &ps.controls, &snap.settings, now); closed {
		return g, comment.ErrClosed
	}
	for _, sn := range snap.book.Sanctions(rulebook.Author{Identity: c.Author.Identity, Email: c.Author.Email, IP: m.IP, IPHash: c.IPHash, IPNet: c.IPNet}, now) {
		switch sn.Kind {
		case comment.SanctionBan, comment.SanctionSuspend:
			return g, &comment.BannedError{Until: sn.Until}
		case comment.SanctionWarn:
			if err := s.store.SeeWarning(ctx, site.ID, sn.ID, now.UTC()); err != nil {
				return g, err
			}
			s.forgetBook(site.ID)
			return g, &comment.WarnedError{Message: sn.Message}
		case comment.SanctionPremod:
			g.hold = &comment.Verdict{Layer: "sanction", Score: 0.5, Reason: "a moderator holds this author's comments"}
		}
	}
	if g.hold == nil && ps.controls.Premod {
		g.hold = &comment.Verdict{Layer: "page", Score: 0.5, Reason: "comments on this article are held for moderation"}
	}
	switch v := snap.book.Check(rulebook.Input{Body: c.Markdown, HTML: c.HTML, Name: c.Author.Name, Website: c.Author.Website, Email: c.Author.Email, IP: m.IP}); v.Action {
	case rulebook.Spam:
		g.spam = &comment.Verdict{Layer: "site_rules", Score: 1, Reason: v.Rule}
	case rulebook.Hold:
		if g.hold == nil {
			g.hold = &comment.Verdict{Layer: "site_rules", Score: 0.5, Reason: v.Rule}
		}
	}
	surge, err := s.surge(ctx, site, key, ps, &snap.settings, now)
	if err != nil {
		return g, err
	}
	switch surge {
	case comment.SurgeClose:
		return g, comment.ErrClosed
	case comment.SurgeHold:
		if g.hold == nil || g.hold.Layer == "site_rules" {
			g.hold = &comment.Verdict{Layer: "surge", Score: 0.5, Reason: "held while the surge guard is on"}
		}
	}
	return g, nil
}

// guardEdit checks an author's edit as guardPost checks a new comment,
// but for the article's state and surges: a banned or suspended author
// cannot edit, and the new text meets the site's rules and the author's
// or article's pre-moderation.
func (s *Service) guardEdit(ctx context.Context, site *comment.Site, c *comment.Comment, m Meta) (guard, error) {
	var g guard
	snap, err := s.book(ctx, site.ID)
	if err != nil {
		return g, err
	}
	for _, sn := range snap.book.Sanctions(rulebook.Author{Identity: c.Author.Identity, Email: c.Author.Email, IP: m.IP, IPHash: c.IPHash, IPNet: c.IPNet}, s.now()) {
		switch sn.Kind {
		case comment.SanctionBan, comment.SanctionSuspend:
			return g, &comment.BannedError{Until: sn.Until}
		case comment.SanctionPremod:
			g.hold = &comment.Verdict{Layer: "sanction", Score: 0.5, Reason: "a moderator holds this author's comments"}
		}
	}
	if pc, err := s.store.PageControls(ctx, c.ThreadID); err != nil {
		return g, err
	} else if pc.Premod && g.hold == nil {
		g.hold = &comment.Verdict{Layer: "page", Score: 0.5, Reason: "comments on this article are held for moderation"}
	}
	switch v := snap.book.Check(rulebook.Input{Body: c.Markdown, HTML: c.HTML, Name: c.Author.Name, Website: c.Author.Website, Email: c.Author.Email, IP: m.IP}); v.Action {
	case rulebook.Spam:
		g.spam = &comment.Verdict{Layer: "site_rules", Score: 1, Reason: v.Rule}
	case rulebook.Hold:
		if g.hold == nil {
			g.hold = &comment.Verdict{Layer: "site_rules", Score: 0.5, Reason: v.Rule}
		}
	}
	return g, nil
}

// apply puts the guard's verdicts on a comment the spam checks judged:
// the stricter outcome wins.
func (g guard) apply(c *comment.Comment) {
	switch {
	case g.spam != nil && severity(comment.StatusSpam) > severity(c.Status):
		c.Status, c.Verdict = comment.StatusSpam, *g.spam
	case g.hold != nil && severity(comment.StatusPending) > severity(c.Status):
		c.Status, c.Verdict = comment.StatusPending, *g.hold
	}
}

// surge counts a new comment on an article and says what the surge guard
// does with it: "" (nothing), comment.SurgeHold or comment.SurgeClose.
// Comments are counted in a token bucket per article (shared by every
// instance on PostgreSQL): SurgeRate a minute, refilled as time passes.
// When it runs dry the guard starts, alerts staff, and stays on for
// SurgeFor.
func (s *Service) surge(ctx context.Context, site *comment.Site, key string, ps *pageState, cm *comment.Community, now time.Time) (string, error) {
	if pc := ps.controls; now.Before(pc.SurgeUntil) {
		return pc.SurgeAction, nil
	}
	if cm.SurgeRate <= 0 {
		return "", nil
	}
	l := ratelimit.Limit{Burst: cm.SurgeRate, Every: time.Minute / time.Duration(cm.SurgeRate)}
	ok, _, err := s.buckets().Take(ctx, "surge:"+s.sign.Hash("surge", site.ID+"\x00"+key, 12), l, now)
	if err != nil {
		// Counting failed: the comment goes on as if there were no surge.
		s.log.Warn("could not count comments for the surge guard", slog.String("site", site.ID), slog.String("err", err.Error()))
		return "", nil
	}
	if ok {
		return "", nil
	}
	if ps.threadID == "" {
		// The copy in memory is from before the article's first comment:
		// read it again.
		s.forgetPage(site.ID, key)
		if ps, err = s.pageState(ctx, site.ID, key); err != nil || ps.threadID == "" {
			return "", err
		}
	}
	action := cm.SurgeAction
	if action != comment.SurgeClose {
		action = comment.SurgeHold
	}
	for_ := cm.SurgeFor
	if for_ <= 0 {
		for_ = comment.DefaultSurgeFor
	}
	rate, err := s.store.RecentComments(ctx, ps.threadID, now.Add(-time.Minute))
	if err != nil {
		return "", err
	}
	alert := &comment.Alert{SiteID: site.ID, Kind: "surge", ThreadID: ps.threadID, Rate: rate + 1, Threshold: cm.SurgeRate, Action: action,
		Until: now.Add(for_).UTC(), Created: now.UTC()}
	e := SystemActor("surge guard").entry(site.ID, "page.surge", "thread:"+ps.threadID)
	e.After = auditJSON(map[string]any{"page": key, "rate": rate + 1, "threshold": cm.SurgeRate, "action": action, "until": alert.Until.Format(time.RFC3339)})
	started, err := s.store.StartSurge(ctx, alert, now.UTC(), e)
	if err != nil {
		return "", err
	}
	if started {
		s.log.Warn("surge guard started", slog.String("site", site.ID), slog.String("thread", ps.threadID), slog.Int("rate", rate+1), slog.String("action", action))
	}
	s.forgetPage(site.ID, key)
	s.threads.invalidate(pageGenKey(site.ID, key), threadGenKey(ps.threadID))
	return action, nil
}

// classifyGuard applies a site's sanctions and rules to a comment sent
// through the Akismet-compatible API: a banned or suspended sender, or a
// blocked rule, is spam ("true"), a rule that holds is Hold. Warnings and
// pre-moderation of an author are for comments posted to Parley itself.
func (s *Service) classifyGuard(ctx context.Context, siteID string, in *spam.Input) spam.Verdict {
	snap, err := s.book(ctx, siteID)
	if err != nil {
		s.log.Warn("could not read a site's sanctions for the Akismet API", slog.String("site", siteID), slog.String("err", err.Error()))
		return spam.Verdict{Action: spam.Publish}
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	a := rulebook.Author{Email: email, IP: in.IP}
	a.IPHash, a.IPNet = s.ipHashes(in.IP)
	for _, sn := range snap.book.Sanctions(a, s.now()) {
		if sn.Kind.Refuses() {
			return spam.Verdict{Action: spam.Spam, Layer: "ban", Score: 1}
		}
	}
	v := snap.book.Check(rulebook.Input{Body: in.Body, HTML: markup.Render(in.Body), Name: in.AuthorName, Website: in.Website, Email: email, IP: in.IP})
	switch v.Action {
	case rulebook.Spam:
		return spam.Verdict{Action: spam.Spam, Layer: "site_rules", Score: 1}
	case rulebook.Hold:
		return spam.Verdict{Action: spam.Hold, Layer: "site_rules", Score: 0.5}
	}
	return spam.Verdict{Action: spam.Publish}
}

// CommunitySettings returns a site's community settings and rules.
func (s *Service) CommunitySettings(ctx context.Context, a Actor, siteID string) (*comment.Community, *comment.SiteRules, error) {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return nil, nil, err
	}
	if _, err := s.store.Site(ctx, siteID); err != nil {
		return nil, nil, err
	}
	return s.store.Community(ctx, siteID)
}

// Limits on community settings.
const (
	MaxMessageLen   = 2000
	MaxReasons      = 20
	MaxReasonLen    = 200
	MaxRuleEntries  = 20_000
	MaxCloseAfter   = 3650 * 24 * time.Hour
	MaxSurgeFor     = 7 * 24 * time.Hour
	MaxSurgeRate    = 10_000
	MaxReportHide   = 1000
	maxRuleEntryLen = 300
)

// SetCommunitySettings checks and stores a site's community settings:
// admins of the site and owners may.
func (s *Service) SetCommunitySettings(ctx context.Context, a Actor, siteID string, c comment.Community) error {
	if err := a.can(siteID, staff.RoleAdmin); err != nil {
		return err
	}
	if err := normalizeCommunity(&c); err != nil {
		return err
	}
	old, _, err := s.store.Community(ctx, siteID)
	if err != nil {
		return err
	}
	e := a.entry(siteID, "site.community", "site:"+siteID)
	e.Before, e.After = auditJSON(communityAudit(old)), auditJSON(communityAudit(&c))
	if err := s.store.SetCommunity(ctx, siteID, &c, e); err != nil {
		return err
	}
	s.forgetBook(siteID)
	s.threads.reset() // messages and closing times are part of built threads
	return nil
}

func normalizeCommunity(c *comment.Community) error {
	c.Message = strings.TrimSpace(c.Message)
	switch {
	case c.ReportHide < 0 || c.ReportHide > MaxReportHide:
		return comment.Invalid("report_hide", fmt.Sprintf("Hide after 0 (never) to %d reports.", MaxReportHide))
	case c.CloseAfter < 0 || c.CloseAfter > MaxCloseAfter:
		return comment.Invalid("close_after", "Close after 0 (never) to 3650 days.")
	case len([]rune(c.Message)) > MaxMessageLen:
		return comment.Invalid("message", fmt.Sprintf("The message has at most %d characters.", MaxMessageLen))
	case c.SurgeRate < 0 || c.SurgeRate > MaxSurgeRate:
		return comment.Invalid("surge_rate", fmt.Sprintf("The surge threshold is 0 (off) to %d comments a minute.", MaxSurgeRate))
	case c.SurgeFor < 0 || c.SurgeFor > MaxSurgeFor:
		return comment.Invalid("surge_for", "The surge guard stays on from 1 minute to 7 days.")
	case len(c.Reasons) > MaxReasons:
		return comment.Invalid("reasons", fmt.Sprintf("At most %d reasons.", MaxReasons))
	}
	switch c.SurgeAction {
	case "":
		c.SurgeAction = comment.SurgeHold
	case comment.SurgeHold, comment.SurgeClose:
	default:
		return comment.Invalid("surge_action", "The surge guard holds comments (hold) or closes the article (close).")
	}
	if c.SurgeFor == 0 {
		c.SurgeFor = comment.DefaultSurgeFor
	}
	var reasons []string
	for _, r := range c.Reasons {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if len([]rune(r)) > MaxReasonLen || strings.ContainsAny(r, "\r\n") {
			return comment.Invalid("reasons", fmt.Sprintf("A reason is one line of at most %d characters.", MaxReasonLen))
		}
		reasons = append(reasons, r)
	}
	c.Reasons = reasons
	return nil
}

// communityAudit is a site's community settings as the audit log records them.
func communityAudit(c *comment.Community) map[string]any {
	return map[string]any{"report_hide": c.ReportHide, "close_after": c.CloseAfter.String(), "message": c.Message,
		"surge_rate": c.SurgeRate, "surge_action": c.SurgeAction, "surge_for": c.SurgeFor.String(), "reasons": c.Reasons,
		"email_decisions": c.EmailDecisions}
}

// SetSiteRules checks and stores a site's own rules (words, domains,
// addresses, link limits): admins of the site and owners may. Rules that
// cannot be understood are refused with the first of them named.
func (s *Service) SetSiteRules(ctx context.Context, a Actor, siteID string, r comment.SiteRules) error {
	if err := a.can(siteID, staff.RoleAdmin); err != nil {
		return err
	}
	lists := []*[]string{&r.BlockedWords, &r.HoldWords, &r.BlockedDomains, &r.BlockedEmails, &r.BlockedIPs}
	n := 0
	for _, l := range lists {
		var clean []string
		seen := map[string]bool{}
		for _, v := range *l {
			v = strings.TrimSpace(v)
			if v == "" || seen[strings.ToLower(v)] {
				continue
			}
			if len(v) > maxRuleEntryLen {
				return comment.Invalid("rules", fmt.Sprintf("%q… is too long for a rule (at most %d characters).", v[:40], maxRuleEntryLen))
			}
			seen[strings.ToLower(v)] = true
			clean = append(clean, v)
		}
		*l = clean
		n += len(clean)
	}
	if n > MaxRuleEntries {
		return comment.Invalid("rules", fmt.Sprintf("A site has at most %d rules.", MaxRuleEntries))
	}
	if _, err := rulebook.Compile(nil, r); err != nil {
		return comment.Invalid("rules", capitalise(err.Error())+".")
	}
	_, old, err := s.store.Community(ctx, siteID)
	if err != nil {
		return err
	}
	e := a.entry(siteID, "site.rules", "site:"+siteID)
	e.Before, e.After = auditJSON(old), auditJSON(r)
	if err := s.store.SetSiteRules(ctx, siteID, &r, e); err != nil {
		return err
	}
	s.forgetBook(siteID)
	return nil
}
