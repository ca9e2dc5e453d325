package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"parley/internal/comment"
)

// maxStreams caps open live connections per instance; each costs a
// goroutine and a little memory, and readers fall back to reloading.
const maxStreams = 20_000

// streamHeartbeat keeps idle live connections open through proxies.
const streamHeartbeat = 25 * time.Second

// StopStreams ends every open live connection, so a graceful shutdown
// does not wait for readers who keep a page open for hours.
func (s *Server) StopStreams() {
	s.streams.stopOnce.Do(func() { close(s.streams.stop) })
}

// liveEvent is what a page receives for one change.
type liveEvent struct {
	Kind    comment.EventKind `json:"kind"`
	ID      string            `json:"id,omitempty"`
	Comment *commentJSON      `json:"comment,omitempty"`
}

// handleStream sends a page's changes as Server-Sent Events. A browser's
// EventSource reconnects by itself and sends Last-Event-ID; the stream
// then resumes from the change log. A first connection passes ?after=
// with the thread's last_event, so nothing between the thread read and
// the connection is missed.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	site := s.site(w, r)
	if site == nil {
		return
	}
	q := r.URL.Query()
	key := q.Get("page")
	if key == "" {
		s.writeError(w, r, comment.Missing("page", "Say which page's comments you want (the page parameter)."))
		return
	}
	// Where to resume: the browser's Last-Event-ID on a reconnection,
	// else ?after= (the thread's last_event), else the start.
	from := q.Get("after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		from = id
	}
	after := int64(0)
	if from != "" {
		var err error
		if after, err = strconv.ParseInt(from, 10, 64); err != nil || after < 0 {
			s.writeError(w, r, &comment.ValidationError{Field: "after", Code: "invalid_after", Message: "after (or Last-Event-ID) must be an event id: a whole number."})
			return
		}
	}
	if s.streams.open.Add(1) > maxStreams {
		s.streams.open.Add(-1)
		s.writeError(w, r, comment.ErrUnavailable)
		return
	}
	defer s.streams.open.Add(-1)

	// Subscribe before reading the backlog, so nothing falls in between.
	events, cancel := s.svc.Subscribe(site.ID, key)
	defer cancel()
	backlog, err := s.svc.Events(r.Context(), site.ID, key, after)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	rc := http.NewResponseController(w)
	// The server's write timeout is for ordinary requests; a live stream
	// stays open while the reader keeps the page.
	rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // tell nginx not to buffer
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	rc.Flush()

	base := s.baseURL(r)
	last := after
	send := func(ev comment.Event) bool {
		if ev.Kind != comment.EventReset && ev.ID <= last {
			return true // already sent from the backlog
		}
		out := liveEvent{Kind: ev.Kind, ID: ev.CommentID}
		if ev.Kind == comment.EventNew || ev.Kind == comment.EventUpdate {
			c, err := s.svc.Comment(r.Context(), site.ID, ev.CommentID)
			if err != nil || c.Status != comment.StatusApproved {
				out = liveEvent{Kind: comment.EventRemove, ID: ev.CommentID}
			} else {
				cj := s.publicComment(base, c, "", nil)
				out.Comment = &cj
			}
		}
		b, _ := json.Marshal(out)
		if ev.Kind == comment.EventReset {
			_, err = fmt.Fprintf(w, "event: reset\ndata: {}\n\n")
		} else {
			last = ev.ID
			_, err = fmt.Fprintf(w, "id: %d\nevent: change\ndata: %s\n\n", ev.ID, b)
		}
		return err == nil && rc.Flush() == nil
	}
	for _, ev := range backlog {
		if !send(ev) {
			return
		}
	}
	heartbeat := time.NewTicker(streamHeartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return // fell behind; the browser reconnects and resumes
			}
			if !send(ev) {
				return
			}
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.streams.stop:
			return
		}
	}
}
