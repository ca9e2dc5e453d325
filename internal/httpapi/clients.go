package httpapi

import (
	"net/http"
	"time"

	"parley/internal/comment"
	"parley/internal/service"
	"parley/internal/spam"
	"parley/internal/web"
)

// The Keys of the *spam.RateLimitError of the per-client caps.
const (
	readsKey   = "reads"
	streamsKey = "streams"
)

// clientKey is the client a per-client cap counts a request against: its
// address, or its IPv6 /64.
func clientKey(r *http.Request) string { return spam.ClientKey(web.ClientIP(r)) }

// thread returns a page's thread. A read this instance answers from
// memory is free; one that goes to the database costs the client a token
// of its read budget (Config.ReadBudget), so that a client reading
// thousands of made-up page keys slows nobody else down.
func (s *Server) thread(r *http.Request, site *comment.Site, key string, order comment.Sort) (*service.Thread, error) {
	if t, ok := s.svc.CachedThread(site.ID, key, order); ok {
		return t, nil
	}
	if err := s.spendRead(r); err != nil {
		return nil, err
	}
	return s.svc.Thread(r.Context(), site.ID, key, order)
}

// spendRead takes a token of the client's read budget, or returns a
// *spam.RateLimitError.
func (s *Server) spendRead(r *http.Request) error {
	ok, retry, _ := s.reads.Take(r.Context(), clientKey(r), s.cfg.ReadBudget, time.Now())
	if !ok {
		return &spam.RateLimitError{Key: readsKey, RetryAfter: retry}
	}
	return nil
}

// openStream counts a live stream against its client's cap
// (Config.StreamsPerClient); close gives it back. It returns a
// *spam.RateLimitError when the client has as many open as it may.
func (s *Server) openStream(r *http.Request) (close func(), err error) {
	k := clientKey(r)
	s.streams.mu.Lock()
	defer s.streams.mu.Unlock()
	if s.streams.byClient[k] >= s.cfg.StreamsPerClient {
		return nil, &spam.RateLimitError{Key: streamsKey, RetryAfter: streamHeartbeat}
	}
	s.streams.byClient[k]++
	return func() {
		s.streams.mu.Lock()
		defer s.streams.mu.Unlock()
		if s.streams.byClient[k]--; s.streams.byClient[k] <= 0 {
			delete(s.streams.byClient, k)
		}
	}, nil
}
