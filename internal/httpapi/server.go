// Package httpapi is Parley's HTTP face: the JSON API the widget talks to,
// the server-rendered thread and form for readers without JavaScript, the
// widget's files, avatars and the demo page. Handlers are thin: they decode,
// call the service, and encode.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"parley/internal/comment"
	"parley/internal/login"
	"parley/internal/service"
	"parley/internal/spam"
	"parley/internal/widget"
)

// Config is what the HTTP layer needs to know about its deployment.
type Config struct {
	// PublicURL is the address readers reach Parley at, e.g.
	// "https://comments.example.com". Empty means "http://" plus the Host
	// header of each request, which suits local use.
	PublicURL string
	// Demo serves the demo article page at "/".
	Demo bool
	// DemoSite is the site id the demo page embeds.
	DemoSite string
	// AkismetUpstream says comments are also sent to the Akismet service,
	// which the privacy page must tell readers.
	AkismetUpstream bool
	// Akismet, when set, serves the Akismet REST API under /1.1/ and
	// /1.2/ (package akismet).
	Akismet http.Handler
	// Login, when set, lets readers log in (package login); without it
	// every reader is a guest.
	Login *login.Login
	// Admin, when set, serves the moderation desk (/admin/), the admin
	// API (/api/v1/admin/) and the API's description
	// (/api/v1/openapi.json): package admin.
	Admin http.Handler
	// Gravatar is the Gravatar-compatible service Parley asks for guests'
	// pictures (service.Options.Pictures), which the privacy page must
	// tell readers; "" when it asks none.
	Gravatar string
}

// Server serves Parley over HTTP.
type Server struct {
	svc     *service.Service
	assets  *widget.Assets
	log     *slog.Logger
	cfg     Config
	threads *jsonCache
	pages   *htmlCache
	held    *heldCache
	streams struct {
		open     atomic.Int64
		stop     chan struct{}
		stopOnce sync.Once
	}
}

// New returns a Server; mount it with Handler.
func New(svc *service.Service, assets *widget.Assets, log *slog.Logger, cfg Config) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	srv := &Server{svc: svc, assets: assets, log: log, cfg: cfg, threads: newJSONCache(1024),
		// Up to 32 MB of rendered pages: a 200-comment thread is about 200 kB.
		pages: newHTMLCache(1024, 32<<20), held: newHeldCache(2*time.Second, 1024)}
	srv.streams.stop = make(chan struct{})
	return srv
}

// Request body limits: a comment is at most 20,000 characters (up to 80 kB
// of UTF-8) plus its other fields.
const (
	maxJSONBody = 128 << 10
	maxFormBody = 256 << 10
)

// Handler returns every route, with logging and panic recovery around them.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealth)

	// The widget's JSON API; CORS is granted per site.
	mux.HandleFunc("GET /api/v1/sites/{site}/comments", s.handleListComments)
	mux.HandleFunc("POST /api/v1/sites/{site}/comments", s.handleCreateComment)
	mux.HandleFunc("GET /api/v1/sites/{site}/counts", s.handleCounts)
	mux.HandleFunc("GET /api/v1/sites/{site}/stream", s.handleStream)
	mux.HandleFunc("PATCH /api/v1/sites/{site}/comments/{id}", s.handleEditComment)
	mux.HandleFunc("DELETE /api/v1/sites/{site}/comments/{id}", s.handleDeleteComment)
	mux.HandleFunc("POST /api/v1/sites/{site}/comments/{id}/like", s.handleLike)
	mux.HandleFunc("DELETE /api/v1/sites/{site}/comments/{id}/like", s.handleLike)
	mux.HandleFunc("OPTIONS /api/v1/sites/{site}/", s.handlePreflight)
	mux.HandleFunc("POST /api/v1/reader", s.handleNewReader)
	mux.HandleFunc("OPTIONS /api/v1/reader", s.handlePreflight)

	// Readers without JavaScript, and server-side includes.
	mux.HandleFunc("GET /sites/{site}/thread", s.handleThreadHTML)
	mux.HandleFunc("GET /sites/{site}/reply", s.handleReplyPage)
	mux.HandleFunc("POST /sites/{site}/comments", s.handleFormPost)
	mux.HandleFunc("GET /sites/{site}/privacy", s.handlePrivacy)
	mux.HandleFunc("GET /sites/{site}/feed.atom", s.handleAtom)
	mux.HandleFunc("GET /sites/{site}/feed.rss", s.handleRSS)

	s.authRoutes(mux)
	s.notifyRoutes(mux)

	mux.HandleFunc("GET /avatars/{file}", s.handleAvatar)
	mux.Handle("GET /widget/", s.assets)
	mux.Handle("GET /embed.js", s.assets)
	if s.cfg.Demo {
		mux.HandleFunc("GET /{$}", s.handleDemo)
	}
	if s.cfg.Admin != nil {
		mux.Handle("/admin/", s.cfg.Admin)
		mux.Handle("/api/v1/admin/", s.cfg.Admin)
		mux.Handle("GET /api/v1/openapi.json", s.cfg.Admin)
	}
	if s.cfg.Akismet != nil {
		mux.Handle("/1.1/", s.cfg.Akismet)
		mux.Handle("/1.2/", s.cfg.Akismet)
	}
	return s.recoverPanics(s.logRequests(mux))
}

// baseURL is the absolute address of this server as the reader sees it.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Ping(r.Context()); err != nil {
		s.writeError(w, r, fmt.Errorf("%w: %v", comment.ErrUnavailable, err))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, "ok")
}

// apiError is the body of every error answer of the JSON API.
type apiError struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// errorStatus maps an error to its HTTP status and reader-safe body. It is
// the one table of error mapping; anything it does not know is a 500 whose
// details stay in the log.
func errorStatus(err error) (int, errorBody) {
	var ve *comment.ValidationError
	var mbe *http.MaxBytesError
	var rl *spam.RateLimitError
	switch {
	case errors.As(err, &rl):
		return http.StatusTooManyRequests, errorBody{Code: "rate_limited", Message: "You are commenting too quickly. Please wait a moment and try again."}
	case errors.Is(err, comment.ErrLoginRequired):
		return http.StatusForbidden, errorBody{Code: "login_required", Message: "Log in to comment."}
	case errors.As(err, &ve) && (ve.Code == "not_author" || ve.Code == "edit_window_closed"):
		return http.StatusForbidden, errorBody{Code: ve.Code, Message: ve.Message}
	case errors.As(err, &ve):
		return http.StatusBadRequest, errorBody{Code: ve.Code, Message: ve.Message, Field: ve.Field}
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, errorBody{Code: "too_large", Message: "That is too much text to send at once."}
	case errors.Is(err, comment.ErrNotFound):
		return http.StatusNotFound, errorBody{Code: "not_found", Message: "Not found."}
	case errors.Is(err, comment.ErrClosed):
		return http.StatusForbidden, errorBody{Code: "closed", Message: "Comments are closed."}
	case errors.Is(err, comment.ErrForbidden):
		return http.StatusForbidden, errorBody{Code: "forbidden", Message: "This site does not accept comments from here."}
	case errors.Is(err, comment.ErrConflict):
		return http.StatusConflict, errorBody{Code: "conflict", Message: "That was already done."}
	case errors.Is(err, comment.ErrUnavailable):
		return http.StatusServiceUnavailable, errorBody{Code: "unavailable", Message: "Comments are unavailable for a moment. Please try again shortly."}
	}
	return http.StatusInternalServerError, errorBody{Code: "internal", Message: "Something went wrong on our side. Please try again."}
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := errorStatus(err)
	if status >= 500 {
		body.RequestID = s.failed(w, r, status, err)
	}
	var rl *spam.RateLimitError
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", strconv.Itoa(int(rl.RetryAfter.Seconds())+1))
	}
	w.Header().Set("Cache-Control", "no-store")
	body.Message = errorText(words(r, ""), body)
	writeJSON(w, status, apiError{body})
}

// failed logs a request that failed on Parley's side and returns its id,
// for the reader to quote; a 503 asks the client to come back shortly.
func (s *Server) failed(w http.ResponseWriter, r *http.Request, status int, err error) string {
	id := requestID(r)
	s.log.Error("request failed", slog.String("request_id", id), slog.String("path", r.URL.Path), slog.String("err", err.Error()))
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	return id
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

type ctxKey int

const requestIDKey ctxKey = 0

func requestID(r *http.Request) string {
	if id, ok := r.Context().Value(requestIDKey).(string); ok {
		return id
	}
	return ""
}

// statusWriter remembers the status a handler wrote, for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests gives each request an id and logs it at debug level (errors
// are logged where they are handled). It never logs query strings, which
// may hold page addresses readers consider private, nor client addresses.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
		if !s.log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		s.log.Debug("request", slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Duration("took", time.Since(start)))
	})
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", slog.String("request_id", requestID(r)), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
				s.writeError(w, r, errors.New("panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
