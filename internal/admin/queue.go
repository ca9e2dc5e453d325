package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/service"
	"parley/internal/spam"
)

// views are the queue's tabs, in order.
var views = []comment.Status{comment.StatusPending, comment.StatusApproved, comment.StatusSpam, comment.StatusDeleted}

// sincePresets are the quick time filters: the last hour, day and week.
var sincePresets = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour}

// filterKeys are the query parameters that make up a filter, as the
// desk's links and forms and the API carry them.
var filterKeys = []string{"status", "q", "page", "author", "email", "ip", "since", "from", "to"}

// parseQuery reads a desk query from a request's form values.
func (s *Server) parseQuery(r *http.Request) (service.Query, error) {
	v := func(k string) string { return strings.TrimSpace(r.FormValue(k)) }
	q := service.Query{Status: comment.Status(v("status")), Page: v("page"), Author: v("author"), Email: v("email"), IP: v("ip"), Text: v("q"), Cursor: v("cursor")}
	if q.Status == "" {
		q.Status = comment.StatusPending
	}
	if q.Status == "all" {
		q.Status = ""
	}
	if p := v("since"); p != "" {
		d, ok := sincePresets[p]
		if !ok {
			t, err := time.Parse(time.RFC3339, p)
			if err != nil {
				return q, comment.Invalid("since", "Since is 1h, 24h, 7d or a time such as 2026-03-01T12:00:00Z.")
			}
			q.Since = t
		} else {
			q.Since = s.now().Add(-d)
		}
	}
	for _, f := range []struct {
		key string
		to  *time.Time
		add time.Duration
	}{{"from", &q.Since, 0}, {"to", &q.Until, 24 * time.Hour}, {"until", &q.Until, 0}} {
		p := v(f.key)
		if p == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", p)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, p); err != nil {
				return q, comment.Invalid(f.key, "Give a date as 2026-03-01 or a time as 2026-03-01T12:00:00Z.")
			}
		} else {
			t = t.Add(f.add) // "to 1 March" includes the whole day
		}
		*f.to = t
	}
	if n := v("limit"); n != "" {
		l, err := strconv.Atoi(n)
		if err != nil || l < 1 || l > 500 {
			return q, comment.Invalid("limit", "The limit is a number from 1 to 500.")
		}
		q.Limit = l
	}
	return q, nil
}

// filterValues returns the filter parameters of a request, for links that
// keep the filter.
func filterValues(r *http.Request) url.Values {
	out := url.Values{}
	for _, k := range filterKeys {
		if v := strings.TrimSpace(r.FormValue(k)); v != "" {
			out.Set(k, v)
		}
	}
	return out
}

// handleHome lists the member's sites, or goes straight to the only one.
func (s *Server) handleHome(w http.ResponseWriter, r *http.Request, d *deskReq) {
	p := s.newPage(w, r, d.t, d)
	if len(p.Sites) == 1 && !d.actor.IsOwner() {
		http.Redirect(w, r, "/admin/sites/"+url.PathEscape(p.Sites[0].ID)+"/", http.StatusSeeOther)
		return
	}
	type siteRow struct {
		Site    *comment.Site
		Pending int
	}
	var rows []siteRow
	for _, site := range p.Sites {
		page, err := s.svc.Queue(r.Context(), d.actor, site.ID, service.Query{Status: comment.StatusPending, Limit: 1})
		if err != nil {
			s.fail(w, r, d.t, err)
			return
		}
		rows = append(rows, siteRow{site, page.Counts[comment.StatusPending]})
	}
	p.Title, p.Nav, p.Body = d.t.T("home.title"), "home", rows
	s.render(w, http.StatusOK, "home", p)
}

// queueBody is the queue page.
type queueBody struct {
	Query    service.Query
	Filter   url.Values
	Views    []viewTab
	Cards    []*cardView
	Next     string // the next page's address, or ""
	Filtered bool
	Since    string
	Matching int // how many comments the filter matches in this view
	Actions  []string
}

type viewTab struct {
	Status comment.Status
	Count  int
	URL    string
	Active bool
}

// cardView is a card with what the template needs beside it.
type cardView struct {
	*service.Card
	Avatar    string
	Login     string // how the author logged in, in words
	Permalink string
	Filter    struct{ Author, Email, IP, Page string }
	Actions   []string // the decisions offered, in order
	Why       string
}

func (s *Server) handleQueue(w http.ResponseWriter, r *http.Request, d *deskReq) {
	p, ok := s.sitePage(w, r, d, "queue")
	if !ok {
		return
	}
	q, err := s.parseQuery(r)
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	res, err := s.svc.Queue(r.Context(), d.actor, p.Site.ID, q)
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	filter := filterValues(r)
	base := "/admin/sites/" + url.PathEscape(p.Site.ID) + "/"
	b := &queueBody{Query: q, Filter: filter, Filtered: !q.IsZero(), Since: r.FormValue("since")}
	for _, st := range views {
		f := cloneValues(filter)
		f.Set("status", string(st))
		b.Views = append(b.Views, viewTab{Status: st, Count: res.Counts[st], URL: base + "?" + f.Encode(), Active: q.Status == st})
		if st == comment.StatusPending {
			n, _ := s.svc.CountReported(r.Context(), d.actor, p.Site.ID)
			b.Views = append(b.Views, viewTab{Status: "reported", Count: n, URL: base + "reported"}) // community.go
		}
	}
	b.Matching = res.Counts[q.Status]
	if q.Status == "" {
		for _, n := range res.Counts {
			b.Matching += n
		}
	}
	b.Actions = actionsFor(q.Status)
	for _, c := range res.Cards {
		b.Cards = append(b.Cards, s.cardView(d.t, p.Site, base, c))
	}
	if res.Next != "" {
		f := cloneValues(filter)
		f.Set("cursor", res.Next)
		b.Next = base + "?" + f.Encode()
	}
	p.Title = d.t.T("view."+string(q.Status)) + " · " + p.Site.Name
	if q.Status == "" {
		p.Title = d.t.T("view.all") + " · " + p.Site.Name
	}
	p.Body = b
	s.render(w, http.StatusOK, "queue", p)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// actionsFor lists the decisions a comment in a status is offered: the
// ones that move it somewhere else.
func actionsFor(st comment.Status) []string {
	switch st {
	case comment.StatusPending:
		return []string{"approve", "spam", "delete"}
	case comment.StatusApproved:
		return []string{"pending", "spam", "delete"}
	case comment.StatusSpam:
		return []string{"ham", "delete"}
	case comment.StatusDeleted:
		return []string{"approve", "pending", "spam"}
	}
	return []string{"approve", "spam", "delete"}
}

// Count returns how many of the author's comments on the site are in a
// status.
func (v *cardView) Count(status string) int {
	if v.History == nil {
		return 0
	}
	return v.History.Counts[comment.Status(status)]
}

func (s *Server) cardView(t *i18n.Table, site *comment.Site, base string, c *service.Card) *cardView {
	v := &cardView{Card: c, Actions: actionsFor(c.Comment.Status)}
	if s.cfg.AvatarURL != nil {
		v.Avatar = s.cfg.AvatarURL(c.Comment.Author)
	}
	v.Login = s.loginName(t, c.Comment.Author.Identity)
	if c.Thread != nil {
		v.Permalink = c.Thread.URL + "#comment-" + c.Comment.ID
		v.Filter.Page = base + "?" + url.Values{"status": {"all"}, "page": {c.Thread.Key}}.Encode()
	}
	a := c.Comment.Author
	switch {
	case a.Identity != "":
		v.Filter.Author = base + "?" + url.Values{"status": {"all"}, "author": {a.Identity}}.Encode()
	default:
		v.Filter.Author = base + "?" + url.Values{"status": {"all"}, "author": {a.Name}}.Encode()
	}
	if c.Private && a.Email != "" {
		v.Filter.Email = base + "?" + url.Values{"status": {"all"}, "email": {a.Email}}.Encode()
	}
	if c.Private && c.Comment.IPHash != "" {
		v.Filter.IP = base + "?" + url.Values{"status": {"all"}, "ip": {c.Comment.IPHash}}.Encode()
	}
	v.Why = whyText(t, c.Comment)
	return v
}

// loginName says in words how an author logged in.
func (s *Server) loginName(t *i18n.Table, identity string) string {
	prov, _, ok := strings.Cut(identity, ":")
	if !ok {
		return t.T("login.guest")
	}
	switch prov {
	case "email":
		return t.T("login.email_link")
	case "sso":
		return t.T("login.sso")
	case "staff":
		return t.T("login.staff")
	}
	for _, p := range s.cfg.Providers {
		if p.ID == prov {
			return p.Name
		}
	}
	return prov
}

// whyText says why a comment is where it is, in words: the layer that
// decided, its score, and its reason.
func whyText(t *i18n.Table, c *comment.Comment) string {
	v := c.Verdict
	if v.Layer == "" {
		return t.T("why.none")
	}
	layer := t.T("layer." + v.Layer)
	if !t.Has("layer." + v.Layer) {
		layer = v.Layer
	}
	parts := []string{layer}
	if v.Layer == "classifier" || v.Score > 0 && v.Score < 1 {
		parts = append(parts, t.T("why.score", "score", strconv.FormatFloat(v.Score, 'f', 2, 64)))
	}
	switch {
	case len(v.Reasons) > 0:
		parts = append(parts, spam.Explain(v.Reasons, t.Lang()))
	case v.Reason != "":
		// Comments judged before reasons had codes keep their sentence.
		parts = append(parts, v.Reason)
	}
	return strings.Join(parts, " · ")
}

// handleDecide applies a decision to the comments chosen on the page (one
// card's button, or the ticked ones).
func (s *Server) handleDecide(w http.ResponseWriter, r *http.Request, d *deskReq) {
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, d.t, comment.Invalid("form", "The form could not be read."))
		return
	}
	site := r.PathValue("site")
	dec, err := service.ParseDecision(r.PostFormValue("action"))
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	changed, err := s.svc.DecideWithReason(r.Context(), d.actor, site, r.PostForm["ids"], dec, r.PostFormValue("reason"))
	if err != nil {
		if wantsJSON(r) {
			s.fail(w, r, d.t, err)
			return
		}
		var ve *comment.ValidationError
		if errors.As(err, &ve) {
			s.setFlash(w, flash{Key: "error.none_chosen", Error: true})
			http.Redirect(w, r, s.back(r), http.StatusSeeOther)
			return
		}
		s.fail(w, r, d.t, err)
		return
	}
	f := flash{Key: "flash.decided." + string(dec), N: len(changed), Undo: len(changed) > 0}
	if wantsJSON(r) {
		ids := make([]string, len(changed))
		for i, c := range changed {
			ids[i] = c.ID
		}
		writeJSON(w, http.StatusOK, map[string]any{"changed": ids, "message": f.Text(d.t), "undo": f.Undo})
		return
	}
	s.setFlash(w, f)
	http.Redirect(w, r, s.back(r), http.StatusSeeOther)
}

// back is the desk page a form returns to: its "return" field if it is a
// desk page, else the page it was sent from.
func (s *Server) back(r *http.Request) string {
	if p := r.PostFormValue("return"); safeNext(p) {
		return p
	}
	return s.refererPath(r)
}

// handleDecideMatching applies a decision to every comment matching a
// filter, across all pages, after a confirmation that shows how many.
func (s *Server) handleDecideMatching(w http.ResponseWriter, r *http.Request, d *deskReq) {
	p, ok := s.sitePage(w, r, d, "queue")
	if !ok {
		return
	}
	dec, err := service.ParseDecision(r.PostFormValue("action"))
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	q, err := s.parseQuery(r)
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	q.Cursor = ""
	if q.IsZero() {
		// "Everything in Pending" is a filter too, but one click should
		// not empty a whole view by accident: ask for a filter.
		if q.Status != comment.StatusPending && q.Status != comment.StatusSpam {
			s.setFlash(w, flash{Key: "error.need_filter", Error: true})
			http.Redirect(w, r, s.back(r), http.StatusSeeOther)
			return
		}
	}
	if r.PostFormValue("confirm") != "yes" {
		res, err := s.svc.Queue(r.Context(), d.actor, p.Site.ID, service.Query{Status: q.Status, Page: q.Page, Author: q.Author, Email: q.Email, IP: q.IP, Text: q.Text, Since: q.Since, Until: q.Until, Limit: 5})
		if err != nil {
			s.fail(w, r, d.t, err)
			return
		}
		n := res.Counts[q.Status]
		if q.Status == "" {
			for _, c := range res.Counts {
				n += c
			}
		}
		var sample []*cardView
		for _, c := range res.Cards {
			sample = append(sample, s.cardView(d.t, p.Site, "/admin/sites/"+url.PathEscape(p.Site.ID)+"/", c))
		}
		p.Title = d.t.T("confirm.title")
		p.Body = confirmBody{Action: string(dec), Count: n, Filter: filterValues(r), Return: s.back(r), Sample: sample, Capped: n >= service.CountCap}
		s.render(w, http.StatusOK, "confirm", p)
		return
	}
	matched, changed, err := s.svc.DecideMatching(r.Context(), d.actor, p.Site.ID, q, dec)
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	f := flash{Key: "flash.decided_matching." + string(dec), N: changed, Args: []string{"matched", d.t.Number(matched)}, Undo: changed > 0}
	if matched == 0 {
		f = flash{Key: "flash.matched_none"}
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"matched": matched, "changed": changed, "message": f.Text(d.t), "undo": f.Undo})
		return
	}
	s.setFlash(w, f)
	http.Redirect(w, r, s.back(r), http.StatusSeeOther)
}

type confirmBody struct {
	Action string
	Count  int
	Capped bool
	Filter url.Values
	Return string
	Sample []*cardView
}

// handleUndo reverses the member's latest decision on the site.
func (s *Server) handleUndo(w http.ResponseWriter, r *http.Request, d *deskReq) {
	e, err := s.svc.Undo(r.Context(), d.actor, r.PathValue("site"))
	f := flash{}
	switch {
	case errors.Is(err, comment.ErrNotFound):
		if _, serr := s.svc.DeskSite(r.Context(), d.actor, r.PathValue("site")); serr != nil {
			s.fail(w, r, d.t, serr)
			return
		}
		f = flash{Key: "flash.nothing_to_undo"}
	case err != nil:
		s.fail(w, r, d.t, err)
		return
	default:
		f = flash{Key: "flash.undone", N: e.Count, Args: []string{"action", d.t.T("action." + strings.TrimPrefix(e.Action, "comment."))}}
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"undone": err == nil, "message": f.Text(d.t)})
		return
	}
	s.setFlash(w, f)
	http.Redirect(w, r, s.back(r), http.StatusSeeOther)
}

// commentBody is the single-comment page: the card, with edit and reply.
type commentBody struct {
	Card  *cardView
	Reply string // a reply that could not be posted, kept for the next try
	Edit  string
	Error string
}

func (s *Server) handleComment(w http.ResponseWriter, r *http.Request, d *deskReq) {
	s.showComment(w, r, d, http.StatusOK, commentBody{})
}

func (s *Server) showComment(w http.ResponseWriter, r *http.Request, d *deskReq, status int, b commentBody) {
	p, ok := s.sitePage(w, r, d, "queue")
	if !ok {
		return
	}
	card, err := s.svc.Card(r.Context(), d.actor, p.Site.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	b.Card = s.cardView(d.t, p.Site, "/admin/sites/"+url.PathEscape(p.Site.ID)+"/", card)
	if b.Edit == "" {
		b.Edit = card.Comment.Markdown
	}
	if r.URL.Query().Get("fragment") == "card" {
		// The live queue adds a new comment's card without a reload.
		p.Body = b.Card
		s.renderFragment(w, "card", p)
		return
	}
	p.Title = d.t.T("comment.title", "name", card.Comment.Author.Name)
	p.Body = b
	s.render(w, status, "comment", p)
}

func (s *Server) handleEdit(w http.ResponseWriter, r *http.Request, d *deskReq) {
	body := r.PostFormValue("body")
	c, err := s.svc.EditAs(r.Context(), d.actor, r.PathValue("site"), r.PathValue("id"), body)
	var ve *comment.ValidationError
	if errors.As(err, &ve) {
		s.showComment(w, r, d, http.StatusBadRequest, commentBody{Edit: body, Error: validationText(d.t, ve)})
		return
	}
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	s.setFlash(w, flash{Key: "flash.edited"})
	http.Redirect(w, r, fmt.Sprintf("/admin/sites/%s/comments/%s", url.PathEscape(c.SiteID), url.PathEscape(c.ID)), http.StatusSeeOther)
}

func (s *Server) handleReply(w http.ResponseWriter, r *http.Request, d *deskReq) {
	body := r.PostFormValue("body")
	c, err := s.svc.ReplyAs(r.Context(), d.actor, r.PathValue("site"), r.PathValue("id"), body)
	var ve *comment.ValidationError
	if errors.As(err, &ve) {
		s.showComment(w, r, d, http.StatusBadRequest, commentBody{Reply: body, Error: validationText(d.t, ve)})
		return
	}
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	s.setFlash(w, flash{Key: "flash.replied"})
	http.Redirect(w, r, fmt.Sprintf("/admin/sites/%s/comments/%s", url.PathEscape(c.SiteID), url.PathEscape(c.ID)), http.StatusSeeOther)
}

// handleQueueStream tells an open queue of newly held comments, as
// Server-Sent Events ("held", with the comment's id), for the desk's
// script to offer them without a reload.
func (s *Server) handleQueueStream(w http.ResponseWriter, r *http.Request, d *deskReq) {
	events, cancel, err := s.svc.SubscribeQueue(r.Context(), d.actor, r.PathValue("site"))
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	defer cancel()
	flusher, ok := w.(http.Flusher)
	if !ok {
		s.fail(w, r, d.t, errors.New("streaming unsupported"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on at once
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 5000\n\n")
	flusher.Flush()
	label := d.t.T("live.new")
	keepAlive := time.NewTicker(25 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepAlive.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case ev, ok := <-events:
			if !ok {
				return // too far behind: the browser reconnects
			}
			if ev.Kind != comment.EventHeld {
				continue
			}
			b, _ := json.Marshal(map[string]string{"id": ev.CommentID, "label": label})
			fmt.Fprintf(w, "event: held\ndata: %s\n\n", b)
		}
		flusher.Flush()
	}
}
