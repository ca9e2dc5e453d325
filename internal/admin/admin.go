// Package admin is the staff's face of Parley: the moderation desk at
// /admin/ — server-rendered pages that work without JavaScript, with a
// small script that makes them quicker (keys, actions in place, a live
// queue) — and the REST API under /api/v1/admin/ that programs use with
// a site's API token. Everything goes through package service, which
// checks what each actor may do and writes the audit log; this package
// only presents.
package admin

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/service"
	"parley/internal/staff"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Limiter limits log-in attempts. Take reports whether one more attempt
// under key is allowed now and, if not, how long until it is.
type Limiter interface {
	Take(ctx context.Context, key string, now time.Time) (bool, time.Duration, error)
}

// Config is what the desk needs to know about its deployment.
type Config struct {
	// PublicURL is Parley's address (https in production: the session
	// cookie is then Secure). Empty means the request's own host.
	PublicURL string
	// Attempts limits log-in attempts per account and per client
	// address; nil allows every attempt (tests).
	Attempts Limiter
	// ClientIP returns the client's address of a request (behind trusted
	// proxies, the forwarded one); RemoteAddr's host if nil.
	ClientIP func(*http.Request) string
	// AvatarURL returns where an author's picture is served; nil shows
	// none.
	AvatarURL func(comment.Author) string
	// Providers lists the reader log-in providers staff may log in with
	// (id and name); their flow is started at /admin/login/{id}.
	Providers []Provider
	// StartProvider begins a provider log-in for the desk and returns the
	// provider's address; nil turns provider log-in off.
	StartProvider func(w http.ResponseWriter, r *http.Request, providerID, lang string) (string, error)
	Logger        *slog.Logger
	Now           func() time.Time
}

// Provider is a log-in provider offered on the desk's log-in page.
type Provider struct {
	ID, Name string
}

// Server serves the desk and the admin API.
type Server struct {
	svc    *service.Service
	cfg    Config
	log    *slog.Logger
	secure bool

	// The desk's templates and static files are read on first use, not at
	// start: most of a server's life nobody has the desk open, and parsed
	// templates are megabytes of heap (issue: idle memory).
	pagesMu sync.Mutex
	pages   map[string]*template.Template
	static  func() map[string]staticFile // by name
}

type staticFile struct {
	body []byte
	hash string // of body, in the file's URL, so it can be cached for a year
	typ  string
}

// New returns the desk over svc.
func New(svc *service.Service, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	s := &Server{svc: svc, cfg: cfg, log: cfg.Logger, secure: strings.HasPrefix(cfg.PublicURL, "https://"),
		pages: map[string]*template.Template{}, static: sync.OnceValue(loadStatic)}
	return s, nil
}

// staticTypes are the content types of the desk's static files, named here
// rather than looked up with mime.TypeByExtension, which reads the system's
// MIME tables into memory for good.
var staticTypes = map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}

// loadStatic reads the embedded static files; a file of a type not in
// staticTypes is a programming error that TestStaticFiles catches.
func loadStatic() map[string]staticFile {
	files := map[string]staticFile{}
	err := fs.WalkDir(staticFiles, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := strings.TrimPrefix(p, "static/")
		files[name] = staticFile{body: b, hash: hex.EncodeToString(sum[:6]), typ: staticTypes[path.Ext(name)]}
		return nil
	})
	if err != nil {
		panic("admin: reading the embedded static files: " + err.Error())
	}
	return files
}

// staticURL is the cache-forever address of a static file.
func (s *Server) staticURL(name string) string {
	f, ok := s.static()[name]
	if !ok {
		panic("admin: no static file " + name)
	}
	return "/admin/static/" + f.hash + "/" + name
}

// Handler returns the desk's and the admin API's routes. Mount it for
// "/admin/", "/api/v1/admin/" and "/api/v1/openapi.json".
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/static/{hash}/{file}", s.handleStatic)
	mux.HandleFunc("GET /admin/login", s.handleLoginPage)
	mux.HandleFunc("POST /admin/login", s.handleLogin)
	mux.HandleFunc("GET /admin/login/{provider}", s.handleProviderLogin)
	mux.HandleFunc("POST /admin/logout", s.desk(s.handleLogout))

	mux.HandleFunc("GET /admin/{$}", s.desk(s.handleHome))
	mux.HandleFunc("GET /admin/account", s.desk(s.handleAccount))
	mux.HandleFunc("POST /admin/account/password", s.desk(s.handlePassword))
	mux.HandleFunc("POST /admin/account/sessions", s.desk(s.handleEndSessions))

	mux.HandleFunc("GET /admin/sites/{site}/{$}", s.desk(s.handleQueue))
	mux.HandleFunc("GET /admin/sites/{site}/stream", s.desk(s.handleQueueStream))
	mux.HandleFunc("POST /admin/sites/{site}/decide", s.desk(s.handleDecide))
	mux.HandleFunc("POST /admin/sites/{site}/decide-matching", s.desk(s.handleDecideMatching))
	mux.HandleFunc("POST /admin/sites/{site}/undo", s.desk(s.handleUndo))
	mux.HandleFunc("GET /admin/sites/{site}/comments/{id}", s.desk(s.handleComment))
	mux.HandleFunc("POST /admin/sites/{site}/comments/{id}/edit", s.desk(s.handleEdit))
	mux.HandleFunc("POST /admin/sites/{site}/comments/{id}/reply", s.desk(s.handleReply))
	mux.HandleFunc("GET /admin/sites/{site}/settings", s.desk(s.handleSettings))
	mux.HandleFunc("POST /admin/sites/{site}/settings", s.desk(s.handleSaveSettings))
	mux.HandleFunc("GET /admin/sites/{site}/audit", s.desk(s.handleAudit))
	mux.HandleFunc("GET /admin/sites/{site}/staff", s.desk(s.handleStaff))
	mux.HandleFunc("POST /admin/sites/{site}/staff", s.desk(s.handleAddStaff))
	mux.HandleFunc("POST /admin/sites/{site}/staff/{account}", s.desk(s.handleSetRole))
	mux.HandleFunc("POST /admin/sites/{site}/tokens", s.desk(s.handleAddToken))
	mux.HandleFunc("POST /admin/sites/{site}/tokens/{token}/revoke", s.desk(s.handleRevokeToken))
	s.notifyRoutes(mux)
	s.communityRoutes(mux) // community.go
	s.privacyRoutes(mux)   // privacy.go
	mux.HandleFunc("/admin/", s.handleNotFound)

	s.apiRoutes(mux)
	return s.secureHeaders(mux)
}

// secureHeaders sets what every desk and API answer carries: nothing is
// cached or framed, and the pages run only the desk's own script.
func (s *Server) secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/admin/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	f, ok := s.static()[r.PathValue("file")]
	if !ok || f.hash != r.PathValue("hash") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.typ)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(f.body)
}

// now is the desk's clock.
func (s *Server) now() time.Time { return s.cfg.Now() }

// clientIP returns the address a request came from.
func (s *Server) clientIP(r *http.Request) string {
	if s.cfg.ClientIP != nil {
		return s.cfg.ClientIP(r)
	}
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = strings.Trim(host[:i], "[]")
	}
	return host
}

// errorStatus maps the service's errors to HTTP statuses and words.
func errorStatus(err error) (int, string) {
	var ve *comment.ValidationError
	switch {
	case errors.As(err, &ve):
		return http.StatusBadRequest, "error.invalid"
	case errors.Is(err, comment.ErrNotFound):
		return http.StatusNotFound, "error.not_found"
	case errors.Is(err, comment.ErrForbidden):
		return http.StatusForbidden, "error.forbidden"
	case errors.Is(err, comment.ErrConflict):
		return http.StatusConflict, "error.conflict"
	case errors.Is(err, comment.ErrUnavailable):
		return http.StatusServiceUnavailable, "error.unavailable"
	}
	return http.StatusInternalServerError, "error.internal"
}

// roleName is a role as the desk shows it.
func roleName(t *i18n.Table, r staff.Role) string {
	if r == "" {
		return t.T("role.none")
	}
	return t.T("role." + string(r))
}

var _ = fmt.Sprint
