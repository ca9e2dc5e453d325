package httpapi

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"parley/internal/auth"
	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/login"
	"parley/internal/service"
	"parley/internal/spam"
	"parley/internal/web"
	"parley/internal/widget"
)

// Reader log-in. The widget runs on the article's site and Parley on
// another, so a browser that blocks third-party cookies would never send
// Parley a cookie from inside the article. The widget therefore keeps its
// session token in the article page's own storage and sends it as a
// bearer token; the provider's window and the redirect flow are top-level
// pages on Parley, where Parley's cookies are first-party.
//
//	GET  /auth/{provider}/start?site=&return=&mode=popup|redirect
//	GET  /auth/{provider}/callback          the provider sends the reader here
//	GET  /auth/{provider}/icon              a generic provider's icon, served by Parley
//	POST /auth/redeem {code}                hand-off code -> {token, user}
//	POST /auth/logout, /auth/logout-all     bearer token (or the no-JS form's cookie)
//	GET  /auth/email?token=                 the emailed link: a page with a button
//	POST /auth/email                        ... which logs in
//	GET  /api/v1/sites/{site}/me            who the bearer is
//	POST /api/v1/sites/{site}/auth/email    {email, return}: mail a log-in link
//	POST /api/v1/sites/{site}/auth/sso      {token}: a site's signed token -> {token, user}
//	GET  /sites/{site}/login?return=        every log-in choice, for readers without JavaScript
//	POST /sites/{site}/login/email          the email form of that page

func (s *Server) authRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /auth/{provider}/start", s.handleLoginStart)
	mux.HandleFunc("GET /auth/{provider}/callback", s.handleLoginCallback)
	mux.HandleFunc("GET /auth/{provider}/icon", s.handleProviderIcon)
	mux.HandleFunc("POST /auth/redeem", s.handleRedeem)
	mux.HandleFunc("POST /auth/logout", s.handleLogout)
	mux.HandleFunc("POST /auth/logout-all", s.handleLogout)
	mux.HandleFunc("OPTIONS /auth/", s.handleAuthPreflight)
	mux.HandleFunc("GET /auth/email", s.handleEmailLinkPage)
	mux.HandleFunc("POST /auth/email", s.handleEmailLinkConfirm)
	mux.HandleFunc("GET /api/v1/sites/{site}/me", s.handleMe)
	mux.HandleFunc("POST /api/v1/sites/{site}/auth/email", s.handleSendLink)
	mux.HandleFunc("POST /api/v1/sites/{site}/auth/sso", s.handleSSO)
	mux.HandleFunc("GET /sites/{site}/login", s.handleLoginPage)
	mux.HandleFunc("POST /sites/{site}/login/email", s.handleLoginPageEmail)
}

// loginJSON is the part of a thread read that draws the log-in choice.
type loginJSON struct {
	Guests    comment.GuestPolicy `json:"guests"`
	Providers []providerJSON      `json:"providers"`
	Email     bool                `json:"email"`
	SSO       bool                `json:"sso"`
}

type providerJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Icon string `json:"icon"`
}

type userJSON struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Account  string `json:"account"`
	Avatar   string `json:"avatar"`
	Email    string `json:"email,omitempty"`
}

type sessionJSON struct {
	Token string   `json:"token"`
	User  userJSON `json:"user"`
}

func guestPolicy(site *comment.Site) comment.GuestPolicy {
	if site.Guests == "" {
		return comment.GuestsNameEmail
	}
	return site.Guests
}

// loginChoices describes a site's log-in choice for the widget.
func (s *Server) loginChoices(base string, site *comment.Site) loginJSON {
	out := loginJSON{Guests: guestPolicy(site), Providers: []providerJSON{}, SSO: site.SSOSecret != ""}
	if s.cfg.Login == nil {
		return out
	}
	for _, c := range s.cfg.Login.Choices(site) {
		if c.ID == auth.EmailProvider {
			out.Email = true
			continue
		}
		out.Providers = append(out.Providers, providerJSON{ID: c.ID, Name: c.Name, Icon: s.providerIcon(base, c)})
	}
	return out
}

// providerIcon is the address of a provider's icon on Parley.
func (s *Server) providerIcon(base string, c login.Choice) string {
	if c.IconURL != "" {
		return base + "/auth/" + url.PathEscape(c.ID) + "/icon"
	}
	name := c.ID
	if c.ID == auth.EmailProvider {
		name = "email"
	}
	if p, ok := widget.IconPath(name); ok {
		return base + p
	}
	p, _ := widget.IconPath("openid")
	return base + p
}

func (s *Server) userJSON(r *http.Request, sess *auth.Session) userJSON {
	a := login.Author(sess)
	u := userJSON{Name: a.Name, Provider: sess.Identity.Provider, Account: s.cfg.Login.Account(r.Context(), sess),
		Avatar: s.avatarURL(s.baseURL(r), a)}
	if sess.Identity.Email != "" {
		u.Email = sess.Identity.Email // to the reader themselves only
	}
	return u
}

// avatarURL is where Parley serves an author's avatar: a cached provider
// picture for a logged-in reader, an identicon for a guest.
func (s *Server) avatarURL(base string, a comment.Author) string {
	return base + "/avatars/" + s.svc.AvatarFile(a)
}

// session returns the reader's session on site when the request carries
// one. A request that carries a token that is no longer good (or is not
// good on this site) gets 401, so the widget forgets it; ok is false and
// the answer is written.
func (s *Server) session(w http.ResponseWriter, r *http.Request, site *comment.Site) (sess *auth.Session, token string, ok bool) {
	if s.cfg.Login == nil {
		if auth.BearerToken(r) != "" {
			s.writeNotLoggedIn(w, r)
			return nil, "", false
		}
		return nil, "", true
	}
	sess, token, err := s.cfg.Login.SessionFor(r, site)
	switch {
	case err == nil:
		return sess, token, true
	case errors.Is(err, auth.ErrNoSession):
		if auth.BearerToken(r) != "" {
			s.writeNotLoggedIn(w, r)
			return nil, "", false
		}
		return nil, "", true // a stale cookie: a guest
	}
	s.writeError(w, r, err)
	return nil, "", false
}

func (s *Server) writeNotLoggedIn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("WWW-Authenticate", `Bearer realm="parley"`)
	body := errorBody{Code: "not_logged_in", Message: "You have been logged out. Please log in again."}
	body.Message = errorText(words(r, ""), body)
	writeJSON(w, http.StatusUnauthorized, apiError{Error: body})
}

func (s *Server) noLogin(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Login == nil {
		s.writeErrorStatus(w, r, http.StatusNotFound, &comment.ValidationError{Code: "no_login", Message: "This Parley server has no log-in configured."})
		return true
	}
	return false
}

// handleAuthPreflight lets any page call the /auth/ endpoints with a
// bearer token: they act only on what the token or code itself names.
func (s *Server) handleAuthPreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Origin")
	if o := r.Header.Get("Origin"); o != "" {
		h.Set("Access-Control-Allow-Origin", o)
		h.Set("Access-Control-Allow-Methods", "POST")
		h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
		h.Set("Access-Control-Max-Age", "86400")
	}
	w.WriteHeader(http.StatusNoContent)
}

func anyOrigin(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" {
		w.Header().Set("Access-Control-Allow-Origin", o)
		w.Header().Add("Vary", "Origin")
	}
}

func (s *Server) handleLoginStart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	site, err := s.svc.Site(r.Context(), q.Get("site"))
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	t := words(r, "")
	if s.cfg.Login == nil {
		s.loginPage(w, t, http.StatusNotFound, "login", t.T("page.no_login"))
		return
	}
	mode := auth.Mode(q.Get("mode"))
	base := s.baseURL(r)
	to, err := s.cfg.Login.Begin(w, site, auth.BeginRequest{
		Provider:    r.PathValue("provider"),
		ReturnTo:    q.Get("return"),
		Mode:        mode,
		Bind:        q.Get("bind"),
		CallbackURL: base + "/auth/" + url.PathEscape(r.PathValue("provider")) + "/callback",
		Lang:        q.Get("lang"),
	})
	switch {
	case errors.Is(err, login.ErrNotOffered) || errors.Is(err, auth.ErrUnknownProvider):
		s.loginPage(w, t, http.StatusNotFound, "login", t.T("page.not_offered"))
		return
	case errors.Is(err, auth.ErrBadReturn):
		s.loginPage(w, t, http.StatusBadRequest, "login", t.T("page.bad_return"))
		return
	case err != nil:
		s.loginPage(w, t, http.StatusBadRequest, "login", t.T("page.bad_request"))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusFound)
}

// loginErrorMessage tells the reader what went wrong, in their terms.
func loginErrorMessage(t *i18n.Table, err error) string {
	key := "page.our_side"
	switch {
	case errors.Is(err, auth.ErrDenied):
		key = "page.cancelled"
	case errors.Is(err, auth.ErrExpired):
		key = "page.too_long"
	case errors.Is(err, auth.ErrNoFlow), errors.Is(err, auth.ErrState), errors.Is(err, auth.ErrReplay):
		key = "page.other_browser"
	case errors.Is(err, auth.ErrProvider), errors.Is(err, auth.ErrIDToken):
		key = "page.not_confirmed"
	case errors.Is(err, auth.ErrBadLink):
		key = "page.bad_link"
	case errors.Is(err, auth.ErrBadReturn):
		key = "page.bad_return"
	}
	return t.T(key)
}

func (s *Server) handleLoginCallback(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Login == nil {
		http.NotFound(w, r)
		return
	}
	st, err := s.cfg.Login.Finish(w, r)
	if st != nil && st.Result != nil && st.Result.Mode == auth.ModeStaff {
		// A staff member logging in to the desk (package admin).
		if s.cfg.StaffLogin == nil {
			http.NotFound(w, r)
			return
		}
		s.cfg.StaffLogin(w, r, st.Result.Identity, err)
		return
	}
	s.finishLogin(w, r, st, err)
}

// finishLogin answers the end of a log-in in the mode it began in: the
// popup posts a hand-off code to the page that opened it and closes; a
// redirect sets the cookie (for the form without JavaScript) and goes back
// to the article with the code in the fragment, where the widget redeems
// it. The session token itself never appears in a URL.
func (s *Server) finishLogin(w http.ResponseWriter, r *http.Request, st *login.Started, err error) {
	w.Header().Set("Cache-Control", "no-store")
	// Parley's words here are in the language the log-in began in.
	t := words(r, "")
	if st != nil && st.Result != nil {
		t = words(r, st.Result.Lang)
	}
	if st == nil || st.Result == nil || errors.Is(err, auth.ErrBadReturn) {
		// No page to go back to, or one the site no longer allows (its
		// origins changed while the reader was logging in).
		s.log.Info("log-in refused", "err", err)
		s.loginPage(w, t, http.StatusBadRequest, "login", loginErrorMessage(t, err))
		return
	}
	res := st.Result
	var code, message string
	if err == nil && res.Bind != "" {
		// For the widget that started it, and no other browser's.
		code, err = s.cfg.Login.Handoff(st.Token, res.Bind)
	}
	if err != nil {
		if !errors.Is(err, auth.ErrDenied) {
			s.log.Warn("log-in failed", "provider", res.Provider, "err", err)
		}
		message = loginErrorMessage(t, err)
	}
	if res.Mode == auth.ModePopup {
		s.popupResult(w, t, res.ReturnTo, code, message)
		return
	}
	if message != "" && res.Bind == "" {
		// Without JavaScript nothing would show a message on the page.
		s.loginPage(w, t, http.StatusBadRequest, "login", message)
		return
	}
	if st.Session != nil {
		// The form without JavaScript goes by this cookie.
		http.SetCookie(w, s.cfg.Login.Cookie(st.Token, st.Session))
	}
	back, _ := url.Parse(res.ReturnTo) // checked by the flow when it began and ended
	back.Fragment, back.RawFragment = "", ""
	to := back.String()
	switch {
	case message != "":
		to += "#parley-login-error=" + url.QueryEscape(message)
	case code != "":
		to += "#parley-login=" + url.QueryEscape(code)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

var popupTmpl = template.Must(template.New("popup").Parse(`<!doctype html>
<html lang="{{.Lang}}" dir="{{.Dir}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:30rem;margin:2rem auto;padding:0 1rem}</style></head>
<body><p>{{.Message}}</p>
<script nonce="{{.Nonce}}">
(function () {
  var o = window.opener;
  if (o) {
    o.postMessage({{.Data}}, {{.Origin}});
    setTimeout(function () { window.close(); }, {{if .Code}}0{{else}}4000{{end}});
  }{{if .Code}} else {
    // The provider's pages cut this window off from the article (a
    // Cross-Origin-Opener-Policy): log in here the redirect way instead.
    // The article shares its storage with the tab that opened this window,
    // which finds the session there on its next load.
    location.replace({{.Back}});
  }{{end}}
})();
</script></body></html>
`))

// popupResult ends a popup log-in: the window hands its result to the
// page that opened it, addressed to that page's origin only, and closes.
func (s *Server) popupResult(w http.ResponseWriter, t *i18n.Table, returnTo, code, message string) {
	nonce := make([]byte, 16)
	rand.Read(nonce)
	n := hex.EncodeToString(nonce)
	data := map[string]string{"parley": "login"}
	if message != "" {
		data["error"] = message
	} else {
		data["code"] = code
	}
	var b bytes.Buffer
	back, _ := url.Parse(returnTo) // checked by the flow
	back.Fragment, back.RawFragment = "", ""
	title, text := t.T("page.failed_title"), message
	if message == "" {
		title, text = t.T("page.logged_in_title"), t.T("page.logged_in")
	}
	popupTmpl.Execute(&b, map[string]any{"Lang": t.Lang(), "Dir": t.Dir(), "Title": title, "Message": text,
		"Code": code, "Nonce": n, "Data": data,
		"Origin": service.OriginOf(returnTo), "Back": back.String() + "#parley-login=" + url.QueryEscape(code)})
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-"+n+"'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.Write(b.Bytes())
}

func (s *Server) handleProviderIcon(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Login == nil {
		http.NotFound(w, r)
		return
	}
	data, typ, err := s.cfg.Login.Icon(r.Context(), r.PathValue("provider"))
	if errors.Is(err, comment.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		// Readers see the generic icon rather than a broken image; the
		// operator finds why in the log (tried again every few minutes).
		s.log.Warn("could not fetch a provider icon; showing the generic one", "provider", r.PathValue("provider"), "err", err)
		p, _ := widget.IconPath("openid")
		w.Header().Set("Cache-Control", "public, max-age=600")
		http.Redirect(w, r, s.baseURL(r)+p, http.StatusFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", typ)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=86400")
	w.Write(data)
}

func (s *Server) handleRedeem(w http.ResponseWriter, r *http.Request) {
	anyOrigin(w, r)
	if s.noLogin(w, r) {
		return
	}
	var in struct {
		Code string `json:"code"`
		Bind string `json:"bind"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	tok, sess, err := s.cfg.Login.Redeem(r.Context(), in.Code, in.Bind)
	switch {
	case errors.Is(err, auth.ErrExpired) || errors.Is(err, auth.ErrReplay):
		s.writeErrorStatus(w, r, http.StatusGone, &comment.ValidationError{Code: "login_expired", Message: "This log-in has expired or was already used. Please log in again."})
		return
	case errors.Is(err, auth.ErrNoSession):
		s.writeErrorStatus(w, r, http.StatusBadRequest, &comment.ValidationError{Code: "bad_code", Message: "This log-in is not valid. Please log in again."})
		return
	case err != nil:
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, sessionJSON{Token: tok, User: s.userJSON(r, sess)})
}

// handleLogout ends the bearer's session (logout) or every session of the
// bearer's identity (logout-all). A form without JavaScript posts here
// with the cookie and a return address on the site.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	anyOrigin(w, r)
	if s.noLogin(w, r) {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	form := auth.BearerToken(r) == ""
	if form {
		// A cookie is sent with cross-site posts too: only the site's own
		// pages (or Parley's) may log a reader out this way.
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		r.ParseForm()
		site, err := s.svc.Site(r.Context(), r.FormValue("site"))
		if err != nil || !s.sameSiteForm(r, site) {
			s.writeHTMLError(w, r, comment.ErrForbidden)
			return
		}
	}
	sess, tok, err := s.cfg.Login.Session(r)
	if err != nil && !errors.Is(err, auth.ErrNoSession) {
		s.writeError(w, r, err)
		return
	}
	n := 0
	if sess != nil {
		if strings.HasSuffix(r.URL.Path, "-all") {
			n, err = s.cfg.Login.LogoutAll(r.Context(), sess)
		} else {
			n, err = 1, s.cfg.Login.Logout(r.Context(), tok)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if form {
		http.SetCookie(w, s.cfg.Login.ClearCookie())
		back := r.PostForm.Get("return")
		site, err := s.svc.Site(r.Context(), r.FormValue("site"))
		if err != nil || !s.returnAllowed(site, back) {
			t := words(r, "")
			s.loginPage(w, t, http.StatusOK, "page.logged_out_title", t.T("page.logged_out"))
			return
		}
		http.Redirect(w, r, back+"#respond", http.StatusSeeOther)
		return
	}
	if strings.HasSuffix(r.URL.Path, "-all") {
		writeJSON(w, http.StatusOK, map[string]int{"sessions": n})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	site := s.site(w, r)
	if site == nil {
		return
	}
	sess, _, ok := s.session(w, r, site)
	if !ok {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if sess == nil {
		s.writeNotLoggedIn(w, r)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": s.userJSON(r, sess)})
}

func (s *Server) handleSendLink(w http.ResponseWriter, r *http.Request) {
	site := s.site(w, r)
	if site == nil || s.noLogin(w, r) {
		return
	}
	var in struct {
		Email  string `json:"email"`
		Return string `json:"return"`
		Bind   string `json:"bind"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	// The email speaks the widget's language, which it sends as
	// Accept-Language.
	if err := s.sendLink(r, site, auth.LinkRequest{Email: in.Email, ReturnTo: in.Return, Bind: in.Bind, Lang: language(r)}); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusAccepted, map[string]bool{"sent": true})
}

// sendLink mails a log-in link and says what went wrong in a reader's words.
func (s *Server) sendLink(r *http.Request, site *comment.Site, link auth.LinkRequest) error {
	email := link.Email
	err := s.cfg.Login.SendLink(r.Context(), site, link, web.ClientIP(r))
	switch {
	case errors.Is(err, auth.ErrBadBind):
		return comment.Invalid("bind", "This log-in request is not valid. Please reload the page.")
	case errors.Is(err, auth.ErrBadEmail) && strings.TrimSpace(email) == "":
		return comment.Missing("email", "Please enter your email address.")
	case errors.Is(err, auth.ErrBadEmail):
		return comment.Invalid("email", "That email address looks incomplete.")
	case errors.Is(err, auth.ErrBadReturn):
		return comment.Invalid("return", "That page is not one of this site's.")
	case errors.Is(err, login.ErrNotOffered):
		return &comment.ValidationError{Code: "not_offered", Message: "This site does not offer log-in by email."}
	case isRateLimit(err):
		return linkLimitError{err}
	case err != nil:
		s.log.Warn("could not send a log-in link", "site", site.ID, "err", err)
		return comment.ErrUnavailable
	}
	return nil
}

// linkLimitError is a log-in link refused for coming too often; it wraps
// the *spam.RateLimitError, whose RetryAfter the answer carries.
type linkLimitError struct{ err error }

func (e linkLimitError) Error() string { return "too many log-in links: " + e.err.Error() }
func (e linkLimitError) Unwrap() error { return e.err }

func (s *Server) handleSSO(w http.ResponseWriter, r *http.Request) {
	site := s.site(w, r)
	if site == nil || s.noLogin(w, r) {
		return
	}
	var in struct {
		Token string `json:"token"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.cfg.Login.SSO(r.Context(), site, in.Token)
	switch {
	case errors.Is(err, login.ErrNotOffered):
		s.writeErrorStatus(w, r, http.StatusNotFound, &comment.ValidationError{Code: "no_sso", Message: "This site has no SSO secret configured."})
		return
	case errors.Is(err, auth.ErrSSOExpired):
		s.writeErrorStatus(w, r, http.StatusUnauthorized, &comment.ValidationError{Code: "sso_expired", Message: "The site's log-in token has expired. Reload the page."})
		return
	case errors.Is(err, auth.ErrSSOReplay):
		s.writeErrorStatus(w, r, http.StatusUnauthorized, &comment.ValidationError{Code: "sso_used", Message: "The site's log-in token was already used. Reload the page."})
		return
	case err != nil && isSSOError(err):
		s.writeErrorStatus(w, r, http.StatusUnauthorized, &comment.ValidationError{Code: "sso_invalid", Message: "The site's log-in token is not valid: " + err.Error()})
		return
	case err != nil:
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, sessionJSON{Token: st.Token, User: s.userJSON(r, st.Session)})
}

func isSSOError(err error) bool {
	for _, e := range []error{auth.ErrSSOMalformed, auth.ErrSSOSignature, auth.ErrSSOTooLong, auth.ErrSSOClaims, auth.ErrSSONoSecret} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

var emailLinkTmpl = template.Must(template.New("link").Parse(`<h1>{{.T.T "page.login_title"}}</h1>
<form method="post" action="{{.Action}}">
<input type="hidden" name="token" value="{{.Token}}">
<input type="hidden" name="check" value="{{.Check}}">
<p>{{.T.T "page.link_press"}}</p>
<p><button type="submit">{{.T.T "login"}}</button></p>
</form>`))

// handleEmailLinkPage is where an emailed link lands. Mail scanners open
// links before readers do, so the link itself changes nothing: the reader
// presses a button that posts the token.
func (s *Server) handleEmailLinkPage(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Login == nil || !s.cfg.Login.Email() {
		http.NotFound(w, r)
		return
	}
	var b bytes.Buffer
	t := words(r, "") // the link carries the language it was asked for in
	action := s.baseURL(r) + "/auth/email?" + url.Values{"lang": {t.Lang()}}.Encode()
	token := r.URL.Query().Get("token")
	cookie, check := s.cfg.Login.LinkForm(token)
	http.SetCookie(w, cookie)
	emailLinkTmpl.Execute(&b, map[string]any{"T": t, "Action": action, "Token": token, "Check": check})
	w.Header().Set("Cache-Control", "no-store")
	// The address holds the token: no other site may see it, but the
	// button's post to Parley itself must say where it comes from (with
	// no-referrer browsers send "Origin: null", which looks like any
	// page's).
	w.Header().Set("Referrer-Policy", "same-origin")
	writePage(w, http.StatusOK, t.Lang(), t.T("login"), template.HTML(b.String()))
}

func (s *Server) handleEmailLinkConfirm(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Login == nil || !s.cfg.Login.Email() {
		http.NotFound(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	// Only the link's own page may use it: another site posting someone's
	// link would log this browser in as them. A browser that hides where
	// the post came from ("Origin: null": a privacy setting, an old
	// referrer policy) is believed if the form carries the check the page
	// gave this browser.
	token := r.PostForm.Get("token")
	hidden := r.Header.Get("Origin") == "null" && service.OriginOf(r.Header.Get("Referer")) == ""
	if !s.parleyForm(r) && !(hidden && s.cfg.Login.LinkFormOK(r, token, r.PostForm.Get("check"))) {
		s.writeHTMLError(w, r, comment.ErrForbidden)
		return
	}
	w.Header().Set("Referrer-Policy", "same-origin")
	http.SetCookie(w, &http.Cookie{Name: login.LinkFormCookie, Path: "/auth/email", MaxAge: -1})
	st, err := s.cfg.Login.ConsumeLink(r.Context(), token)
	if st != nil && st.Result != nil && errors.Is(err, auth.ErrExpired) {
		t := words(r, st.Result.Lang)
		s.loginPage(w, t, http.StatusGone, "login", t.T("page.link_expired"))
		return
	}
	if st != nil && st.Result != nil && errors.Is(err, auth.ErrReplay) {
		t := words(r, st.Result.Lang)
		s.loginPage(w, t, http.StatusGone, "login", t.T("page.link_used"))
		return
	}
	s.finishLogin(w, r, st, err)
}

// loginPage is messagePage for the log-in: the title is a key of t.
func (s *Server) loginPage(w http.ResponseWriter, t *i18n.Table, status int, titleKey, message string) {
	messagePage(w, status, t, t.T(titleKey), message)
}

var loginPageTmpl = template.Must(template.New("login").Parse(`<h1>{{.T.T "page.login_to" "site" .Site}}</h1>
{{if .Providers}}<ul>{{range .Providers}}<li><a href="{{.URL}}"><img src="{{.Icon}}" alt="" width="20" height="20"> {{$.T.T "login.with" "name" .Name}}</a></li>{{end}}</ul>{{end}}
{{if .Email}}<form method="post" action="{{.EmailAction}}">
<input type="hidden" name="return" value="{{.Return}}">
<p><label for="email">{{.T.T "form.email"}}</label><br><input id="email" name="email" type="email" autocomplete="email" dir="ltr" required value="{{.Address}}"></p>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<p><button type="submit">{{.T.T "page.send_link"}}</button></p></form>{{end}}
{{if .Sent}}<p role="status">{{.T.T "login.sent" "email" .Address}}</p>{{end}}
{{with .LogoutAll}}<form method="post" action="{{.}}"><input type="hidden" name="return" value="{{$.Return}}">
<p>{{$.T.T "page.logged_in_as" "name" $.Who}} <button type="submit">{{$.T.T "logout.all"}}</button></p>
<p>{{$.T.T "page.logout_all_hint"}}</p></form>{{end}}
<p><a href="{{.Article}}">{{.T.T "reply.back"}}</a></p>`))

// handleLoginPage lists a site's log-in choices on Parley itself, for
// readers without JavaScript.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	s.renderLoginPage(w, r, http.StatusOK, "", "", false)
}

func (s *Server) handleLoginPageEmail(w http.ResponseWriter, r *http.Request) {
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
	if !s.sameSiteForm(r, site) {
		s.writeHTMLError(w, r, comment.ErrForbidden)
		return
	}
	if s.cfg.Login == nil {
		http.NotFound(w, r)
		return
	}
	email := r.PostForm.Get("email")
	link := auth.LinkRequest{Email: email, ReturnTo: r.PostForm.Get("return"), Lang: language(r)}
	if err := s.sendLink(r, site, link); err != nil {
		status, body := errorStatus(err)
		if status >= 500 {
			s.writeHTMLError(w, r, err)
			return
		}
		s.renderLoginPage(w, r, status, email, errorText(words(r, ""), body), false)
		return
	}
	s.renderLoginPage(w, r, http.StatusOK, email, "", true)
}

func (s *Server) renderLoginPage(w http.ResponseWriter, r *http.Request, status int, address, problem string, sent bool) {
	site, err := s.svc.Site(r.Context(), r.PathValue("site"))
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	ret := r.URL.Query().Get("return")
	if r.Method == http.MethodPost {
		ret = r.PostForm.Get("return")
	}
	t := words(r, "")
	if !s.returnAllowed(site, ret) {
		s.loginPage(w, t, http.StatusBadRequest, "login", t.T("page.bad_return"))
		return
	}
	base := s.baseURL(r)
	lv := s.loginView(base, site, ret, t.Lang())
	data := map[string]any{"T": t, "Site": site.Name, "Return": ret, "Article": articleOf(base, site, ret), "Address": address, "Error": problem, "Sent": sent,
		"EmailAction": base + "/sites/" + url.PathEscape(site.ID) + "/login/email?" + url.Values{"lang": {t.Lang()}}.Encode(),
		"Email":       lv != nil && lv.EmailURL != ""}
	if lv != nil {
		data["Providers"] = lv.Providers
	}
	if s.cfg.Login != nil {
		// Change, for a reader logged in on this browser: log in another
		// way, or end every session of this account.
		if sess, _, err := s.cfg.Login.SessionFor(r, site); err == nil {
			data["Who"] = s.userJSON(r, sess).Name
			data["LogoutAll"] = base + "/auth/logout-all?" + url.Values{"site": {site.ID}, "lang": {t.Lang()}}.Encode()
		}
	}
	var b bytes.Buffer
	loginPageTmpl.Execute(&b, data)
	w.Header().Set("Cache-Control", "no-store")
	writePage(w, status, t.Lang(), t.T("login"), template.HTML(b.String()))
}

// articleOf is the article a log-in's return address is about: the
// address itself, or the article of Parley's reply page for the site.
func articleOf(base string, site *comment.Site, ret string) string {
	q, ok := strings.CutPrefix(ret, base+login.ReplyPath(site.ID)+"?")
	if !ok {
		return ret
	}
	v, err := url.ParseQuery(q)
	if a := v.Get("url"); err == nil && service.OnSite(site, a) {
		return a
	}
	return ret
}

// loginView is the log-in choice of the form without JavaScript; every
// link is a redirect-mode log-in that comes back to back, with Parley's
// pages on the way in lang.
func (s *Server) loginView(base string, site *comment.Site, back, lang string) *widget.LoginView {
	lj := s.loginChoices(base, site)
	v := &widget.LoginView{Guests: string(lj.Guests)}
	for _, p := range lj.Providers {
		q := url.Values{"site": {site.ID}, "mode": {"redirect"}, "return": {back}, "lang": {lang}}
		v.Providers = append(v.Providers, widget.ProviderLink{ID: p.ID, Name: p.Name, Icon: p.Icon,
			URL: base + "/auth/" + url.PathEscape(p.ID) + "/start?" + q.Encode()})
	}
	if lj.Email {
		v.EmailURL = s.loginPageURL(base, site, back, lang)
	}
	return v
}

// loginPageURL is Parley's page of log-in choices for readers without
// JavaScript, coming back to back.
func (s *Server) loginPageURL(base string, site *comment.Site, back, lang string) string {
	return base + "/sites/" + url.PathEscape(site.ID) + "/login?" + url.Values{"return": {back}, "lang": {lang}}.Encode()
}

// loginReturn is where a log-in started from the form without JavaScript
// comes back to: Parley's reply page for the article, which shows the
// reader as logged in (the article's copy of the form was rendered by the
// site's server and cannot), or the article itself when Parley has no
// public address or the article is on Parley itself (the demo). The
// reply page speaks lang, as the thread did.
func (s *Server) loginReturn(base string, site *comment.Site, t *service.Thread, pageURL, title, lang string) string {
	if s.cfg.Login != nil && !strings.EqualFold(service.OriginOf(pageURL), service.OriginOf(base)) {
		if u := s.cfg.Login.ReplyURL(site.ID, t.Key, pageURL, title); u != "" && service.OnSite(site, pageURL) {
			return u + "&" + url.Values{"lang": {lang}}.Encode()
		}
	}
	return pageURL
}

// returnAllowed reports whether a reader may be sent back to u after
// logging in or out: a page of the site, or Parley's reply page for one.
func (s *Server) returnAllowed(site *comment.Site, u string) bool {
	if s.cfg.Login != nil {
		return s.cfg.Login.ReturnOK(site.ID, u)
	}
	return service.OnSite(site, u)
}

// userView is the logged-in reader of the form without JavaScript.
func (s *Server) userView(r *http.Request, site *comment.Site, sess *auth.Session, back string) *widget.UserView {
	u := s.userJSON(r, sess)
	base := s.baseURL(r)
	return &widget.UserView{Name: u.Name, Avatar: u.Avatar, Account: u.Account, Email: u.Email, Provider: u.Provider,
		LogoutAction: base + "/auth/logout?" + url.Values{"site": {site.ID}, "lang": {language(r)}}.Encode(),
		ChangeURL:    s.loginPageURL(base, site, back, language(r))}
}

func isRateLimit(err error) bool {
	var rl *spam.RateLimitError
	return errors.As(err, &rl)
}

// asAuthor makes a draft the logged-in reader's: name, email and profile
// come from the log-in, whatever the form said. A reader logged in by
// email link names themselves (and their website) in the form, as a guest
// does: the address they proved is not a name to publish.
func asAuthor(d *comment.Draft, sess *auth.Session) {
	a := login.Author(sess)
	d.Identity = a.Identity
	if sess.Identity.Provider == auth.EmailProvider {
		d.Email, _ = auth.NormalizeEmail(a.Email)
		d.EmailVerified = d.Email != ""
		d.NamesSelf = true
		return
	}
	// What a provider says is not the reader's typing: anything the
	// comment rules would refuse is cleaned or left out rather than shown
	// to the reader as their mistake.
	d.Name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, a.Name)
	if len([]rune(d.Name)) > comment.MaxNameLen {
		d.Name = string([]rune(d.Name)[:comment.MaxNameLen])
	}
	d.Email, _ = auth.NormalizeEmail(a.Email)
	d.EmailVerified = sess.Identity.EmailVerified && d.Email != ""
	d.Website = ""
	if o := service.OriginOf(a.Website); o != "" && len(a.Website) <= comment.MaxWebsiteLen && !strings.ContainsAny(a.Website, " \t\r\n\"'<>`") {
		d.Website = a.Website
	}
}
