package httpapi

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"

	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/notify"
	"parley/internal/service"
	"parley/internal/web"
)

// A reader's own data, from the site's privacy page: a form takes their
// address and emails it a link (the answer is the same whether or not the
// address has data); the link, used once within 15 minutes, opens a page
// that downloads the data or erases it. A logged-in reader gets the same
// page from the widget, without the email. The pages work without
// JavaScript, and the tokens travel in forms, never in links but the
// emailed one.

func (s *Server) dataRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /sites/{site}/privacy/data", s.handleDataAsk)
	mux.HandleFunc("POST /sites/{site}/privacy/data", s.handleDataRequest)
	mux.HandleFunc("GET "+notify.PrivacyPath, s.handleDataLink)
	mux.HandleFunc("POST "+notify.PrivacyPath, s.handleDataOpen)
	mux.HandleFunc("POST "+notify.PrivacyPath+"/download", s.handleDataDownload)
	mux.HandleFunc("POST "+notify.PrivacyPath+"/erase", s.handleDataErase)
	mux.HandleFunc("POST /api/v1/sites/{site}/data", s.handleDataGrant)
}

var dataPage = template.Must(template.New("data").Parse(`<h1>{{.Title}}</h1>
{{- with .Done}}<p role="status" id="parley-data-done"><strong>{{.}}</strong></p>{{end}}
{{- with .Problem}}<p role="alert" id="parley-data-problem"><strong>{{.}}</strong></p>{{end}}
{{- with .Text}}<p>{{.}}</p>{{end}}
{{- if .Ask}}
<form method="post" action="{{.Action}}" id="parley-data-ask">
<label for="parley-data-email">{{.T.T "page.data.email"}}</label>
<input id="parley-data-email" name="email" type="email" required autocomplete="email" dir="ltr" value="{{.Email}}"{{if .Problem}} aria-invalid="true" aria-describedby="parley-data-problem"{{end}}>
<button type="submit">{{.T.T "page.data.send"}}</button>
</form>
{{- end}}
{{- if .Continue}}
<form method="post" action="{{.Action}}"><input type="hidden" name="t" value="{{.Token}}"><button type="submit" id="parley-data-continue">{{.T.T "page.data.continue"}}</button></form>
{{- end}}
{{- if .Grant}}
{{- if .Confirm}}
<form method="post" action="{{.Base}}/erase"><input type="hidden" name="g" value="{{.Grant}}"><input type="hidden" name="confirm" value="yes">
<button type="submit" id="parley-data-erase-yes" class="danger">{{.T.T "page.data.confirm_button"}}</button></form>
<form method="post" action="{{.Base}}"><input type="hidden" name="g" value="{{.Grant}}"><button type="submit" id="parley-data-keep">{{.T.T "page.data.cancel"}}</button></form>
{{- else}}
<form method="post" action="{{.Base}}/download"><input type="hidden" name="g" value="{{.Grant}}"><button type="submit" id="parley-data-download">{{.T.T "page.data.download"}}</button></form>
<form method="post" action="{{.Base}}/erase"><input type="hidden" name="g" value="{{.Grant}}"><button type="submit" id="parley-data-erase" class="danger">{{.T.T "page.data.erase"}}</button></form>
<p class="hint">{{.T.T "page.data.expires"}}</p>
{{- end}}
{{- end}}
{{- with .Back}}<p><a href="{{.}}">{{$.T.T "page.privacy.back"}}</a></p>{{end}}
<style>form{margin:1em 0}label{display:block;margin-bottom:.3em}input[type=email]{font:inherit;padding:.4em;width:min(100%,24em)}button{font:inherit;padding:.4em 1em;cursor:pointer}button.danger{color:#a00}.hint{color:#555}</style>
`))

// dataView is what a page of the reader's data shows.
type dataView struct {
	T                   *i18n.Table
	Title, Done, Text   string
	Problem             string
	Ask                 bool
	Email               string
	Continue, Confirm   bool
	Action, Token, Base string
	Grant               string
	Back                string
}

func (s *Server) writeDataPage(w http.ResponseWriter, status int, v dataView) {
	v.Base = notify.PrivacyPath
	var b bytes.Buffer
	if err := dataPage.Execute(&b, v); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	// A token in the address must not leave with a click; the form
	// without one keeps its origin, which its post is checked against
	// (no-referrer would make the browser send Origin: null).
	if v.Token != "" || v.Grant != "" {
		w.Header().Set("Referrer-Policy", "no-referrer")
	} else {
		w.Header().Set("Referrer-Policy", "same-origin")
	}
	w.Header().Set("Cache-Control", "no-store")
	writePage(w, status, v.T.Lang(), v.Title, template.HTML(b.String()))
}

// dataError answers a link or grant that cannot be used, or a failure.
func (s *Server) dataError(w http.ResponseWriter, r *http.Request, t *i18n.Table, err error) {
	var ve *comment.ValidationError
	title := t.T("page.comments")
	switch {
	case errors.As(err, &ve) && ve.Code == "used_link":
		messagePage(w, http.StatusGone, t, title, t.T("page.data.used"))
	case errors.As(err, &ve) && ve.Code == "expired_link":
		messagePage(w, http.StatusGone, t, title, t.T("page.data.expired"))
	case errors.As(err, &ve) && ve.Code == "bad_link":
		messagePage(w, http.StatusBadRequest, t, title, t.T("page.notify.bad_link"))
	default:
		s.writeHTMLError(w, r, err)
	}
}

func (s *Server) handleDataAsk(w http.ResponseWriter, r *http.Request) {
	site, err := s.svc.Site(r.Context(), r.PathValue("site"))
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	t := words(r, "")
	s.writeDataPage(w, http.StatusOK, dataView{T: t, Title: t.T("page.data.title", "site", site.Name), Text: t.T("page.data.ask"), Ask: true,
		Action: r.URL.Path + "?" + url.Values{"lang": {t.Lang()}}.Encode(), Back: privacyPageURL(site.ID, t)})
}

func privacyPageURL(siteID string, t *i18n.Table) string {
	return "/sites/" + url.PathEscape(siteID) + "/privacy?" + url.Values{"lang": {t.Lang()}}.Encode()
}

// handleDataRequest emails the link. Whatever the address, the answer is
// the same page: it never says whether the address has data.
func (s *Server) handleDataRequest(w http.ResponseWriter, r *http.Request) {
	t := words(r, "")
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	site, err := s.svc.Site(r.Context(), r.PathValue("site"))
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	if !s.sameSiteForm(r, site) {
		s.writeHTMLError(w, r, comment.ErrForbidden)
		return
	}
	v := dataView{T: t, Title: t.T("page.data.title", "site", site.Name), Back: privacyPageURL(site.ID, t)}
	email := r.PostFormValue("email")
	err = s.svc.RequestDataLink(r.Context(), site.ID, email, t.Lang(), web.ClientIP(r))
	var ve *comment.ValidationError
	if errors.As(err, &ve) {
		status, body := errorStatus(err)
		v.Problem, v.Ask, v.Email, v.Text = errorText(t, body), true, email, t.T("page.data.ask")
		v.Action = r.URL.Path + "?" + url.Values{"lang": {t.Lang()}}.Encode()
		s.writeDataPage(w, status, v)
		return
	}
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	v.Done = t.T("page.data.sent")
	s.writeDataPage(w, http.StatusOK, v)
}

// handleDataLink is the page the emailed link opens: it checks the link
// without using it (mail scanners open links), and asks to continue.
func (s *Server) handleDataLink(w http.ResponseWriter, r *http.Request) {
	t := words(r, "")
	if g := r.URL.Query().Get("g"); g != "" {
		s.showGrant(w, r, t, g)
		return
	}
	tok := r.URL.Query().Get("t")
	site, err := s.svc.DataLinkSite(r.Context(), tok)
	if err != nil {
		s.dataError(w, r, t, err)
		return
	}
	s.writeDataPage(w, http.StatusOK, dataView{T: t, Title: t.T("page.data.title", "site", site.Name), Text: t.T("page.data.open"),
		Continue: true, Action: notify.PrivacyPath + "?" + url.Values{"lang": {t.Lang()}}.Encode(), Token: tok})
}

// handleDataOpen spends the link (t) — or takes the widget's grant (g) —
// and shows what the reader can do.
func (s *Server) handleDataOpen(w http.ResponseWriter, r *http.Request) {
	t := words(r, "")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	var g *service.DataGrant
	var err error
	if tok := r.PostFormValue("t"); tok != "" {
		g, err = s.svc.UseDataLink(r.Context(), tok)
	} else {
		g, err = s.svc.OpenGrant(r.Context(), r.PostFormValue("g"))
	}
	if err != nil {
		s.dataError(w, r, t, err)
		return
	}
	s.writeDataPage(w, http.StatusOK, dataView{T: t, Title: t.T("page.data.title", "site", g.Site.Name), Text: t.T("page.data.actions"), Grant: g.Token})
}

// showGrant is the data page the widget opens for a logged-in reader.
func (s *Server) showGrant(w http.ResponseWriter, r *http.Request, t *i18n.Table, tok string) {
	g, err := s.svc.OpenGrant(r.Context(), tok)
	if err != nil {
		s.dataError(w, r, t, err)
		return
	}
	s.writeDataPage(w, http.StatusOK, dataView{T: t, Title: t.T("page.data.title", "site", g.Site.Name), Text: t.T("page.data.actions"), Grant: g.Token})
}

func (s *Server) handleDataDownload(w http.ResponseWriter, r *http.Request) {
	t := words(r, "")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	g, err := s.svc.OpenGrant(r.Context(), r.PostFormValue("g"))
	if err != nil {
		s.dataError(w, r, t, err)
		return
	}
	web.JSONDownload(w, "parley-data")
	if err := s.svc.ReaderExport(r.Context(), g, w); err != nil {
		s.failed(w, r, http.StatusInternalServerError, err)
	}
}

func (s *Server) handleDataErase(w http.ResponseWriter, r *http.Request) {
	t := words(r, "")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	g, err := s.svc.OpenGrant(r.Context(), r.PostFormValue("g"))
	if err != nil {
		s.dataError(w, r, t, err)
		return
	}
	v := dataView{T: t, Title: t.T("page.data.title", "site", g.Site.Name)}
	if r.PostFormValue("confirm") != "yes" {
		v.Text, v.Grant, v.Confirm = t.T("page.data.confirm"), g.Token, true
		s.writeDataPage(w, http.StatusOK, v)
		return
	}
	if _, err := s.svc.ReaderErase(r.Context(), g); err != nil {
		s.dataError(w, r, t, err)
		return
	}
	v.Done = t.T("page.data.erased")
	s.writeDataPage(w, http.StatusOK, v)
}

// handleDataGrant gives a logged-in reader's widget the address of the
// data page with a grant, which the widget opens in a new tab. (The
// grant is in that address: it lasts 15 minutes, and erases once.)
func (s *Server) handleDataGrant(w http.ResponseWriter, r *http.Request) {
	site := s.site(w, r)
	if site == nil {
		return
	}
	sess, _, ok := s.session(w, r, site)
	if !ok {
		return
	}
	if sess == nil {
		s.writeNotLoggedIn(w, r)
		return
	}
	g, err := s.svc.SessionGrant(r.Context(), site.ID, sess, words(r, "").Lang())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	// href is the page of the reader's data; privacy the site's privacy
	// page linking to it, which the widget's privacy link opens for a
	// logged-in reader.
	base := s.baseURL(r)
	t := i18n.Get(g.Lang)
	writeJSON(w, http.StatusOK, map[string]string{
		"href":    base + notify.PrivacyPath + "?" + url.Values{"g": {g.Token}, "lang": {g.Lang}}.Encode(),
		"privacy": base + privacyPageURL(site.ID, t) + "&" + url.Values{"g": {g.Token}}.Encode(),
	})
}
