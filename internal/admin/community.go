package admin

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/service"
	"parley/internal/staff"
)

// The desk's community controls: the Reported view, the article list and
// each article's controls, bans and other sanctions, an author's history
// and notes, the site's community settings and rules, and alerts.

func (s *Server) communityRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/sites/{site}/reported", s.desk(s.handleReported))
	mux.HandleFunc("POST /admin/sites/{site}/reports/dismiss", s.desk(s.handleDismissReports))
	mux.HandleFunc("GET /admin/sites/{site}/articles", s.desk(s.handleArticles))
	mux.HandleFunc("GET /admin/sites/{site}/articles/{thread}", s.desk(s.handleArticle))
	mux.HandleFunc("POST /admin/sites/{site}/articles/{thread}", s.desk(s.handleSaveArticle))
	mux.HandleFunc("GET /admin/sites/{site}/bans", s.desk(s.handleBans))
	mux.HandleFunc("POST /admin/sites/{site}/bans", s.desk(s.handleAddBan))
	mux.HandleFunc("POST /admin/sites/{site}/bans/{id}/lift", s.desk(s.handleLift))
	mux.HandleFunc("GET /admin/sites/{site}/authors", s.desk(s.handleAuthor))
	mux.HandleFunc("POST /admin/sites/{site}/authors/notes", s.desk(s.handleAddNote))
	mux.HandleFunc("POST /admin/sites/{site}/authors/notes/{id}/delete", s.desk(s.handleDeleteNote))
	mux.HandleFunc("POST /admin/sites/{site}/comments/{id}/feature", s.desk(s.handleFeature))
	mux.HandleFunc("POST /admin/sites/{site}/comments/{id}/pin", s.desk(s.handlePin))
	mux.HandleFunc("GET /admin/sites/{site}/community", s.desk(s.handleCommunity))
	mux.HandleFunc("POST /admin/sites/{site}/community", s.desk(s.handleSaveCommunity))
	mux.HandleFunc("POST /admin/sites/{site}/rules", s.desk(s.handleSaveRules))
	mux.HandleFunc("POST /admin/sites/{site}/alerts/{id}/dismiss", s.desk(s.handleDismissAlert))
}

// communityPage adds what every page of a site shows: its open alerts,
// and the reasons a moderator may give for not publishing a comment.
func (s *Server) communityPage(r *http.Request, d *deskReq, p *page) {
	p.Alerts, _ = s.svc.Alerts(r.Context(), d.actor, p.Site.ID, false)
	if cm, _, err := s.svc.CommunitySettings(r.Context(), d.actor, p.Site.ID); err == nil {
		p.Reasons = cm.Reasons
	}
}

// done answers a form that changed something: a flash, and back to where
// it came from (or to next).
func (s *Server) done(w http.ResponseWriter, r *http.Request, f flash, next string) {
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"message": f.Text(s.lang(w, r))})
		return
	}
	s.setFlash(w, f)
	if p := r.PostFormValue("return"); safeNext(p) {
		next = p
	}
	if next == "" {
		next = s.refererPath(r)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// reportedBody is the Reported view.
type reportedBody struct {
	Views []viewTab
	Cards []*reportedCard
	Next  string
}

type reportedCard struct {
	Card    *cardView
	Reports *comment.Reported
}

// Reasons lists the reasons readers gave, most given first.
func (c *reportedCard) Reasons() []struct {
	Reason string
	N      int
} {
	var out []struct {
		Reason string
		N      int
	}
	for _, r := range comment.ReportReasons {
		if n := c.Reports.Reasons[r]; n > 0 {
			out = append(out, struct {
				Reason string
				N      int
			}{string(r), n})
		}
	}
	return out
}

func (s *Server) handleReported(w http.ResponseWriter, r *http.Request, d *deskReq) {
	p, ok := s.sitePage(w, r, d, "queue")
	if !ok {
		return
	}
	res, err := s.svc.Reported(r.Context(), d.actor, p.Site.ID, r.FormValue("cursor"), 0)
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	counts, err := s.svc.Queue(r.Context(), d.actor, p.Site.ID, service.Query{Status: comment.StatusPending, Limit: 1})
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	base := "/admin/sites/" + url.PathEscape(p.Site.ID) + "/"
	b := &reportedBody{Views: s.viewTabs(base, counts.Counts, res.Count, "reported")}
	for _, c := range res.Cards {
		b.Cards = append(b.Cards, &reportedCard{Card: s.cardView(d.t, p.Site, base, c.Card), Reports: c.Reports})
	}
	if res.Next != "" {
		b.Next = base + "reported?" + url.Values{"cursor": {res.Next}}.Encode()
	}
	p.Title = d.t.T("view.reported") + " · " + p.Site.Name
	p.Body = b
	s.render(w, http.StatusOK, "reported", p)
}

// viewTabs are the queue's tabs with the Reported view after Pending.
func (s *Server) viewTabs(base string, counts map[comment.Status]int, reported int, active string) []viewTab {
	var out []viewTab
	for _, st := range views {
		out = append(out, viewTab{Status: st, Count: counts[st], URL: base + "?" + url.Values{"status": {string(st)}}.Encode(), Active: active == string(st)})
		if st == comment.StatusPending {
			out = append(out, viewTab{Status: "reported", Count: reported, URL: base + "reported", Active: active == "reported"})
		}
	}
	return out
}

func (s *Server) handleDismissReports(w http.ResponseWriter, r *http.Request, d *deskReq) {
	n, err := s.svc.DismissReports(r.Context(), d.actor, r.PathValue("site"), r.PostForm["ids"])
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	f := flash{Key: "flash.reports_none"}
	if n > 0 {
		f = flash{Key: "flash.reports_dismissed", N: n}
	}
	s.done(w, r, f, "")
}

// articlesBody is the article list.
type articlesBody struct {
	Articles []*service.ArticleView
	Next     string
	Q, Order string
}

func (s *Server) handleArticles(w http.ResponseWriter, r *http.Request, d *deskReq) {
	p, ok := s.sitePage(w, r, d, "articles")
	if !ok {
		return
	}
	q := service.ArticleQuery{Order: r.FormValue("order"), Text: r.FormValue("q"), Cursor: r.FormValue("cursor")}
	res, err := s.svc.Articles(r.Context(), d.actor, p.Site.ID, q)
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	b := &articlesBody{Articles: res.Articles, Q: q.Text, Order: q.Order}
	if res.Next != "" {
		v := url.Values{"cursor": {res.Next}}
		if q.Text != "" {
			v.Set("q", q.Text)
		}
		if q.Order != "" {
			v.Set("order", q.Order)
		}
		b.Next = "/admin/sites/" + url.PathEscape(p.Site.ID) + "/articles?" + v.Encode()
	}
	p.Title = d.t.T("articles.title") + " · " + p.Site.Name
	p.Body = b
	s.render(w, http.StatusOK, "articles", p)
}

// articleBody is one article's controls.
type articleBody struct {
	A        *service.ArticleView
	Days     string // the article's own close-after, in days, or ""
	Follow   bool   // it follows the site's close-after
	SiteDays int
	Error    string
	Pinned   *cardView
}

func (s *Server) handleArticle(w http.ResponseWriter, r *http.Request, d *deskReq) {
	s.showArticle(w, r, d, http.StatusOK, "")
}

func (s *Server) showArticle(w http.ResponseWriter, r *http.Request, d *deskReq, status int, problem string) {
	p, ok := s.sitePage(w, r, d, "articles")
	if !ok {
		return
	}
	a, err := s.svc.Article(r.Context(), d.actor, p.Site.ID, r.PathValue("thread"))
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	b := &articleBody{A: a, Error: problem, Follow: a.Controls.CloseAfter == nil}
	if a.Controls.CloseAfter != nil {
		b.Days = strconv.Itoa(int(*a.Controls.CloseAfter / (24 * time.Hour)))
	}
	if cm, _, err := s.svc.CommunitySettings(r.Context(), d.actor, p.Site.ID); err == nil {
		b.SiteDays = int(cm.CloseAfter / (24 * time.Hour))
	}
	if a.Controls.Pinned != "" {
		if c, err := s.svc.Card(r.Context(), d.actor, p.Site.ID, a.Controls.Pinned); err == nil {
			b.Pinned = s.cardView(d.t, p.Site, "/admin/sites/"+url.PathEscape(p.Site.ID)+"/", c)
		}
	}
	p.Title = articleTitle(a) + " · " + p.Site.Name
	p.Body = b
	s.render(w, status, "article", p)
}

func articleTitle(a *service.ArticleView) string {
	if a.Thread.Title != "" {
		return a.Thread.Title
	}
	return a.Thread.URL
}

// handleSaveArticle takes the article page's forms: close, open, end the
// surge guard, unpin, or save the settings.
func (s *Server) handleSaveArticle(w http.ResponseWriter, r *http.Request, d *deskReq) {
	var ch service.PageChange
	yes, no, empty := true, false, ""
	switch r.PostFormValue("do") {
	case "close":
		ch.Closed = &yes
	case "open":
		ch.Closed = &no
	case "end_surge":
		ch.EndSurge = true
	case "unpin":
		ch.Pinned = &empty
	case "save":
		premod := r.PostFormValue("premod") == "on"
		msg := r.PostFormValue("message")
		ch.Premod, ch.Message = &premod, &msg
		switch r.PostFormValue("close") {
		case "site":
			ch.FollowSite = true
		case "never":
			zero := time.Duration(0)
			ch.CloseAfter = &zero
		case "days":
			n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("days")))
			if err != nil || n < 1 || n > 3650 {
				s.showArticle(w, r, d, http.StatusBadRequest, d.t.T("article.days.invalid"))
				return
			}
			days := time.Duration(n) * 24 * time.Hour
			ch.CloseAfter = &days
		}
	default:
		s.fail(w, r, d.t, comment.Invalid("do", "Choose what to do."))
		return
	}
	a, err := s.svc.SetPage(r.Context(), d.actor, r.PathValue("site"), r.PathValue("thread"), ch)
	var ve *comment.ValidationError
	if errors.As(err, &ve) {
		s.showArticle(w, r, d, http.StatusBadRequest, validationText(d.t, ve))
		return
	}
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	s.done(w, r, flash{Key: "flash.article." + r.PostFormValue("do")}, "/admin/sites/"+url.PathEscape(a.Thread.SiteID)+"/articles/"+url.PathEscape(a.Thread.ID))
}

// bansBody is the site's sanctions and the form for a new one.
type bansBody struct {
	Sanctions []*comment.Sanction
	All       bool
	Form      sanctionForm
	Error     string
}

// sanctionForm is the new-sanction form as sent (to show it again).
type sanctionForm struct {
	Kind, Match, Value, For, Until, Reason, Message string
	Remove                                          bool
}

func (s *Server) handleBans(w http.ResponseWriter, r *http.Request, d *deskReq) {
	s.showBans(w, r, d, http.StatusOK, sanctionForm{Kind: "ban", Match: "email"}, "")
}

func (s *Server) showBans(w http.ResponseWriter, r *http.Request, d *deskReq, status int, f sanctionForm, problem string) {
	p, ok := s.sitePage(w, r, d, "bans")
	if !ok {
		return
	}
	all := r.FormValue("all") == "1"
	list, err := s.svc.Sanctions(r.Context(), d.actor, p.Site.ID, all)
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	p.Title = d.t.T("bans.title") + " · " + p.Site.Name
	p.Body = &bansBody{Sanctions: list, All: all, Form: f, Error: problem}
	s.render(w, status, "bans", p)
}

// sanctionPresets are the lengths a sanction can be given quickly.
var sanctionPresets = map[string]time.Duration{"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour}

// readSanction reads the new-sanction form (on the Bans page, or an
// author's).
func (s *Server) readSanction(r *http.Request) (service.NewSanction, sanctionForm, error) {
	f := sanctionForm{Kind: r.PostFormValue("kind"), Match: r.PostFormValue("match"), Value: r.PostFormValue("value"), For: r.PostFormValue("for"),
		Until: r.PostFormValue("until"), Reason: r.PostFormValue("reason"), Message: r.PostFormValue("message"), Remove: r.PostFormValue("remove") == "on"}
	n := service.NewSanction{Kind: comment.SanctionKind(f.Kind), Match: comment.MatchKind(f.Match), Value: f.Value, FromComment: r.PostFormValue("comment"),
		Reason: f.Reason, Message: f.Message, RemoveComments: f.Remove}
	if n.FromComment != "" {
		n.Value = ""
	}
	if d, ok := sanctionPresets[f.For]; ok {
		n.Until = s.now().Add(d)
	}
	if u := strings.TrimSpace(f.Until); u != "" {
		t, err := time.Parse("2006-01-02", u)
		if err != nil {
			return n, f, comment.Invalid("until", "Give the end date as 2026-06-01.")
		}
		n.Until = t
	}
	return n, f, nil
}

func (s *Server) handleAddBan(w http.ResponseWriter, r *http.Request, d *deskReq) {
	n, f, err := s.readSanction(r)
	var sn *comment.Sanction
	if err == nil {
		sn, err = s.svc.AddSanction(r.Context(), d.actor, r.PathValue("site"), n)
	}
	var ve *comment.ValidationError
	if errors.As(err, &ve) {
		if c := r.PostFormValue("comment"); c != "" {
			s.setFlash(w, flash{Key: "error.sanction", Args: []string{"problem", validationText(d.t, ve)}, Error: true})
			http.Redirect(w, r, s.back(r), http.StatusSeeOther)
			return
		}
		s.showBans(w, r, d, http.StatusBadRequest, f, validationText(d.t, ve))
		return
	}
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	fl := flash{Key: "flash.sanction." + string(sn.Kind)}
	if sn.Removed > 0 {
		// One undoable action: Undo lifts it and puts the comments back.
		fl = flash{Key: "flash.sanction.removed", N: sn.Removed, Lift: sn.ID}
	}
	s.done(w, r, fl, "/admin/sites/"+url.PathEscape(sn.SiteID)+"/bans")
}

func (s *Server) handleLift(w http.ResponseWriter, r *http.Request, d *deskReq) {
	_, n, err := s.svc.LiftSanction(r.Context(), d.actor, r.PathValue("site"), r.PathValue("id"), r.PostFormValue("restore") == "yes")
	if errors.Is(err, comment.ErrConflict) {
		s.done(w, r, flash{Key: "flash.lifted_already"}, "")
		return
	}
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	f := flash{Key: "flash.lifted"}
	if n > 0 {
		f = flash{Key: "flash.lifted_restored", N: n}
	}
	s.done(w, r, f, "/admin/sites/"+url.PathEscape(r.PathValue("site"))+"/bans")
}

// authorBody is an author's page.
type authorBody struct {
	V     *service.AuthorView
	Cards []*cardView
	Login string
	Error string
	Form  sanctionForm
	// Matches are the ways the author can be sanctioned by.
	Matches []string
}

// Count returns how many of the author's comments are in a status.
func (b *authorBody) Count(status string) int {
	if b.V.History == nil {
		return 0
	}
	return b.V.History.Counts[comment.Status(status)]
}

func (s *Server) handleAuthor(w http.ResponseWriter, r *http.Request, d *deskReq) {
	p, ok := s.sitePage(w, r, d, "queue")
	if !ok {
		return
	}
	v, err := s.svc.Author(r.Context(), d.actor, p.Site.ID, r.FormValue("comment"), r.FormValue("key"))
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	base := "/admin/sites/" + url.PathEscape(p.Site.ID) + "/"
	b := &authorBody{V: v, Login: s.loginName(d.t, v.Author.Identity), Form: sanctionForm{Kind: "ban"}}
	for _, c := range v.Recent {
		b.Cards = append(b.Cards, s.cardView(d.t, p.Site, base, c))
	}
	if v.Author.Identity != "" {
		b.Matches = append(b.Matches, "identity")
	}
	if v.HasEmail {
		// Staff who may not see the address still sanction by it, unseen.
		b.Matches = append(b.Matches, "email", "email_domain")
	}
	if len(v.Recent) > 0 {
		b.Matches = append(b.Matches, "ip_hash")
	}
	b.Form.Match = b.Matches[0]
	p.Title = d.t.T("author.title", "name", v.Author.Name) + " · " + p.Site.Name
	p.Body = b
	s.render(w, http.StatusOK, "author", p)
}

func (s *Server) handleAddNote(w http.ResponseWriter, r *http.Request, d *deskReq) {
	_, err := s.svc.AddNote(r.Context(), d.actor, r.PathValue("site"), r.PostFormValue("comment"), r.PostFormValue("key"), r.PostFormValue("text"))
	var ve *comment.ValidationError
	if errors.As(err, &ve) {
		s.setFlash(w, flash{Key: "error.note", Args: []string{"problem", validationText(d.t, ve)}, Error: true})
		http.Redirect(w, r, s.back(r), http.StatusSeeOther)
		return
	}
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	s.done(w, r, flash{Key: "flash.note_added"}, "")
}

func (s *Server) handleDeleteNote(w http.ResponseWriter, r *http.Request, d *deskReq) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r, d.t)
		return
	}
	if err := s.svc.DeleteNote(r.Context(), d.actor, r.PathValue("site"), id); err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	s.done(w, r, flash{Key: "flash.note_deleted"}, "")
}

func (s *Server) handleFeature(w http.ResponseWriter, r *http.Request, d *deskReq) {
	on := r.PostFormValue("on") != "no"
	if _, err := s.svc.Feature(r.Context(), d.actor, r.PathValue("site"), r.PathValue("id"), on); err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	key := "flash.featured"
	if !on {
		key = "flash.unfeatured"
	}
	s.done(w, r, flash{Key: key}, "")
}

func (s *Server) handlePin(w http.ResponseWriter, r *http.Request, d *deskReq) {
	on := r.PostFormValue("on") != "no"
	if _, err := s.svc.Pin(r.Context(), d.actor, r.PathValue("site"), r.PathValue("id"), on); err != nil {
		var ve *comment.ValidationError
		if errors.As(err, &ve) {
			s.setFlash(w, flash{Key: "error.pin", Error: true})
			http.Redirect(w, r, s.back(r), http.StatusSeeOther)
			return
		}
		s.fail(w, r, d.t, err)
		return
	}
	key := "flash.pinned"
	if !on {
		key = "flash.unpinned"
	}
	s.done(w, r, flash{Key: key}, "")
}

// communityBody is the site's community settings and rules.
type communityBody struct {
	C     *comment.Community
	R     *comment.SiteRules
	Days  int
	Mins  int
	Error string
	Field string
	// Mail says the server can send email (authors told by email).
	Mail bool
}

// Lines joins a list one entry a line, for a textarea.
func (communityBody) Lines(l []string) string { return strings.Join(l, "\n") }

func (s *Server) handleCommunity(w http.ResponseWriter, r *http.Request, d *deskReq) {
	s.showCommunity(w, r, d, http.StatusOK, nil, nil, "", "")
}

func (s *Server) showCommunity(w http.ResponseWriter, r *http.Request, d *deskReq, status int, c *comment.Community, rules *comment.SiteRules, problem, field string) {
	p, ok := s.sitePage(w, r, d, "community")
	if !ok {
		return
	}
	if !p.Role.AtLeast(staff.RoleAdmin) {
		s.fail(w, r, d.t, comment.ErrForbidden)
		return
	}
	cur, curRules, err := s.svc.CommunitySettings(r.Context(), d.actor, p.Site.ID)
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	if c == nil {
		c = cur
	}
	if rules == nil {
		rules = curRules
	}
	p.Title = d.t.T("community.title") + " · " + p.Site.Name
	p.Body = &communityBody{C: c, R: rules, Days: int(c.CloseAfter / (24 * time.Hour)), Mins: int(c.SurgeFor / time.Minute), Error: problem, Field: field,
		Mail: s.svc.Notifies()}
	s.render(w, status, "community", p)
}

// number reads a whole number from a form field.
func number(r *http.Request, name string) (int, error) {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, comment.Invalid(name, "Give a whole number.")
	}
	return n, nil
}

// lines splits a textarea into its non-empty lines.
func lines(v string) []string {
	var out []string
	for _, l := range strings.Split(v, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (s *Server) handleSaveCommunity(w http.ResponseWriter, r *http.Request, d *deskReq) {
	c := comment.Community{Message: r.PostFormValue("message"), SurgeAction: r.PostFormValue("surge_action"), Reasons: lines(r.PostFormValue("reasons")),
		EmailDecisions: r.PostFormValue("email_decisions") == "on", Anonymise: r.PostFormValue("anonymise") == "on"}
	var err error
	var days, mins int
	for _, f := range []struct {
		name string
		to   *int
	}{{"report_hide", &c.ReportHide}, {"close_days", &days}, {"surge_rate", &c.SurgeRate}, {"surge_minutes", &mins}} {
		if *f.to, err = number(r, f.name); err != nil {
			s.showCommunity(w, r, d, http.StatusBadRequest, &c, nil, d.t.T("community.number"), f.name)
			return
		}
	}
	c.CloseAfter, c.SurgeFor = time.Duration(days)*24*time.Hour, time.Duration(mins)*time.Minute
	err = s.svc.SetCommunitySettings(r.Context(), d.actor, r.PathValue("site"), c)
	var ve *comment.ValidationError
	if errors.As(err, &ve) {
		s.showCommunity(w, r, d, http.StatusBadRequest, &c, nil, validationText(d.t, ve), ve.Field)
		return
	}
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	s.done(w, r, flash{Key: "flash.community_saved"}, "/admin/sites/"+url.PathEscape(r.PathValue("site"))+"/community")
}

func (s *Server) handleSaveRules(w http.ResponseWriter, r *http.Request, d *deskReq) {
	rules := comment.SiteRules{BlockedWords: lines(r.PostFormValue("blocked_words")), HoldWords: lines(r.PostFormValue("hold_words")),
		BlockedDomains: lines(r.PostFormValue("blocked_domains")), BlockedEmails: lines(r.PostFormValue("blocked_emails")), BlockedIPs: lines(r.PostFormValue("blocked_ips"))}
	var err error
	for _, f := range []struct {
		name string
		to   *int
	}{{"hold_links", &rules.HoldLinks}, {"spam_links", &rules.SpamLinks}} {
		if *f.to, err = number(r, f.name); err != nil {
			s.showCommunity(w, r, d, http.StatusBadRequest, nil, &rules, d.t.T("community.number"), f.name)
			return
		}
	}
	err = s.svc.SetSiteRules(r.Context(), d.actor, r.PathValue("site"), rules)
	var ve *comment.ValidationError
	if errors.As(err, &ve) {
		s.showCommunity(w, r, d, http.StatusBadRequest, nil, &rules, validationText(d.t, ve), "rules")
		return
	}
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	s.done(w, r, flash{Key: "flash.rules_saved"}, "/admin/sites/"+url.PathEscape(r.PathValue("site"))+"/community#rules")
}

func (s *Server) handleDismissAlert(w http.ResponseWriter, r *http.Request, d *deskReq) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r, d.t)
		return
	}
	if err := s.svc.DismissAlert(r.Context(), d.actor, r.PathValue("site"), id); err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	s.done(w, r, flash{Key: "flash.alert_dismissed"}, "")
}
