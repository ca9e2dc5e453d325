package httpapi

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/login"
	"parley/internal/service"
	"parley/internal/spam"
	"parley/internal/web"
)

// The readers' side of the community controls: polite refusals (a ban, a
// warning), reports from the widget and from a page of Parley's own for
// readers without JavaScript, and what became of a reader's held
// comments.

// refusalStatus maps the community controls' refusals: 403 banned (with
// the date it ends, if it does), 403 warned (with the moderator's
// message), 429 report_limited.
func refusalStatus(err error) (int, errorBody, bool) {
	var be *comment.BannedError
	var we *comment.WarnedError
	var rl *spam.RateLimitError
	switch {
	case errors.As(err, &be):
		b := errorBody{Code: "banned", refusal: be}
		if !be.Until.IsZero() {
			b.Until = be.Until.UTC().Format(time.RFC3339)
		}
		b.Message = refusalText(i18n.Get(i18n.Fallback), be)
		return http.StatusForbidden, b, true
	case errors.As(err, &we):
		return http.StatusForbidden, errorBody{Code: "warned", Message: refusalText(i18n.Get(i18n.Fallback), we), refusal: we}, true
	case errors.As(err, &rl) && rl.Key == "reports":
		return http.StatusTooManyRequests, errorBody{Code: "report_limited", Message: i18n.Get(i18n.Fallback).T("page.error.report_limited")}, true
	}
	return 0, errorBody{}, false
}

// isRefusal reports whether err is a ban or a warning.
func isRefusal(err error) bool {
	return errors.As(err, new(*comment.BannedError)) || errors.As(err, new(*comment.WarnedError))
}

// refusalText is a ban or a warning in the reader's words.
func refusalText(t *i18n.Table, err error) string {
	var be *comment.BannedError
	var we *comment.WarnedError
	switch {
	case errors.As(err, &be) && be.Until.IsZero():
		return t.T("page.error.banned")
	case errors.As(err, &be):
		return t.T("page.error.banned_until", "date", t.Date(be.Until))
	case errors.As(err, &we):
		return t.T("page.error.warned", "message", we.Message)
	}
	return err.Error()
}

// reportRequest is the body of POST /api/v1/sites/{site}/comments/{id}/report.
type reportRequest struct {
	Reason string `json:"reason"`
	Text   string `json:"text"`
	Reader string `json:"reader"`
}

// handleReport takes a reader's report from the widget. A logged-in
// reader (bearer token) counts by their log-in, anyone else by their
// network.
func (s *Server) handleReport(w http.ResponseWriter, r *http.Request) {
	site := s.site(w, r)
	if site == nil {
		return
	}
	var in reportRequest
	if err := decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	sess, _, ok := s.session(w, r, site)
	if !ok {
		return
	}
	ri := service.ReportInput{SiteID: site.ID, CommentID: r.PathValue("id"), Reason: in.Reason, Text: in.Text, Reader: in.Reader, IP: web.ClientIP(r)}
	if sess != nil {
		ri.Identity = login.Author(sess).Identity
	}
	if _, err := s.svc.Report(r.Context(), ri); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"reported": true, "message": words(r, "").T("report.thanks")})
}

// noticeJSON is what a reader is told about a held comment of theirs.
type noticeJSON struct {
	Comment  string `json:"comment"`
	Approved bool   `json:"approved"`
	Reason   string `json:"reason,omitempty"`
	Title    string `json:"title"`
	URL      string `json:"url"`
	// Text says it in the reader's language (Accept-Language), so the
	// widget carries none of these sentences itself.
	Text string `json:"text"`
}

// handleNotices answers the widget's question "what became of my held
// comments?" once: each notice is given one time.
func (s *Server) handleNotices(w http.ResponseWriter, r *http.Request) {
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
	list, err := s.svc.Notices(r.Context(), site.ID, in.Reader)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]noticeJSON, len(list))
	t := words(r, "")
	for i, n := range list {
		out[i] = noticeJSON{Comment: n.CommentID, Approved: n.Approved, Reason: n.Reason, Title: n.PageTitle, URL: n.PageURL}
		title := n.PageTitle
		if title == "" {
			title = n.PageURL
		}
		switch {
		case n.Approved:
			out[i].Text = t.T("notice.approved", "title", title)
		case n.Reason != "":
			out[i].Text = t.T("notice.reason", "title", title, "reason", n.Reason)
		default:
			out[i].Text = t.T("notice.rejected", "title", title)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"notices": out})
}

var reportPage = template.Must(template.New("report").Parse(`<h1>{{.T.T "page.report.title"}}</h1>
<p>{{.By}}</p>
<blockquote dir="auto">{{.HTML}}</blockquote>
{{with .Error}}<p role="alert" id="report-error"><strong>{{.}}</strong></p>
{{end}}<form method="post" action="{{.Action}}">
<input type="hidden" name="token" value="{{.Token}}">
<input type="hidden" name="url" value="{{.URL}}">
<fieldset><legend>{{.T.T "report.why"}}</legend>
{{range .Reasons}}<p><label><input type="radio" name="reason" value="{{.Value}}" required{{if .Checked}} checked{{end}}> {{.Label}}</label></p>
{{end}}</fieldset>
<p><label for="report-text">{{.T.T "report.text"}}</label><br>
<textarea id="report-text" name="text" rows="4" cols="50" maxlength="500" dir="auto"{{if .Error}} aria-describedby="report-error"{{end}}>{{.Text}}</textarea></p>
<p><button type="submit">{{.T.T "report.send"}}</button></p>
</form>
{{with .Back}}<p><a href="{{.}}">{{$.T.T "page.report.back"}}</a></p>{{end}}`))

var reportDone = template.Must(template.New("done").Parse(`<h1>{{.T.T "page.report.done"}}</h1>
<p role="status">{{.T.T "report.thanks"}}</p>
{{with .Back}}<p><a href="{{.}}">{{$.T.T "page.report.back"}}</a></p>{{end}}`))

type reasonChoice struct {
	Value, Label string
	Checked      bool
}

// handleReportPage is Parley's page for reporting a comment without
// JavaScript: the server-rendered thread links each comment's "Report"
// here, with the article's address to go back to.
func (s *Server) handleReportPage(w http.ResponseWriter, r *http.Request) {
	s.showReportPage(w, r, http.StatusOK, "", "", "")
}

func (s *Server) showReportPage(w http.ResponseWriter, r *http.Request, status int, reason, text, problem string) {
	site, err := s.svc.Site(r.Context(), r.PathValue("site"))
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	c, err := s.svc.Comment(r.Context(), site.ID, r.PathValue("id"))
	if err == nil && c.Status != comment.StatusApproved {
		err = comment.ErrNotFound
	}
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	t := words(r, "")
	back := r.FormValue("url")
	if !service.OnSite(site, back) {
		back = ""
	} else {
		back += "#comment-" + c.ID
	}
	v := map[string]any{"T": t, "HTML": template.HTML(c.HTML), "Token": s.svc.FormToken(site.ID), "URL": r.FormValue("url"), "Back": back,
		"Text": text, "Error": problem,
		"By":     t.T("page.report.comment_by", "name", c.Author.Name),
		"Action": s.baseURL(r) + "/sites/" + url.PathEscape(site.ID) + "/comments/" + url.PathEscape(c.ID) + "/report?" + url.Values{"lang": {t.Lang()}}.Encode()}
	var reasons []reasonChoice
	for _, rr := range comment.ReportReasons {
		reasons = append(reasons, reasonChoice{Value: string(rr), Label: t.T("report." + string(rr)), Checked: string(rr) == reason})
	}
	v["Reasons"] = reasons
	var b bytes.Buffer
	if err := reportPage.Execute(&b, v); err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Robots-Tag", "noindex")
	writePage(w, status, t.Lang(), t.T("page.report.title"), template.HTML(b.String()))
}

// handleReportForm takes the report page's form.
func (s *Server) handleReportForm(w http.ResponseWriter, r *http.Request) {
	site, err := s.svc.Site(r.Context(), r.PathValue("site"))
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	// The form is Parley's own page: it must come from there, with its
	// signed token (no other site can make a reader's browser report).
	if !s.parleyForm(r) {
		s.writeHTMLError(w, r, comment.ErrForbidden)
		return
	}
	f := r.PostForm
	ri := service.ReportInput{SiteID: site.ID, CommentID: r.PathValue("id"), Reason: f.Get("reason"), Text: f.Get("text"), Reader: f.Get("reader"), IP: web.ClientIP(r)}
	if s.cfg.Login != nil {
		if sess, _, err := s.cfg.Login.SessionFor(r, site); err == nil {
			ri.Identity = login.Author(sess).Identity
		}
	}
	if _, err = s.svc.CheckFormToken(site.ID, f.Get("token")); err == nil {
		_, err = s.svc.Report(r.Context(), ri)
	}
	var ve *comment.ValidationError
	switch {
	case errors.As(err, &ve) || errors.As(err, new(*spam.RateLimitError)):
		status, body := errorStatus(err)
		s.showReportPage(w, r, status, ri.Reason, ri.Text, errorText(words(r, ""), body))
		return
	case err != nil:
		s.writeHTMLError(w, r, err)
		return
	}
	t := words(r, "")
	back := f.Get("url")
	if !service.OnSite(site, back) {
		back = ""
	} else {
		back += "#comment-" + ri.CommentID
	}
	var b bytes.Buffer
	reportDone.Execute(&b, map[string]any{"T": t, "Back": back})
	w.Header().Set("Cache-Control", "no-store")
	writePage(w, http.StatusOK, t.Lang(), t.T("page.report.done"), template.HTML(b.String()))
}
