package admin

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/notify"
	"parley/internal/service"
	"parley/internal/store"
)

// The desk's notifications: a site's webhooks and its outbox (Notifications,
// for admins), a member's email alerts (Your account), and the pages
// behind the links of those alerts, which work without a session.

func (s *Server) notifyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/sites/{site}/notifications", s.desk(s.handleNotifications))
	mux.HandleFunc("POST /admin/sites/{site}/webhooks", s.desk(s.handleAddWebhook))
	mux.HandleFunc("POST /admin/sites/{site}/webhooks/{id}/remove", s.desk(s.handleRemoveWebhook))
	mux.HandleFunc("GET /admin/sites/{site}/deliveries", s.desk(s.handleDeliveries))
	mux.HandleFunc("POST /admin/sites/{site}/deliveries/{id}/resend", s.desk(s.handleResend))
	mux.HandleFunc("POST /admin/account/alerts", s.desk(s.handleSaveAlerts))
	mux.HandleFunc("GET "+notify.ActionPath, s.handleActPage)
	mux.HandleFunc("POST "+notify.ActionPath, s.handleAct)
	mux.HandleFunc("GET "+notify.AlertsOffPath, s.handleAlertsOffPage)
	mux.HandleFunc("POST "+notify.AlertsOffPath, s.handleAlertsOff)
	s.notifyAPIRoutes(mux)
}

// notifyBody is the Notifications page.
type notifyBody struct {
	Outbox    *service.OutboxStatus
	Hooks     []*store.Webhook
	Events    []string
	Failed    []*store.Message
	NewSecret string
	Error     string
	URL       string
	Kinds     []string
	States    []string
}

func (s *Server) handleNotifications(w http.ResponseWriter, r *http.Request, d *deskReq) {
	s.showNotifications(w, r, d, http.StatusOK, notifyBody{})
}

func (s *Server) showNotifications(w http.ResponseWriter, r *http.Request, d *deskReq, status int, b notifyBody) {
	p, ok := s.sitePage(w, r, d, "notifications")
	if !ok {
		return
	}
	var err error
	if b.Outbox, err = s.svc.Outbox(r.Context(), d.actor, p.Site.ID); err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	if b.Hooks, err = s.svc.Webhooks(r.Context(), d.actor, p.Site.ID); err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	if b.Failed, _, err = s.svc.Deliveries(r.Context(), d.actor, p.Site.ID, "", store.StateFailed, ""); err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	b.Events = service.WebhookEvents
	b.Kinds = []string{store.KindEmail, store.KindWebhook}
	b.States = []string{store.StatePending, store.StateSent, store.StateFailed, store.StateDropped}
	p.Title = d.t.T("notify.title") + " · " + p.Site.Name
	p.Body = b
	s.render(w, status, "notifications", p)
}

func (s *Server) handleAddWebhook(w http.ResponseWriter, r *http.Request, d *deskReq) {
	r.ParseForm()
	h, err := s.svc.AddWebhook(r.Context(), d.actor, service.NewWebhook{SiteID: r.PathValue("site"), URL: r.PostFormValue("url"),
		Events: r.PostForm["events"], WithEmail: r.PostFormValue("with_email") != ""})
	var ve *comment.ValidationError
	if errors.As(err, &ve) {
		msg := validationText(d.t, ve)
		if ve.Field == "url" {
			// The service says why (loopback, plain http…): more than the
			// desk's general words.
			msg = d.t.T("code.invalid_url") + " " + ve.Message
		}
		s.showNotifications(w, r, d, http.StatusBadRequest, notifyBody{Error: msg, URL: r.PostFormValue("url")})
		return
	}
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	// The secret is shown on this answer only.
	s.showNotifications(w, r, d, http.StatusOK, notifyBody{NewSecret: h.Secret})
}

func (s *Server) handleRemoveWebhook(w http.ResponseWriter, r *http.Request, d *deskReq) {
	if err := s.svc.RemoveWebhook(r.Context(), d.actor, r.PathValue("site"), r.PathValue("id")); err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	s.setFlash(w, flash{Key: "flash.hook_removed"})
	http.Redirect(w, r, "/admin/sites/"+url.PathEscape(r.PathValue("site"))+"/notifications", http.StatusSeeOther)
}

// deliveriesBody is the delivery log.
type deliveriesBody struct {
	Hook     *store.Webhook // nil: every email and webhook of the site
	Messages []*store.Message
	State    string
	States   []string
	Next     string
}

func (s *Server) handleDeliveries(w http.ResponseWriter, r *http.Request, d *deskReq) {
	p, ok := s.sitePage(w, r, d, "notifications")
	if !ok {
		return
	}
	q := r.URL.Query()
	b := deliveriesBody{State: q.Get("state"), States: []string{store.StatePending, store.StateSent, store.StateFailed, store.StateDropped}}
	if id := q.Get("webhook"); id != "" {
		hooks, err := s.svc.Webhooks(r.Context(), d.actor, p.Site.ID)
		if err != nil {
			s.fail(w, r, d.t, err)
			return
		}
		for _, h := range hooks {
			if h.ID == id {
				b.Hook = h
			}
		}
		if b.Hook == nil {
			s.notFound(w, r, d.t)
			return
		}
	}
	hookID := ""
	if b.Hook != nil {
		hookID = b.Hook.ID
	}
	list, next, err := s.svc.Deliveries(r.Context(), d.actor, p.Site.ID, hookID, b.State, q.Get("cursor"))
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	b.Messages = list
	if next != "" {
		v := url.Values{"cursor": {next}}
		if hookID != "" {
			v.Set("webhook", hookID)
		}
		if b.State != "" {
			v.Set("state", b.State)
		}
		b.Next = "/admin/sites/" + url.PathEscape(p.Site.ID) + "/deliveries?" + v.Encode()
	}
	p.Title = d.t.T("log.title") + " · " + p.Site.Name
	p.Body = b
	s.render(w, http.StatusOK, "deliveries", p)
}

func (s *Server) handleResend(w http.ResponseWriter, r *http.Request, d *deskReq) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r, d.t)
		return
	}
	m, err := s.svc.Redeliver(r.Context(), d.actor, r.PathValue("site"), id)
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	s.setFlash(w, flash{Key: "flash.resent"})
	http.Redirect(w, r, "/admin/sites/"+url.PathEscape(r.PathValue("site"))+"/deliveries?webhook="+url.QueryEscape(m.Target), http.StatusSeeOther)
}

// alertChoice is one site's alert setting on the account page.
type alertChoice struct {
	Site  *comment.Site
	Every string // "off", "0s", "15m0s", "1h0m0s", "24h0m0s"
}

// alertOptions are the choices of every site's select, in order.
var alertOptions = []struct{ Value, Key string }{
	{"off", "alerts.off"}, {"0s", "alerts.each"}, {"15m0s", "alerts.15m"}, {"1h0m0s", "alerts.1h"}, {"24h0m0s", "alerts.24h"},
}

// alertChoices returns the member's alert setting for each site they
// moderate.
func (s *Server) alertChoices(r *http.Request, d *deskReq) ([]alertChoice, error) {
	sites, err := s.svc.DeskSites(r.Context(), d.actor)
	if err != nil {
		return nil, err
	}
	alerts, err := s.svc.EmailAlerts(r.Context(), d.actor)
	if err != nil {
		return nil, err
	}
	var out []alertChoice
	for _, site := range sites {
		c := alertChoice{Site: site, Every: "off"}
		if a, ok := alerts[site.ID]; ok {
			c.Every = a.Every.String()
		}
		out = append(out, c)
	}
	return out, nil
}

func (s *Server) handleSaveAlerts(w http.ResponseWriter, r *http.Request, d *deskReq) {
	choices, err := s.alertChoices(r, d)
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	for _, c := range choices {
		v := r.PostFormValue("every." + c.Site.ID)
		if v == "" || v == c.Every {
			continue
		}
		every := time.Duration(-1)
		if v != "off" {
			if every, err = time.ParseDuration(v); err != nil {
				s.showAccount(w, r, d, http.StatusBadRequest, d.t.T("code.invalid_every"))
				return
			}
		}
		err := s.svc.SetEmailAlert(r.Context(), d.actor, c.Site.ID, d.member.Account.ID, every, d.t.Lang())
		var ve *comment.ValidationError
		if errors.As(err, &ve) {
			s.showAccount(w, r, d, http.StatusBadRequest, validationText(d.t, ve))
			return
		}
		if err != nil {
			s.fail(w, r, d.t, err)
			return
		}
	}
	s.setFlash(w, flash{Key: "flash.alerts_saved"})
	http.Redirect(w, r, "/admin/account", http.StatusSeeOther)
}

// actBody is the page of a moderator's action link.
type actBody struct {
	Page  *service.ActionPage
	Token string
	Done  bool
	Email string
	Error string
}

// linkTable is the desk's words for a link's page: the language the
// alert was written in, else the browser's.
func (s *Server) linkTable(w http.ResponseWriter, r *http.Request, lang string) *i18n.Table {
	if lang != "" && r.URL.Query().Get("lang") == "" {
		return i18n.Desk(lang)
	}
	return s.lang(w, r)
}

// linkPage is a page without a session: no navigation, never cached, and
// the token never leaves in a Referer.
func (s *Server) linkPage(w http.ResponseWriter, r *http.Request, t *i18n.Table, title string, body any) *page {
	w.Header().Set("Referrer-Policy", "no-referrer")
	p := s.newPage(w, r, t, nil)
	p.Title, p.Body = title, body
	return p
}

// handleActPage shows what an action link would do, with a button: mail
// systems open links to scan them, and that must change nothing.
func (s *Server) handleActPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("t")
	ap, err := s.svc.ActionLink(r.Context(), tok)
	lang := ""
	if ap != nil {
		lang = ap.Lang
	}
	t := s.linkTable(w, r, lang)
	if err != nil {
		s.linkFail(w, r, t, err)
		return
	}
	s.render(w, http.StatusOK, "act", s.linkPage(w, r, t, t.T("act.title"), actBody{Page: ap, Token: tok, Email: ap.Member.Account.Email}))
}

func (s *Server) handleAct(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	t := s.lang(w, r)
	if !s.sameOrigin(r) {
		s.stale(w, r, t)
		return
	}
	tok := r.PostFormValue("t")
	ap, err := s.svc.Act(r.Context(), tok)
	if ap != nil {
		t = s.linkTable(w, r, ap.Lang)
	}
	if err != nil {
		s.linkFail(w, r, t, err)
		return
	}
	s.render(w, http.StatusOK, "act", s.linkPage(w, r, t, t.T("act.done."+string(ap.Decision)), actBody{Page: ap, Done: true, Email: ap.Member.Account.Email}))
}

// linkFail answers a link that does not work, saying why.
func (s *Server) linkFail(w http.ResponseWriter, r *http.Request, t *i18n.Table, err error) {
	var ve *comment.ValidationError
	status := http.StatusBadRequest
	switch {
	case errors.As(err, &ve) && ve.Code == "expired_link":
		status = http.StatusGone
	case errors.As(err, &ve) && ve.Code == "link_used":
		status = http.StatusConflict
	case errors.As(err, &ve):
	case errors.Is(err, comment.ErrNotFound), errors.Is(err, comment.ErrForbidden):
		// The member lost their role, or the comment is gone: the link
		// is no good any more, which is all it should say.
		err, status = &comment.ValidationError{Code: "bad_link"}, http.StatusForbidden
	default:
		s.fail(w, r, t, err)
		return
	}
	errors.As(err, &ve)
	w.Header().Set("Referrer-Policy", "no-referrer")
	p := s.newPage(w, r, t, nil)
	p.Title, p.Body = t.T("error.title"), validationText(t, ve)
	s.render(w, status, "error", p)
}

// alertsOffBody is the page of an alert's stop link.
type alertsOffBody struct {
	Site  string
	Token string
	Done  bool
}

func (s *Server) handleAlertsOffPage(w http.ResponseWriter, r *http.Request) {
	t := s.lang(w, r)
	tok := r.URL.Query().Get("t")
	site, err := s.svc.AlertsOffLink(r.Context(), tok)
	if err != nil {
		s.linkFail(w, r, t, err)
		return
	}
	s.render(w, http.StatusOK, "alertsoff", s.linkPage(w, r, t, t.T("alertsoff.title"), alertsOffBody{Site: site.Name, Token: tok}))
}

// handleAlertsOff turns alerts off: the page's button, or a mail
// system's one-click POST (RFC 8058), which carries no Origin of ours.
func (s *Server) handleAlertsOff(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	t := s.lang(w, r)
	tok := r.PostFormValue("t")
	if tok == "" {
		tok = r.URL.Query().Get("t")
	}
	site, _, err := s.svc.AlertsOff(r.Context(), tok)
	if err != nil {
		s.linkFail(w, r, t, err)
		return
	}
	s.render(w, http.StatusOK, "alertsoff", s.linkPage(w, r, t, t.T("alertsoff.title"), alertsOffBody{Site: site.Name, Done: true}))
}
