package admin

import (
	_ "embed"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/service"
	"parley/internal/spam"
	"parley/internal/staff"
)

// The REST API under /api/v1/admin/: what the desk does, for programs,
// with a site's API token (parley token add). Its shapes are described in
// openapi.json, which a test checks against real answers.

//go:embed openapi.json
var openAPI []byte

func (s *Server) apiRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Write(openAPI)
	})
	mux.HandleFunc("GET /api/v1/admin/sites/{site}", s.api(s.apiSite))
	mux.HandleFunc("PATCH /api/v1/admin/sites/{site}", s.api(s.apiUpdateSite))
	mux.HandleFunc("GET /api/v1/admin/sites/{site}/comments", s.api(s.apiListComments))
	mux.HandleFunc("GET /api/v1/admin/sites/{site}/comments/{id}", s.api(s.apiComment))
	mux.HandleFunc("PATCH /api/v1/admin/sites/{site}/comments/{id}", s.api(s.apiEditComment))
	mux.HandleFunc("POST /api/v1/admin/sites/{site}/comments/bulk", s.api(s.apiBulk))
	mux.HandleFunc("POST /api/v1/admin/sites/{site}/comments/{id}/{action}", s.api(s.apiDecide))
	mux.HandleFunc("POST /api/v1/admin/sites/{site}/undo", s.api(s.apiUndo))
	mux.HandleFunc("GET /api/v1/admin/sites/{site}/audit", s.api(s.apiAudit))
	s.communityAPIRoutes(mux) // community_api.go
	s.privacyAPIRoutes(mux)   // privacy.go
	mux.HandleFunc("/api/v1/admin/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, apiError("not_found", "There is no such admin API route."))
	})
}

// apiReq is one request of a program with an API token.
type apiReq struct {
	actor service.Actor
	t     *i18n.Table
}

// api wraps an admin API handler: the caller is the token in the
// Authorization header. Tokens are not cookies, so there is no CSRF to
// check; a browser cannot attach one by itself.
func (s *Server) api(h func(http.ResponseWriter, *http.Request, *apiReq)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t := i18n.Desk(i18n.Match(r.Header.Get("Accept-Language")))
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parley-admin"`)
			writeJSON(w, http.StatusUnauthorized, apiError("unauthorized", "Send an API token as Authorization: Bearer TOKEN (parley token add)."))
			return
		}
		a, err := s.svc.TokenActorFor(r.Context(), strings.TrimSpace(tok))
		if errors.Is(err, comment.ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parley-admin", error="invalid_token"`)
			writeJSON(w, http.StatusUnauthorized, apiError("invalid_token", "This API token is not valid: it was revoked or mistyped."))
			return
		}
		if err != nil {
			s.fail(w, r, t, err)
			return
		}
		h(w, r, &apiReq{actor: a, t: t})
	}
}

// adminCommentJSON is a comment as staff see it: the public fields, and
// what only staff may know.
type adminCommentJSON struct {
	ID       string       `json:"id"`
	Parent   *string      `json:"parent"`
	Author   adminAuthor  `json:"author"`
	HTML     string       `json:"html"`
	Markdown string       `json:"markdown"`
	Created  string       `json:"created"`
	Edited   string       `json:"edited,omitempty"`
	EditedBy string       `json:"edited_by,omitempty"`
	Likes    int          `json:"likes"`
	Status   string       `json:"status"`
	Staff    bool         `json:"staff"`
	Email    string       `json:"email,omitempty"`
	IPHash   string       `json:"ip_hash,omitempty"`
	Page     pageJSON     `json:"page"`
	Verdict  verdictJSON  `json:"verdict"`
	History  *historyJSON `json:"history,omitempty"`
	Featured bool         `json:"featured"`
}

type adminAuthor struct {
	Name     string `json:"name"`
	Website  string `json:"website"`
	Avatar   string `json:"avatar"`
	Identity string `json:"identity,omitempty"`
}

type pageJSON struct {
	Key   string `json:"key"`
	URL   string `json:"url"`
	Title string `json:"title"`
}

type verdictJSON struct {
	Layer   string   `json:"layer"`
	Score   float64  `json:"score"`
	Reasons []string `json:"reasons"`
}

type historyJSON struct {
	Approved  int    `json:"approved"`
	Pending   int    `json:"pending"`
	Spam      int    `json:"spam"`
	Deleted   int    `json:"deleted"`
	FirstSeen string `json:"first_seen,omitempty"`
}

func (s *Server) commentJSON(c *service.Card, lang string) adminCommentJSON {
	return CommentJSON(c, s.cfg.AvatarURL, lang)
}

// CommentJSON is a comment of the desk as the admin API (and `parley
// comment list --json`) writes it, with the reasons of its verdict in
// words of lang; avatar, if not nil, gives the author's picture's address.
func CommentJSON(c *service.Card, avatar func(comment.Author) string, lang string) adminCommentJSON {
	cm := c.Comment
	out := adminCommentJSON{
		ID: cm.ID, HTML: cm.HTML, Markdown: cm.Markdown, Created: cm.Created.UTC().Format(time.RFC3339),
		EditedBy: cm.EditedBy, Likes: cm.Likes, Status: string(cm.Status), Staff: cm.Staff, Featured: c.Featured,
		Author:  adminAuthor{Name: cm.Author.Name, Website: cm.Author.Website, Identity: cm.Author.Identity},
		Verdict: verdictJSON{Layer: cm.Verdict.Layer, Score: cm.Verdict.Score, Reasons: []string{}},
	}
	if avatar != nil {
		out.Author.Avatar = avatar(cm.Author)
	}
	if cm.ParentID != "" {
		p := cm.ParentID
		out.Parent = &p
	}
	if !cm.Edited.IsZero() {
		out.Edited = cm.Edited.UTC().Format(time.RFC3339)
	}
	if c.Private {
		out.Email, out.IPHash = cm.Author.Email, cm.IPHash
	}
	if c.Thread != nil {
		out.Page = pageJSON{Key: c.Thread.Key, URL: c.Thread.URL, Title: c.Thread.Title}
	}
	for _, r := range cm.Verdict.Reasons {
		out.Verdict.Reasons = append(out.Verdict.Reasons, spam.Explain([]comment.Reason{r}, lang))
	}
	if len(cm.Verdict.Reasons) == 0 && cm.Verdict.Reason != "" {
		out.Verdict.Reasons = append(out.Verdict.Reasons, cm.Verdict.Reason)
	}
	if h := c.History; h != nil {
		out.History = &historyJSON{Approved: h.Counts[comment.StatusApproved], Pending: h.Counts[comment.StatusPending], Spam: h.Counts[comment.StatusSpam], Deleted: h.Counts[comment.StatusDeleted]}
		if !h.FirstSeen.IsZero() {
			out.History.FirstSeen = h.FirstSeen.UTC().Format(time.RFC3339)
		}
	}
	return out
}

type listJSON struct {
	Comments []adminCommentJSON `json:"comments"`
	Next     *string            `json:"next"`
	Total    int                `json:"total"`
	// Capped says Total stopped counting at service.CountCap.
	Capped bool `json:"total_capped"`
}

// ListJSON is a page of the queue as the admin API writes it.
func ListJSON(res *service.QueuePage, status comment.Status, avatar func(comment.Author) string, lang string) listJSON {
	out := listJSON{Comments: make([]adminCommentJSON, len(res.Cards))}
	for i, c := range res.Cards {
		out.Comments[i] = CommentJSON(c, avatar, lang)
	}
	if res.Next != "" {
		next := res.Next
		out.Next = &next
	}
	if status != "" {
		out.Total = res.Counts[status]
	} else {
		for _, n := range res.Counts {
			out.Total += n
		}
	}
	out.Capped = out.Total >= service.CountCap
	return out
}

func (s *Server) apiListComments(w http.ResponseWriter, r *http.Request, a *apiReq) {
	q, err := s.parseQuery(r)
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	if r.FormValue("status") == "" {
		q.Status = "" // the API lists every status unless asked
	}
	res, err := s.svc.Queue(r.Context(), a.actor, r.PathValue("site"), q)
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusOK, ListJSON(res, q.Status, s.cfg.AvatarURL, a.t.Lang()))
}

func (s *Server) apiComment(w http.ResponseWriter, r *http.Request, a *apiReq) {
	c, err := s.svc.Card(r.Context(), a.actor, r.PathValue("site"), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusOK, s.commentJSON(c, a.t.Lang()))
}

// readJSON decodes a request body of at most 64 kB into v.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return comment.Invalid("body", "The body is not the JSON this route takes: "+err.Error())
	}
	return nil
}

func (s *Server) apiEditComment(w http.ResponseWriter, r *http.Request, a *apiReq) {
	var in struct {
		Body string `json:"body"`
	}
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	if _, err := s.svc.EditAs(r.Context(), a.actor, r.PathValue("site"), r.PathValue("id"), in.Body); err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	s.apiComment(w, r, a)
}

func (s *Server) apiDecide(w http.ResponseWriter, r *http.Request, a *apiReq) {
	d, err := service.ParseDecision(r.PathValue("action"))
	if err != nil {
		writeJSON(w, http.StatusNotFound, apiError("not_found", "There is no such admin API route."))
		return
	}
	if _, err := s.svc.Decide(r.Context(), a.actor, r.PathValue("site"), []string{r.PathValue("id")}, d); err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	s.apiComment(w, r, a)
}

// filterJSON is a bulk action's filter: the list's query parameters.
type filterJSON struct {
	Status string `json:"status"`
	Q      string `json:"q"`
	Page   string `json:"page"`
	Author string `json:"author"`
	Email  string `json:"email"`
	IP     string `json:"ip"`
	Since  string `json:"since"`
	Until  string `json:"until"`
}

func (s *Server) apiBulk(w http.ResponseWriter, r *http.Request, a *apiReq) {
	var in struct {
		Action string      `json:"action"`
		IDs    []string    `json:"ids"`
		Filter *filterJSON `json:"filter"`
		// Reason (one of the site's, with ids) is what the authors of
		// held comments not published are told.
		Reason string `json:"reason"`
	}
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	d, err := service.ParseDecision(in.Action)
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	site := r.PathValue("site")
	switch {
	case in.Filter != nil && in.IDs != nil:
		s.fail(w, r, a.t, comment.Invalid("ids", "Send either ids or a filter, not both."))
	case in.Filter != nil:
		f := in.Filter
		q := service.Query{Status: comment.Status(f.Status), Page: f.Page, Author: f.Author, Email: f.Email, IP: f.IP, Text: f.Q}
		for _, t := range []struct {
			v  string
			to *time.Time
		}{{f.Since, &q.Since}, {f.Until, &q.Until}} {
			if t.v == "" {
				continue
			}
			if *t.to, err = time.Parse(time.RFC3339, t.v); err != nil {
				s.fail(w, r, a.t, comment.Invalid("filter", "since and until are RFC 3339 times, such as 2026-03-01T12:00:00Z."))
				return
			}
		}
		matched, changed, err := s.svc.DecideMatching(r.Context(), a.actor, site, q, d)
		if err != nil {
			s.fail(w, r, a.t, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"matched": matched, "changed": changed})
	default:
		changed, err := s.svc.DecideWithReason(r.Context(), a.actor, site, in.IDs, d, in.Reason)
		if err != nil {
			s.fail(w, r, a.t, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"matched": len(in.IDs), "changed": len(changed)})
	}
}

func (s *Server) apiUndo(w http.ResponseWriter, r *http.Request, a *apiReq) {
	e, err := s.svc.Undo(r.Context(), a.actor, r.PathValue("site"))
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"undone": auditJSON(e)})
}

// auditEntryJSON is one audit log entry.
type auditEntryJSON struct {
	ID       int64           `json:"id"`
	At       string          `json:"at"`
	Actor    string          `json:"actor"`
	Kind     string          `json:"actor_kind"`
	Action   string          `json:"action"`
	Target   string          `json:"target"`
	Before   json.RawMessage `json:"before"`
	After    json.RawMessage `json:"after"`
	Count    int             `json:"count"`
	UndoneBy *int64          `json:"undone_by"`
}

func auditJSON(e *staff.AuditEntry) auditEntryJSON {
	raw := func(s string) json.RawMessage {
		if s == "" || !json.Valid([]byte(s)) {
			return json.RawMessage("null")
		}
		return json.RawMessage(s)
	}
	out := auditEntryJSON{ID: e.ID, At: e.At.UTC().Format(time.RFC3339Nano), Actor: e.ActorName, Kind: e.ActorKind, Action: e.Action, Target: e.Target, Before: raw(e.Before), After: raw(e.After), Count: e.Count}
	if e.UndoneBy != 0 {
		u := e.UndoneBy
		out.UndoneBy = &u
	}
	return out
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request, a *apiReq) {
	q := r.URL.Query()
	f := service.AuditFilter{ActorID: q.Get("actor"), Action: q.Get("action"), CommentID: q.Get("comment")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			s.fail(w, r, a.t, comment.Invalid("limit", "The limit is a number from 1 to 500."))
			return
		}
		f.Limit = n
	}
	list, next, err := s.svc.AuditLog(r.Context(), a.actor, r.PathValue("site"), f, q.Get("cursor"))
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusOK, AuditJSON(list, next))
}

// AuditJSON is a page of the audit log as the admin API (and `parley
// audit --json`) writes it.
func AuditJSON(list []*staff.AuditEntry, next string) any {
	out := struct {
		Entries []auditEntryJSON `json:"entries"`
		Next    *string          `json:"next"`
	}{Entries: make([]auditEntryJSON, len(list))}
	for i, e := range list {
		out.Entries[i] = auditJSON(e)
	}
	if next != "" {
		out.Next = &next
	}
	return out
}

// siteJSON is a site's settings as the admin API reads and writes them.
type siteJSON struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Origins     []string `json:"origins"`
	Moderation  string   `json:"moderation"`
	Guests      string   `json:"guests"`
	Providers   []string `json:"providers"`
	MaxDepth    int      `json:"max_depth"`
	EditWindow  int64    `json:"edit_window"` // seconds
	HidePrivate bool     `json:"hide_private"`
	// IPRetention is how long comments keep their address hash and user
	// agent, in seconds; 0: the server's period.
	IPRetention int64 `json:"ip_retention"`
}

func toSiteJSON(s *comment.Site) siteJSON {
	return siteJSON{ID: s.ID, Name: s.Name, Origins: s.Origins, Moderation: string(s.Moderation), Guests: string(s.Guests),
		Providers: s.Providers, MaxDepth: s.MaxDepth, EditWindow: int64(s.EditWindow / time.Second), HidePrivate: s.HidePrivate,
		IPRetention: int64(s.IPRetention / time.Second)}
}

func (s *Server) apiSite(w http.ResponseWriter, r *http.Request, a *apiReq) {
	site, err := s.svc.DeskSite(r.Context(), a.actor, r.PathValue("site"))
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusOK, toSiteJSON(site))
}

func (s *Server) apiUpdateSite(w http.ResponseWriter, r *http.Request, a *apiReq) {
	site, err := s.svc.DeskSite(r.Context(), a.actor, r.PathValue("site"))
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	// A PATCH: fields left out keep their value.
	in := toSiteJSON(site)
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	if in.ID != site.ID {
		s.fail(w, r, a.t, comment.Invalid("id", "A site's id cannot change."))
		return
	}
	next := *site
	next.Name, next.Origins, next.Moderation, next.Guests = in.Name, in.Origins, comment.Moderation(in.Moderation), comment.GuestPolicy(in.Guests)
	next.Providers, next.MaxDepth, next.EditWindow, next.HidePrivate = in.Providers, in.MaxDepth, time.Duration(in.EditWindow)*time.Second, in.HidePrivate
	next.IPRetention = time.Duration(in.IPRetention) * time.Second
	if err := s.svc.UpdateSite(r.Context(), a.actor, &next); err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusOK, toSiteJSON(&next))
}
