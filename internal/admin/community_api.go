package admin

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"parley/internal/comment"
	"parley/internal/service"
)

// The community controls in the admin API: sanctions (/bans), community
// settings and rules, reported comments, articles (/pages), featured and
// pinned comments, authors with notes, alerts. Shapes are in openapi.json.

func (s *Server) communityAPIRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/admin/sites/{site}/bans", s.api(s.apiBans))
	mux.HandleFunc("POST /api/v1/admin/sites/{site}/bans", s.api(s.apiAddBan))
	mux.HandleFunc("GET /api/v1/admin/sites/{site}/bans/{id}", s.api(s.apiBan))
	mux.HandleFunc("DELETE /api/v1/admin/sites/{site}/bans/{id}", s.api(s.apiLiftBan))
	mux.HandleFunc("GET /api/v1/admin/sites/{site}/community", s.api(s.apiCommunity))
	mux.HandleFunc("PUT /api/v1/admin/sites/{site}/community", s.api(s.apiSetCommunity))
	mux.HandleFunc("GET /api/v1/admin/sites/{site}/rules", s.api(s.apiRules))
	mux.HandleFunc("PUT /api/v1/admin/sites/{site}/rules", s.api(s.apiSetRules))
	mux.HandleFunc("GET /api/v1/admin/sites/{site}/reports", s.api(s.apiReports))
	mux.HandleFunc("POST /api/v1/admin/sites/{site}/reports/dismiss", s.api(s.apiDismissReports))
	mux.HandleFunc("GET /api/v1/admin/sites/{site}/pages", s.api(s.apiPages))
	mux.HandleFunc("GET /api/v1/admin/sites/{site}/pages/{thread}", s.api(s.apiPage))
	mux.HandleFunc("PATCH /api/v1/admin/sites/{site}/pages/{thread}", s.api(s.apiSetPage))
	mux.HandleFunc("POST /api/v1/admin/sites/{site}/comments/{id}/feature", s.api(s.apiFeature(true)))
	mux.HandleFunc("POST /api/v1/admin/sites/{site}/comments/{id}/unfeature", s.api(s.apiFeature(false)))
	mux.HandleFunc("POST /api/v1/admin/sites/{site}/comments/{id}/pin", s.api(s.apiPin(true)))
	mux.HandleFunc("POST /api/v1/admin/sites/{site}/comments/{id}/unpin", s.api(s.apiPin(false)))
	mux.HandleFunc("GET /api/v1/admin/sites/{site}/authors", s.api(s.apiAuthor))
	mux.HandleFunc("POST /api/v1/admin/sites/{site}/authors/notes", s.api(s.apiAddNote))
	mux.HandleFunc("DELETE /api/v1/admin/sites/{site}/authors/notes/{id}", s.api(s.apiDeleteNote))
	mux.HandleFunc("GET /api/v1/admin/sites/{site}/alerts", s.api(s.apiAlerts))
	mux.HandleFunc("POST /api/v1/admin/sites/{site}/alerts/{id}/dismiss", s.api(s.apiDismissAlert))
}

// timeJSON is a time in RFC 3339, or null for none.
func timeJSON(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	v := t.UTC().Format(time.RFC3339)
	return &v
}

// BanJSON is a sanction as the admin API (and `parley ban list --json`)
// writes it.
type BanJSON struct {
	ID       string  `json:"id"`
	Kind     string  `json:"kind"`
	Match    string  `json:"match"`
	Value    string  `json:"value"`
	Reason   string  `json:"reason"`
	Message  string  `json:"message"`
	Created  string  `json:"created"`
	Until    *string `json:"until"`
	Actor    string  `json:"actor"`
	Removed  int     `json:"removed"`
	Lifted   *string `json:"lifted"`
	LiftedBy string  `json:"lifted_by"`
	Seen     *string `json:"seen"`
	Active   bool    `json:"active"`
}

// ToBanJSON converts a sanction.
func ToBanJSON(sn *comment.Sanction, now time.Time) BanJSON {
	return BanJSON{ID: sn.ID, Kind: string(sn.Kind), Match: string(sn.Match), Value: sn.Value, Reason: sn.Reason, Message: sn.Message,
		Created: sn.Created.UTC().Format(time.RFC3339), Until: timeJSON(sn.Until), Actor: sn.Actor, Removed: sn.Removed,
		Lifted: timeJSON(sn.Lifted), LiftedBy: sn.LiftedBy, Seen: timeJSON(sn.Seen), Active: sn.Active(now)}
}

func (s *Server) apiBans(w http.ResponseWriter, r *http.Request, a *apiReq) {
	list, err := s.svc.Sanctions(r.Context(), a.actor, r.PathValue("site"), r.URL.Query().Get("all") == "true")
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	out := make([]BanJSON, len(list))
	for i, sn := range list {
		out[i] = ToBanJSON(sn, s.now())
	}
	writeJSON(w, http.StatusOK, map[string]any{"bans": out})
}

func (s *Server) apiAddBan(w http.ResponseWriter, r *http.Request, a *apiReq) {
	var in struct {
		Kind           string `json:"kind"`
		Match          string `json:"match"`
		Value          string `json:"value"`
		Comment        string `json:"comment"`
		Until          string `json:"until"`
		Reason         string `json:"reason"`
		Message        string `json:"message"`
		RemoveComments bool   `json:"remove_comments"`
	}
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	n := service.NewSanction{Kind: comment.SanctionKind(in.Kind), Match: comment.MatchKind(in.Match), Value: in.Value, FromComment: in.Comment,
		Reason: in.Reason, Message: in.Message, RemoveComments: in.RemoveComments}
	if in.Until != "" {
		t, err := time.Parse(time.RFC3339, in.Until)
		if err != nil {
			s.fail(w, r, a.t, comment.Invalid("until", "until is an RFC 3339 time, such as 2026-06-01T00:00:00Z."))
			return
		}
		n.Until = t
	}
	sn, err := s.svc.AddSanction(r.Context(), a.actor, r.PathValue("site"), n)
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusCreated, ToBanJSON(sn, s.now()))
}

func (s *Server) apiBan(w http.ResponseWriter, r *http.Request, a *apiReq) {
	sn, err := s.svc.Sanction(r.Context(), a.actor, r.PathValue("site"), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusOK, ToBanJSON(sn, s.now()))
}

func (s *Server) apiLiftBan(w http.ResponseWriter, r *http.Request, a *apiReq) {
	sn, n, err := s.svc.LiftSanction(r.Context(), a.actor, r.PathValue("site"), r.PathValue("id"), r.URL.Query().Get("restore") == "true")
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ban": ToBanJSON(sn, s.now()), "restored": n})
}

// CommunityJSON is a site's community settings in the admin API.
type CommunityJSON struct {
	ReportHide     int      `json:"report_hide"`
	CloseAfterDays int      `json:"close_after_days"`
	Message        string   `json:"message"`
	SurgeRate      int      `json:"surge_rate"`
	SurgeAction    string   `json:"surge_action"`
	SurgeMinutes   int      `json:"surge_minutes"`
	Reasons        []string `json:"reasons"`
	// EmailDecisions emails held comments' authors the decision.
	EmailDecisions bool `json:"email_decisions"`
	// Anonymise keeps an erased reader's published comments, anonymous.
	Anonymise bool `json:"anonymise"`
}

// ToCommunityJSON converts community settings.
func ToCommunityJSON(c *comment.Community) CommunityJSON {
	reasons := c.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	return CommunityJSON{ReportHide: c.ReportHide, CloseAfterDays: int(c.CloseAfter / (24 * time.Hour)), Message: c.Message, SurgeRate: c.SurgeRate,
		SurgeAction: c.SurgeAction, SurgeMinutes: int(c.SurgeFor / time.Minute), Reasons: reasons, EmailDecisions: c.EmailDecisions,
		Anonymise: c.Anonymise}
}

func (j CommunityJSON) community() comment.Community {
	return comment.Community{ReportHide: j.ReportHide, CloseAfter: time.Duration(j.CloseAfterDays) * 24 * time.Hour, Message: j.Message,
		SurgeRate: j.SurgeRate, SurgeAction: j.SurgeAction, SurgeFor: time.Duration(j.SurgeMinutes) * time.Minute, Reasons: j.Reasons,
		EmailDecisions: j.EmailDecisions, Anonymise: j.Anonymise}
}

func (s *Server) apiCommunity(w http.ResponseWriter, r *http.Request, a *apiReq) {
	c, _, err := s.svc.CommunitySettings(r.Context(), a.actor, r.PathValue("site"))
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusOK, ToCommunityJSON(c))
}

func (s *Server) apiSetCommunity(w http.ResponseWriter, r *http.Request, a *apiReq) {
	c, _, err := s.svc.CommunitySettings(r.Context(), a.actor, r.PathValue("site"))
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	in := ToCommunityJSON(c) // fields left out keep their value
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	if err := s.svc.SetCommunitySettings(r.Context(), a.actor, r.PathValue("site"), in.community()); err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	s.apiCommunity(w, r, a)
}

// RulesJSON is a site's rules in the admin API.
type RulesJSON struct {
	BlockedWords   []string `json:"blocked_words"`
	HoldWords      []string `json:"hold_words"`
	BlockedDomains []string `json:"blocked_domains"`
	BlockedEmails  []string `json:"blocked_emails"`
	BlockedIPs     []string `json:"blocked_ips"`
	HoldLinks      int      `json:"hold_links"`
	SpamLinks      int      `json:"spam_links"`
}

// ToRulesJSON converts a site's rules (empty lists, never null).
func ToRulesJSON(r *comment.SiteRules) RulesJSON {
	nz := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return RulesJSON{BlockedWords: nz(r.BlockedWords), HoldWords: nz(r.HoldWords), BlockedDomains: nz(r.BlockedDomains), BlockedEmails: nz(r.BlockedEmails),
		BlockedIPs: nz(r.BlockedIPs), HoldLinks: r.HoldLinks, SpamLinks: r.SpamLinks}
}

func (s *Server) apiRules(w http.ResponseWriter, r *http.Request, a *apiReq) {
	_, rules, err := s.svc.CommunitySettings(r.Context(), a.actor, r.PathValue("site"))
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusOK, ToRulesJSON(rules))
}

func (s *Server) apiSetRules(w http.ResponseWriter, r *http.Request, a *apiReq) {
	var in RulesJSON
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	rules := comment.SiteRules(in)
	if err := s.svc.SetSiteRules(r.Context(), a.actor, r.PathValue("site"), rules); err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	s.apiRules(w, r, a)
}

// reportedJSON is a reported comment in the admin API.
type reportedJSON struct {
	Comment adminCommentJSON `json:"comment"`
	Count   int              `json:"count"`
	Reasons map[string]int   `json:"reasons"`
	Texts   []string         `json:"texts"`
	Last    string           `json:"last"`
}

func (s *Server) apiReports(w http.ResponseWriter, r *http.Request, a *apiReq) {
	res, err := s.svc.Reported(r.Context(), a.actor, r.PathValue("site"), r.URL.Query().Get("cursor"), 0)
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	out := make([]reportedJSON, len(res.Cards))
	for i, c := range res.Cards {
		rj := reportedJSON{Comment: s.commentJSON(c.Card, a.t.Lang()), Count: c.Reports.Count, Reasons: map[string]int{}, Texts: c.Reports.Texts, Last: c.Reports.Last.UTC().Format(time.RFC3339)}
		if rj.Texts == nil {
			rj.Texts = []string{}
		}
		for k, n := range c.Reports.Reasons {
			rj.Reasons[string(k)] = n
		}
		out[i] = rj
	}
	var next *string
	if res.Next != "" {
		next = &res.Next
	}
	writeJSON(w, http.StatusOK, map[string]any{"comments": out, "next": next, "total": res.Count})
}

func (s *Server) apiDismissReports(w http.ResponseWriter, r *http.Request, a *apiReq) {
	var in struct {
		IDs []string `json:"ids"`
	}
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	n, err := s.svc.DismissReports(r.Context(), a.actor, r.PathValue("site"), in.IDs)
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"dismissed": n})
}

// PageJSON is an article in the admin API (and `parley page list --json`).
type PageJSON struct {
	ID             string  `json:"id"`
	Key            string  `json:"key"`
	URL            string  `json:"url"`
	Title          string  `json:"title"`
	Comments       int     `json:"comments"`
	Held           int     `json:"held"`
	Reported       int     `json:"reported"`
	LastComment    *string `json:"last_comment"`
	Closed         bool    `json:"closed"`
	AutoClosed     bool    `json:"auto_closed"`
	ClosesAt       *string `json:"closes_at"`
	CloseAfterDays *int    `json:"close_after_days"`
	Premod         bool    `json:"premod"`
	Message        string  `json:"message"`
	Pinned         string  `json:"pinned"`
	SurgeUntil     *string `json:"surge_until"`
	SurgeAction    string  `json:"surge_action"`
}

// ToPageJSON converts an article.
func ToPageJSON(a *service.ArticleView) PageJSON {
	p := PageJSON{ID: a.Thread.ID, Key: a.Thread.Key, URL: a.Thread.URL, Title: a.Thread.Title, Comments: a.Comments, Held: a.Held, Reported: a.Reported,
		LastComment: timeJSON(a.LastComment), Closed: a.Closed, AutoClosed: a.AutoClosed, Premod: a.Controls.Premod, Message: a.Controls.Message,
		Pinned: a.Controls.Pinned}
	if !a.Closed {
		p.ClosesAt = timeJSON(a.ClosesAt)
	}
	if d := a.Controls.CloseAfter; d != nil {
		days := int(*d / (24 * time.Hour))
		p.CloseAfterDays = &days
	}
	if a.Surge {
		p.SurgeUntil, p.SurgeAction = timeJSON(a.Controls.SurgeUntil), a.Controls.SurgeAction
	}
	return p
}

func (s *Server) apiPages(w http.ResponseWriter, r *http.Request, a *apiReq) {
	q := r.URL.Query()
	site := r.PathValue("site")
	if page := q.Get("page"); page != "" {
		v, err := s.svc.Article(r.Context(), a.actor, site, page)
		if err != nil {
			s.fail(w, r, a.t, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"pages": []PageJSON{ToPageJSON(v)}, "next": nil})
		return
	}
	aq := service.ArticleQuery{Order: q.Get("order"), Text: q.Get("q"), Cursor: q.Get("cursor")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			s.fail(w, r, a.t, comment.Invalid("limit", "The limit is a number from 1 to 500."))
			return
		}
		aq.Limit = n
	}
	res, err := s.svc.Articles(r.Context(), a.actor, site, aq)
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	out := make([]PageJSON, len(res.Articles))
	for i, v := range res.Articles {
		out[i] = ToPageJSON(v)
	}
	var next *string
	if res.Next != "" {
		next = &res.Next
	}
	writeJSON(w, http.StatusOK, map[string]any{"pages": out, "next": next})
}

func (s *Server) apiPage(w http.ResponseWriter, r *http.Request, a *apiReq) {
	v, err := s.svc.Article(r.Context(), a.actor, r.PathValue("site"), r.PathValue("thread"))
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusOK, ToPageJSON(v))
}

func (s *Server) apiSetPage(w http.ResponseWriter, r *http.Request, a *apiReq) {
	var in struct {
		Closed         *bool           `json:"closed"`
		CloseAfterDays json.RawMessage `json:"close_after_days"`
		Premod         *bool           `json:"premod"`
		Message        *string         `json:"message"`
		Pinned         *string         `json:"pinned"`
		EndSurge       bool            `json:"end_surge"`
	}
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	ch := service.PageChange{Closed: in.Closed, Premod: in.Premod, Message: in.Message, Pinned: in.Pinned, EndSurge: in.EndSurge}
	switch string(in.CloseAfterDays) {
	case "":
	case "null":
		ch.FollowSite = true
	default:
		var days int
		if err := json.Unmarshal(in.CloseAfterDays, &days); err != nil || days < 0 || days > 3650 {
			s.fail(w, r, a.t, comment.Invalid("close_after", "close_after_days is null (the site's), 0 (never) or days up to 3650."))
			return
		}
		d := time.Duration(days) * 24 * time.Hour
		ch.CloseAfter = &d
	}
	v, err := s.svc.SetPage(r.Context(), a.actor, r.PathValue("site"), r.PathValue("thread"), ch)
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusOK, ToPageJSON(v))
}

func (s *Server) apiFeature(on bool) func(http.ResponseWriter, *http.Request, *apiReq) {
	return func(w http.ResponseWriter, r *http.Request, a *apiReq) {
		if _, err := s.svc.Feature(r.Context(), a.actor, r.PathValue("site"), r.PathValue("id"), on); err != nil {
			s.fail(w, r, a.t, err)
			return
		}
		s.apiComment(w, r, a)
	}
}

func (s *Server) apiPin(on bool) func(http.ResponseWriter, *http.Request, *apiReq) {
	return func(w http.ResponseWriter, r *http.Request, a *apiReq) {
		v, err := s.svc.Pin(r.Context(), a.actor, r.PathValue("site"), r.PathValue("id"), on)
		if err != nil {
			s.fail(w, r, a.t, err)
			return
		}
		writeJSON(w, http.StatusOK, ToPageJSON(v))
	}
}

// NoteJSON is a moderator's note in the admin API.
type NoteJSON struct {
	ID      int64  `json:"id"`
	Text    string `json:"text"`
	Created string `json:"created"`
	Actor   string `json:"actor"`
}

func toNoteJSON(n *comment.Note) NoteJSON {
	return NoteJSON{ID: n.ID, Text: n.Text, Created: n.Created.UTC().Format(time.RFC3339), Actor: n.Actor}
}

func (s *Server) apiAuthor(w http.ResponseWriter, r *http.Request, a *apiReq) {
	q := r.URL.Query()
	v, err := s.svc.Author(r.Context(), a.actor, r.PathValue("site"), q.Get("comment"), q.Get("key"))
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	out := struct {
		Key       string             `json:"key"`
		Name      string             `json:"name"`
		Identity  string             `json:"identity"`
		Email     string             `json:"email,omitempty"`
		History   *historyJSON       `json:"history"`
		Decisions []auditEntryJSON   `json:"decisions"`
		Bans      []BanJSON          `json:"bans"`
		Notes     []NoteJSON         `json:"notes"`
		Comments  []adminCommentJSON `json:"comments"`
	}{Key: v.Key, Name: v.Author.Name, Identity: v.Author.Identity, Email: v.Author.Email,
		Decisions: []auditEntryJSON{}, Bans: []BanJSON{}, Notes: []NoteJSON{}, Comments: []adminCommentJSON{}}
	if h := v.History; h != nil {
		out.History = &historyJSON{Approved: h.Counts[comment.StatusApproved], Pending: h.Counts[comment.StatusPending], Spam: h.Counts[comment.StatusSpam], Deleted: h.Counts[comment.StatusDeleted]}
		if !h.FirstSeen.IsZero() {
			out.History.FirstSeen = h.FirstSeen.UTC().Format(time.RFC3339)
		}
	}
	for _, e := range v.Decisions {
		out.Decisions = append(out.Decisions, auditJSON(e))
	}
	for _, sn := range v.Sanctions {
		out.Bans = append(out.Bans, ToBanJSON(sn, s.now()))
	}
	for _, n := range v.Notes {
		out.Notes = append(out.Notes, toNoteJSON(n))
	}
	for _, c := range v.Recent {
		out.Comments = append(out.Comments, s.commentJSON(c, a.t.Lang()))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiAddNote(w http.ResponseWriter, r *http.Request, a *apiReq) {
	var in struct {
		Comment string `json:"comment"`
		Key     string `json:"key"`
		Text    string `json:"text"`
	}
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	n, err := s.svc.AddNote(r.Context(), a.actor, r.PathValue("site"), in.Comment, in.Key, in.Text)
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusCreated, toNoteJSON(n))
}

func (s *Server) apiDeleteNote(w http.ResponseWriter, r *http.Request, a *apiReq) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, r, a.t, comment.ErrNotFound)
		return
	}
	if err := s.svc.DeleteNote(r.Context(), a.actor, r.PathValue("site"), id); err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// alertJSON is an alert to staff in the admin API.
type alertJSON struct {
	ID          int64    `json:"id"`
	Kind        string   `json:"kind"`
	Page        pageJSON `json:"page"`
	Thread      string   `json:"thread"`
	Rate        int      `json:"rate"`
	Threshold   int      `json:"threshold"`
	Action      string   `json:"action"`
	Until       *string  `json:"until"`
	Created     string   `json:"created"`
	Dismissed   *string  `json:"dismissed"`
	DismissedBy string   `json:"dismissed_by"`
	// Delivered is when it was handed to the notifications outbox.
	Delivered *string `json:"delivered"`
}

func (s *Server) apiAlerts(w http.ResponseWriter, r *http.Request, a *apiReq) {
	list, err := s.svc.Alerts(r.Context(), a.actor, r.PathValue("site"), r.URL.Query().Get("all") == "true")
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	out := make([]alertJSON, len(list))
	for i, al := range list {
		out[i] = alertJSON{ID: al.ID, Kind: al.Kind, Page: pageJSON{URL: al.PageURL, Title: al.PageTitle}, Thread: al.ThreadID, Rate: al.Rate, Threshold: al.Threshold,
			Action: al.Action, Until: timeJSON(al.Until), Created: al.Created.UTC().Format(time.RFC3339), Dismissed: timeJSON(al.Dismissed), DismissedBy: al.DismissedBy,
			Delivered: timeJSON(al.Delivered)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": out})
}

func (s *Server) apiDismissAlert(w http.ResponseWriter, r *http.Request, a *apiReq) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, r, a.t, comment.ErrNotFound)
		return
	}
	if err := s.svc.DismissAlert(r.Context(), a.actor, r.PathValue("site"), id); err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
