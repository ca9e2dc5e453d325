package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/markup"
	"parley/internal/staff"
	"parley/internal/store"
)

// The moderation desk's work on comments: finding them, deciding on them
// one by one or by the thousand, editing and replying as staff, and
// undoing. Every method takes the Actor who asks and writes the audit
// entry in the same transaction as the change.

// Query selects comments for the desk, as a person or a program gives it.
// Zero fields match anything.
type Query struct {
	Status comment.Status
	// Page is an article's page key or address (its thread).
	Page   string
	Author string // name (any case) or log-in identity
	Email  string
	// IP is an address (hashed here as comments' addresses are) or a
	// stored hash as the desk shows it.
	IP    string
	Text  string
	Since time.Time
	Until time.Time
	// Cursor continues a listing (from Page.Next); "" starts it.
	Cursor string
	Limit  int
}

// IsZero reports whether q selects every comment of its status.
func (q Query) IsZero() bool {
	return q.Page == "" && q.Author == "" && q.Email == "" && q.IP == "" && q.Text == "" && q.Since.IsZero() && q.Until.IsZero()
}

// Card is one comment as the desk shows it: with its article, the comment
// it replies to, and what the site knows of its author.
type Card struct {
	Comment *comment.Comment
	Thread  *comment.Thread
	Parent  *comment.Comment // nil for a top-level comment (or a missing parent)
	History *store.AuthorHistory
	// Private says whether the viewer may see the author's email address
	// and IP hash; when false both are blank in Comment.
	Private bool
	// Featured: the editors picked it (pages.go).
	Featured bool
}

// QueuePage is one page of the desk's queue.
type QueuePage struct {
	Cards []*Card
	// Next continues the listing; "" on the last page.
	Next string
	// Counts holds how many comments match the query in each view
	// (status), capped at CountCap.
	Counts map[comment.Status]int
}

// CountCap bounds the desk's counts: past it a view shows "10,000+", and
// counting a spam wave costs no more than that.
const CountCap = 10_000

// DeskSites returns the sites the actor has a role on, ordered by id.
func (s *Service) DeskSites(ctx context.Context, a Actor) ([]*comment.Site, error) {
	all, err := s.store.Sites(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(site *comment.Site) bool { return a.Role(site.ID) == "" }), nil
}

// DeskSite returns a site the actor has a role on. Returns
// comment.ErrNotFound otherwise, whether or not the site exists.
func (s *Service) DeskSite(ctx context.Context, a Actor, siteID string) (*comment.Site, error) {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return nil, err
	}
	return s.store.Site(ctx, siteID)
}

// filter turns a desk query into the store's filter.
func (s *Service) filter(ctx context.Context, site *comment.Site, q Query) (store.CommentFilter, error) {
	f := store.CommentFilter{SiteID: site.ID, Status: q.Status, Author: strings.TrimSpace(q.Author),
		Email: strings.ToLower(strings.TrimSpace(q.Email)), Text: strings.TrimSpace(q.Text), Since: q.Since, Until: q.Until, Limit: q.Limit}
	if q.Status != "" && !q.Status.Valid() {
		return f, comment.Invalid("status", "The status must be pending, approved, spam or deleted.")
	}
	if len(f.Text) > 200 {
		return f, comment.Invalid("q", "Search for at most 200 characters.")
	}
	if p := strings.TrimSpace(q.Page); p != "" {
		t, err := s.store.Thread(ctx, site.ID, PageKey(p))
		if errors.Is(err, comment.ErrNotFound) {
			// An article without comments: nothing matches, which is
			// an answer, not an error.
			f.ThreadID = "\x00none"
		} else if err != nil {
			return f, err
		} else {
			f.ThreadID = t.ID
		}
	}
	if ip := strings.TrimSpace(q.IP); ip != "" {
		if addr, err := netip.ParseAddr(ip); err == nil {
			f.IPHash = s.sign.Hash("ip", addr.String(), 12)
		} else if validHash(ip) {
			f.IPHash = ip
		} else {
			return f, comment.Invalid("ip", "Give an IP address, such as 203.0.113.7, or an address hash as the desk shows it.")
		}
	}
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return f, err
		}
		f.Cursor = c
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, comment.Invalid("until", "The end of the time range must come after its start.")
	}
	return f, nil
}

func validHash(h string) bool {
	if len(h) == 0 || len(h) > 64 {
		return false
	}
	for _, r := range h {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// encodeCursor and decodeCursor turn a keyset position into an opaque
// string for links and the API.
func encodeCursor(c *store.Cursor) string {
	if c == nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.Time.UnixNano(), 36) + "." + c.ID))
}

func decodeCursor(s string) (*store.Cursor, error) {
	bad := comment.Invalid("cursor", "This page link is not valid; start from the first page.")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	ts, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(ts, 36, 64)
	if !ok || err != nil || id == "" || len(id) > 64 {
		return nil, bad
	}
	return &store.Cursor{Time: time.Unix(0, n).UTC(), ID: id}, nil
}

// Queue returns one page of a site's comments matching q, as cards, with
// the counts of every view.
func (s *Service) Queue(ctx context.Context, a Actor, siteID string, q Query) (*QueuePage, error) {
	site, err := s.DeskSite(ctx, a, siteID)
	if err != nil {
		return nil, err
	}
	f, err := s.filter(ctx, site, q)
	if err != nil {
		return nil, err
	}
	list, next, err := s.store.FindComments(ctx, f)
	if err != nil {
		return nil, err
	}
	counts, err := s.store.CountComments(ctx, f, CountCap)
	if err != nil {
		return nil, err
	}
	cards, err := s.cards(ctx, a, site, list)
	if err != nil {
		return nil, err
	}
	return &QueuePage{Cards: cards, Next: encodeCursor(next), Counts: counts}, nil
}

// Card returns one comment of a site as the desk shows it.
func (s *Service) Card(ctx context.Context, a Actor, siteID, id string) (*Card, error) {
	site, err := s.DeskSite(ctx, a, siteID)
	if err != nil {
		return nil, err
	}
	c, err := s.Comment(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	cards, err := s.cards(ctx, a, site, []*comment.Comment{c})
	if err != nil {
		return nil, err
	}
	return cards[0], nil
}

// cards adds to comments what a moderator needs beside them, with one
// query for all threads, one for all parents, and one for the authors'
// histories.
func (s *Service) cards(ctx context.Context, a Actor, site *comment.Site, list []*comment.Comment) ([]*Card, error) {
	var threadIDs, parentIDs []string
	for _, c := range list {
		if !slices.Contains(threadIDs, c.ThreadID) {
			threadIDs = append(threadIDs, c.ThreadID)
		}
		if c.ParentID != "" && !slices.Contains(parentIDs, c.ParentID) {
			parentIDs = append(parentIDs, c.ParentID)
		}
	}
	threads, err := s.store.ThreadsByID(ctx, threadIDs)
	if err != nil {
		return nil, err
	}
	parents, err := s.store.CommentsByID(ctx, parentIDs)
	if err != nil {
		return nil, err
	}
	private := a.SeesPrivate(site)
	authors := make([]comment.Author, len(list))
	for i, c := range list {
		authors[i] = c.Author
	}
	histories, err := s.store.AuthorHistories(ctx, site.ID, authors)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	featured, err := s.store.FeaturedOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	cards := make([]*Card, len(list))
	for i, c := range list {
		card := &Card{Comment: c, Thread: threads[c.ThreadID], Parent: parents[c.ParentID], History: histories[store.AuthorKey(c.Author)], Private: private, Featured: featured[c.ID]}
		if !private {
			cc := *c
			cc.Author.Email, cc.IPHash = "", ""
			card.Comment = &cc
			if card.Parent != nil {
				pc := *card.Parent
				pc.Author.Email, pc.IPHash = "", ""
				card.Parent = &pc
			}
		}
		cards[i] = card
	}
	return cards, nil
}

// Decision is what a moderator decides about comments.
type Decision string

// The decisions. Approve and Ham both publish; Ham says the filter was
// wrong ("not spam") and is offered on spam. Approve and Ham teach the
// filter "legitimate", Spam teaches it "spam"; Delete and Pending teach
// nothing.
const (
	Approve Decision = "approve"
	Spam    Decision = "spam"
	Ham     Decision = "ham"
	Delete  Decision = "delete"
	Pending Decision = "pending"
)

// ParseDecision checks a decision given by a person or a program.
func ParseDecision(s string) (Decision, error) {
	switch d := Decision(s); d {
	case Approve, Spam, Ham, Delete, Pending:
		return d, nil
	}
	return "", comment.Invalid("action", "The action must be approve, spam, ham, delete or pending.")
}

// Status returns the status a decision moves comments to.
func (d Decision) Status() comment.Status {
	switch d {
	case Approve, Ham:
		return comment.StatusApproved
	case Spam:
		return comment.StatusSpam
	case Delete:
		return comment.StatusDeleted
	}
	return comment.StatusPending
}

// MaxBulk bounds how many comments one decision on selected ids may name.
const MaxBulk = 1000

// Decide applies a decision to comments of a site chosen by id, teaches
// the spam filter, and records it, all as one audit entry. It returns the
// comments that changed, as they are now. Ids of other sites' comments,
// or of none, are comment.ErrNotFound as a whole: nothing changes.
func (s *Service) Decide(ctx context.Context, a Actor, siteID string, ids []string, d Decision) ([]*comment.Comment, error) {
	return s.DecideWithReason(ctx, a, siteID, ids, d, "")
}

// DecideWithReason is Decide with the reason (one of the site's) that
// the authors of held comments not published are told.
func (s *Service) DecideWithReason(ctx context.Context, a Actor, siteID string, ids []string, d Decision, reason string) ([]*comment.Comment, error) {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return nil, err
	}
	reason, err := s.checkReason(ctx, siteID, reason)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, comment.Missing("ids", "Choose at least one comment.")
	}
	if len(ids) > MaxBulk {
		return nil, comment.Invalid("ids", fmt.Sprintf("Choose at most %d comments at once, or act on everything matching a filter.", MaxBulk))
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	found, err := s.store.CommentsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if c, ok := found[id]; !ok || c.SiteID != siteID {
			return nil, comment.ErrNotFound
		}
	}
	target := "comment:" + ids[0]
	if len(ids) > 1 {
		target = fmt.Sprintf("comments:%d", len(ids))
	}
	e := a.entry(siteID, "comment."+string(d), target)
	e.After = auditJSON(map[string]string{"status": string(d.Status())})
	if reason != "" {
		e.After = auditJSON(map[string]string{"status": string(d.Status()), "reason": reason})
	}
	before, err := s.store.Moderate(ctx, siteID, ids, d.Status(), e)
	if err != nil {
		return nil, err
	}
	s.decided(ctx, a, siteID, ids, byID(before), d, reason) // reports close, authors are told (reports.go)
	changed := s.afterDecision(ctx, before, d)
	// Comments already in the target state did not change, but a
	// moderator who says "spam" of a held comment the filter published
	// still teaches the filter; Moderate returned only changed ones.
	return changed, nil
}

// afterDecision drops the changed comments' threads from the cache and
// teaches the filters; it returns the comments as they are now.
func (s *Service) afterDecision(ctx context.Context, before []*comment.Comment, d Decision) []*comment.Comment {
	now := make([]*comment.Comment, len(before))
	for i, c := range before {
		s.threads.invalidate(threadGenKey(c.ThreadID))
		if d != Delete && d != Pending {
			for _, l := range s.learners {
				if err := l.Learn(ctx, c, d == Spam); err != nil {
					// The decision stands; one lesson missed is not worth
					// failing the moderator's action for.
					s.log.Warn("spam filter could not learn from a decision", slog.String("comment", c.ID), slog.String("err", err.Error()))
				}
			}
		}
		cc := *c
		cc.Status = d.Status()
		now[i] = &cc
	}
	return now
}

// BulkLearnLimit bounds how many comments of one bulk decision the spam
// filter learns from: a spam wave of ten thousand copies of one text
// teaches no more than a hundred, and the decision stays fast.
const BulkLearnLimit = 100

// DecideMatching applies a decision to every comment of a site matching
// q — across all pages — in one transaction, and returns how many
// matched and changed. A query that matches nothing is an answer (0, 0),
// not an error.
func (s *Service) DecideMatching(ctx context.Context, a Actor, siteID string, q Query, d Decision) (matched, changed int, err error) {
	site, err := s.DeskSite(ctx, a, siteID)
	if err != nil {
		return 0, 0, err
	}
	q.Cursor = ""
	f, err := s.filter(ctx, site, q)
	if err != nil {
		return 0, 0, err
	}
	e := a.entry(siteID, "comment."+string(d), "query")
	e.Before = auditJSON(queryJSON(q))
	e.After = auditJSON(map[string]string{"status": string(d.Status())})
	matched, changed, err = s.store.ModerateMatching(ctx, f, d.Status(), e)
	if err != nil || changed == 0 {
		return matched, changed, err
	}
	s.decidedMatching(ctx, a, siteID, e, d)
	s.threads.reset()
	if d != Delete && d != Pending && len(s.learners) > 0 {
		ids := make([]string, 0, min(len(e.Comments), BulkLearnLimit))
		for id := range e.Comments {
			if ids = append(ids, id); len(ids) == BulkLearnLimit {
				break
			}
		}
		cs, err := s.store.CommentsByID(ctx, ids)
		if err == nil {
			list := make([]*comment.Comment, 0, len(cs))
			for _, c := range cs {
				list = append(list, c)
			}
			s.afterDecision(ctx, list, d)
		}
	}
	return matched, changed, nil
}

// queryJSON is a query as the audit log records it.
func queryJSON(q Query) map[string]string {
	m := map[string]string{}
	add := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	add("status", string(q.Status))
	add("page", q.Page)
	add("author", q.Author)
	add("email", q.Email)
	add("ip", q.IP)
	add("q", q.Text)
	if !q.Since.IsZero() {
		m["since"] = q.Since.UTC().Format(time.RFC3339)
	}
	if !q.Until.IsZero() {
		m["until"] = q.Until.UTC().Format(time.RFC3339)
	}
	return m
}

// EditAs replaces a comment's text on a moderator's word. Readers see that
// a moderator edited it. The new text is not checked for spam: staff
// vouch for it.
func (s *Service) EditAs(ctx context.Context, a Actor, siteID, id, body string) (*comment.Comment, error) {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return nil, err
	}
	c, err := s.Comment(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	if err := comment.CheckBody(body); err != nil {
		return nil, err
	}
	if body == c.Markdown {
		return c, nil
	}
	e := a.entry(siteID, "comment.edit", "comment:"+id)
	e.Before = auditJSON(map[string]string{"text": c.Markdown})
	e.After = auditJSON(map[string]string{"text": body})
	c.Markdown, c.HTML, c.Edited, c.EditedBy = body, markup.Render(body), s.now().UTC(), a.Name
	if err := s.store.EditCommentAs(ctx, c, e); err != nil {
		return nil, err
	}
	s.threads.invalidate(threadGenKey(c.ThreadID))
	return c, nil
}

// ReplyAs posts a staff member's reply to a comment: it is published at
// once, carries a staff badge, and approves the comment it answers if
// that was held (as replying does in WordPress).
func (s *Service) ReplyAs(ctx context.Context, a Actor, siteID, parentID, body string) (*comment.Comment, error) {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return nil, err
	}
	m := a.Member()
	if m == nil {
		return nil, comment.Invalid("actor", "Only a staff member logged in to the desk can reply as staff.")
	}
	parent, err := s.Comment(ctx, siteID, parentID)
	if err != nil {
		return nil, err
	}
	if err := comment.CheckBody(body); err != nil {
		return nil, err
	}
	if parent.Status == comment.StatusPending {
		if _, err := s.Decide(ctx, a, siteID, []string{parentID}, Approve); err != nil {
			return nil, err
		}
	}
	t, err := s.store.ThreadsByID(ctx, []string{parent.ThreadID})
	if err != nil {
		return nil, err
	}
	th, ok := t[parent.ThreadID]
	if !ok {
		return nil, comment.ErrNotFound
	}
	name := m.Account.Name
	if name == "" {
		name = m.Account.Email
	}
	now := s.now().UTC()
	c := &comment.Comment{
		ID: comment.NewID(now), SiteID: siteID, ParentID: parentID,
		Author:   comment.Author{Name: name, Email: m.Account.Email, Identity: "staff:" + m.Account.ID},
		Markdown: body, HTML: markup.Render(body), Status: comment.StatusApproved, Created: now, Staff: true,
		Verdict: comment.Verdict{Layer: "staff", Reason: "written by the site's staff"},
	}
	page := comment.Page{SiteID: siteID, Key: th.Key, URL: th.URL, Title: th.Title}
	if err := s.store.CreateComment(ctx, page, c); err != nil {
		return nil, err
	}
	e := a.entry(siteID, "comment.reply", "comment:"+c.ID)
	e.After = auditJSON(map[string]string{"parent": parentID, "text": body})
	if err := s.store.AddAudit(ctx, e); err != nil {
		// The reply is published; its audit row is what failed. Say so
		// loudly rather than unpublish a reader-visible comment.
		s.log.Error("staff reply published but not audited", slog.String("comment", c.ID), slog.String("err", err.Error()))
	}
	s.threads.invalidate(threadGenKey(c.ThreadID))
	return c, nil
}

// Undo reverses the actor's latest decision on a site's comments that is
// not undone yet: each comment goes back to the status it had. It returns
// the entry it undid. Returns comment.ErrNotFound when there is nothing to
// undo.
func (s *Service) Undo(ctx context.Context, a Actor, siteID string) (*staff.AuditEntry, error) {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return nil, err
	}
	if a.Kind == staff.ActorCLI || a.Kind == staff.ActorSystem {
		return nil, comment.Invalid("actor", "Undo is for a desk session or an API token.")
	}
	list, _, err := s.store.AuditEntries(ctx, store.AuditFilter{SiteID: siteID, ActorID: a.ID, Action: "comment.", Limit: 20})
	if err != nil {
		return nil, err
	}
	var last *staff.AuditEntry
	for _, e := range list {
		if e.ActorKind == a.Kind && e.UndoneBy == 0 && e.Count > 0 && e.Action != "comment.edit" && e.Action != "comment.reply" {
			last = e
			break
		}
	}
	if last == nil {
		return nil, comment.ErrNotFound
	}
	undo := a.entry(siteID, "undo", fmt.Sprintf("audit:%d", last.ID))
	undo.Before = auditJSON(map[string]string{"action": last.Action})
	var after struct{ Status comment.Status }
	if err := json.Unmarshal([]byte(last.After), &after); err != nil || !after.Status.Valid() {
		return nil, fmt.Errorf("audit entry %d: no status recorded", last.ID)
	}
	restored, err := s.store.Revert(ctx, siteID, last.ID, after.Status, undo)
	if err != nil {
		return nil, err
	}
	for _, c := range restored {
		s.threads.invalidate(threadGenKey(c.ThreadID))
	}
	return last, nil
}

// AuditLog returns one page of a site's audit log (or, for owners with
// siteID "", every entry), newest first, and the cursor of the next page.
func (s *Service) AuditLog(ctx context.Context, a Actor, siteID string, f store.AuditFilter, cursor string) ([]*staff.AuditEntry, string, error) {
	if siteID == "" {
		if !a.IsOwner() {
			return nil, "", comment.ErrNotFound
		}
		f.All = true
	} else if err := a.can(siteID, staff.RoleModerator); err != nil {
		return nil, "", err
	}
	f.SiteID = siteID
	if cursor != "" {
		c, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		f.Cursor = c
	}
	list, next, err := s.store.AuditEntries(ctx, f)
	if err != nil {
		return nil, "", err
	}
	return list, encodeCursor(next), nil
}

// AuditFilter selects audit entries (for the desk, the API and the CLI).
type AuditFilter = store.AuditFilter
