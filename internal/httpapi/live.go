package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"parley/internal/comment"
	"parley/internal/service"
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

// OpenStreams is how many live streams readers hold open now.
func (s *Server) OpenStreams() int64 { return s.streams.open.Load() }

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
	done, err := s.openStream(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer done()

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
	send := func(ch *service.Change) bool {
		if ch.ID > 0 && ch.ID <= last {
			return true // already sent from the backlog
		}
		// Every page open on the thread gets the same bytes, made once.
		b := ch.Encoded(base, func() []byte { return s.liveFrame(base, ch) })
		if b == nil {
			return true // the comment could not be read: nothing to send
		}
		if ch.ID > 0 {
			last = ch.ID
		}
		_, err := w.Write(b)
		return err == nil && rc.Flush() == nil
	}
	for _, ch := range backlog {
		if !send(ch) {
			return
		}
	}
	heartbeat := time.NewTicker(streamHeartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case ch, ok := <-events:
			if !ok {
				return // fell behind; the browser reconnects and resumes
			}
			if !send(ch) {
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

// liveFrame encodes one change as a Server-Sent Event: the comment as
// readers see it for a new or changed comment (a removal when they no
// longer see it), its id for a removal, a reset as "event: reset". Only
// changes from the change log carry an id to resume from. It returns nil
// when the comment cannot be read (the store is unavailable): the page
// misses this change, not the ones after it.
func (s *Server) liveFrame(base string, ch *service.Change) []byte {
	if ch.Kind == comment.EventReset {
		// With an id (a reader too far behind in the change log), the
		// reloaded thread covers everything up to it: resume from there.
		if ch.ID > 0 {
			return fmt.Appendf(nil, "id: %d\nevent: reset\ndata: {}\n\n", ch.ID)
		}
		return []byte("event: reset\ndata: {}\n\n")
	}
	out := liveEvent{Kind: ch.Kind, ID: ch.CommentID}
	if ch.Kind == comment.EventNew || ch.Kind == comment.EventUpdate {
		c, err := ch.Comment()
		switch {
		case errors.Is(err, comment.ErrNotFound):
			out = liveEvent{Kind: comment.EventRemove, ID: ch.CommentID}
		case err != nil:
			s.log.Warn("a live update could not read its comment", slog.String("err", err.Error()))
			return nil
		default:
			cj := s.publicComment(base, c, "", nil)
			out.Comment = &cj
		}
	}
	data, _ := json.Marshal(out)
	var b bytes.Buffer
	if ch.ID > 0 {
		fmt.Fprintf(&b, "id: %d\n", ch.ID)
	}
	fmt.Fprintf(&b, "event: change\ndata: %s\n\n", data)
	return b.Bytes()
}
