package admin

import (
	"errors"
	"net/http"
	"strings"

	"parley/internal/comment"
	"parley/internal/service"
	"parley/internal/store"
	"parley/internal/web"
)

// A reader's right of access and right to erasure, answered by staff: the
// desk's privacy page (owners, for every site) and the admin API (a
// site's admin token, for that site).

func (s *Server) privacyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/privacy", s.desk(s.handlePrivacy))
	mux.HandleFunc("POST /admin/privacy/export", s.desk(s.handlePrivacyExport))
	mux.HandleFunc("POST /admin/privacy/erase", s.desk(s.handlePrivacyErase))
}

// privacyBody is the privacy page: the form, a confirmation step or what
// an erasure did.
type privacyBody struct {
	Email, Identity, SiteID string
	Anonymise               bool
	Confirm                 bool
	Erased                  *store.EraseCounts
	Other                   int // what else the erasure removed
	Error                   string
}

func privacyRequest(r *http.Request) service.PrivacyRequest {
	return service.PrivacyRequest{Email: strings.TrimSpace(r.PostFormValue("email")), Identity: strings.TrimSpace(r.PostFormValue("identity")),
		SiteID: r.PostFormValue("site"), Anonymise: r.PostFormValue("anonymise") == "on"}
}

func (s *Server) privacyPage(w http.ResponseWriter, r *http.Request, d *deskReq, status int, b privacyBody) {
	if !d.actor.IsOwner() {
		s.handleNotFound(w, r)
		return
	}
	p := s.newPage(w, r, d.t, d)
	p.Title, p.Nav, p.Body = d.t.T("privacy.title"), "privacy", b
	s.render(w, status, "privacy", p)
}

func (s *Server) handlePrivacy(w http.ResponseWriter, r *http.Request, d *deskReq) {
	s.privacyPage(w, r, d, http.StatusOK, privacyBody{})
}

// privacyRefusal shows the form again with what is wrong.
func (s *Server) privacyRefusal(w http.ResponseWriter, r *http.Request, d *deskReq, req service.PrivacyRequest, err error) {
	b := privacyBody{Email: req.Email, Identity: req.Identity, SiteID: req.SiteID, Anonymise: req.Anonymise}
	var ve *comment.ValidationError
	switch {
	case errors.As(err, &ve):
		b.Error = ve.Message
	case errors.Is(err, comment.ErrNotFound):
		b.Error = d.t.T("privacy.no_site")
	default:
		s.fail(w, r, d.t, err)
		return
	}
	s.privacyPage(w, r, d, http.StatusUnprocessableEntity, b)
}

func (s *Server) handlePrivacyExport(w http.ResponseWriter, r *http.Request, d *deskReq) {
	if !d.actor.IsOwner() {
		s.handleNotFound(w, r)
		return
	}
	req := privacyRequest(r)
	// The whole export is checked before the first byte: a refusal is a page.
	if err := s.svc.CheckPrivacyRequest(r.Context(), req); err != nil {
		s.privacyRefusal(w, r, d, req, err)
		return
	}
	web.JSONDownload(w, "parley-data")
	if err := s.svc.ExportReader(r.Context(), d.actor, req, w); err != nil {
		s.log.Error("privacy export failed", "err", err.Error())
	}
}

func (s *Server) handlePrivacyErase(w http.ResponseWriter, r *http.Request, d *deskReq) {
	if !d.actor.IsOwner() {
		s.handleNotFound(w, r)
		return
	}
	req := privacyRequest(r)
	if err := s.svc.CheckPrivacyRequest(r.Context(), req); err != nil {
		s.privacyRefusal(w, r, d, req, err)
		return
	}
	b := privacyBody{Email: req.Email, Identity: req.Identity, SiteID: req.SiteID, Anonymise: req.Anonymise}
	if r.PostFormValue("confirm") != "yes" {
		b.Confirm = true
		s.privacyPage(w, r, d, http.StatusOK, b)
		return
	}
	n, err := s.svc.EraseReader(r.Context(), d.actor, req)
	if err != nil {
		s.privacyRefusal(w, r, d, req, err)
		return
	}
	b.Erased, b.Other = &n, n.Likes+n.Subscriptions+n.Sessions+n.Reports+n.Other
	s.privacyPage(w, r, d, http.StatusOK, b)
}

// privacyJSON is a request of the admin API's privacy routes.
type privacyJSON struct {
	Email     string `json:"email"`
	Identity  string `json:"identity"`
	Site      string `json:"site"`
	Anonymise bool   `json:"anonymise"`
}

func (s *Server) privacyAPIRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/admin/privacy/export", s.api(s.apiPrivacyExport))
	mux.HandleFunc("POST /api/v1/admin/privacy/erase", s.api(s.apiPrivacyErase))
}

func (s *Server) apiPrivacyRequest(w http.ResponseWriter, r *http.Request, a *apiReq) (service.PrivacyRequest, bool) {
	var j privacyJSON
	if err := readJSON(w, r, &j); err != nil {
		s.fail(w, r, a.t, err)
		return service.PrivacyRequest{}, false
	}
	req := service.PrivacyRequest{Email: j.Email, Identity: j.Identity, SiteID: j.Site, Anonymise: j.Anonymise}
	// Permission first: a token learns nothing of other sites.
	if err := s.svc.CanPrivacy(a.actor, req); err != nil {
		s.fail(w, r, a.t, err)
		return req, false
	}
	if err := s.svc.CheckPrivacyRequest(r.Context(), req); err != nil {
		s.fail(w, r, a.t, err)
		return req, false
	}
	return req, true
}

func (s *Server) apiPrivacyExport(w http.ResponseWriter, r *http.Request, a *apiReq) {
	req, ok := s.apiPrivacyRequest(w, r, a)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.svc.ExportReader(r.Context(), a.actor, req, w); err != nil {
		s.log.Error("privacy export failed", "err", err.Error())
	}
}

func (s *Server) apiPrivacyErase(w http.ResponseWriter, r *http.Request, a *apiReq) {
	req, ok := s.apiPrivacyRequest(w, r, a)
	if !ok {
		return
	}
	n, err := s.svc.EraseReader(r.Context(), a.actor, req)
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}
