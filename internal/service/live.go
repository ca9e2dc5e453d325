package service

import (
	"context"
	"sync"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
)

// Run keeps the service in step with the database until ctx ends: it
// hears every change committed by any instance, drops cached threads it
// makes stale, and passes it on to open pages (live updates). (The change
// log is pruned by the retention job, on one instance.) Call it once per
// process, in its own goroutine.
func (s *Service) Run(ctx context.Context) {
	s.listening.CompareAndSwap(listenNotRun, listenStarting)
	s.store.Listen(ctx, s.apply, func() { s.listening.Store(listenReady) })
}

// Whether Run hears changes yet. Until it does, Ping fails, so that a new
// instance behind a load balancer gets no readers whose pages it would
// not update.
const (
	listenNotRun = iota // Run not called (commands, tests): not checked
	listenStarting
	listenReady
)

// EventRetention is how long changes are kept for pages that reconnect:
// a page away longer reloads the whole thread.
const EventRetention = 24 * time.Hour

// apply handles one committed change.
func (s *Service) apply(ev comment.Event) {
	switch ev.Kind {
	case comment.EventReset:
		s.threads.reset()
		s.sites.Clear()
		s.live.broadcast(s.change(ev))
	case comment.EventLikes:
		// Likes can come a thousand a second; open pages get the count
		// at most once a second per comment.
		s.likes.note(ev)
	case comment.EventHeld:
		// A held comment changes nothing readers see; only the site's
		// open moderation queues hear of it.
		ev.PageKey = deskPage
		s.live.publish(s.change(ev))
	default:
		s.threads.invalidate(pageGenKey(ev.SiteID, ev.PageKey), threadGenKey(ev.ThreadID))
		s.live.publish(s.change(ev))
	}
}

// LikeInterval is how often, at most, open pages hear of one comment's
// like count changing: the first like at once, later ones together.
const LikeInterval = time.Second

// likesChanged hands a comment's new like count (coalesced by
// likeCoalescer) to open pages, as an update carrying the comment, and
// drops cached copies of its thread.
func (s *Service) likesChanged(ev comment.Event) {
	s.threads.invalidate(threadGenKey(ev.ThreadID))
	ev.Kind, ev.ID = comment.EventUpdate, 0 // not in the change log: no id to resume from
	s.live.publish(s.change(ev))
}

// likeCoalescer passes on at most one like event per comment per
// interval: the first at once, then, if more came meanwhile, the latest
// at the end of the interval.
type likeCoalescer struct {
	mu      sync.Mutex
	every   time.Duration
	flush   func(comment.Event)
	pending map[string]*likeState // comment id ->
}

type likeState struct {
	ev    comment.Event
	dirty bool // liked again since the last flush
	timer *time.Timer
}

func (c *likeCoalescer) note(ev comment.Event) {
	c.mu.Lock()
	if c.pending == nil {
		c.pending = map[string]*likeState{}
	}
	if st, ok := c.pending[ev.CommentID]; ok {
		st.ev, st.dirty = ev, true
		c.mu.Unlock()
		return
	}
	st := &likeState{ev: ev}
	c.pending[ev.CommentID] = st
	st.timer = time.AfterFunc(c.every, func() { c.tick(ev.CommentID) })
	c.mu.Unlock()
	c.flush(ev)
}

func (c *likeCoalescer) tick(id string) {
	c.mu.Lock()
	st := c.pending[id]
	if !st.dirty {
		delete(c.pending, id)
		c.mu.Unlock()
		return
	}
	st.dirty = false
	ev := st.ev
	st.timer.Reset(c.every)
	c.mu.Unlock()
	c.flush(ev)
}

// deskPage is the page key under which a site's moderation queues
// subscribe: a NUL byte is in no page's key.
const deskPage = "\x00queue"

// SubscribeQueue returns the site's newly held comments as they arrive
// (events of kind comment.EventHeld, and comment.EventReset when some may
// have been missed), until cancel is called, for a moderator's open queue.
func (s *Service) SubscribeQueue(ctx context.Context, a Actor, siteID string) (<-chan *Change, func(), error) {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return nil, nil, err
	}
	ch, cancel := s.live.subscribe(pageRef{siteID, deskPage})
	return ch, cancel, nil
}

// Subscribe returns the changes to a page's thread as they happen, until
// cancel is called. If the reader falls too far behind, the channel is
// closed; the reader should reconnect and resume with Events.
func (s *Service) Subscribe(siteID, key string) (<-chan *Change, func()) {
	return s.live.subscribe(pageRef{siteID, PageKey(key)})
}

// MaxBacklog is how many changes a reader resuming a live connection is
// sent; one further behind is sent a reset instead.
const MaxBacklog = 500

// Events returns the changes to a page's thread after an event ID, for a
// reader resuming a live connection. A reader more than MaxBacklog
// changes behind gets one change of kind comment.EventReset instead,
// whose ID is the thread's latest: it must reload the thread, and
// resumes from there.
func (s *Service) Events(ctx context.Context, siteID, key string, after int64) ([]*Change, error) {
	if err := comment.CheckPageKey(PageKey(key)); err != nil {
		return nil, err
	}
	th, err := s.store.Thread(ctx, siteID, PageKey(key))
	if err != nil {
		if err == comment.ErrNotFound {
			return nil, nil
		}
		return nil, err
	}
	evs, err := s.store.Events(ctx, th.ID, after, MaxBacklog+1)
	if err != nil {
		return nil, err
	}
	if len(evs) > MaxBacklog {
		last, err := s.store.LastEvent(ctx, th.ID)
		if err != nil {
			return nil, err
		}
		return []*Change{s.change(comment.Event{ID: last, SiteID: siteID, ThreadID: th.ID, PageKey: th.Key, Kind: comment.EventReset})}, nil
	}
	out := make([]*Change, len(evs))
	for i, ev := range evs {
		out[i] = s.change(ev)
	}
	return out, nil
}

// Change is one change as the open pages of a thread receive it. One
// Change is shared by every page it goes to: the comment it is about is
// read from the store once, by the first page that needs it, and each
// encoding of it (httpapi's, one per base URL) is made once, so what a
// change costs does not grow with the number of open pages.
type Change struct {
	comment.Event

	svc  *Service
	once sync.Once
	c    *comment.Comment
	err  error

	mu  sync.Mutex
	enc map[string][]byte
}

func (s *Service) change(ev comment.Event) *Change { return &Change{Event: ev, svc: s} }

// Comment returns the comment as readers now see it, or
// comment.ErrNotFound when they do not see it (any more). It is read
// once, under a context of its own: one page hanging up must not fail
// the others.
func (ch *Change) Comment() (*comment.Comment, error) {
	ch.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ch.c, ch.err = ch.svc.Comment(ctx, ch.SiteID, ch.CommentID)
		if ch.err == nil && ch.c.Status != comment.StatusApproved {
			ch.c, ch.err = nil, comment.ErrNotFound
		}
	})
	return ch.c, ch.err
}

// Encoded returns build's result for key, calling build once per key
// for all the pages sharing the change.
func (ch *Change) Encoded(key string, build func() []byte) []byte {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if b, ok := ch.enc[key]; ok {
		return b
	}
	if ch.enc == nil {
		ch.enc = map[string][]byte{}
	}
	b := build()
	ch.enc[key] = b
	return b
}

// Comment returns one visible comment of a site.
func (s *Service) Comment(ctx context.Context, siteID, id string) (*comment.Comment, error) {
	if err := comment.CheckID(id); err != nil {
		return nil, err
	}
	c, err := s.store.Comment(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.SiteID != siteID {
		return nil, comment.ErrNotFound
	}
	return c, nil
}

type pageRef struct{ site, key string }

// liveHub hands changes to the open pages of this instance.
type liveHub struct {
	mu   sync.Mutex
	subs map[pageRef]map[chan *Change]struct{}
}

func (h *liveHub) subscribe(p pageRef) (<-chan *Change, func()) {
	ch := make(chan *Change, 64)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[pageRef]map[chan *Change]struct{}{}
	}
	if h.subs[p] == nil {
		h.subs[p] = map[chan *Change]struct{}{}
	}
	h.subs[p][ch] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if _, ok := h.subs[p][ch]; ok {
				delete(h.subs[p], ch)
				close(ch)
			}
			if len(h.subs[p]) == 0 {
				delete(h.subs, p)
			}
		})
	}
}

func (h *liveHub) publish(c *Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := pageRef{c.SiteID, c.PageKey}
	for ch := range h.subs[p] {
		h.send(p, ch, c)
	}
}

func (h *liveHub) broadcast(c *Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for p, chans := range h.subs {
		for ch := range chans {
			h.send(p, ch, c)
		}
	}
}

// send delivers without blocking; a reader that cannot keep up is
// disconnected, and catches up from the change log when it reconnects.
func (h *liveHub) send(p pageRef, ch chan *Change, c *Change) {
	select {
	case ch <- c:
	default:
		delete(h.subs[p], ch)
		close(ch)
	}
}

// ThreadInfo returns the thread of a page (its title, address, state).
// Returns comment.ErrNotFound if the page has no thread yet.
func (s *Service) ThreadInfo(ctx context.Context, siteID, key string) (*comment.Thread, error) {
	return s.store.Thread(ctx, siteID, PageKey(key))
}
