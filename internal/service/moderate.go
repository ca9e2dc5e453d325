package service

import (
	"context"

	"parley/internal/comment"
	"parley/internal/markup"
)

// Learner is told of every moderator decision, so a spam filter learns
// from it at once. spam is true when the moderator says the comment is
// spam, false when they say it is legitimate.
type Learner interface {
	Learn(ctx context.Context, c *comment.Comment, spam bool) error
}

// ownComment returns a comment its author may still change: the reader
// token must be the one it was posted with, and the site's edit window
// must still be open.
func (s *Service) ownComment(ctx context.Context, siteID, id, reader string) (*comment.Comment, error) {
	site, err := s.Site(ctx, siteID)
	if err != nil {
		return nil, err
	}
	c, err := s.Comment(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	if c.Status == comment.StatusDeleted || c.Status == comment.StatusSpam {
		return nil, comment.ErrNotFound
	}
	rid, ok := s.readerID(reader)
	if !ok || c.Reader == "" || rid != c.Reader {
		return nil, &comment.ValidationError{Code: "not_author", Message: "You can only change your own comments, from the browser you wrote them in."}
	}
	if s.now().Sub(c.Created) > site.EditWindow {
		return nil, &comment.ValidationError{Code: "edit_window_closed", Message: "This comment can no longer be changed."}
	}
	return c, nil
}

// Edit replaces the text of a reader's own comment (m.Reader must be
// the token it was posted with) within the site's edit window. The new
// text goes through the same checks as a new comment — the site's
// moderation policy, the spam layers, the rate limits — and is stored
// with their verdict in one step: on a site that holds comments, or when
// a check holds the new text, the comment is held again, hidden from
// readers until a moderator approves it. Its old text is not shown
// meanwhile: the author withdrew it by editing. An edit never publishes
// a held comment; spam is reported as held, as for a new comment.
func (s *Service) Edit(ctx context.Context, siteID, id, body string, m Meta) (*comment.Comment, error) {
	c, err := s.ownComment(ctx, siteID, id, m.Reader)
	if err != nil {
		return nil, err
	}
	if err := comment.CheckBody(body); err != nil {
		return nil, err
	}
	if body == c.Markdown {
		return reported(c), nil // nothing changed; nothing to judge again
	}
	site, err := s.Site(ctx, siteID)
	if err != nil {
		return nil, err
	}
	old, oldVerdict := c.Status, c.Verdict
	c.Markdown, c.HTML, c.Edited = body, markup.Render(body), s.now().UTC()
	c.Status, c.Verdict = comment.StatusApproved, comment.Verdict{}
	g, err := s.guardEdit(ctx, site, c, m) // sanctions and the site's rules (community.go)
	if err != nil {
		return nil, err
	}
	if err := s.judge(ctx, site, c, m, ""); err != nil {
		return nil, err // refused (a rate limit): nothing changed
	}
	g.apply(c)
	switch {
	case c.Status == comment.StatusDeleted:
		c.Status = comment.StatusSpam // a trapped bot's edit: kept as spam, not dropped
	case severity(old) > severity(c.Status):
		c.Status, c.Verdict = old, oldVerdict // still held (or spam) as before
	}
	if old == comment.StatusApproved && c.Status != comment.StatusApproved {
		c.Verdict.Reason = "edited after it was published: " + c.Verdict.Reason
	}
	if err := s.store.ReviseComment(ctx, c); err != nil {
		return nil, err
	}
	s.threads.invalidate(threadGenKey(c.ThreadID))
	return reported(c), nil
}

// reported is a comment as its author is told of it: published, or
// held (a spammer learns nothing from being told it is spam).
func reported(c *comment.Comment) *comment.Comment {
	if c.Status == comment.StatusApproved || c.Status == comment.StatusPending {
		return c
	}
	out := *c
	out.Status = comment.StatusPending
	return &out
}

// Delete removes a reader's own comment within the site's edit window.
func (s *Service) Delete(ctx context.Context, siteID, id, reader string) error {
	c, err := s.ownComment(ctx, siteID, id, reader)
	if err != nil {
		return err
	}
	if err := s.store.SetStatus(ctx, c.ID, comment.StatusDeleted); err != nil {
		return err
	}
	s.threads.invalidate(threadGenKey(c.ThreadID))
	return nil
}
