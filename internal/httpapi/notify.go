package httpapi

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"

	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/notify"
	"parley/internal/service"
	"parley/internal/store"
)

// The pages behind the links of readers' emails: confirming a
// subscription, unsubscribing (also RFC 8058's one-click POST, which mail
// systems send without a page), and seeing and ending every subscription
// of an address. The link's token is the reader's only credential; the
// pages never show the address.

func (s *Server) notifyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+notify.ConfirmPath, s.handleConfirmPage)
	mux.HandleFunc("POST "+notify.ConfirmPath, s.handleConfirm)
	mux.HandleFunc("GET "+notify.UnsubscribePath, s.handleUnsubscribePage)
	mux.HandleFunc("POST "+notify.UnsubscribePath, s.handleUnsubscribe)
	mux.HandleFunc("GET "+notify.SubscriptionsPath, s.handleSubscriptions)
	mux.HandleFunc("POST "+notify.SubscriptionsPath, s.handleEndSubscription)
	mux.HandleFunc("GET "+notify.DecisionsPath, s.handleDecisionsPage)
	mux.HandleFunc("POST "+notify.DecisionsPath, s.handleDecisions)
}

var notifyPage = template.Must(template.New("notify").Parse(`<h1>{{.Title}}</h1>
{{- with .Done}}<p role="status"><strong>{{.}}</strong></p>{{end}}
{{- with .Text}}<p>{{.}}</p>{{end}}
{{- with .Subs}}
<ul class="subs">
{{- range .}}
<li><a href="{{.URL}}">{{.Title}}</a> — {{.Scope}}{{with .Waiting}} ({{.}}){{end}}
{{- if $.EndButton}}
<form method="post" action="{{$.Action}}"><input type="hidden" name="t" value="{{$.Token}}"><input type="hidden" name="id" value="{{.ID}}"><button type="submit" aria-label="{{$.EndButton}}: {{.Title}}">{{$.EndButton}}</button></form>
{{- end}}</li>
{{- end}}
</ul>
{{- end}}
{{- with .Button}}
<form method="post" action="{{$.Action}}"><input type="hidden" name="t" value="{{$.Token}}">{{with $.All}}<input type="hidden" name="all" value="1">{{end}}{{with $.Resume}}<input type="hidden" name="resume" value="1">{{end}}<button type="submit" id="parley-notify-button">{{.}}</button></form>
{{- end}}
<style>ul.subs{padding-inline-start:1.2em}ul.subs li{margin:.5em 0}ul.subs form{display:inline;margin-inline-start:.5em}button{font:inherit;padding:.4em 1em;cursor:pointer}</style>
`))

// notifyView is what a subscription page shows.
type notifyView struct {
	Title, Done, Text string
	Subs              []subView
	Button, EndButton string
	All               bool
	// Resume: the button restarts what was stopped (resume=1).
	Resume        bool
	Action, Token string
}

type subView struct {
	ID, Title, URL, Scope, Waiting string
}

func (s *Server) writeNotifyPage(w http.ResponseWriter, status int, t *i18n.Table, v notifyView) {
	var b bytes.Buffer
	if err := notifyPage.Execute(&b, v); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	// The token in the address must not leave with a click on an article.
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	writePage(w, status, t.Lang(), v.Title, template.HTML(b.String()))
}

// subViews lists subscriptions for a page (only those waiting with
// waitingOnly).
func subViews(t *i18n.Table, subs []*store.Subscription, waitingOnly bool) []subView {
	var out []subView
	for _, sub := range subs {
		if waitingOnly && !sub.Confirmed.IsZero() {
			continue
		}
		scope := t.T("page.notify.scope_replies")
		if sub.Scope == store.ScopeAll {
			scope = t.T("page.notify.scope_all")
		}
		v := subView{ID: sub.ID, Title: sub.Thread.Title, URL: sub.Thread.URL, Scope: scope}
		if v.Title == "" {
			v.Title = sub.Thread.URL
		}
		if service.OriginOf(v.URL) == "" {
			v.URL = ""
		}
		if sub.Confirmed.IsZero() {
			v.Waiting = t.T("page.notify.waiting")
		}
		out = append(out, v)
	}
	return out
}

// token reads a link's token from the form or the query (RFC 8058 posts
// to the link itself, with the token in its query).
func linkToken(r *http.Request) string {
	if t := r.PostFormValue("t"); t != "" {
		return t
	}
	return r.URL.Query().Get("t")
}

// notifyError answers a link that does not open, or a failure.
func (s *Server) notifyError(w http.ResponseWriter, r *http.Request, t *i18n.Table, err error) {
	var ve *comment.ValidationError
	switch {
	case errors.As(err, &ve) && ve.Code == "expired_link":
		messagePage(w, http.StatusGone, t, t.T("page.comments"), t.T("page.notify.expired"))
	case errors.As(err, &ve) && ve.Code == "bad_link", errors.Is(err, comment.ErrNotFound):
		messagePage(w, http.StatusBadRequest, t, t.T("page.comments"), t.T("page.notify.bad_link"))
	default:
		s.writeHTMLError(w, r, err)
	}
}

func (s *Server) handleConfirmPage(w http.ResponseWriter, r *http.Request) {
	t := words(r, "")
	tok := linkToken(r)
	p, err := s.svc.ConfirmLink(r.Context(), tok)
	if err != nil {
		s.notifyError(w, r, t, err)
		return
	}
	v := notifyView{Title: t.T("page.notify.confirm_title"), Subs: subViews(t, p.Subs, true), Action: notify.ConfirmPath + "?" + r.URL.Query().Encode(), Token: tok}
	if len(v.Subs) == 0 {
		v.Text = t.T("page.notify.nothing")
	} else {
		// A button, not the link itself: mail scanners open links.
		v.Text, v.Button = t.T("page.notify.confirm_text"), t.T("page.notify.confirm_button")
	}
	s.writeNotifyPage(w, http.StatusOK, t, v)
}

func (s *Server) handleConfirm(w http.ResponseWriter, r *http.Request) {
	t := words(r, "")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	p, n, err := s.svc.Confirm(r.Context(), linkToken(r))
	if err != nil {
		s.notifyError(w, r, t, err)
		return
	}
	v := notifyView{Title: t.T("page.notify.confirm_title"), Done: t.T("page.notify.confirmed"), Subs: subViews(t, p.Subs, false)}
	if n == 0 && len(p.Subs) == 0 {
		v.Done, v.Text = "", t.T("page.notify.nothing")
	}
	s.writeNotifyPage(w, http.StatusOK, t, v)
}

func (s *Server) handleUnsubscribePage(w http.ResponseWriter, r *http.Request) {
	t := words(r, "")
	tok := linkToken(r)
	p, err := s.svc.UnsubscribeLink(r.Context(), tok)
	if err != nil {
		s.notifyError(w, r, t, err)
		return
	}
	v := notifyView{Title: t.T("page.notify.unsub_title"), Action: notify.UnsubscribePath + "?" + r.URL.Query().Encode(), Token: tok}
	switch {
	case p.Token.Subscription != "" && len(p.Subs) == 1:
		v.Text = t.T("page.notify.unsub_one", "title", subViews(t, p.Subs, false)[0].Title)
		v.Button = t.T("page.notify.unsub_button")
	case p.Token.Subscription == "" && len(p.Subs) > 0:
		v.Text = t.T("page.notify.unsub_all", "site", p.Site.Name)
		v.Subs = subViews(t, p.Subs, false)
		v.Button = t.T("page.notify.unsub_button")
	default:
		v.Done = t.T("page.notify.unsubscribed")
	}
	s.writeNotifyPage(w, http.StatusOK, t, v)
}

// handleUnsubscribe ends what the link names: the page's button, or a
// mail system's one-click POST (RFC 8058: body
// "List-Unsubscribe=One-Click", no cookies, no page expected).
func (s *Server) handleUnsubscribe(w http.ResponseWriter, r *http.Request) {
	t := words(r, "")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if _, _, err := s.svc.Unsubscribe(r.Context(), linkToken(r)); err != nil {
		s.notifyError(w, r, t, err)
		return
	}
	s.writeNotifyPage(w, http.StatusOK, t, notifyView{Title: t.T("page.notify.unsub_title"), Done: t.T("page.notify.unsubscribed")})
}

func (s *Server) manageView(r *http.Request, t *i18n.Table, p *service.SubscriptionPage, tok string) notifyView {
	v := notifyView{Title: t.T("page.notify.manage_title"), Subs: subViews(t, p.Subs, false), Action: notify.SubscriptionsPath + "?" + r.URL.Query().Encode(), Token: tok}
	if len(v.Subs) == 0 {
		v.Text = t.T("page.notify.manage_empty", "site", p.Site.Name)
		return v
	}
	v.Text = t.T("page.notify.manage_intro", "site", p.Site.Name)
	v.EndButton = t.T("page.notify.end")
	if len(v.Subs) > 1 {
		v.Button, v.All = t.T("page.notify.end_all"), true
	}
	return v
}

func (s *Server) handleSubscriptions(w http.ResponseWriter, r *http.Request) {
	t := words(r, "")
	tok := linkToken(r)
	p, err := s.svc.ManageLink(r.Context(), tok)
	if err != nil {
		s.notifyError(w, r, t, err)
		return
	}
	s.writeNotifyPage(w, http.StatusOK, t, s.manageView(r, t, p, tok))
}

func (s *Server) handleEndSubscription(w http.ResponseWriter, r *http.Request) {
	t := words(r, "")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	tok := linkToken(r)
	id := r.PostFormValue("id")
	if id == "" && r.PostFormValue("all") == "" {
		s.notifyError(w, r, t, comment.ErrNotFound)
		return
	}
	p, err := s.svc.EndSubscription(r.Context(), tok, id)
	if err != nil {
		s.notifyError(w, r, t, err)
		return
	}
	v := s.manageView(r, t, p, tok)
	v.Done = t.T("page.notify.ended")
	s.writeNotifyPage(w, http.StatusOK, t, v)
}

// handleDecisionsPage is the page behind the link in the emails that
// tell an author what became of their held comments: a button that
// stops them (or, once stopped, one that restarts them).
func (s *Server) handleDecisionsPage(w http.ResponseWriter, r *http.Request) {
	t := words(r, "")
	tok := linkToken(r)
	p, err := s.svc.DecisionMailLink(r.Context(), tok)
	if err != nil {
		s.notifyError(w, r, t, err)
		return
	}
	s.writeNotifyPage(w, http.StatusOK, t, decisionsView(r, t, p, tok, ""))
}

// handleDecisions stops the emails (the page's button, or a mail
// system's one-click POST, RFC 8058), or restarts them (resume=1).
func (s *Server) handleDecisions(w http.ResponseWriter, r *http.Request) {
	t := words(r, "")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	tok := linkToken(r)
	resume := r.PostFormValue("resume") == "1"
	p, err := s.svc.SetDecisionMail(r.Context(), tok, !resume)
	if err != nil {
		s.notifyError(w, r, t, err)
		return
	}
	done := t.T("page.notify.decisions_stopped", "site", p.Site.Name)
	if resume {
		done = t.T("page.notify.decisions_resumed", "site", p.Site.Name)
	}
	s.writeNotifyPage(w, http.StatusOK, t, decisionsView(r, t, p, tok, done))
}

func decisionsView(r *http.Request, t *i18n.Table, p *service.DecisionMailPage, tok, done string) notifyView {
	v := notifyView{Title: t.T("page.notify.decisions_title"), Done: done, Action: notify.DecisionsPath + "?" + r.URL.Query().Encode(), Token: tok}
	switch {
	case p.Stopped:
		if done == "" {
			v.Text = t.T("page.notify.decisions_off", "site", p.Site.Name)
		}
		v.Button, v.Resume = t.T("page.notify.decisions_resume"), true
	case done == "":
		v.Text, v.Button = t.T("page.notify.decisions_text", "site", p.Site.Name), t.T("page.notify.decisions_stop")
	}
	return v
}
