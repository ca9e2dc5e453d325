package admin

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"parley/internal/auth"
	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/service"
	"parley/internal/staff"
)

// Cookies of the desk. The session cookie is HttpOnly and SameSite=Strict:
// no other site can make a browser send it, and no script can read it.
const (
	sessionCookie = "parley_desk"
	loginCookie   = "parley_desk_login" // the log-in form's double-submit value
	flashCookie   = "parley_desk_flash"
	langCookie    = "parley_desk_lang"
)

// deskReq is one request of a logged-in staff member.
type deskReq struct {
	member  *staff.Member
	session *staff.Session
	actor   service.Actor
	t       *i18n.Table
	csrf    string
}

// desk wraps a handler for logged-in staff: it finds the session, checks
// the CSRF token of every change, and sends everyone else to log in.
func (s *Server) desk(h func(http.ResponseWriter, *http.Request, *deskReq)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t := s.lang(w, r)
		c, err := r.Cookie(sessionCookie)
		var m *staff.Member
		var sess *staff.Session
		if err == nil {
			m, sess, err = s.svc.StaffSession(r.Context(), c.Value)
		}
		if err != nil {
			if !errors.Is(err, comment.ErrNotFound) && !errors.Is(err, http.ErrNoCookie) {
				s.fail(w, r, t, err)
				return
			}
			if c != nil {
				http.SetCookie(w, s.cookie(sessionCookie, "", -1))
			}
			if wantsJSON(r) {
				writeJSON(w, http.StatusUnauthorized, apiError("not_logged_in", t.T("error.session")))
				return
			}
			next := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				// A form sent after the session ended: say so on the
				// log-in page, and come back to the page it was on.
				s.setFlash(w, flash{Key: "flash.session_expired"})
				next = s.refererPath(r)
			}
			http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		d := &deskReq{member: m, session: sess, actor: service.MemberActor(m), t: t, csrf: s.svc.DeskCSRF(sess.Hash)}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !s.sameOrigin(r) || !s.svc.CheckDeskCSRF(sess.Hash, csrfOf(r)) {
				s.stale(w, r, t)
				return
			}
		}
		h(w, r, d)
	}
}

// csrfOf returns the CSRF token a request carries: the X-Parley-CSRF
// header of the desk's script, or the csrf field of a form.
func csrfOf(r *http.Request) string {
	if v := r.Header.Get("X-Parley-CSRF"); v != "" {
		return v
	}
	return r.PostFormValue("csrf")
}

// sameOrigin reports whether a change comes from the desk's own pages:
// browsers send Origin with every POST, and it must be Parley's.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		// Browsers send Origin on every POST; programs that do not send
		// it are not browsers, and CSRF is an attack on browsers.
		return true
	}
	return o == s.origin(r)
}

// origin is the desk's own origin.
func (s *Server) origin(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		if u, err := url.Parse(s.cfg.PublicURL); err == nil {
			return u.Scheme + "://" + u.Host
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// stale answers a form whose token does not match: a page left open
// across a log-out, or a forgery. Nothing changed.
func (s *Server) stale(w http.ResponseWriter, r *http.Request, t *i18n.Table) {
	if wantsJSON(r) {
		writeJSON(w, http.StatusForbidden, apiError("stale_form", t.T("error.stale")))
		return
	}
	s.setFlash(w, flash{Key: "error.stale", Error: true})
	http.Redirect(w, r, s.refererPath(r), http.StatusSeeOther)
}

// refererPath returns the desk page a form was sent from, or /admin/.
func (s *Server) refererPath(r *http.Request) string {
	if u, err := url.Parse(r.Referer()); err == nil && u.Host == r.Host && safeNext(u.RequestURI()) {
		return u.RequestURI()
	}
	return "/admin/"
}

// safeNext reports whether a return address is a desk page (not another
// site: "//evil.example" and "/\evil.example" are other sites).
func safeNext(p string) bool {
	return strings.HasPrefix(p, "/admin/") && !strings.HasPrefix(p, "//") && !strings.ContainsAny(p, "\\\r\n")
}

// cookie makes one of the desk's cookies; maxAge < 0 deletes it.
func (s *Server) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/admin/", MaxAge: maxAge, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode}
}

// lang picks the desk's language: a choice made with ?lang= (kept in a
// cookie), else the browser's.
func (s *Server) lang(w http.ResponseWriter, r *http.Request) *i18n.Table {
	if l := r.URL.Query().Get("lang"); l != "" {
		t := i18n.Desk(l)
		http.SetCookie(w, s.cookie(langCookie, t.Lang(), 365*24*3600))
		return t
	}
	if c, err := r.Cookie(langCookie); err == nil {
		return i18n.Desk(c.Value)
	}
	return i18n.Desk(i18n.Match(r.Header.Get("Accept-Language")))
}

// handleLoginPage shows the log-in form.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	t := s.lang(w, r)
	if c, err := r.Cookie(sessionCookie); err == nil {
		if _, _, err := s.svc.StaffSession(r.Context(), c.Value); err == nil {
			http.Redirect(w, r, s.next(r), http.StatusSeeOther)
			return
		}
	}
	s.renderLogin(w, r, t, http.StatusOK, "", r.URL.Query().Get("email"))
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, t *i18n.Table, status int, problem, email string) {
	nonce := ""
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) >= 22 && len(c.Value) <= 64 {
		nonce = c.Value
	} else {
		b := make([]byte, 18)
		rand.Read(b)
		nonce = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, s.cookie(loginCookie, nonce, 24*3600))
	}
	p := s.newPage(w, r, t, nil)
	p.Title = t.T("login.title")
	p.Body = loginBody{Token: s.svc.LoginFormToken(nonce), Next: s.next(r), Email: email, Problem: problem, Providers: s.cfg.Providers}
	s.render(w, status, "login", p)
}

type loginBody struct {
	Token, Next, Email, Problem string
	Providers                   []Provider
}

// next is where a log-in goes on to: a desk page given in ?next=, or the
// desk's home.
func (s *Server) next(r *http.Request) string {
	n := r.FormValue("next")
	if safeNext(n) && !strings.HasPrefix(n, "/admin/login") {
		return n
	}
	return "/admin/"
}

// Log-in attempt limits: a person who mistypes a few times is fine, a
// script guessing passwords is stopped, per account and per address.
const (
	attemptsPerAccount = "account"
	attemptsPerClient  = "client"
)

// handleLogin checks an email and password and starts a session.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	t := s.lang(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	password := r.PostFormValue("password")
	c, err := r.Cookie(loginCookie)
	if err != nil || !s.sameOrigin(r) || !s.svc.CheckLoginFormToken(c.Value, r.PostFormValue("token")) {
		s.renderLogin(w, r, t, http.StatusForbidden, t.T("error.stale"), email)
		return
	}
	if email == "" || password == "" {
		s.renderLogin(w, r, t, http.StatusBadRequest, t.T("login.missing"), email)
		return
	}
	if s.cfg.Attempts != nil {
		now := s.now()
		for _, key := range []string{attemptsPerClient + ":" + s.clientIP(r), attemptsPerAccount + ":" + email} {
			ok, retry, err := s.cfg.Attempts.Take(r.Context(), key, now)
			if err != nil {
				s.fail(w, r, t, err)
				return
			}
			if !ok {
				w.Header().Set("Retry-After", fmtSeconds(retry))
				s.renderLogin(w, r, t, http.StatusTooManyRequests, t.N("login.too_many", minutesUp(retry)), email)
				return
			}
		}
	}
	_, secret, err := s.svc.LogInStaff(r.Context(), email, password, r.UserAgent())
	if errors.Is(err, comment.ErrForbidden) {
		s.renderLogin(w, r, t, http.StatusUnauthorized, t.T("login.wrong"), email)
		return
	}
	if err != nil {
		s.fail(w, r, t, err)
		return
	}
	s.startSession(w, r, secret)
}

// startSession sets the session cookie and goes on to the desk.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, secret string) {
	http.SetCookie(w, s.cookie(sessionCookie, secret, int(staff.AbsoluteTimeout/time.Second)))
	http.SetCookie(w, s.cookie(loginCookie, "", -1))
	http.Redirect(w, r, s.next(r), http.StatusSeeOther)
}

// handleProviderLogin starts a log-in with a reader log-in provider.
func (s *Server) handleProviderLogin(w http.ResponseWriter, r *http.Request) {
	t := s.lang(w, r)
	if s.cfg.StartProvider == nil {
		s.notFound(w, r, t)
		return
	}
	to, err := s.cfg.StartProvider(w, r, r.PathValue("provider"), t.Lang())
	if err != nil {
		s.fail(w, r, t, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// FinishProvider ends a provider log-in begun at /admin/login/{provider}
// (its callback is the readers' one, which hands staff log-ins here): it
// starts a desk session for the staff account linked to the identity, or
// shows the log-in page with the reason.
func (s *Server) FinishProvider(w http.ResponseWriter, r *http.Request, id auth.Identity, err error) {
	t := s.lang(w, r)
	if err != nil {
		s.log.Info("a staff log-in with a provider failed", slog.String("err", err.Error()))
		s.renderLogin(w, r, t, http.StatusBadRequest, t.T("login.provider_failed"), "")
		return
	}
	_, secret, err := s.svc.LogInStaffWith(r.Context(), id.Key(), id.Email, id.EmailVerified, r.UserAgent())
	if errors.Is(err, comment.ErrForbidden) {
		s.renderLogin(w, r, t, http.StatusForbidden, t.T("login.no_account"), "")
		return
	}
	if err != nil {
		s.fail(w, r, t, err)
		return
	}
	http.SetCookie(w, s.cookie(sessionCookie, secret, int(staff.AbsoluteTimeout/time.Second)))
	// This answer ends a chain of redirects that began on the provider's
	// site, and browsers do not send a SameSite=Strict cookie on such a
	// chain: a redirect to the desk would arrive without the new session.
	// The page instead goes on to the desk itself (a same-site
	// navigation), at once, with no script.
	p := s.newPage(w, r, t, nil)
	p.Title, p.Body, p.Refresh = t.T("login.done"), "/admin/", "/admin/"
	s.render(w, http.StatusOK, "continue", p)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, d *deskReq) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.svc.LogOutStaff(r.Context(), c.Value); err != nil && !errors.Is(err, comment.ErrNotFound) {
			s.fail(w, r, d.t, err)
			return
		}
	}
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	s.setFlash(w, flash{Key: "flash.logged_out"})
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}
