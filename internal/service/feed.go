package service

import (
	"context"
	"errors"
	"maps"
	"slices"

	"parley/internal/comment"
	"parley/internal/store"
)

// FeedSize is how many comments a feed holds.
const FeedSize = 50

// Feed is the latest published comments of a page (or of a whole site),
// newest first, for an RSS or Atom feed.
type Feed struct {
	Site     *comment.Site
	Thread   *comment.Thread // nil for a site's feed
	Comments []*comment.Comment
	// Threads holds the thread of every comment, for links.
	Threads map[string]*comment.Thread
}

// LatestComments returns the latest published comments of the page with
// key, or of the whole site when key is "". A page without comments has
// an empty feed; an unknown site is comment.ErrNotFound.
func (s *Service) LatestComments(ctx context.Context, siteID, key string) (*Feed, error) {
	site, err := s.Site(ctx, siteID)
	if err != nil {
		return nil, err
	}
	f := &Feed{Site: site, Threads: map[string]*comment.Thread{}}
	filter := store.CommentFilter{SiteID: siteID, Status: comment.StatusApproved, Limit: FeedSize}
	if key != "" {
		th, err := s.store.Thread(ctx, siteID, PageKey(key))
		if errors.Is(err, comment.ErrNotFound) {
			// A page nobody has commented on yet: an empty feed of it.
			f.Thread = &comment.Thread{SiteID: siteID, Key: PageKey(key), Created: site.Created}
			if OnSite(site, f.Thread.Key) {
				f.Thread.URL = f.Thread.Key
			}
			return f, nil
		}
		if err != nil {
			return nil, err
		}
		f.Thread, filter.ThreadID = th, th.ID
		f.Threads[th.ID] = th
	}
	list, _, err := s.store.FindComments(ctx, filter)
	if err != nil {
		return nil, err
	}
	var need []string
	for _, c := range list {
		if c.Type != "" { // pingbacks and trackbacks are not comments
			continue
		}
		f.Comments = append(f.Comments, c)
		if _, ok := f.Threads[c.ThreadID]; !ok && !slices.Contains(need, c.ThreadID) {
			need = append(need, c.ThreadID)
		}
	}
	if len(need) > 0 {
		threads, err := s.store.ThreadsByID(ctx, need)
		if err != nil {
			return nil, err
		}
		maps.Copy(f.Threads, threads)
	}
	return f, nil
}
