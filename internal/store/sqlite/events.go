package sqlite

import (
	"context"
	"sync"

	"parley/internal/comment"
)

// hub fans committed events out to the listeners of this process. One
// SQLite file has one server process, so no other instance needs telling.
type hub struct {
	mu        sync.Mutex
	listeners map[*func(comment.Event)]struct{}
}

func (h *hub) publish(evs []comment.Event) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	fns := make([]func(comment.Event), 0, len(h.listeners))
	for fn := range h.listeners {
		fns = append(fns, *fn)
	}
	h.mu.Unlock()
	for _, fn := range fns {
		for _, ev := range evs {
			fn(ev)
		}
	}
}

// Listen calls fn for every event committed through this DB until ctx ends.
func (db *DB) Listen(ctx context.Context, fn func(comment.Event), ready func()) {
	db.hub.mu.Lock()
	if db.hub.listeners == nil {
		db.hub.listeners = map[*func(comment.Event)]struct{}{}
	}
	db.hub.listeners[&fn] = struct{}{}
	db.hub.mu.Unlock()
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	db.hub.mu.Lock()
	delete(db.hub.listeners, &fn)
	db.hub.mu.Unlock()
}
