package auth

import (
	"context"
	"sync"
	"time"

	"parley/internal/comment"
)

// MemoryStore keeps sessions, single-use values and verified emails in
// memory. It is safe for concurrent use and right for a single Parley
// instance whose readers may log in again after a restart, and for tests.
// Several instances behind a load balancer need the database stores.
type MemoryStore struct {
	mu         sync.Mutex
	sessions   map[string]*Session
	byIdentity map[string]map[string]bool // identity key -> session IDs
	used       map[string]time.Time
	verified   map[string]time.Time
	now        func() time.Time
	writes     int
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return NewMemoryStoreClock(time.Now) }

// NewMemoryStoreClock returns an empty MemoryStore that tells expired
// entries by now, for tests that move time.
func NewMemoryStoreClock(now func() time.Time) *MemoryStore {
	return &MemoryStore{
		sessions:   map[string]*Session{},
		byIdentity: map[string]map[string]bool{},
		used:       map[string]time.Time{},
		verified:   map[string]time.Time{},
		now:        now,
	}
}

var (
	_ SessionStore       = (*MemoryStore)(nil)
	_ OnceStore          = (*MemoryStore)(nil)
	_ VerifiedEmailStore = (*MemoryStore)(nil)
)

// CreateSession implements SessionStore.
func (m *MemoryStore) CreateSession(ctx context.Context, s *Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	if _, ok := m.sessions[s.ID]; ok {
		return comment.ErrConflict
	}
	c := *s
	m.sessions[s.ID] = &c
	k := s.Identity.Key()
	if m.byIdentity[k] == nil {
		m.byIdentity[k] = map[string]bool{}
	}
	m.byIdentity[k][s.ID] = true
	return nil
}

// Session implements SessionStore.
func (m *MemoryStore) Session(ctx context.Context, id string) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return nil, comment.ErrNotFound
	}
	c := *s
	return &c, nil
}

// DeleteSession implements SessionStore.
func (m *MemoryStore) DeleteSession(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deleteSession(id)
	return nil
}

func (m *MemoryStore) deleteSession(id string) {
	s, ok := m.sessions[id]
	if !ok {
		return
	}
	delete(m.sessions, id)
	k := s.Identity.Key()
	delete(m.byIdentity[k], id)
	if len(m.byIdentity[k]) == 0 {
		delete(m.byIdentity, k)
	}
}

// DeleteSessions implements SessionStore.
func (m *MemoryStore) DeleteSessions(ctx context.Context, identity string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := m.byIdentity[identity]
	n := len(ids)
	for id := range ids {
		m.deleteSession(id)
	}
	return n, nil
}

// UseOnce implements OnceStore.
func (m *MemoryStore) UseOnce(ctx context.Context, key string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	if exp, ok := m.used[key]; ok && m.now().Before(exp) {
		return comment.ErrConflict
	}
	m.used[key] = expires
	return nil
}

// MarkEmailVerified implements VerifiedEmailStore.
func (m *MemoryStore) MarkEmailVerified(ctx context.Context, key string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.verified[key]; !ok {
		m.verified[key] = at
	}
	return nil
}

// EmailVerified implements VerifiedEmailStore.
func (m *MemoryStore) EmailVerified(ctx context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.verified[key]
	return ok, nil
}

// sweep drops expired sessions and single-use values every 256 writes, so
// memory stays bounded without a background goroutine. m.mu is held.
func (m *MemoryStore) sweep() {
	m.writes++
	if m.writes%256 != 0 {
		return
	}
	now := m.now()
	for id, s := range m.sessions {
		if !now.Before(s.Expires) {
			m.deleteSession(id)
		}
	}
	for k, exp := range m.used {
		if !now.Before(exp) {
			delete(m.used, k)
		}
	}
}
