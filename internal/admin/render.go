package admin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/staff"
)

// page is what every desk template gets.
type page struct {
	T      *i18n.Table
	Title  string
	Member *staff.Member
	Site   *comment.Site
	Sites  []*comment.Site // the sites the member works on, for the switcher
	Role   staff.Role
	CSRF   string
	Flash  *flash
	Nav    string // the section shown: queue, settings, audit, staff, account
	Path   string // the page's own address, for forms that return to it
	Static func(string) string
	Langs  []string
	// Refresh, if set, is a desk address the page goes on to at once.
	Refresh string
	Body    any
	Request *http.Request
	// Alerts are the site's open alerts (a surge), shown on its pages;
	// Reasons the site's reasons for not publishing a comment.
	Alerts  []*comment.Alert
	Reasons []string
}

// flash is a message carried across a redirect: what an action did, with
// Undo offered when it can be undone.
type flash struct {
	Key   string   `json:"k"`
	Args  []string `json:"a,omitempty"`
	N     int      `json:"n,omitempty"`
	Error bool     `json:"e,omitempty"`
	Undo  bool     `json:"u,omitempty"`
	// Lift offers to undo a sanction: lift it, restoring what it removed.
	Lift string `json:"l,omitempty"`
}

// Text returns the flash's words.
func (f *flash) Text(t *i18n.Table) string {
	if f.N != 0 || strings.HasPrefix(f.Key, "flash.decided") {
		return t.N(f.Key, f.N, f.Args...)
	}
	return t.T(f.Key, f.Args...)
}

func (s *Server) setFlash(w http.ResponseWriter, f flash) {
	b, _ := json.Marshal(f)
	http.SetCookie(w, s.cookie(flashCookie, base64.RawURLEncoding.EncodeToString(b), 60))
}

// takeFlash reads and clears the flash message, if any.
func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, s.cookie(flashCookie, "", -1))
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil
	}
	var f flash
	if json.Unmarshal(b, &f) != nil || !strings.HasPrefix(f.Key, "flash.") && !strings.HasPrefix(f.Key, "error.") {
		return nil
	}
	return &f
}

// newPage starts a page for a request; d is nil before log-in.
func (s *Server) newPage(w http.ResponseWriter, r *http.Request, t *i18n.Table, d *deskReq) *page {
	p := &page{T: t, Static: s.staticURL, Flash: s.takeFlash(w, r), Path: r.URL.RequestURI(), Langs: i18n.DeskLanguages(), Request: r}
	if d != nil {
		p.Member, p.CSRF = d.member, d.csrf
		if sites, err := s.svc.DeskSites(r.Context(), d.actor); err == nil {
			p.Sites = sites
		}
	}
	return p
}

// sitePage starts a page about one site, or answers 404 if the member
// has no role there.
func (s *Server) sitePage(w http.ResponseWriter, r *http.Request, d *deskReq, nav string) (*page, bool) {
	site, err := s.svc.DeskSite(r.Context(), d.actor, r.PathValue("site"))
	if err != nil {
		s.fail(w, r, d.t, err)
		return nil, false
	}
	p := s.newPage(w, r, d.t, d)
	p.Site, p.Role, p.Nav = site, d.actor.Role(site.ID), nav
	s.communityPage(r, d, p) // alerts and reasons (community.go)
	return p, true
}

// templateFuncs are the functions the desk's templates call.
var templateFuncs = template.FuncMap{
	"role": roleName,
	"query": func(base string, kv ...string) string {
		u, _ := url.Parse(base)
		q := u.Query()
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				q.Del(kv[i])
			} else {
				q.Set(kv[i], kv[i+1])
			}
		}
		q.Del("cursor")
		u.RawQuery = q.Encode()
		return u.String()
	},
	"percent": func(f float64) string { return strconv.Itoa(int(math.Round(f * 100))) },
	"score":   func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
	"short":   func(s string) string { return shorten(s, 8) },
	"excerpt": func(s string) string { return shorten(strings.Join(strings.Fields(s), " "), 140) },
	"html":    func(s string) template.HTML { return template.HTML(s) }, // only for comment.HTML, sanitised when stored
	"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"isodate": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	},
	"add": func(a, b int) int { return a + b },
	"capped": func(t *i18n.Table, n int) string {
		if n >= capShown {
			return t.T("count.capped", "n", t.Number(capShown))
		}
		return t.Number(n)
	},
	"list":       func(v ...string) []string { return v },
	"hasPrefix":  strings.HasPrefix,
	"trimPrefix": strings.TrimPrefix,
	"langName":   func(l string) string { return langNames[l] },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
	"has": func(list []string, v string) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	},
}

// page returns the parsed template of a desk page, parsing it (with the
// layout and partials) the first time it is asked for.
func (s *Server) page(name string) *template.Template {
	s.pagesMu.Lock()
	defer s.pagesMu.Unlock()
	if t, ok := s.pages[name]; ok {
		return t
	}
	t, err := parsePage(name)
	if err != nil {
		panic("admin: " + err.Error()) // embedded templates: TestTemplatesParse catches it
	}
	s.pages[name] = t
	return t
}

// pageNames lists the desk's pages: every template but the layout and
// partials that each page is parsed with.
func pageNames() []string {
	names, _ := fs.Glob(templateFiles, "templates/*.html")
	var pages []string
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name != "layout" && name != "partials" {
			pages = append(pages, name)
		}
	}
	return pages
}

func parsePage(name string) (*template.Template, error) {
	t := template.New("layout").Funcs(templateFuncs)
	for _, f := range []string{"layout", "partials", name} {
		src, err := fs.ReadFile(templateFiles, "templates/"+f+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		if _, err := t.Parse(string(src)); err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
	}
	return t, nil
}

// langNames are the languages' own names, for the language switch.
var langNames = map[string]string{"ar": "العربية", "de": "Deutsch", "en": "English", "es": "Español", "fr": "Français", "ru": "Русский"}

// capShown is where counts stop: service.CountCap.
const capShown = 10_000

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// render writes a page with its status. Rendering into a buffer first
// means a template error is a clean 500, not half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, p *page) {
	t := s.page(name)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("rendering a desk page failed", slog.String("page", name), slog.String("err", err.Error()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderFragment writes one card (the "card" template) without the page
// around it.
func (s *Server) renderFragment(w http.ResponseWriter, name string, p *page) {
	var buf bytes.Buffer
	if err := s.page("queue").ExecuteTemplate(&buf, name, map[string]any{"P": p, "C": p.Body}); err != nil {
		s.log.Error("rendering a desk fragment failed", slog.String("fragment", name), slog.String("err", err.Error()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// fail answers a request that went wrong: a page (or JSON) with words for
// the reason; failures on Parley's side are logged in full.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, t *i18n.Table, err error) {
	status, key := errorStatus(err)
	msg := t.T(key)
	if ve, ok := err.(*comment.ValidationError); ok {
		msg = validationText(t, ve)
	}
	if status >= 500 {
		s.log.Error("desk request failed", slog.String("path", r.URL.Path), slog.String("err", err.Error()))
	}
	if wantsJSON(r) || strings.HasPrefix(r.URL.Path, "/api/") {
		code := strings.TrimPrefix(key, "error.")
		if ve, ok := err.(*comment.ValidationError); ok {
			code = ve.Code
		}
		writeJSON(w, status, apiError(code, msg))
		return
	}
	p := s.newPage(w, r, t, nil)
	p.Title = t.T("error.title")
	p.Body = msg
	s.render(w, status, "error", p)
}

// validationText is a refusal in the desk's language: its code's words,
// or (for a code the desk has none for) the service's English sentence.
func validationText(t *i18n.Table, ve *comment.ValidationError) string {
	if t.Has("code." + ve.Code) {
		return t.T("code." + ve.Code)
	}
	// Readers' refusals (a comment too long, an empty body) have words
	// in the readers' tables, which the desk's falls back to: "error."
	// for the few the widget shows itself, "page.error." for the rest.
	for _, k := range []string{"error." + ve.Code, "page.error." + ve.Code} {
		if t.Has(k) {
			return t.T(k)
		}
	}
	return ve.Message
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, t *i18n.Table) {
	s.fail(w, r, t, comment.ErrNotFound)
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.notFound(w, r, s.lang(w, r))
}

// wantsJSON reports whether the desk's script (or a program) asked for JSON.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

func apiError(code, msg string) errorBody {
	var e errorBody
	e.Error.Code, e.Error.Message = code, msg
	return e
}

func fmtSeconds(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
}

func minutesUp(d time.Duration) int {
	return int(math.Ceil(d.Minutes()))
}
