package service

import (
	"context"

	"parley/internal/comment"
	"parley/internal/markup"
	"parley/internal/spam"
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

// Edit replaces the text of a reader's own comment within the site's
// edit window.
func (s *Service) Edit(ctx context.Context, siteID, id, reader, body string) (*comment.Comment, error) {
	c, err := s.ownComment(ctx, siteID, id, reader)
	if err != nil {
		return nil, err
	}
	if err := comment.CheckBody(body); err != nil {
		return nil, err
	}
	c.Markdown, c.HTML, c.Edited = body, markup.Render(body), s.now().UTC()
	// An edit must not turn a published comment into spam unseen: the new
	// text goes through the rules and the classifier, and is held for a
	// moderator if they doubt it.
	held := false
	if s.spam != nil {
		v, err := s.Classify(ctx, siteID, &spam.Input{Body: c.Markdown, AuthorName: c.Author.Name, Email: c.Author.Email, Website: c.Author.Website, Created: c.Edited})
		held = err != nil || v.Action > spam.Publish
	}
	if err := s.store.EditComment(ctx, c.ID, c.Markdown, c.HTML, c.Edited); err != nil {
		return nil, err
	}
	if held && c.Status == comment.StatusApproved {
		if err := s.store.SetStatus(ctx, c.ID, comment.StatusPending); err != nil {
			return nil, err
		}
		c.Status = comment.StatusPending
	}
	s.threads.invalidate(threadGenKey(c.ThreadID))
	return c, nil
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
