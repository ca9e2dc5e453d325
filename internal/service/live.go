package service

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"parley/internal/comment"
)

// Run keeps the service in step with the database until ctx ends: it
// hears every change committed by any instance, drops cached threads it
// makes stale, passes it on to open pages (live updates), and prunes the
// change log. Call it once per process, in its own goroutine.
func (s *Service) Run(ctx context.Context) {
	go s.pruneEvents(ctx)
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

// EventRetention is how long changes are kept for pages that reconnect.
const EventRetention = 24 * time.Hour

func (s *Service) pruneEvents(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := s.store.PruneEvents(ctx, s.now().Add(-EventRetention)); err != nil && ctx.Err() == nil {
			s.log.Warn("pruning the change log failed", slog.String("err", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// apply handles one committed change.
func (s *Service) apply(ev comment.Event) {
	if ev.Kind == comment.EventReset {
		s.threads.reset()
		s.sites.Clear()
		s.live.broadcast(ev)
		return
	}
	s.threads.invalidate(pageGenKey(ev.SiteID, ev.PageKey), threadGenKey(ev.ThreadID))
	s.live.publish(ev)
}

// Subscribe returns the changes to a page's thread as they happen, until
// cancel is called. If the reader falls too far behind, the channel is
// closed; the reader should reconnect and resume with Events.
func (s *Service) Subscribe(siteID, key string) (<-chan comment.Event, func()) {
	return s.live.subscribe(pageRef{siteID, PageKey(key)})
}

// Events returns the changes to a page's thread after an event ID, for a
// reader resuming a live connection.
func (s *Service) Events(ctx context.Context, siteID, key string, after int64) ([]comment.Event, error) {
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
	return s.store.Events(ctx, th.ID, after, 500)
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

// liveHub hands events to the open pages of this instance.
type liveHub struct {
	mu   sync.Mutex
	subs map[pageRef]map[chan comment.Event]struct{}
}

func (h *liveHub) subscribe(p pageRef) (<-chan comment.Event, func()) {
	ch := make(chan comment.Event, 64)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[pageRef]map[chan comment.Event]struct{}{}
	}
	if h.subs[p] == nil {
		h.subs[p] = map[chan comment.Event]struct{}{}
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

func (h *liveHub) publish(ev comment.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := pageRef{ev.SiteID, ev.PageKey}
	for ch := range h.subs[p] {
		h.send(p, ch, ev)
	}
}

func (h *liveHub) broadcast(ev comment.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for p, chans := range h.subs {
		for ch := range chans {
			h.send(p, ch, ev)
		}
	}
}

// send delivers without blocking; a reader that cannot keep up is
// disconnected, and catches up from the change log when it reconnects.
func (h *liveHub) send(p pageRef, ch chan comment.Event, ev comment.Event) {
	select {
	case ch <- ev:
	default:
		delete(h.subs[p], ch)
		close(ch)
	}
}
