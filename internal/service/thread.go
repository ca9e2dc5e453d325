package service

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"parley/internal/comment"
)

// Thread is a page's comments as readers see them: approved comments
// arranged as a tree, in the order asked for. A Thread is shared between
// requests and must not be modified.
type Thread struct {
	SiteID   string
	Key      string
	Sort     comment.Sort
	Closed   bool
	Total    int
	Comments []*Node // top level
	// LastEvent is the ID of the latest change included; a reader opening
	// a live connection resumes after it.
	LastEvent int64
	// Message is the sanitised HTML of the article's (or the site's)
	// message to commenters, shown above the form; "" for none.
	Message string
	// Pinned is the id of the comment shown first, or "".
	Pinned string
	// Featured counts the featured comments (the Featured tab's).
	Featured int
	// Until is when the thread changes by itself (it closes after N days,
	// a surge guard ends): a copy is rebuilt then. Zero: never.
	Until time.Time
}

// Node is one comment in a Thread with its visible replies.
type Node struct {
	*comment.Comment
	// InReplyTo is the parent's author name when the reply is shown at the
	// site's maximum depth instead of under its parent.
	InReplyTo string
	Replies   []*Node
	// Featured: the editors picked it (a badge; the Featured tab).
	Featured bool
}

// Thread returns the thread of a page, served from memory after the first
// read and rebuilt after any write through this instance. A page without
// comments is an empty thread, not an error.
func (s *Service) Thread(ctx context.Context, siteID, key string, order comment.Sort) (*Thread, error) {
	site, err := s.Site(ctx, siteID)
	if err != nil {
		return nil, err
	}
	key = PageKey(key)
	if key == "" {
		return nil, comment.Missing("page", "Say which page's comments you want (the page parameter).")
	}
	if err := comment.CheckPageKey(key); err != nil {
		return nil, err
	}
	ck := cacheKey{site: siteID, key: key, sort: order}
	if t, ok := s.threads.get(ck); ok && (t.Until.IsZero() || s.now().Before(t.Until)) {
		return t, nil
	}
	e := cacheEntry{page: pageGenKey(siteID, key)}
	e.pgen = s.threads.generation(e.page)
	t := &Thread{SiteID: site.ID, Key: key, Sort: order, Comments: []*Node{}}
	th, err := s.store.Thread(ctx, site.ID, key)
	switch {
	case errors.Is(err, comment.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		e.thread = threadGenKey(th.ID)
		e.tgen = s.threads.generation(e.thread)
		// Read the change log position first: a change committed between
		// the two reads is then sent again live, never lost.
		if t.LastEvent, err = s.store.LastEvent(ctx, th.ID); err != nil {
			return nil, err
		}
		cs, err := s.store.ThreadComments(ctx, th.ID, comment.StatusApproved)
		if err != nil {
			return nil, err
		}
		// Imported pingbacks and trackbacks stay in the database but out
		// of the thread readers see; an erased comment keeps its place
		// for its replies, without counting.
		cs = slices.DeleteFunc(cs, func(c *comment.Comment) bool { return c.Type != "" && c.Type != comment.TypeErased })
		t.Total = len(cs)
		for _, c := range cs {
			if c.Type == comment.TypeErased {
				t.Total--
			}
		}
		if err := s.arrange(ctx, t, th, cs, site.MaxDepth); err != nil {
			return nil, err
		}
	}
	if th == nil {
		if err := s.arrange(ctx, t, nil, nil, site.MaxDepth); err != nil {
			return nil, err
		}
	}
	e.t = t
	s.threads.put(ck, e)
	return t, nil
}

// CachedThread returns the thread of a page if this instance holds it in
// memory, reading nothing: a caller can then tell a free read from one
// that costs a trip to the database.
func (s *Service) CachedThread(siteID, key string, order comment.Sort) (*Thread, bool) {
	return s.threads.get(cacheKey{site: siteID, key: PageKey(key), sort: order})
}

// buildTree arranges comments (oldest first) into top-level nodes in the
// requested order, with replies oldest first. Replies deeper than maxDepth
// are attached at the last level with InReplyTo set. A reply whose parent
// is not visible is shown at the top level.
func buildTree(cs []*comment.Comment, order comment.Sort, maxDepth int) []*Node {
	if maxDepth < 1 {
		maxDepth = 1
	}
	nodes := make(map[string]*Node, len(cs))
	depth := make(map[string]int, len(cs))
	up := make(map[string]*Node, len(cs)) // where each node was placed; nil at the top
	top := make([]*Node, 0, len(cs))
	for _, c := range cs {
		n := &Node{Comment: c}
		// Only a parent placed before can hold a reply: a comment naming
		// itself, or a cycle in imported data, cannot hide comments.
		parent, ok := nodes[c.ParentID]
		nodes[c.ID] = n
		if c.ParentID == "" || !ok {
			depth[c.ID] = 1
			top = append(top, n)
			continue
		}
		d := depth[parent.ID] + 1
		if d > maxDepth {
			// Continue at the last level, under the parent's parent chain.
			n.InReplyTo = parent.Author.Name
			for depth[parent.ID] >= maxDepth && up[parent.ID] != nil {
				parent = up[parent.ID]
			}
			if depth[parent.ID] >= maxDepth { // maxDepth 1: no nesting at all
				depth[c.ID] = 1
				top = append(top, n)
				continue
			}
			d = depth[parent.ID] + 1
		}
		depth[c.ID] = d
		up[c.ID] = parent
		parent.Replies = append(parent.Replies, n)
	}
	switch order {
	case comment.SortNewest:
		for i, j := 0, len(top)-1; i < j; i, j = i+1, j-1 {
			top[i], top[j] = top[j], top[i]
		}
	case comment.SortTop:
		sort.SliceStable(top, func(i, j int) bool { return top[i].Likes > top[j].Likes })
	}
	return top
}

// threadCache keeps built threads in memory. Generation counters, one per
// page and one per thread id, make sure a read that raced with a write
// never stores or serves a stale thread: a reader notes the generations
// before it reads the store, and its result counts only while they hold.
type threadCache struct {
	mu      sync.Mutex
	max     int
	entries map[cacheKey]cacheEntry
	gens    map[string]uint64 // "p\x00site\x00key" or "t\x00threadID" -> generation
	counter uint64
}

type cacheKey struct {
	site, key string
	sort      comment.Sort
}

type cacheEntry struct {
	page, thread string // generation keys
	pgen, tgen   uint64
	t            *Thread
}

func pageGenKey(site, key string) string { return "p\x00" + site + "\x00" + key }
func threadGenKey(id string) string      { return "t\x00" + id }

func newThreadCache(max int) *threadCache {
	return &threadCache{max: max, entries: map[cacheKey]cacheEntry{}, gens: map[string]uint64{}}
}

func (c *threadCache) get(k cacheKey) (*Thread, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || !c.current(e) {
		return nil, false
	}
	return e.t, true
}

func (c *threadCache) current(e cacheEntry) bool {
	return e.pgen == c.gens[e.page] && (e.thread == "" || e.tgen == c.gens[e.thread])
}

// generation returns a key's current generation, giving it one if it has
// none, so that a later invalidation is always noticed.
func (c *threadCache) generation(key string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.gens[key]
	if !ok {
		c.counter++
		g = c.counter
		c.gens[key] = g
	}
	return g
}

func (c *threadCache) put(k cacheKey, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.current(e) {
		return // a write happened while we read; the next reader rebuilds
	}
	if len(c.entries) >= c.max {
		// Evict an arbitrary tenth; hot threads come straight back.
		n := c.max / 10
		for ek := range c.entries {
			delete(c.entries, ek)
			if n--; n <= 0 {
				break
			}
		}
	}
	c.entries[k] = e
}

// reset forgets every cached thread.
func (c *threadCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	clear(c.gens)
}

// invalidate marks pages or threads changed, so cached copies are rebuilt.
func (c *threadCache) invalidate(keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		c.counter++
		c.gens[k] = c.counter
	}
	if len(c.gens) > 4*c.max {
		// Forgetting generations is safe once the entries go too: a
		// missing generation (0) never matches a stored one.
		clear(c.gens)
		clear(c.entries)
	}
}
