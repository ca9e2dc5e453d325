package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"parley/internal/comment"
	"parley/internal/ratelimit"
	"parley/internal/spam"
	"parley/internal/staff"
	"parley/internal/store"
)

// Reader reports: a reader tells the site's staff that a comment is spam,
// abusive, off-topic or something else. One report per reader and
// comment; a site hides a comment pending review once enough distinct
// readers reported it. Readers are told apart by their log-in when they
// have one, else by their address's network (/24 for IPv4, /48 for
// IPv6): a person with many reader tokens (or browsers) behind one
// network counts once.

// ReportLimit bounds how many reports one reader (log-in or network) may
// send: ten at once, then one a minute.
var ReportLimit = ratelimit.Limit{Burst: 10, Every: time.Minute}

// ReportInput is a reader's report as sent.
type ReportInput struct {
	SiteID    string
	CommentID string
	Reason    string
	Text      string
	Reader    string // the reader token the widget keeps, if any
	Identity  string // the logged-in reader's "provider:subject", if any
	IP        string
}

// Report records a reader's report of a published comment. Reporting a
// comment twice is not an error: the reader is thanked again and nothing
// changes. It returns whether this report hid the comment.
func (s *Service) Report(ctx context.Context, in ReportInput) (bool, error) {
	site, err := s.Site(ctx, in.SiteID)
	if err != nil {
		return false, err
	}
	reason, err := comment.ParseReportReason(strings.TrimSpace(in.Reason))
	if err != nil {
		return false, err
	}
	text := strings.TrimSpace(in.Text)
	switch {
	case utf8.RuneCountInString(text) > comment.MaxReportText || !utf8.ValidString(text) || strings.IndexByte(text, 0) >= 0:
		return false, &comment.ValidationError{Field: "text", Code: "too_long_text", Message: fmt.Sprintf("Say it in at most %d characters.", comment.MaxReportText)}
	case reason == comment.ReportOther && text == "":
		return false, comment.Missing("text", "Say what is wrong with this comment.")
	}
	c, err := s.Comment(ctx, site.ID, in.CommentID)
	if err != nil {
		return false, err
	}
	if c.Status != comment.StatusApproved {
		return false, comment.ErrNotFound
	}
	r := &comment.Report{SiteID: site.ID, CommentID: c.ID, Reason: reason, Text: text, Created: s.now().UTC()}
	if rid, ok := s.readerID(in.Reader); ok {
		r.Reader = rid
	}
	switch {
	case in.Identity != "":
		r.Reporter = "id:" + s.sign.Hash("reporter", in.Identity, 12)
	case in.IP != "":
		r.Reporter = "net:" + s.sign.Hash("reporter", comment.IPNetwork(in.IP), 12)
	case r.Reader != "":
		r.Reporter = "rd:" + r.Reader
	default:
		return false, comment.Invalid("reader", "Your browser's reader token is missing or invalid; reload the page.")
	}
	ok, retry, err := s.buckets().Take(ctx, "report:"+r.Reporter, ReportLimit, s.now())
	if err != nil {
		return false, err
	}
	if !ok {
		return false, &spam.RateLimitError{Key: "reports", RetryAfter: retry}
	}
	cm, err := s.book(ctx, site.ID)
	if err != nil {
		return false, err
	}
	hideAt := cm.settings.ReportHide
	e := SystemActor("reader reports").entry(site.ID, "report.hide", "comment:"+c.ID)
	e.After = auditJSON(map[string]any{"status": comment.StatusPending, "reports": hideAt})
	v := comment.Verdict{Layer: "reports", Score: 0.5, Reason: fmt.Sprintf("hidden after reports from %d readers, pending review", hideAt)}
	open, hid, err := s.store.AddReport(ctx, r, hideAt, v, e)
	if errors.Is(err, comment.ErrConflict) {
		return false, nil // reported before: once is enough
	}
	if err != nil {
		return false, err
	}
	if hid {
		s.threads.invalidate(threadGenKey(c.ThreadID))
		s.log.Info("comment hidden by reader reports", slog.String("site", site.ID), slog.String("comment", c.ID), slog.Int("reports", open))
	}
	return hid, nil
}

// ReportedCard is a comment with open reports, as the desk's Reported
// view shows it.
type ReportedCard struct {
	*Card
	Reports *comment.Reported
}

// ReportedPage is one page of the Reported view.
type ReportedPage struct {
	Cards []*ReportedCard
	Next  string
	Count int // comments with open reports, up to CountCap
}

// Reported lists a site's reported comments, the latest reported first.
func (s *Service) Reported(ctx context.Context, a Actor, siteID, cursor string, limit int) (*ReportedPage, error) {
	site, err := s.DeskSite(ctx, a, siteID)
	if err != nil {
		return nil, err
	}
	var c *store.Cursor
	if cursor != "" {
		if c, err = decodeCursor(cursor); err != nil {
			return nil, err
		}
	}
	list, next, err := s.store.ReportedComments(ctx, siteID, c, limit)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(list))
	for i, r := range list {
		ids[i] = r.CommentID
	}
	found, err := s.store.CommentsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	var cs []*comment.Comment
	var reps []*comment.Reported
	for _, r := range list {
		if cm, ok := found[r.CommentID]; ok {
			cs = append(cs, cm)
			reps = append(reps, r)
		}
	}
	cards, err := s.cards(ctx, a, site, cs)
	if err != nil {
		return nil, err
	}
	out := &ReportedPage{Next: encodeCursor(next)}
	for i, card := range cards {
		out.Cards = append(out.Cards, &ReportedCard{Card: card, Reports: reps[i]})
	}
	if out.Count, err = s.store.CountReported(ctx, siteID, CountCap); err != nil {
		return nil, err
	}
	return out, nil
}

// CountReported counts a site's comments with open reports (for the
// desk's tab), up to CountCap.
func (s *Service) CountReported(ctx context.Context, a Actor, siteID string) (int, error) {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return 0, err
	}
	return s.store.CountReported(ctx, siteID, CountCap)
}

// DismissReports closes the open reports of comments, leaving the
// comments as they are: moderators may. It returns how many reports
// closed.
func (s *Service) DismissReports(ctx context.Context, a Actor, siteID string, ids []string) (int, error) {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, comment.Missing("ids", "Choose at least one comment.")
	}
	if len(ids) > MaxBulk {
		return 0, comment.Invalid("ids", fmt.Sprintf("Choose at most %d comments at once.", MaxBulk))
	}
	target := "comment:" + ids[0]
	if len(ids) > 1 {
		target = fmt.Sprintf("comments:%d", len(ids))
	}
	e := a.entry(siteID, "report.dismiss", target)
	e.After = auditJSON(map[string]any{"comments": ids})
	return s.store.ResolveReports(ctx, siteID, ids, s.now().UTC(), a.Name, e)
}

// decided is told of every decision on a site's comments (one by one or
// by query): the comments' open reports close (the moderator has looked),
// and the authors of held comments that were decided are told what
// became of them (with the reason chosen, if any), the next time they
// open the section.
func (s *Service) decided(ctx context.Context, a Actor, siteID string, ids []string, before map[string]*comment.Comment, d Decision, reason string) {
	if len(ids) > 0 {
		if _, err := s.store.ResolveReports(ctx, siteID, ids, s.now().UTC(), a.Name, nil); err != nil {
			s.log.Warn("a decision's comments' reports stay open", slog.String("site", siteID), slog.String("err", err.Error()))
		}
	}
	if d == Pending {
		return
	}
	var list []*comment.Notice
	for _, c := range before {
		if c.Status != comment.StatusPending || c.Reader == "" || c.Verdict.Layer == "reports" {
			continue
		}
		n := &comment.Notice{SiteID: siteID, Reader: c.Reader, CommentID: c.ID, Approved: d.Status() == comment.StatusApproved}
		if !n.Approved {
			n.Reason = reason
		}
		list = append(list, n)
	}
	if err := s.store.AddNotices(ctx, list); err != nil {
		s.log.Warn("readers will not be told of a decision", slog.String("site", siteID), slog.String("err", err.Error()))
	}
}

// decidedMatching is decided for a decision by query: e holds the
// comments it changed with their previous statuses.
func (s *Service) decidedMatching(ctx context.Context, a Actor, siteID string, e *staff.AuditEntry, d Decision) {
	ids := make([]string, 0, len(e.Comments))
	var held []string
	for id, st := range e.Comments {
		ids = append(ids, id)
		if st == string(comment.StatusPending) {
			held = append(held, id)
		}
	}
	before := map[string]*comment.Comment{}
	for start := 0; start < len(held) && start < 10*MaxBulk; start += MaxBulk {
		cs, err := s.store.CommentsByID(ctx, held[start:min(start+MaxBulk, len(held))])
		if err != nil {
			break
		}
		for id, c := range cs {
			c.Status = comment.StatusPending // as it was before the decision
			before[id] = c
		}
	}
	s.decided(ctx, a, siteID, ids, before, d, "")
}

// checkReason checks a reason given with a decision: one of the site's
// reasons (or none).
func (s *Service) checkReason(ctx context.Context, siteID, reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return "", nil
	}
	snap, err := s.book(ctx, siteID)
	if err != nil {
		return "", err
	}
	for _, r := range snap.settings.Reasons {
		if r == reason {
			return r, nil
		}
	}
	return "", comment.Invalid("reason", "Choose one of the site's reasons (Community settings).")
}

// Notices returns what a reader is to be told about held comments of
// theirs that moderators decided on, and marks them told.
func (s *Service) Notices(ctx context.Context, siteID, reader string) ([]*comment.Notice, error) {
	if _, err := s.Site(ctx, siteID); err != nil {
		return nil, err
	}
	rid, ok := s.readerID(reader)
	if !ok {
		return nil, comment.Invalid("reader", "Your browser's reader token is missing or invalid; reload the page.")
	}
	list, err := s.store.Notices(ctx, siteID, rid, 20)
	if err != nil || len(list) == 0 {
		return list, err
	}
	ids := make([]int64, len(list))
	for i, n := range list {
		ids[i] = n.ID
	}
	return list, s.store.SeeNotices(ctx, siteID, rid, ids)
}

// byID indexes comments by id.
func byID(list []*comment.Comment) map[string]*comment.Comment {
	out := make(map[string]*comment.Comment, len(list))
	for _, c := range list {
		out[c.ID] = c
	}
	return out
}
