package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/keys"
)

// ErrNoSession means a request carries no session token, or one that is
// forged, tampered with, expired or revoked. Handlers treat the reader as
// a guest.
var ErrNoSession = errors.New("not logged in")

// Session is a logged-in reader as Parley remembers them.
type Session struct {
	// ID is the SHA-256 (hex) of the token's random part, never the token:
	// a copy of the sessions table does not let anyone log in.
	ID       string
	Identity Identity
	SiteID   string // the site the reader logged in on; may be empty
	Created  time.Time
	Expires  time.Time
}

// LogValue logs the session without its identity's email or name.
func (s *Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("provider", s.Identity.Provider),
		slog.String("subject", s.Identity.Subject), slog.String("site", s.SiteID))
}

// SessionStore keeps sessions. Several Parley instances must share one.
type SessionStore interface {
	// CreateSession stores s. It returns comment.ErrConflict if a session
	// with s.ID exists.
	CreateSession(ctx context.Context, s *Session) error
	// Session returns the session with the given ID, expired or not. It
	// returns comment.ErrNotFound if there is none.
	Session(ctx context.Context, id string) (*Session, error)
	// DeleteSession removes one session; removing a missing one is not an
	// error.
	DeleteSession(ctx context.Context, id string) error
	// DeleteSessions removes every session of an identity (Identity.Key(),
	// "provider:subject") and returns how many there were: "log out
	// everywhere".
	DeleteSessions(ctx context.Context, identity string) (int, error)
}

// DefaultSessionTTL is how long a session lasts unless configured.
const DefaultSessionTTL = 30 * 24 * time.Hour

// DefaultSessionCookie names the first-party session cookie.
const DefaultSessionCookie = "parley_session"

// SessionConfig configures Sessions. Secret and Store are required.
type SessionConfig struct {
	Secret []byte
	Store  SessionStore
	// Once makes hand-off codes single-use; without it Handoff and Redeem
	// are unavailable.
	Once OnceStore
	TTL  time.Duration // DefaultSessionTTL if zero
	// CookieName defaults to DefaultSessionCookie. CookieSameSite defaults
	// to Lax; see Cookie.
	CookieName     string
	CookieSameSite http.SameSite
	Now            func() time.Time
}

// Sessions issues and checks session tokens.
//
// A token is base64url(32 random bytes) "." base64url(first 16 bytes of
// HMAC-SHA256 over them, keyed from the server secret): opaque to
// everyone, checked without a database read, and looked up by the SHA-256
// of its random part. The widget keeps it in the host page's localStorage
// and sends it as "Authorization: Bearer TOKEN", which works where
// third-party cookies are blocked; the cookie form (Cookie) serves the
// pages Parley renders itself and the flow without JavaScript.
type Sessions struct {
	keys     *keys.Keys
	store    SessionStore
	once     OnceStore
	ttl      time.Duration
	name     string
	sameSite http.SameSite
	now      func() time.Time
}

// NewSessions checks c and returns Sessions.
func NewSessions(c SessionConfig) (*Sessions, error) {
	k, err := newKeys(c.Secret)
	if err != nil {
		return nil, err
	}
	if c.Store == nil {
		return nil, errors.New("auth: sessions need a SessionStore")
	}
	s := &Sessions{keys: k, store: c.Store, once: c.Once, ttl: c.TTL, name: c.CookieName, sameSite: c.CookieSameSite, now: c.Now}
	if s.ttl <= 0 {
		s.ttl = DefaultSessionTTL
	}
	if s.name == "" {
		s.name = DefaultSessionCookie
	}
	if s.sameSite == 0 || s.sameSite == http.SameSiteDefaultMode {
		s.sameSite = http.SameSiteLaxMode
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

const (
	sessionPurpose = "session"
	maxTokenLen    = 128
)

// Create starts a session for id on siteID and returns its token, which
// is shown to the reader's browser once and stored nowhere.
func (s *Sessions) Create(ctx context.Context, id Identity, siteID string) (string, *Session, error) {
	if id.Provider == "" || id.Subject == "" {
		return "", nil, errors.New("auth: a session needs an identity with provider and subject")
	}
	raw := randomBytes(32)
	now := s.now().UTC().Truncate(time.Second)
	sess := &Session{ID: sessionID(raw), Identity: id, SiteID: siteID, Created: now, Expires: now.Add(s.ttl)}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", nil, fmt.Errorf("create session: %w", err)
	}
	return s.keys.Sign(sessionPurpose, raw), sess, nil
}

func sessionID(raw []byte) string {
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:])
}

// parse checks a token's signature and returns its session ID.
func (s *Sessions) parse(token string) (string, bool) {
	raw, ok := s.keys.Open(sessionPurpose, token, maxTokenLen)
	if !ok || len(raw) != 32 {
		return "", false
	}
	return sessionID(raw), true
}

// Get returns the live session a token names. It returns ErrNoSession for
// a forged, tampered, unknown, expired or revoked token, and other errors
// only when the store fails.
func (s *Sessions) Get(ctx context.Context, token string) (*Session, error) {
	id, ok := s.parse(token)
	if !ok {
		return nil, ErrNoSession
	}
	sess, err := s.store.Session(ctx, id)
	if errors.Is(err, comment.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	if !s.now().Before(sess.Expires) {
		return nil, ErrNoSession
	}
	return sess, nil
}

// FromRequest returns the session of a request: the bearer token of its
// Authorization header, or else its session cookie. It returns
// ErrNoSession when there is neither or the token is not good.
func (s *Sessions) FromRequest(r *http.Request) (*Session, error) {
	tok := BearerToken(r)
	if tok == "" {
		if c, err := r.Cookie(s.name); err == nil {
			tok = c.Value
		}
	}
	if tok == "" {
		return nil, ErrNoSession
	}
	return s.Get(r.Context(), tok)
}

// BearerToken returns the token of an "Authorization: Bearer TOKEN" header,
// or "".
func BearerToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// Revoke ends the session a token names ("log out"). A token that is not
// good is not an error: the reader is logged out either way.
func (s *Sessions) Revoke(ctx context.Context, token string) error {
	id, ok := s.parse(token)
	if !ok {
		return nil
	}
	if err := s.store.DeleteSession(ctx, id); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// RevokeAll ends every session of an identity ("log out everywhere") and
// returns how many there were. identity is Identity.Key().
func (s *Sessions) RevokeAll(ctx context.Context, identity string) (int, error) {
	n, err := s.store.DeleteSessions(ctx, identity)
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	return n, nil
}

// Cookie returns the first-party cookie form of a session token: HttpOnly,
// Secure when secure is true (always, except on plain-http development
// servers), expiring with the session.
//
// SameSite is Lax by default: the cookie goes with top-level navigations
// to Parley and with same-site form posts. A comment form that sits on the
// article's site and posts across sites needs SameSite=None
// (SessionConfig.CookieSameSite), and the handler then must refuse posts
// whose Origin is not one of the site's origins (CSRF).
func (s *Sessions) Cookie(token string, sess *Session, secure bool) *http.Cookie {
	return &http.Cookie{
		Name:     s.name,
		Value:    token,
		Path:     "/",
		Expires:  sess.Expires,
		HttpOnly: true,
		Secure:   secure || s.sameSite == http.SameSiteNoneMode,
		SameSite: s.sameSite,
	}
}

// ClearCookie returns a cookie that removes the session cookie.
func (s *Sessions) ClearCookie(secure bool) *http.Cookie {
	return &http.Cookie{Name: s.name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: secure || s.sameSite == http.SameSiteNoneMode, SameSite: s.sameSite}
}

// HandoffMaxAge is how long a hand-off code can be redeemed.
const HandoffMaxAge = 2 * time.Minute

const handoffPurpose = "session-handoff"

// Handoff wraps a session token in a short-lived, single-use code that can
// travel in a URL fragment back to the article page (redirect mode, email
// links) or in a message from the log-in window, where the widget redeems
// it for the token with a POST. The token itself then never appears in a
// URL or the browser history. The code is bound to the browser key of the
// widget that started the log-in (ValidBind): a code someone else's log-in
// produced cannot log this browser in as them.
func (s *Sessions) Handoff(token, bind string) (string, error) {
	if s.once == nil {
		return "", errors.New("auth: hand-off needs a OnceStore")
	}
	if !ValidBind(bind) {
		return "", ErrBadBind
	}
	exp := s.now().Add(HandoffMaxAge).Unix()
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 9+len(bind)+len(token)), uint64(exp))
	b = append(append(append(b, byte(len(bind))), bind...), token...)
	return s.keys.Seal(handoffPurpose, b), nil
}

// Redeem returns the session token a hand-off code carries, once, to the
// browser whose key it was made for. It returns ErrExpired for an old
// code, ErrReplay for a used one and ErrNoSession for anything else not
// good, a code for another browser included.
func (s *Sessions) Redeem(ctx context.Context, code, bind string) (string, error) {
	if s.once == nil {
		return "", errors.New("auth: hand-off needs a OnceStore")
	}
	b, ok := s.keys.Unseal(handoffPurpose, code, 512)
	if !ok || len(b) < 9 || len(b) < 9+int(b[8]) {
		return "", ErrNoSession
	}
	n := int(b[8])
	if subtle.ConstantTimeCompare(b[9:9+n], []byte(bind)) != 1 {
		return "", ErrNoSession
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(b)), 0)
	if !s.now().Before(exp) {
		return "", ErrExpired
	}
	if err := s.once.UseOnce(ctx, "handoff:"+s.keys.Hash("handoff", code, 32)[:64], exp); err != nil {
		if errors.Is(err, comment.ErrConflict) {
			return "", ErrReplay
		}
		return "", fmt.Errorf("redeem hand-off: %w", err)
	}
	return string(b[9+n:]), nil
}
