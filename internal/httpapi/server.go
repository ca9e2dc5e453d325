// Package httpapi is Parley's HTTP face: the JSON API the widget talks to,
// the server-rendered thread and form for readers without JavaScript, the
// widget's files, avatars and the demo page. Handlers are thin: they decode,
// call the service, and encode.
package httpapi

import (
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

	"parley/internal/auth"
	"parley/internal/comment"
	"parley/internal/demo"
	"parley/internal/login"
	"parley/internal/metrics"
	"parley/internal/ratelimit"
	"parley/internal/service"
	"parley/internal/spam"
	"parley/internal/web"
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
	// DemoRoutes, with Demo, serves Demo ID and the demo mailbox (package
	// demo) under /demo-id/ and /demo/.
	DemoRoutes http.Handler
	// AkismetUpstream says comments are also sent to the Akismet service,
	// which the privacy page must tell readers.
	AkismetUpstream bool
	// OutboxKeep is how long sent emails stay in the delivery log (the
	// retention job's setting), which the privacy page tells readers;
	// outbox.DefaultKeep if zero.
	OutboxKeep time.Duration
	// Akismet, when set, serves the Akismet REST API under /1.1/ and
	// /1.2/ (package akismet).
	Akismet http.Handler
	// Login, when set, lets readers log in (package login); without it
	// every reader is a guest.
	Login *login.Login
	// StaffLogin finishes a staff member's provider log-in to the desk,
	// begun by package admin (auth.ModeStaff): with the identity the
	// provider vouched for, or the error that stopped it.
	StaffLogin func(w http.ResponseWriter, r *http.Request, id auth.Identity, err error)
	// Admin, when set, serves the moderation desk (/admin/), the admin
	// API (/api/v1/admin/) and the API's description
	// (/api/v1/openapi.json): package admin.
	Admin http.Handler
	// Gravatar is the Gravatar-compatible service Parley asks for guests'
	// pictures (service.Options.Pictures), which the privacy page must
	// tell readers; "" when it asks none.
	Gravatar string
	// Proxies are the reverse proxies whose X-Forwarded-For (or
	// Forwarded) and X-Forwarded-Proto Parley believes; nil trusts none.
	Proxies *web.Proxies
	// StreamsPerClient caps the live streams one client (an address, or
	// an IPv6 /64) may hold open at once; 0 means DefaultStreamsPerClient.
	StreamsPerClient int
	// ReadBudget bounds each client's thread and count reads that this
	// instance cannot answer from memory (a thread read it holds costs
	// nothing); the zero value means DefaultReadBudget.
	ReadBudget ratelimit.Limit
	// Metrics, when set, counts and times every request by its route
	// pattern (package metrics); nil counts nothing.
	Metrics *metrics.Metrics
}

// Per-client defaults: generous for an office or a school behind one
// address, tight for one client opening streams or reading random pages
// by the hundred.
var (
	DefaultStreamsPerClient = 100
	DefaultReadBudget       = ratelimit.Limit{Burst: 60, Every: 500 * time.Millisecond}
)

// Server serves Parley over HTTP.
type Server struct {
	svc     *service.Service
	assets  *widget.Assets
	log     *slog.Logger
	cfg     Config
	threads *jsonCache
	feeds   *feedCache
	pages   *htmlCache
	held    *heldCache
	streams struct {
		open     atomic.Int64
		stop     chan struct{}
		stopOnce sync.Once
		mu       sync.Mutex
		byClient map[string]int // open streams per client key
	}
	reads *ratelimit.Memory // read budgets, per client key
	// refusals are the refused embeddings logged in the last hour.
	refusals refusalLog
}

// New returns a Server; mount it with Handler.
func New(svc *service.Service, assets *widget.Assets, log *slog.Logger, cfg Config) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.StreamsPerClient <= 0 {
		cfg.StreamsPerClient = DefaultStreamsPerClient
	}
	if cfg.ReadBudget.Burst <= 0 {
		cfg.ReadBudget = DefaultReadBudget
	}
	srv := &Server{svc: svc, assets: assets, log: log, cfg: cfg, threads: newJSONCache(1024), feeds: newFeedCache(), reads: ratelimit.NewMemory(100_000),
		// Up to 32 MB of rendered pages: a 200-comment thread is about 200 kB.
		pages: newHTMLCache(1024, 32<<20), held: newHeldCache(2*time.Second, 1024)}
	srv.streams.stop = make(chan struct{})
	srv.streams.byClient = map[string]int{}
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
	mux.HandleFunc("POST /api/v1/sites/{site}/comments/{id}/report", s.handleReport)
	mux.HandleFunc("POST /api/v1/sites/{site}/notices", s.handleNotices)
	mux.HandleFunc("OPTIONS /api/v1/sites/{site}/", s.handlePreflight)
	mux.HandleFunc("POST /api/v1/reader", s.handleNewReader)
	mux.HandleFunc("OPTIONS /api/v1/reader", s.handlePreflight)

	// Readers without JavaScript, and server-side includes.
	mux.HandleFunc("GET /sites/{site}/thread", s.handleThreadHTML)
	mux.HandleFunc("GET /sites/{site}/reply", s.handleReplyPage)
	mux.HandleFunc("POST /sites/{site}/comments", s.handleFormPost)
	mux.HandleFunc("GET /sites/{site}/comments/{id}/report", s.handleReportPage)
	mux.HandleFunc("POST /sites/{site}/comments/{id}/report", s.handleReportForm)
	mux.HandleFunc("GET /sites/{site}/privacy", s.handlePrivacy)
	s.dataRoutes(mux) // privacy.go
	mux.HandleFunc("GET /sites/{site}/feed.atom", s.handleAtom)
	mux.HandleFunc("GET /sites/{site}/feed.rss", s.handleRSS)

	s.authRoutes(mux)
	s.notifyRoutes(mux)

	mux.HandleFunc("GET /avatars/{file}", s.handleAvatar)
	mux.Handle("GET /widget/", s.assets)
	mux.Handle("GET /embed.js", s.assets)
	mux.Handle("GET "+widget.CountPath, s.assets)
	if s.cfg.Demo {
		mux.HandleFunc("GET /{$}", s.handleDemo)
		if s.cfg.DemoRoutes != nil {
			mux.Handle(demo.IDPath+"/", s.cfg.DemoRoutes)
			mux.Handle("/demo/", s.cfg.DemoRoutes)
		}
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
	// Request ids, the access log and who the client is come first, so a
	// panic's answer and log line carry the id.
	// The metrics sit right around the mux (recoverPanics passes the
	// same request on), whose match names the route they count.
	return web.Handler(s.cfg.Metrics.Instrument(s.recoverPanics(mux)), web.Config{Proxies: s.cfg.Proxies, Logger: s.log})
}

// baseURL is the absolute address of this server as the reader sees it:
// PublicURL, else the request's Host with the scheme the reader used (a
// trusted proxy's X-Forwarded-Proto, when TLS ends there).
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	return web.Scheme(r) + "://" + r.Host
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
	// Hint tells a site's owner what is wrong with the embedding (the
	// widget logs it to the browser console), in English.
	Hint string `json:"hint,omitempty"`
}

type errorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Until is when a suspension or ban ends (banned), if it does.
	Until string `json:"until,omitempty"`
	// refusal carries what errorText needs to put a refusal of the
	// community controls in the reader's words (community.go).
	refusal error
}

// errorStatus maps an error to its HTTP status and reader-safe body. It is
// the one table of error mapping; anything it does not know is a 500 whose
// details stay in the log.
func errorStatus(err error) (int, errorBody) {
	var ve *comment.ValidationError
	var mbe *http.MaxBytesError
	var rl *spam.RateLimitError
	var ll linkLimitError
	if status, body, ok := refusalStatus(err); ok {
		return status, body
	}
	switch {
	case errors.As(err, &ll):
		return http.StatusTooManyRequests, errorBody{Code: "link_rate_limited", Message: "You have asked for several log-in links in a short time. Please use one already sent, or wait a few minutes and try again."}
	case errors.As(err, &rl) && rl.Key == readsKey:
		return http.StatusTooManyRequests, errorBody{Code: "too_many_reads", Message: "Too many pages were opened from your network in a short time. Please wait a moment and reload."}
	case errors.As(err, &rl) && rl.Key == streamsKey:
		return http.StatusTooManyRequests, errorBody{Code: "too_many_streams", Message: "Too many pages with live updates are open from your network."}
	case errors.As(err, &rl) && strings.HasPrefix(rl.Key, service.LikeLimitKey):
		return http.StatusTooManyRequests, errorBody{Code: "too_many_likes", Message: "You are liking comments too quickly. Please wait a moment and try again."}
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
	case errors.Is(err, errOriginNotAllowed):
		return http.StatusForbidden, errorBody{Code: "origin_not_allowed", Message: "This site does not accept comments from here."}
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
	writeJSON(w, status, apiError{Error: body})
}

// failed logs a request that failed on Parley's side and returns its id,
// for the reader to quote; a 503 asks the client to come back shortly.
func (s *Server) failed(w http.ResponseWriter, r *http.Request, status int, err error) string {
	id := web.RequestID(r)
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

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", slog.String("request_id", web.RequestID(r)), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
				s.writeError(w, r, errors.New("panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
