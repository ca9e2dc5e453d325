package admin

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/service"
	"parley/internal/staff"
)

// settingsBody is a site's settings form.
type settingsBody struct {
	Site      *comment.Site
	Origins   string
	Providers string
	Minutes   int
	// RetentionDays is the site's own period for address hashes, in
	// days (0: the server's, ServerDays).
	RetentionDays, ServerDays int
	Error                     string
	Field                     string
}

func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request, d *deskReq) {
	p, ok := s.sitePage(w, r, d, "settings")
	if !ok {
		return
	}
	if !p.Role.AtLeast(staff.RoleAdmin) {
		s.fail(w, r, d.t, comment.ErrForbidden)
		return
	}
	s.showSettings(w, p, http.StatusOK, settingsForm(p.Site), "", "")
}

func settingsForm(site *comment.Site) settingsBody {
	b := settingsBody{Site: site, Origins: strings.Join(site.Origins, "\n"), Minutes: int(site.EditWindow / time.Minute), Providers: "all",
		RetentionDays: int(site.IPRetention / (24 * time.Hour))}
	if site.Providers != nil {
		b.Providers = strings.Join(site.Providers, ", ")
		if len(site.Providers) == 0 {
			b.Providers = "none"
		}
	}
	return b
}

func (s *Server) showSettings(w http.ResponseWriter, p *page, status int, b settingsBody, problem, field string) {
	b.Error, b.Field = problem, field
	b.ServerDays = int(s.svc.IPRetention(&comment.Site{}) / (24 * time.Hour))
	p.Title = p.T.T("settings.title") + " · " + p.Site.Name
	p.Body = b
	s.render(w, status, "settings", p)
}

func (s *Server) handleSaveSettings(w http.ResponseWriter, r *http.Request, d *deskReq) {
	p, ok := s.sitePage(w, r, d, "settings")
	if !ok {
		return
	}
	site := *p.Site
	site.Name = strings.TrimSpace(r.PostFormValue("name"))
	site.Origins = strings.Fields(strings.ReplaceAll(r.PostFormValue("origins"), ",", " "))
	site.Moderation = comment.Moderation(r.PostFormValue("moderation"))
	site.Guests = comment.GuestPolicy(r.PostFormValue("guests"))
	site.HidePrivate = r.PostFormValue("hide_private") == "on"
	form := settingsBody{Site: &site, Origins: r.PostFormValue("origins"), Providers: r.PostFormValue("providers")}
	depth, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("max_depth")))
	if err != nil {
		s.showSettings(w, p, http.StatusBadRequest, form, d.t.T("settings.depth.invalid"), "max_depth")
		return
	}
	site.MaxDepth = depth
	minutes, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("edit_window")))
	if err != nil {
		s.showSettings(w, p, http.StatusBadRequest, form, d.t.T("settings.edit_window.invalid"), "edit_window")
		return
	}
	site.EditWindow = time.Duration(minutes) * time.Minute
	form.Minutes = minutes
	form.RetentionDays = int(site.IPRetention / (24 * time.Hour))
	if _, sent := r.PostForm["ip_retention"]; sent { // a form of an older desk keeps the period
		days, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("ip_retention")))
		if err != nil {
			s.showSettings(w, p, http.StatusBadRequest, form, d.t.T("settings.ip_retention.invalid"), "ip_retention")
			return
		}
		site.IPRetention = time.Duration(days) * 24 * time.Hour
		form.RetentionDays = days
	}
	switch v := strings.TrimSpace(form.Providers); v {
	case "all", "":
		site.Providers = nil
	case "none":
		site.Providers = []string{}
	default:
		site.Providers = nil
		for _, id := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
			site.Providers = append(site.Providers, strings.ToLower(id))
		}
	}
	if err := s.svc.UpdateSite(r.Context(), d.actor, &site); err != nil {
		var ve *comment.ValidationError
		if errors.As(err, &ve) {
			s.showSettings(w, p, http.StatusBadRequest, form, validationText(d.t, ve), ve.Field)
			return
		}
		s.fail(w, r, d.t, err)
		return
	}
	s.setFlash(w, flash{Key: "flash.settings_saved"})
	http.Redirect(w, r, "/admin/sites/"+url.PathEscape(site.ID)+"/settings", http.StatusSeeOther)
}

// auditBody is a page of the audit log.
type auditBody struct {
	Entries []*staff.AuditEntry
	Next    string
	Actor   string
	Action  string
	Members []*staff.Member
	Actions []string
}

// auditActions are the actions the log can be filtered by.
var auditActions = []string{"comment.", "comment.approve", "comment.spam", "comment.ham", "comment.delete", "comment.pending", "comment.edit", "comment.reply", "undo", "site.", "staff.", "token.", "sanction.", "report.", "page.", "note."}

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request, d *deskReq) {
	p, ok := s.sitePage(w, r, d, "audit")
	if !ok {
		return
	}
	q := r.URL.Query()
	f := service.AuditFilter{ActorID: q.Get("actor"), Action: q.Get("action"), CommentID: q.Get("comment")}
	if f.Action != "" && !slices.Contains(auditActions, f.Action) {
		s.fail(w, r, d.t, comment.Invalid("action", "Choose an action from the list."))
		return
	}
	list, next, err := s.svc.AuditLog(r.Context(), d.actor, p.Site.ID, f, q.Get("cursor"))
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	members, err := s.svc.Members(r.Context(), d.actor, p.Site.ID)
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	b := auditBody{Entries: list, Actor: f.ActorID, Action: f.Action, Members: members, Actions: auditActions}
	if next != "" {
		v := url.Values{}
		for _, k := range []string{"actor", "action", "comment"} {
			if q.Get(k) != "" {
				v.Set(k, q.Get(k))
			}
		}
		v.Set("cursor", next)
		b.Next = "?" + v.Encode()
	}
	p.Title = d.t.T("audit.title") + " · " + p.Site.Name
	p.Body = b
	s.render(w, http.StatusOK, "audit", p)
}

// staffBody is a site's staff and API tokens.
type staffBody struct {
	Members  []*staff.Member
	Tokens   []*staff.Token
	NewToken string // shown once, right after it was made
	Error    string
	Email    string
}

func (s *Server) handleStaff(w http.ResponseWriter, r *http.Request, d *deskReq) {
	s.showStaff(w, r, d, http.StatusOK, staffBody{})
}

func (s *Server) showStaff(w http.ResponseWriter, r *http.Request, d *deskReq, status int, b staffBody) {
	p, ok := s.sitePage(w, r, d, "staff")
	if !ok {
		return
	}
	members, err := s.svc.Members(r.Context(), d.actor, p.Site.ID)
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	b.Members = members
	if p.Role.AtLeast(staff.RoleAdmin) {
		if b.Tokens, err = s.svc.Tokens(r.Context(), d.actor, p.Site.ID); err != nil {
			s.fail(w, r, d.t, err)
			return
		}
	}
	p.Title = d.t.T("staff.title") + " · " + p.Site.Name
	p.Body = b
	s.render(w, status, "staff", p)
}

func (s *Server) handleAddStaff(w http.ResponseWriter, r *http.Request, d *deskReq) {
	role, err := staff.ParseRole(r.PostFormValue("role"))
	if err != nil || role == staff.RoleOwner {
		s.showStaff(w, r, d, http.StatusBadRequest, staffBody{Error: d.t.T("staff.role.invalid"), Email: r.PostFormValue("email")})
		return
	}
	_, err = s.svc.AddMember(r.Context(), d.actor, serviceNewMember(r, role))
	var ve *comment.ValidationError
	if errors.As(err, &ve) {
		s.showStaff(w, r, d, http.StatusBadRequest, staffBody{Error: validationText(d.t, ve), Email: r.PostFormValue("email")})
		return
	}
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	s.setFlash(w, flash{Key: "flash.staff_added", Args: []string{"email", r.PostFormValue("email")}})
	http.Redirect(w, r, "/admin/sites/"+url.PathEscape(r.PathValue("site"))+"/staff", http.StatusSeeOther)
}

func (s *Server) handleSetRole(w http.ResponseWriter, r *http.Request, d *deskReq) {
	role := staff.Role(r.PostFormValue("role"))
	if role != "" && role != staff.RoleAdmin && role != staff.RoleModerator {
		s.fail(w, r, d.t, comment.Invalid("role", "The role must be admin or moderator."))
		return
	}
	if err := s.svc.SetRole(r.Context(), d.actor, r.PathValue("account"), r.PathValue("site"), role); err != nil {
		var ve *comment.ValidationError
		if errors.As(err, &ve) {
			s.showStaff(w, r, d, http.StatusBadRequest, staffBody{Error: validationText(d.t, ve)})
			return
		}
		s.fail(w, r, d.t, err)
		return
	}
	key := "flash.role_changed"
	if role == "" {
		key = "flash.staff_removed"
	}
	s.setFlash(w, flash{Key: key})
	http.Redirect(w, r, "/admin/sites/"+url.PathEscape(r.PathValue("site"))+"/staff", http.StatusSeeOther)
}

func (s *Server) handleAddToken(w http.ResponseWriter, r *http.Request, d *deskReq) {
	secret, _, err := s.svc.AddToken(r.Context(), d.actor, r.PathValue("site"), r.PostFormValue("name"), staff.Role(r.PostFormValue("role")))
	var ve *comment.ValidationError
	if errors.As(err, &ve) {
		s.showStaff(w, r, d, http.StatusBadRequest, staffBody{Error: validationText(d.t, ve)})
		return
	}
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	// The token is shown on this answer only; it is not kept anywhere.
	s.showStaff(w, r, d, http.StatusOK, staffBody{NewToken: secret})
}

func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request, d *deskReq) {
	if err := s.svc.RevokeToken(r.Context(), d.actor, r.PathValue("site"), r.PathValue("token")); err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	s.setFlash(w, flash{Key: "flash.token_revoked"})
	http.Redirect(w, r, "/admin/sites/"+url.PathEscape(r.PathValue("site"))+"/staff", http.StatusSeeOther)
}

// accountBody is the member's own account: sessions, password and
// email alerts.
type accountBody struct {
	Sessions []*staff.Session
	Current  string
	Error    string
	Alerts   []alertChoice
	Options  []struct{ Value, Key string }
	Mail     bool // the server can send alerts
}

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request, d *deskReq) {
	s.showAccount(w, r, d, http.StatusOK, "")
}

func (s *Server) showAccount(w http.ResponseWriter, r *http.Request, d *deskReq, status int, problem string) {
	p := s.newPage(w, r, d.t, d)
	list, err := s.svc.StaffSessions(r.Context(), d.actor)
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	alerts, err := s.alertChoices(r, d)
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	p.Title, p.Nav = d.t.T("account.title"), "account"
	p.Body = accountBody{Sessions: list, Current: d.session.Hash, Error: problem, Alerts: alerts, Options: alertOptions, Mail: s.svc.Notifies()}
	s.render(w, status, "account", p)
}

func (s *Server) handlePassword(w http.ResponseWriter, r *http.Request, d *deskReq) {
	next := r.PostFormValue("password")
	if next != r.PostFormValue("password2") {
		s.showAccount(w, r, d, http.StatusBadRequest, d.t.T("account.password.mismatch"))
		return
	}
	err := s.svc.ChangePassword(r.Context(), d.actor, r.PostFormValue("current"), next, d.session.Hash)
	var ve *comment.ValidationError
	if errors.As(err, &ve) {
		s.showAccount(w, r, d, http.StatusBadRequest, validationText(d.t, ve))
		return
	}
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	s.setFlash(w, flash{Key: "flash.password_changed"})
	http.Redirect(w, r, "/admin/account", http.StatusSeeOther)
}

func (s *Server) handleEndSessions(w http.ResponseWriter, r *http.Request, d *deskReq) {
	hash := r.PostFormValue("session")
	if hash == "" && r.PostFormValue("all") != "yes" {
		s.fail(w, r, d.t, comment.Missing("session", "Choose a session to end."))
		return
	}
	n, err := s.svc.EndStaffSessions(r.Context(), d.actor, hash)
	if err != nil {
		s.fail(w, r, d.t, err)
		return
	}
	if hash == "" || hash == d.session.Hash {
		http.SetCookie(w, s.cookie(sessionCookie, "", -1))
		s.setFlash(w, flash{Key: "flash.sessions_ended", N: n})
		http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
		return
	}
	s.setFlash(w, flash{Key: "flash.sessions_ended", N: n})
	http.Redirect(w, r, "/admin/account", http.StatusSeeOther)
}

// serviceNewMember reads the add-staff form.
func serviceNewMember(r *http.Request, role staff.Role) service.NewMember {
	return service.NewMember{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Password: r.PostFormValue("password"), SiteID: r.PathValue("site"), Role: role}
}
