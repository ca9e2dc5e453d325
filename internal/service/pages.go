package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/markup"
	"parley/internal/staff"
	"parley/internal/store"
)

// Story controls: the desk's list of a site's articles, and what staff
// set per article — closed or open, closing after N days, pre-moderated,
// a message above the form, a pinned comment — and the featured comments
// readers see in a tab of their own.

// arrange builds a thread's comments (approved, oldest first) into what
// readers see, with the article's controls: closed or not, its message,
// its pinned comment first, its featured comments marked (or alone, in
// the Featured tab). th is nil for a page without comments yet.
func (s *Service) arrange(ctx context.Context, t *Thread, th *comment.Thread, cs []*comment.Comment, maxDepth int) error {
	snap, err := s.book(ctx, t.SiteID)
	if err != nil {
		return err
	}
	now := s.now()
	pc := &comment.PageControls{}
	featured := map[string]bool{}
	if th != nil {
		if pc, err = s.store.PageControls(ctx, th.ID); err != nil {
			return err
		}
		if featured, err = s.store.Featured(ctx, th.ID); err != nil {
			return err
		}
		t.Closed, t.Until = closing(th.Closed, th.Created, pc, &snap.settings, now)
		if !pc.SurgeUntil.IsZero() && now.Before(pc.SurgeUntil) && (t.Until.IsZero() || pc.SurgeUntil.Before(t.Until)) {
			t.Until = pc.SurgeUntil
		}
	}
	msg := pc.Message
	if msg == "" {
		msg = snap.settings.Message
	}
	if msg != "" {
		t.Message = markup.Render(msg)
	}
	if t.Sort == comment.SortFeatured {
		// The Featured tab: the picks alone, newest first, each shown
		// without its replies.
		for i := len(cs) - 1; i >= 0; i-- {
			if featured[cs[i].ID] {
				t.Comments = append(t.Comments, &Node{Comment: cs[i], Featured: true})
			}
		}
		t.Featured = len(t.Comments)
		return nil
	}
	t.Comments = buildTree(cs, t.Sort, maxDepth)
	var mark func([]*Node)
	mark = func(ns []*Node) {
		for _, n := range ns {
			if featured[n.ID] {
				n.Featured = true
				t.Featured++
			}
			mark(n.Replies)
		}
	}
	mark(t.Comments)
	if pc.Pinned != "" {
		// Only a published top-level comment can open the thread.
		if i := slices.IndexFunc(t.Comments, func(n *Node) bool { return n.ID == pc.Pinned }); i >= 0 {
			n := t.Comments[i]
			t.Comments = append([]*Node{n}, slices.Delete(t.Comments, i, i+1)...)
			t.Pinned = n.ID
		}
	}
	return nil
}

// ArticleQuery selects articles for the desk's list.
type ArticleQuery struct {
	Order  string // "activity" (latest comment first) or "new"
	Text   string // in the title or address
	Cursor string
	Limit  int
}

// ArticlesPage is one page of the desk's article list.
type ArticlesPage struct {
	Articles []*ArticleView
	Next     string
}

// ArticleView is an article as the desk shows it: with its state worked
// out (closed by staff, by itself after N days, or by a surge).
type ArticleView struct {
	*comment.Article
	// Closed: it takes no comments now; AutoClosed says it closed by
	// itself (after N days), ClosesAt when it will.
	Closed     bool
	AutoClosed bool
	ClosesAt   time.Time
	// CloseAfter is the period in force (the article's or the site's); 0: never.
	CloseAfter time.Duration
	// Surge: the surge guard is on until Controls.SurgeUntil.
	Surge bool
}

// Articles returns one page of a site's articles with their counts.
func (s *Service) Articles(ctx context.Context, a Actor, siteID string, q ArticleQuery) (*ArticlesPage, error) {
	if _, err := s.DeskSite(ctx, a, siteID); err != nil {
		return nil, err
	}
	f := store.ArticleFilter{SiteID: siteID, Order: q.Order, Text: strings.TrimSpace(q.Text), Limit: q.Limit}
	switch f.Order {
	case "", "activity":
		f.Order = "activity"
	case "new":
	default:
		return nil, comment.Invalid("order", "The order is activity (latest comment first) or new (newest article first).")
	}
	if len(f.Text) > 200 {
		return nil, comment.Invalid("q", "Search for at most 200 characters.")
	}
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		f.Cursor = c
	}
	list, next, err := s.store.Articles(ctx, f)
	if err != nil {
		return nil, err
	}
	views, err := s.articleViews(ctx, siteID, list)
	if err != nil {
		return nil, err
	}
	return &ArticlesPage{Articles: views, Next: encodeCursor(next)}, nil
}

func (s *Service) articleViews(ctx context.Context, siteID string, list []*comment.Article) ([]*ArticleView, error) {
	snap, err := s.book(ctx, siteID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]*ArticleView, len(list))
	for i, a := range list {
		v := &ArticleView{Article: a, CloseAfter: snap.settings.CloseAfter}
		if a.Controls.CloseAfter != nil {
			v.CloseAfter = *a.Controls.CloseAfter
		}
		v.Closed, _ = closing(a.Thread.Closed, a.Thread.Created, &a.Controls, &snap.settings, now)
		if v.CloseAfter > 0 {
			v.ClosesAt = a.Thread.Created.Add(v.CloseAfter)
			v.AutoClosed = v.Closed && !a.Thread.Closed && !now.Before(v.ClosesAt)
		}
		v.Surge = now.Before(a.Controls.SurgeUntil)
		out[i] = v
	}
	return out, nil
}

// Article returns one article of a site by its thread id, or (with a page
// key or address) by its page.
func (s *Service) Article(ctx context.Context, a Actor, siteID, ref string) (*ArticleView, error) {
	if _, err := s.DeskSite(ctx, a, siteID); err != nil {
		return nil, err
	}
	th, err := s.findThread(ctx, siteID, ref)
	if err != nil {
		return nil, err
	}
	list, _, err := s.store.Articles(ctx, store.ArticleFilter{SiteID: siteID, ThreadID: th.ID})
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, comment.ErrNotFound
	}
	views, err := s.articleViews(ctx, siteID, list)
	if err != nil {
		return nil, err
	}
	return views[0], nil
}

// findThread finds an article by thread id or page key (or address).
func (s *Service) findThread(ctx context.Context, siteID, ref string) (*comment.Thread, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, comment.Missing("page", "Say which article (its address, page id or thread id).")
	}
	if th, err := s.store.Thread(ctx, siteID, PageKey(ref)); err == nil {
		return th, nil
	} else if !errors.Is(err, comment.ErrNotFound) {
		return nil, err
	}
	ths, err := s.store.ThreadsByID(ctx, []string{ref})
	if err != nil {
		return nil, err
	}
	if th, ok := ths[ref]; ok && th.SiteID == siteID {
		return th, nil
	}
	return nil, comment.ErrNotFound
}

// PageChange is what staff change about an article; nil fields stay.
type PageChange struct {
	Closed *bool
	// CloseAfter: a period (0: never close by itself); with
	// FollowSite, the site's setting again.
	CloseAfter *time.Duration
	FollowSite bool
	Premod     *bool
	Message    *string
	// Pinned: a comment id, or "" to unpin.
	Pinned *string
	// EndSurge ends a surge guard now.
	EndSurge bool
}

// SetPage changes an article's controls: moderators of the site and up
// may. Opening an article that closed by itself keeps it open (its own
// close-after becomes "never", which the audit log records). The change
// is one audit entry, with the fields before and after.
func (s *Service) SetPage(ctx context.Context, a Actor, siteID, ref string, ch PageChange) (*ArticleView, error) {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return nil, err
	}
	cur, err := s.Article(ctx, a, siteID, ref)
	if err != nil {
		return nil, err
	}
	pc := cur.Controls
	closed := cur.Thread.Closed
	before := pageAudit(cur.Thread.Closed, &pc)
	if ch.Closed != nil {
		closed = *ch.Closed
		if !closed && cur.AutoClosed && ch.CloseAfter == nil && !ch.FollowSite {
			never := time.Duration(0)
			pc.CloseAfter = &never
		}
		if !closed && cur.Surge && pc.SurgeAction == comment.SurgeClose {
			pc.SurgeUntil = time.Time{}
		}
	}
	switch {
	case ch.FollowSite:
		pc.CloseAfter = nil
	case ch.CloseAfter != nil:
		d := *ch.CloseAfter
		if d < 0 || d > MaxCloseAfter {
			return nil, comment.Invalid("close_after", "Close after 0 (never) to 3650 days.")
		}
		pc.CloseAfter = &d
	}
	if ch.Premod != nil {
		pc.Premod = *ch.Premod
	}
	if ch.Message != nil {
		m := strings.TrimSpace(*ch.Message)
		if len([]rune(m)) > MaxMessageLen {
			return nil, comment.Invalid("message", fmt.Sprintf("The message has at most %d characters.", MaxMessageLen))
		}
		pc.Message = m
	}
	if ch.Pinned != nil && *ch.Pinned != "" {
		c, err := s.Comment(ctx, siteID, *ch.Pinned)
		if err != nil {
			return nil, err
		}
		if c.ThreadID != cur.Thread.ID || c.ParentID != "" || c.Status != comment.StatusApproved {
			return nil, comment.Invalid("pinned", "Only a published top-level comment of this article can be pinned.")
		}
		pc.Pinned = c.ID
	} else if ch.Pinned != nil {
		pc.Pinned = ""
	}
	if ch.EndSurge {
		pc.SurgeUntil = time.Time{}
	}
	after := pageAudit(closed, &pc)
	for k, v := range before {
		if after[k] == v {
			delete(before, k)
			delete(after, k)
		}
	}
	if len(after) == 0 {
		return cur, nil
	}
	action := "page.update"
	_, closing := after["closed"]
	_, pinning := after["pinned"]
	switch {
	case closing && closed:
		action = "page.close"
	case closing:
		action = "page.open"
	case pinning && len(after) == 1 && pc.Pinned != "":
		action = "comment.pin"
	case pinning && len(after) == 1:
		action = "comment.unpin"
	}
	after["page"] = cur.Thread.Key
	e := a.entry(siteID, action, "thread:"+cur.Thread.ID)
	e.Before, e.After = auditJSON(before), auditJSON(after)
	if err := s.store.SetPageControls(ctx, &pc, closed, e); err != nil {
		return nil, err
	}
	s.forgetPage(siteID, cur.Thread.Key)
	s.threads.invalidate(pageGenKey(siteID, cur.Thread.Key), threadGenKey(cur.Thread.ID))
	return s.Article(ctx, a, siteID, cur.Thread.ID)
}

// pageAudit is an article's controls as the audit log records them.
func pageAudit(closed bool, pc *comment.PageControls) map[string]string {
	closeAfter := "site"
	if pc.CloseAfter != nil {
		closeAfter = pc.CloseAfter.String()
	}
	surge := ""
	if !pc.SurgeUntil.IsZero() {
		surge = pc.SurgeAction + " until " + pc.SurgeUntil.UTC().Format(time.RFC3339)
	}
	return map[string]string{"closed": fmt.Sprint(closed), "close_after": closeAfter, "premod": fmt.Sprint(pc.Premod),
		"message": pc.Message, "pinned": pc.Pinned, "surge": surge}
}

// Feature marks a comment of a site featured (or not): moderators may.
// Featured comments carry a badge and have a tab of their own.
func (s *Service) Feature(ctx context.Context, a Actor, siteID, id string, on bool) (*comment.Comment, error) {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return nil, err
	}
	c, err := s.Comment(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	if on && c.Status != comment.StatusApproved {
		return nil, comment.Invalid("id", "Only a published comment can be featured.")
	}
	action := "comment.feature"
	if !on {
		action = "comment.unfeature"
	}
	if err := s.store.SetFeatured(ctx, c, on, s.now().UTC(), a.entry(siteID, action, "comment:"+id)); err != nil {
		return nil, err
	}
	s.threads.invalidate(threadGenKey(c.ThreadID))
	return c, nil
}

// Pin makes a published top-level comment the first of its thread (or,
// with on false, unpins it).
func (s *Service) Pin(ctx context.Context, a Actor, siteID, id string, on bool) (*ArticleView, error) {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return nil, err
	}
	c, err := s.Comment(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	v := id
	if !on {
		v = ""
		pc, err := s.store.PageControls(ctx, c.ThreadID)
		if err != nil {
			return nil, err
		}
		if pc.Pinned != id {
			return s.Article(ctx, a, siteID, c.ThreadID) // not pinned: nothing to do
		}
	}
	return s.SetPage(ctx, a, siteID, c.ThreadID, PageChange{Pinned: &v})
}

// IsFeatured reports which of a thread's comments are featured, for
// the desk's cards.
func (s *Service) IsFeatured(ctx context.Context, a Actor, siteID, threadID string) (map[string]bool, error) {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return nil, err
	}
	return s.store.Featured(ctx, threadID)
}

// Alerts lists a site's open alerts (or all of them).
func (s *Service) Alerts(ctx context.Context, a Actor, siteID string, all bool) ([]*comment.Alert, error) {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return nil, err
	}
	return s.store.Alerts(ctx, siteID, !all, 50)
}

// DismissAlert dismisses an alert of a site.
func (s *Service) DismissAlert(ctx context.Context, a Actor, siteID string, id int64) error {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return err
	}
	return s.store.DismissAlert(ctx, siteID, id, s.now().UTC(), a.Name, a.entry(siteID, "alert.dismiss", fmt.Sprintf("alert:%d", id)))
}
