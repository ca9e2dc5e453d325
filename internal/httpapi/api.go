package httpapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/andybalholm/brotli"

	"parley/internal/comment"
	"parley/internal/service"
	"parley/internal/web"
	"parley/internal/widget"
)

// commentJSON is a comment as the public sees it. It is its own type so a
// field added to comment.Comment (an email, an IP hash) never reaches a
// reader by accident.
type commentJSON struct {
	ID        string        `json:"id"`
	Parent    *string       `json:"parent"`
	Author    authorJSON    `json:"author"`
	HTML      string        `json:"html"`
	Created   string        `json:"created"`
	Edited    string        `json:"edited,omitempty"`
	Likes     int           `json:"likes"`
	InReplyTo string        `json:"in_reply_to,omitempty"`
	Status    string        `json:"status,omitempty"`
	Replies   []commentJSON `json:"replies"`
	Featured  bool          `json:"featured,omitempty"`
	// Erased: the author had their data erased while replies hung on it:
	// no author, no text; readers see "Deleted comment".
	Erased bool `json:"erased,omitempty"`
	// Notify says, answering a post that asked for notifications,
	// whether they are on or wait for the emailed confirmation
	// ("on", "confirm").
	Notify string `json:"notify,omitempty"`
}

type authorJSON struct {
	Name    string `json:"name"`
	Website string `json:"website"`
	Avatar  string `json:"avatar"`
}

type threadJSON struct {
	Comments []commentJSON `json:"comments"`
	Total    int           `json:"total"`
	Closed   bool          `json:"closed"`
	MaxDepth int           `json:"max_depth"`
	SiteName string        `json:"site_name"`
	// LastEvent is where a live connection (…/stream?after=) resumes.
	LastEvent int64 `json:"last_event"`
	// EditWindow is how many seconds authors may edit their comments.
	EditWindow int64 `json:"edit_window"`
	// Login is the site's log-in choice and guest policy.
	Login loginJSON `json:"login"`
	// Message is the HTML of the message above the form; Pinned the id of
	// the comment that opens the thread; Featured how many are featured.
	Message  string `json:"message,omitempty"`
	Pinned   string `json:"pinned,omitempty"`
	Featured int    `json:"featured,omitempty"`
	// Notify says readers may ask to be emailed about new comments.
	Notify bool `json:"notify"`
}

func (s *Server) publicComment(base string, c *comment.Comment, inReplyTo string, replies []*service.Node) commentJSON {
	out := commentJSON{
		ID:        c.ID,
		Author:    authorJSON{Name: c.Author.Name, Website: c.Author.Website, Avatar: s.avatarURL(base, c.Author)},
		HTML:      c.HTML,
		Created:   c.Created.UTC().Format(time.RFC3339),
		Likes:     c.Likes,
		InReplyTo: inReplyTo,
		Replies:   make([]commentJSON, 0, len(replies)),
	}
	if c.ParentID != "" {
		p := c.ParentID
		out.Parent = &p
	}
	if c.Type == comment.TypeErased {
		out.Erased, out.Author = true, authorJSON{}
	}
	if !c.Edited.IsZero() {
		out.Edited = c.Edited.UTC().Format(time.RFC3339)
	}
	for _, n := range replies {
		out.Replies = append(out.Replies, s.publicNode(base, n))
	}
	return out
}

// publicNode is a comment of a thread as the public sees it.
func (s *Server) publicNode(base string, n *service.Node) commentJSON {
	out := s.publicComment(base, n.Comment, n.InReplyTo, n.Replies)
	out.Featured = n.Featured
	return out
}

// cors answers whether the request's origin may use a site's API and, if
// so, says so in the response headers. Requests without an Origin header
// (server-to-server, curl) carry no browser credentials and are allowed.
func (s *Server) cors(w http.ResponseWriter, r *http.Request, site *comment.Site) bool {
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if !service.Allowed(site, origin) && !strings.EqualFold(origin, s.baseURL(r)) {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", "ETag, X-Request-Id")
	return true
}

func (s *Server) handlePreflight(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	allowed := origin != ""
	if id := r.PathValue("site"); id != "" && allowed {
		site, err := s.svc.Site(r.Context(), id)
		allowed = err == nil && (service.Allowed(site, origin) || strings.EqualFold(origin, s.baseURL(r)))
	}
	w.Header().Add("Vary", "Origin")
	if !allowed {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE")
	h.Set("Access-Control-Allow-Headers", "Content-Type, If-None-Match, Authorization, Idempotency-Key")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// site loads the {site} of the path and applies CORS; it writes the error
// answer itself and returns nil when the request must stop. A page on
// an origin the site does not allow, or naming a site that does not
// exist (a mistyped data-site), gets an error answer it can read (CORS
// headers for its origin: the answer holds no data), so the widget can
// tell the site owner what is wrong; the server logs it once per origin
// and hour.
func (s *Server) site(w http.ResponseWriter, r *http.Request) *comment.Site {
	id := r.PathValue("site")
	site, err := s.svc.Site(r.Context(), id)
	if err != nil {
		if errors.Is(err, comment.ErrNotFound) {
			origin := readableError(w, r)
			s.refused(r, id, "a page asked for a site that does not exist (a mistyped data-site?)", "parley site list")
			err = &comment.ValidationError{Field: "site", Code: "unknown_site", Message: "There is no such site on this Parley server."}
			s.writeRefusal(w, r, http.StatusNotFound, err, fmt.Sprintf("Parley: there is no site '%s' on %s: check data-site (parley site list shows the sites), or add it: parley site add --id %s --origin %s",
				id, s.baseURL(r), id, origin))
			return nil
		}
		s.writeError(w, r, err)
		return nil
	}
	if !s.cors(w, r, site) {
		origin := readableError(w, r)
		fix := "parley site set --id " + site.ID + " --add-origin " + origin
		s.refused(r, id, "a page on an origin the site does not allow", fix)
		s.writeRefusal(w, r, http.StatusForbidden, errOriginNotAllowed, fmt.Sprintf("Parley: origin %s is not allowed for site '%s': %s", origin, site.ID, fix))
		return nil
	}
	return site
}

// errOriginNotAllowed refuses a page on an origin its site does not allow.
var errOriginNotAllowed = fmt.Errorf("%w: origin not allowed", comment.ErrForbidden)

// readableError lets the page's script read an error answer, and
// returns the page's origin.
func readableError(w http.ResponseWriter, r *http.Request) string {
	o := r.Header.Get("Origin")
	if o != "" {
		w.Header().Set("Access-Control-Allow-Origin", o)
		w.Header().Set("Access-Control-Expose-Headers", "X-Request-Id")
	}
	return o
}

// writeRefusal answers a refused embedding: the reader's words, and the
// hint the widget logs to the console for the site's owner.
func (s *Server) writeRefusal(w http.ResponseWriter, r *http.Request, status int, err error, hint string) {
	_, body := errorStatus(err)
	w.Header().Set("Cache-Control", "no-store")
	body.Message = errorText(words(r, ""), body)
	writeJSON(w, status, apiError{Error: body, Hint: hint})
}

// refused logs a refused embedding, once per site, origin and
// refusalEvery: a misconfigured page asks on every view.
func (s *Server) refused(r *http.Request, site, what, fix string) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = service.OriginOf(r.Header.Get("Referer"))
	}
	if origin == "" || !s.refusals.first(site+" "+origin, time.Now()) {
		return
	}
	s.log.Warn("refused: "+what, slog.String("site", site), slog.String("origin", origin), slog.String("fix", fix),
		slog.String("next_report", "in an hour, if it goes on"))
}

// refusalEvery is how often one refusal is logged again.
const refusalEvery = time.Hour

// refusalLog remembers which refusals were logged in the last hour.
type refusalLog struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// first reports whether key was not logged within refusalEvery of now,
// and notes it. It holds at most 10,000 keys: a flood of made-up origins
// empties it rather than growing it.
func (l *refusalLog) first(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.seen[key]; ok && now.Sub(t) < refusalEvery {
		return false
	}
	if l.seen == nil || len(l.seen) >= 10_000 {
		l.seen = map[string]time.Time{}
	}
	l.seen[key] = now
	return true
}

func (s *Server) writeErrorStatus(w http.ResponseWriter, r *http.Request, status int, err error) {
	_, body := errorStatus(err)
	w.Header().Set("Cache-Control", "no-store")
	body.Message = errorText(words(r, ""), body)
	writeJSON(w, status, apiError{Error: body})
}

func (s *Server) handleListComments(w http.ResponseWriter, r *http.Request) {
	site := s.site(w, r)
	if site == nil {
		return
	}
	q := r.URL.Query()
	order, err := comment.ParseSort(q.Get("sort"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.thread(r, site, q.Get("page"), order)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	base := s.baseURL(r)
	body := s.threads.get(t, site, base, func() []byte {
		out := threadJSON{Comments: make([]commentJSON, 0, len(t.Comments)), Total: t.Total, Closed: t.Closed, MaxDepth: site.MaxDepth, SiteName: site.Name, LastEvent: t.LastEvent, EditWindow: int64(site.EditWindow.Seconds()),
			Login: s.loginChoices(base, site), Message: t.Message, Pinned: t.Pinned, Featured: t.Featured, Notify: s.svc.Notifies()}
		for _, n := range t.Comments {
			out.Comments = append(out.Comments, s.publicNode(base, n))
		}
		// The JSON is read by scripts, never inlined into HTML, so "<" need
		// not become "\u003c": comment HTML stays a third smaller.
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.Encode(out)
		return b.Bytes()
	})
	body.serve(w, r, "application/json; charset=utf-8", publicCache)
}

// serve answers with e: 304 to a request that has it already, else its
// body compressed as the client prefers.
func (e *encoded) serve(w http.ResponseWriter, r *http.Request, contentType, cacheControl string) {
	h := w.Header()
	h.Set("ETag", e.etag)
	h.Set("Cache-Control", cacheControl)
	h.Set("Content-Type", contentType)
	h.Add("Vary", "Accept-Encoding")
	if etagMatch(r.Header.Get("If-None-Match"), e.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	b := e.plain
	switch enc := widget.PickEncoding(r.Header.Get("Accept-Encoding")); enc {
	case "br":
		h.Set("Content-Encoding", enc)
		b = e.brotli()
	case "gzip":
		h.Set("Content-Encoding", enc)
		b = e.gzipped()
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// publicCache lets browsers, proxies and CDNs keep thread reads and counts
// for a few seconds and serve them a while longer while they fetch a fresh
// copy in the background. A change reaches readers live anyway, and this
// instance's own answers are never stale (its cache is rebuilt on every
// write); the ETag makes each revalidation a cheap 304.
const publicCache = "public, max-age=5, stale-while-revalidate=30"

// createRequest is the body of POST /api/v1/sites/{site}/comments.
type createRequest struct {
	Page    string `json:"page"`
	URL     string `json:"url"`
	Title   string `json:"title"`
	Parent  string `json:"parent"`
	Name    string `json:"name"`
	Email   string `json:"email"`
	Website string `json:"website"`
	Body    string `json:"body"`
	Reader  string `json:"reader"`
	// Notify asks for email about follow-up comments: "replies" or "all".
	Notify string `json:"notify"`
	// Lang is the reader's language, for those emails.
	Lang string `json:"lang"`
}

func (s *Server) handleCreateComment(w http.ResponseWriter, r *http.Request) {
	site := s.site(w, r)
	if site == nil {
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		s.writeErrorStatus(w, r, http.StatusUnsupportedMediaType, &comment.ValidationError{Code: "bad_content_type", Message: "Send the comment as JSON (Content-Type: application/json)."})
		return
	}
	var in createRequest
	if err := decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	sess, _, ok := s.session(w, r, site)
	if !ok {
		return
	}
	d := comment.Draft{SiteID: site.ID, Page: in.Page, PageURL: in.URL, Title: in.Title, ParentID: in.Parent,
		Name: in.Name, Email: in.Email, Website: in.Website, Body: in.Body, Notify: in.Notify, Lang: in.Lang}
	if d.Lang == "" {
		d.Lang = language(r) // the widget's, for the emails a held comment may bring
	}
	if sess != nil {
		asAuthor(&d, sess)
	}
	if d.PageURL == "" {
		// The widget sends the page it is on; fall back to the browser's
		// own statement of it.
		d.PageURL = r.Header.Get("Origin")
		if ref := r.Header.Get("Referer"); service.OriginOf(ref) != "" {
			d.PageURL = ref
		}
	}
	c, err := s.svc.Post(r.Context(), d, service.Meta{IP: web.ClientIP(r), UserAgent: r.UserAgent(), Reader: in.Reader,
		PostKey: r.Header.Get("Idempotency-Key")})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := s.publicComment(s.baseURL(r), c, "", nil)
	out.Status = string(c.Status)
	if d.Notify != "" {
		out.Notify = s.svc.SubscriptionState(r.Context(), c, d.Email)
	}
	status := http.StatusCreated
	if c.Status != comment.StatusApproved {
		status = http.StatusAccepted
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, out)
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return comment.Invalid(te.Field, "This field must be text.")
		}
		return &comment.ValidationError{Code: "bad_json", Message: "The request is not valid JSON."}
	}
	if dec.More() {
		return &comment.ValidationError{Code: "bad_json", Message: "The request has data after the JSON object."}
	}
	return nil
}

func (s *Server) handleCounts(w http.ResponseWriter, r *http.Request) {
	site := s.site(w, r)
	if site == nil {
		return
	}
	// Counts are read from the database every time: each request costs
	// the client a token of its read budget.
	if err := s.spendRead(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	counts, err := s.svc.Counts(r.Context(), site.ID, r.URL.Query()["page"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, _ := json.Marshal(map[string]any{"counts": counts})
	sum := sha256.Sum256(b)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", publicCache)
	h.Set("Content-Type", "application/json; charset=utf-8")
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(b)
}

func (s *Server) handleNewReader(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" {
		// A reader token is a random id with no rights attached, so any
		// page may ask for one.
		w.Header().Set("Access-Control-Allow-Origin", o)
		w.Header().Add("Vary", "Origin")
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]string{"reader": s.svc.NewReader()})
}

func (s *Server) handleLike(w http.ResponseWriter, r *http.Request) {
	site := s.site(w, r)
	if site == nil {
		return
	}
	var in struct {
		Reader string `json:"reader"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	like := r.Method == http.MethodPost
	n, err := s.svc.Like(r.Context(), site.ID, r.PathValue("id"), like, service.Meta{IP: web.ClientIP(r), Reader: in.Reader})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"likes": n, "liked": like})
}

func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// jsonCache keeps the encoded JSON of recently read threads, one entry per
// page, order and base URL. An entry is valid for exactly one
// *service.Thread and one *comment.Site: the service hands out a new
// thread after every write and a new site when its settings are read
// again, so pointer identity is freshness.
type jsonCache struct {
	mu      sync.Mutex
	max     int
	entries map[jsonKey]*encoded
}

type jsonKey struct {
	site, key, sort, base string
}

// encoded is one response body with its ETag; its compressed forms are
// made on first demand, once for every reader of this version of the
// thread.
type encoded struct {
	t      *service.Thread
	site   *comment.Site // the site settings it was built with (the log-in choice)
	plain  []byte
	etag   string
	gzOnce sync.Once
	gz     []byte
	brOnce sync.Once
	br     []byte
}

// Compression levels for thread bodies, compressed once per version and
// sent to every reader until the next change. Measured on a 200-comment
// thread (130 kB): gzip level 1 gives 9.3 kB in 0.7 ms, level 9 7.4 kB in
// 0.8 ms; Brotli quality 6 gives 5.9 kB in 3 ms, and quality 11 only 3 %
// less in 70 ms, which a thread that changes with every comment does not
// earn back.
const (
	gzipLevel     = gzip.BestCompression
	brotliQuality = 6
)

func (e *encoded) gzipped() []byte {
	e.gzOnce.Do(func() {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzipLevel)
		zw.Write(e.plain)
		zw.Close()
		e.gz = b.Bytes()
	})
	return e.gz
}

func (e *encoded) brotli() []byte {
	e.brOnce.Do(func() {
		var b bytes.Buffer
		w := brotli.NewWriterLevel(&b, brotliQuality)
		w.Write(e.plain)
		w.Close()
		e.br = b.Bytes()
	})
	return e.br
}

func newJSONCache(max int) *jsonCache {
	return &jsonCache{max: max, entries: map[jsonKey]*encoded{}}
}

func (c *jsonCache) get(t *service.Thread, site *comment.Site, base string, build func() []byte) *encoded {
	k := jsonKey{t.SiteID, t.Key, string(t.Sort), base}
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if ok && e.t == t && e.site == site {
		return e
	}
	plain := build()
	sum := sha256.Sum256(plain)
	e = &encoded{t: t, site: site, plain: plain, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		for ek := range c.entries { // evict one arbitrary entry
			delete(c.entries, ek)
			break
		}
	}
	c.entries[k] = e
	return e
}

func (s *Server) handleEditComment(w http.ResponseWriter, r *http.Request) {
	site := s.site(w, r)
	if site == nil {
		return
	}
	var in struct {
		Reader string `json:"reader"`
		Body   string `json:"body"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.svc.Edit(r.Context(), site.ID, r.PathValue("id"), in.Body, service.Meta{IP: web.ClientIP(r), UserAgent: r.UserAgent(), Reader: in.Reader})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := s.publicComment(s.baseURL(r), c, "", nil)
	out.Status = string(c.Status)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleDeleteComment(w http.ResponseWriter, r *http.Request) {
	site := s.site(w, r)
	if site == nil {
		return
	}
	var in struct {
		Reader string `json:"reader"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.Delete(r.Context(), site.ID, r.PathValue("id"), in.Reader); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]bool{"deleted": true})
}
