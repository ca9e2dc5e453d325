package httpapi

import (
	"bytes"
	"errors"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"parley/internal/avatar"
	"parley/internal/comment"
	"parley/internal/gzjoin"
	"parley/internal/i18n"
	"parley/internal/service"
	"parley/internal/web"
	"parley/internal/widget"
)

// threadView assembles what the server-rendered thread shows to the
// reader of r: the view every reader shares, with this reader's parts.
func (s *Server) threadView(r *http.Request, site *comment.Site, t *service.Thread, pageURL string) *widget.ThreadView {
	q := r.URL.Query()
	base, lang, title := s.baseURL(r), queryLanguage(r, q), q.Get("title")
	v, names := s.sharedView(base, lang, site, t, pageURL, title)
	rd := s.threadReader(r, q, site, base, lang, pageURL, title, t, names)
	v.Token, v.PostKey, v.ParentID, v.ParentName, v.Held, v.User = rd.Token, rd.PostKey, rd.ParentID, rd.ParentName, rd.Held, rd.User
	return v
}

// sharedView is the server-rendered thread as every reader of it sees it
// in one language, on one page address with one title, and the authors'
// names by comment id (for ?replytocom).
func (s *Server) sharedView(base, lang string, site *comment.Site, t *service.Thread, pageURL, title string) (*widget.ThreadView, map[string]string) {
	replyURL, sortURL := queryEditor(pageURL, "replytocom"), queryEditor(pageURL, "sort")
	v := &widget.ThreadView{
		Lang:     lang,
		SiteID:   site.ID,
		SiteName: site.Name,
		Page:     t.Key,
		PageURL:  pageURL,
		Title:    title,
		Total:    t.Total,
		Sort:     string(t.Sort),
		Closed:   t.Closed,
		BaseURL:  base,
		// The answer to the form (an error, say) speaks the thread's language.
		FormAction: base + "/sites/" + url.PathEscape(site.ID) + "/comments?" + url.Values{"lang": {lang}}.Encode(),
		PrivacyURL: base + "/sites/" + url.PathEscape(site.ID) + "/privacy?" + url.Values{"lang": {lang}}.Encode(),
		StyleURL:   base + s.assets.StylePath(),
		Notify:     s.svc.Notifies(),
		ReplyURL:   func(id string) string { return replyURL(id) + "#respond" },
		SortURL:    func(order string) string { return sortURL(order) + "#parley-comments" },
		Message:    template.HTML(t.Message), // sanitised when rendered
		Pinned:     t.Pinned,
		Featured:   t.Featured,
		ReportURL: func(id string) string {
			return base + "/sites/" + url.PathEscape(site.ID) + "/comments/" + url.PathEscape(id) + "/report?" + url.Values{"url": {pageURL}, "lang": {lang}}.Encode()
		},
	}
	v.Feeds = threadFeeds(base, lang, site.ID, t.Key, title)
	names := map[string]string{}
	var walk func(ns []*service.Node) []*widget.CommentView
	walk = func(ns []*service.Node) []*widget.CommentView {
		out := make([]*widget.CommentView, 0, len(ns))
		for _, n := range ns {
			names[n.ID] = n.Author.Name
			cv := s.commentView(base, n.Comment)
			cv.InReplyTo, cv.Featured = n.InReplyTo, n.Featured
			cv.Replies = walk(n.Replies)
			out = append(out, cv)
		}
		return out
	}
	v.Comments = walk(t.Comments)
	back := s.loginReturn(base, site, t, pageURL, title, lang)
	v.Login = s.loginView(base, site, back, lang)
	return v, names
}

// threadFeeds are a thread's Atom and RSS feeds, titled with the
// article's title (its key when it has none) in the thread's language.
func threadFeeds(base, lang, siteID, key, title string) []widget.FeedLink {
	if title == "" {
		title = key
	}
	words := i18n.Get(lang)
	var out []widget.FeedLink
	for _, f := range []struct{ typ, ext, name string }{{"application/atom+xml", "atom", "Atom"}, {"application/rss+xml", "rss", "RSS"}} {
		out = append(out, widget.FeedLink{Type: f.typ, Title: words.T("page.feed.thread", "title", title) + " (" + f.name + ")",
			URL: base + "/sites/" + url.PathEscape(siteID) + "/feed." + f.ext + "?" + url.Values{"page": {key}, "lang": {lang}}.Encode()})
	}
	return out
}

// threadReader is what the server-rendered thread shows only to the
// reader of r: a fresh form token, the comment they reply to
// (?replytocom, one of names), their own comment awaiting moderation
// (?parley_held), and who they are if logged in.
func (s *Server) threadReader(r *http.Request, q url.Values, site *comment.Site, base, lang, pageURL, title string, t *service.Thread, names map[string]string) widget.Reader {
	rd := widget.Reader{Token: s.svc.FormToken(site.ID), PostKey: s.svc.NewPostKey()}
	if p := q.Get("replytocom"); p != "" {
		if name, ok := names[p]; ok {
			rd.ParentID, rd.ParentName = p, name
		}
	}
	if s.cfg.Login != nil {
		if sess, _, err := s.cfg.Login.SessionFor(r, site); err == nil {
			rd.User = s.userView(r, site, sess, s.loginReturn(base, site, t, pageURL, title, lang))
		}
	}
	if rd.User == nil {
		rd.Saved = savedGuest(r)
	}
	if tok := q.Get("parley_held"); tok != "" {
		rd.Held, _ = s.held.get(heldKey{site.ID, base, tok}, func() (*widget.CommentView, bool) {
			c, ok := s.svc.HeldComment(r.Context(), site.ID, tok)
			if !ok {
				return nil, false
			}
			cv := s.commentView(base, c)
			cv.Pending = true
			return cv, true
		})
	}
	return rd
}

func (s *Server) commentView(base string, c *comment.Comment) *widget.CommentView {
	return &widget.CommentView{
		ID:            c.ID,
		ParentID:      c.ParentID,
		AuthorName:    c.Author.Name,
		AuthorWebsite: c.Author.Website,
		Avatar:        s.avatarURL(base, c.Author),
		// Rendered and sanitised once, when the comment was written.
		HTML:    template.HTML(c.HTML),
		Created: c.Created,
		Edited:  !c.Edited.IsZero(),
		Likes:   c.Likes,
		Pending: c.Status == comment.StatusPending,
		Erased:  c.Type == comment.TypeErased,
	}
}

// language picks the reader's language from ?lang= or Accept-Language.
func language(r *http.Request) string {
	return queryLanguage(r, r.URL.Query())
}

// queryLanguage is language with the request's query already parsed.
func queryLanguage(r *http.Request, q url.Values) string {
	if l := q.Get("lang"); l != "" {
		return i18n.Get(l).Lang()
	}
	return i18n.Match(r.Header.Get("Accept-Language"))
}

// queryEditor returns a function giving raw with its query parameter
// name set to a value (and no fragment), parsing raw once for a whole
// thread's links; an address that does not parse is given back as it is.
func queryEditor(raw, name string) func(value string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return func(string) string { return raw }
	}
	query := u.Query()
	u.Fragment = ""
	return func(value string) string {
		// A copy each time: views are shared between requests.
		q := maps.Clone(query)
		q.Set(name, value)
		v := *u
		v.RawQuery = q.Encode()
		return v.String()
	}
}

// editQuery changes the query of a URL and drops its fragment.
func editQuery(raw string, edit func(url.Values)) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	edit(q)
	u.RawQuery = q.Encode()
	u.Fragment = ""
	return u.String()
}

// handleThreadHTML serves the thread and form as an HTML fragment, for
// readers without JavaScript and for server-side includes, in a
// declarative shadow root so that the including page's styles do not
// reach it. A browser that shows the fragment as a page of its own
// (framed by the site, or opened) gets it without one: no other styles
// are there to keep out, and a parser starting a document would put the
// <template> in <head>, which cannot hold a shadow root.
func (s *Server) handleThreadHTML(w http.ResponseWriter, r *http.Request) {
	isolated := !ownPage(r)
	p := s.threadPage(w, r)
	if p == nil {
		return
	}
	h := w.Header()
	if widget.AcceptsGzip(r.Header.Get("Accept-Encoding")) {
		// Compressed as the page is cached: the parts every reader shares
		// once, this reader's few bytes as they are (gzjoin).
		parts, err := p.entry.gzipParts(p.reader, isolated)
		if err != nil {
			s.writeHTMLError(w, r, err)
			return
		}
		threadHeaders(h, p.site)
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(gzjoin.Size(parts...)))
		gzjoin.Write(w, parts...)
		return
	}
	pieces, err := p.render(isolated)
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	n := 0
	for _, b := range pieces {
		n += len(b)
	}
	threadHeaders(h, p.site)
	h.Set("Content-Length", strconv.Itoa(n))
	for _, b := range pieces {
		w.Write(b)
	}
}

// threadHeaders are the server-rendered thread's headers.
func threadHeaders(h http.Header, site *comment.Site) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The form carries a fresh token, so the fragment is not shared.
	h.Set("Cache-Control", "private, no-cache")
	// Included by the site's server (which ignores this) or framed by one
	// of its pages; no other page may frame it.
	h.Set("Content-Security-Policy", pagePolicy(siteFrames(site)))
	h.Set("Vary", "Sec-Fetch-Dest, Accept-Encoding")
}

// ownPage reports whether the browser asked for the response to show as
// a document of its own (its address opened, or in a frame), as the
// request's Sec-Fetch-Dest says; a site's server fetching a fragment to
// include sends none.
func ownPage(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Dest") {
	case "document", "iframe", "frame", "embed", "object":
		return true
	}
	return false
}

// renderedPage is the server-rendered thread for one reader: the page
// rendered for all its readers, and what is this reader's.
type renderedPage struct {
	site                      *comment.Site
	key, lang, pageURL, title string
	entry                     *htmlEntry
	reader                    widget.Reader
}

// render returns the page as pieces to be written in order
// (widget.Cached.Render); isolated, in a declarative shadow root for a
// site's page to include (widget.Cached.RenderIsolated).
func (p *renderedPage) render(isolated bool) ([][]byte, error) {
	if isolated {
		return p.entry.page.RenderIsolated(p.reader)
	}
	return p.entry.page.Render(p.reader)
}

// threadPage reads the thread a request names (site, page, url, sort,
// title, lang) and what its reader sees of their own, with the page
// rendered for all readers (htmlCache) where it can; it writes the error
// and returns nil when it cannot.
func (s *Server) threadPage(w http.ResponseWriter, r *http.Request) *renderedPage {
	site, err := s.svc.Site(r.Context(), r.PathValue("site"))
	if err != nil {
		s.writeHTMLError(w, r, err)
		return nil
	}
	q := r.URL.Query()
	order, err := comment.ParseSort(q.Get("sort"))
	if err != nil {
		s.writeHTMLError(w, r, err)
		return nil
	}
	t, err := s.thread(r, site, q.Get("page"), order)
	if err != nil {
		s.writeHTMLError(w, r, err)
		return nil
	}
	p := &renderedPage{site: site, key: t.Key, pageURL: q.Get("url"), title: q.Get("title"), lang: queryLanguage(r, q)}
	if p.pageURL == "" {
		p.pageURL = t.Key
	}
	base := s.baseURL(r)
	c, err := s.pages.get(htmlKey{site: site.ID, key: t.Key, sort: string(t.Sort), base: base, lang: p.lang, pageURL: p.pageURL, title: p.title}, t, site,
		func() (*widget.Cached, map[string]string, error) {
			v, names := s.sharedView(base, p.lang, site, t, p.pageURL, p.title)
			c, err := widget.Cache(v)
			return c, names, err
		})
	if err != nil {
		s.writeHTMLError(w, r, err)
		return nil
	}
	p.entry, p.reader = c, s.threadReader(r, q, site, base, p.lang, p.pageURL, p.title, t, c.names)
	return p
}

var replyPageTmpl = template.Must(template.New("reply").Parse(
	`<p><a href="{{.URL}}">{{.Back}}</a></p>
{{with .Title}}<h1>{{.}}</h1>
{{end}}{{.Thread}}`))

// handleReplyPage is Parley's own page for one of the site's articles:
// its thread and comment form, shown as the reader's browser sees them on
// Parley (logged in or not). Readers without JavaScript come here from the
// article after logging in, since the article's copy of the form was
// rendered by the site's server; the form posts and goes back to the
// article as usual.
func (s *Server) handleReplyPage(w http.ResponseWriter, r *http.Request) {
	p := s.threadPage(w, r)
	if p == nil {
		return
	}
	pieces, err := p.render(false)
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	t := i18n.Get(p.lang)
	if !service.OnSite(p.site, p.pageURL) {
		messagePage(w, http.StatusBadRequest, t, p.site.Name, t.T("page.not_on_site"))
		return
	}
	title := p.title
	if title == "" {
		// The article's title as Parley knows it from comments posted on
		// it (the widget sends it), when the link did not carry it.
		if th, err := s.svc.ThreadInfo(r.Context(), p.site.ID, p.key); err == nil {
			title = th.Title
		}
	}
	var b bytes.Buffer
	replyPageTmpl.Execute(&b, map[string]any{"URL": p.pageURL, "Back": t.T("reply.back"),
		"Title": title, "Thread": template.HTML(bytes.Join(pieces, nil))})
	h := w.Header()
	h.Set("Cache-Control", "private, no-store")
	// A copy of the article's comments, not a page for search engines.
	h.Set("X-Robots-Tag", "noindex")
	if title == "" {
		title = p.site.Name
	}
	writePage(w, http.StatusOK, p.lang, title, template.HTML(b.String()))
}

// handleFormPost takes a comment from a plain HTML form and redirects back
// to the page at the new comment, as WordPress does.
func (s *Server) handleFormPost(w http.ResponseWriter, r *http.Request) {
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
	f := r.PostForm
	d := comment.Draft{SiteID: site.ID, Page: f.Get("page"), PageURL: f.Get("url"), Title: f.Get("title"), ParentID: f.Get("parent"),
		Name: f.Get("name"), Email: f.Get("email"), Website: f.Get("website"), Body: f.Get("body")}
	d.Notify, d.Lang = formNotify(f), language(r)
	if s.cfg.Login != nil {
		// The form without JavaScript carries Parley's session cookie
		// (SameSite=None over https); the origin check below keeps other
		// sites from posting with it.
		if sess, _, err := s.cfg.Login.SessionFor(r, site); err == nil {
			asAuthor(&d, sess)
		}
	}
	if d.PageURL == "" {
		d.PageURL = d.Page
	}
	// Cross-site request forgery: a browser says where a form was posted
	// from; it must be one of the site's pages or Parley's own.
	if !s.sameSiteForm(r, site) {
		s.writeHTMLError(w, r, comment.ErrForbidden)
		return
	}
	age, err := s.svc.CheckFormToken(site.ID, f.Get("token"))
	var c *comment.Comment
	if err == nil {
		c, err = s.svc.Post(r.Context(), d, service.Meta{IP: web.ClientIP(r), UserAgent: r.UserAgent(), Honeypot: f.Get("phone"), FormAge: age,
			PostKey: f.Get("key")})
	}
	var ve *comment.ValidationError
	if errors.As(err, &ve) || isRefusal(err) {
		s.renderFormAgain(w, r, site, d, err)
		return
	}
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	if d.Identity == "" {
		s.rememberGuest(w, r, d, f.Get("remember") != "")
	}
	back := d.PageURL
	if !service.OnSite(site, back) {
		// Never redirect off the site's own pages.
		back = s.baseURL(r) + "/sites/" + url.PathEscape(site.ID) + "/thread?page=" + url.QueryEscape(d.Page)
	}
	back = editQuery(back, func(q url.Values) {
		q.Del("replytocom")
		q.Del("parley_held")
		if c.Status != comment.StatusApproved {
			// Lets this reader, and only this reader, see the held comment.
			q.Set("parley_held", s.svc.HeldToken(c))
		}
	})
	http.Redirect(w, r, back+"#comment-"+c.ID, http.StatusSeeOther)
}

// guestCookie keeps a guest's name, email and website for the form
// without JavaScript, only when they tick "Save my name…" (as WordPress's
// comment_author cookies do since 4.9.6).
const guestCookie = "parley_guest"

// rememberGuest keeps a guest's details in Parley's own cookie for a year
// when they ticked "Save my name…", and deletes the cookie when they did
// not.
func (s *Server) rememberGuest(w http.ResponseWriter, r *http.Request, d comment.Draft, remember bool) {
	secure := strings.HasPrefix(s.baseURL(r), "https://")
	c := &http.Cookie{Name: guestCookie, Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode, MaxAge: -1}
	if secure {
		// The form sits on the article's site, and the thread may be
		// framed there: only a SameSite=None cookie goes with either.
		c.SameSite = http.SameSiteNoneMode
	}
	if remember {
		c.Value = url.Values{"name": {d.Name}, "email": {d.Email}, "website": {d.Website}}.Encode()
		c.MaxAge = 365 * 24 * 60 * 60
	} else if _, err := r.Cookie(guestCookie); err != nil {
		return // nothing to delete
	}
	http.SetCookie(w, c)
}

// savedGuest is the guest's details from their cookie, or nil.
func savedGuest(r *http.Request) map[string]string {
	c, err := r.Cookie(guestCookie)
	if err != nil {
		return nil
	}
	q, err := url.ParseQuery(c.Value)
	if err != nil {
		return nil
	}
	return map[string]string{"name": q.Get("name"), "email": q.Get("email"), "website": q.Get("website")}
}

// sameSiteForm reports whether a form post came from a page of the site
// (or of Parley itself). Browsers send Origin with every form POST; old
// ones send only Referer. A request with neither is not from a browser
// page and carries no reader's credentials, so it is let through to the
// token check.
func (s *Server) sameSiteForm(r *http.Request, site *comment.Site) bool {
	from, ok := formOrigin(r)
	if !ok {
		return r.Header.Get("Origin") == ""
	}
	return service.Allowed(site, from) || strings.EqualFold(from, s.baseURL(r))
}

// parleyForm reports whether a form post came from one of Parley's own
// pages (by the same rule as sameSiteForm).
func (s *Server) parleyForm(r *http.Request) bool {
	from, ok := formOrigin(r)
	if !ok {
		return r.Header.Get("Origin") == ""
	}
	return strings.EqualFold(from, s.baseURL(r))
}

// formOrigin is the origin a browser says a form was posted from: Origin,
// or Referer's origin when Origin is missing or "null"; ok is false when
// neither says.
func formOrigin(r *http.Request) (string, bool) {
	from := r.Header.Get("Origin")
	if from == "" || from == "null" {
		from = service.OriginOf(r.Header.Get("Referer"))
	}
	return from, from != ""
}

// renderFormAgain shows the thread page again with the reader's text kept
// and the problem next to its field.
func (s *Server) renderFormAgain(w http.ResponseWriter, r *http.Request, site *comment.Site, d comment.Draft, err error) {
	t, terr := s.svc.Thread(r.Context(), site.ID, d.Page, comment.SortOldest)
	if terr != nil {
		t = &service.Thread{SiteID: site.ID, Key: d.Page, Comments: []*service.Node{}}
	}
	v := s.threadView(r, site, t, d.PageURL)
	v.Title = d.Title
	if d.ParentID != "" {
		v.ParentID = d.ParentID
		if p, err := s.svc.Comment(r.Context(), site.ID, d.ParentID); err == nil {
			v.ParentName = p.Author.Name
		}
	}
	var field string
	if ve := (*comment.ValidationError)(nil); errors.As(err, &ve) {
		field = ve.Field
	}
	if field == "" || field == "page" || field == "parent" || field == "title" {
		field = "body" // shown above the comment box
	}
	if isRefusal(err) {
		field = "refusal" // not a field: said above the form, as an alert
	}
	status, body := errorStatus(err)
	v.Errors = map[string]string{field: errorText(i18n.Get(v.Lang), body)}
	v.Values = map[string]string{"name": d.Name, "email": d.Email, "website": d.Website, "body": d.Body, "notify": d.Notify, "remember": r.PostForm.Get("remember")}
	var b bytes.Buffer
	if err := widget.RenderThread(&b, v); err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	writePage(w, status, v.Lang, site.Name, template.HTML(b.String()))
}

// writeHTMLError answers a browser request with a short page.
func (s *Server) writeHTMLError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := errorStatus(err)
	t := words(r, "")
	message := errorText(t, body)
	if status >= 500 {
		// The id lets the operator find this in the log.
		if id := s.failed(w, r, status, err); id != "" {
			message += " (" + id + ")"
		}
	}
	if errors.Is(err, comment.ErrNotFound) {
		message = t.T("page.no_such")
	}
	messagePage(w, status, t, t.T("page.comments"), message)
}

// messagePage answers a browser with a short page of Parley's saying
// message, in t's language; it is not cached.
func messagePage(w http.ResponseWriter, status int, t *i18n.Table, title, message string) {
	w.Header().Set("Cache-Control", "no-store")
	writePage(w, status, t.Lang(), title, template.HTML("<p>"+template.HTMLEscapeString(message)+"</p>"))
}

// words is the table for Parley's own pages: lang if the reader's
// language is known from elsewhere (the log-in they began), else ?lang=,
// else the browser's Accept-Language.
func words(r *http.Request, lang string) *i18n.Table {
	if lang != "" {
		return i18n.Get(lang)
	}
	return i18n.Get(language(r))
}

// errorText is an error's message for a reader in t's language: the
// tables' words for its code where they have them ("error." keys, the few
// the widget also has for what it checks itself, then the server's
// "page.error." ones, which reach the widget in its language through this
// function), else the server's message. English keeps the server's
// message, which may say more than the table's.
func errorText(t *i18n.Table, body errorBody) string {
	if body.refusal != nil {
		return refusalText(t, body.refusal)
	}
	if t.Lang() == i18n.Fallback {
		return body.Message
	}
	for _, k := range []string{"error." + body.Code, "page.error." + body.Code, errorAlias[body.Code]} {
		if k != "" && t.Has(k) {
			return t.T(k)
		}
	}
	return body.Message
}

// errorAlias names the key of an error code whose words the tables
// already have under another name.
var errorAlias = map[string]string{
	"internal":           "page.our_side",
	"no_login":           "page.no_login",
	"invalid_return":     "page.not_on_site",
	"invalid_parent":     "page.error.not_found",
	"origin_not_allowed": "page.error.forbidden",
}

// pagePolicy is the Content-Security-Policy of the pages Parley renders
// without script (its own pages, and the server-rendered thread): no
// script at all, so markup that got into one cannot run; styles and
// pictures from Parley only; framed only by frameAncestors (a source
// list, or 'none').
func pagePolicy(frameAncestors string) string {
	return "default-src 'none'; script-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; base-uri 'none'; frame-ancestors " + frameAncestors
}

// siteFrames is the frame-ancestors source list of a site's origins: its
// pages may show its thread in a frame, and no other page may (the thread
// holds a form that posts as the reader).
func siteFrames(site *comment.Site) string {
	var srcs []string
	for _, o := range site.Origins {
		// Normalised origins hold no spaces or semicolons; anything else
		// would change the policy, so it is left out.
		if o != "" && !strings.ContainsAny(o, " ;,'\"\r\n") {
			srcs = append(srcs, o)
		}
	}
	if len(srcs) == 0 {
		return "'none'"
	}
	return strings.Join(srcs, " ")
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}" dir="{{.Dir}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}</style></head>
<body>{{.Body}}</body></html>
`))

func writePage(w http.ResponseWriter, status int, lang, title string, body template.HTML) {
	var b bytes.Buffer
	pageTemplate.Execute(&b, map[string]any{"Lang": lang, "Dir": i18n.Get(lang).Dir(), "Title": title, "Body": body})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Parley's own pages (log-in, reply, messages) act for the reader: no
	// other page may frame them and trick a click.
	w.Header().Set("Content-Security-Policy", pagePolicy("'none'"))
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

func (s *Server) handleAvatar(w http.ResponseWriter, r *http.Request) {
	key, ok := strings.CutSuffix(r.PathValue("file"), ".svg")
	if !ok && avatar.ValidKey(key) {
		s.serveReaderPicture(w, r, key)
		return
	}
	if !ok || !avatar.ValidKey(key) {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	// An SVG opened on its own must not run anything.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Write(avatar.SVG(key))
}

// serveReaderPicture serves a reader's picture as Parley keeps it (from
// their log-in provider, or a Gravatar-compatible service for a guest), or
// their identicon if there is none. Pictures change when readers log in
// or comment again, so they are cached for an hour, not for ever like
// identicons; an identicon that stands in for a picture not fetched yet,
// for five minutes.
func (s *Server) serveReaderPicture(w http.ResponseWriter, r *http.Request, key string) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	a, err := s.svc.Avatar(r.Context(), key)
	if err != nil || len(a.Data) == 0 {
		if err != nil && !errors.Is(err, comment.ErrNotFound) {
			s.log.Warn("could not read a cached picture", "err", err)
		}
		h.Set("Content-Type", "image/svg+xml")
		h.Set("Cache-Control", "public, max-age=300")
		if err == nil {
			h.Set("Cache-Control", "public, max-age=3600") // known to have no picture
		}
		w.Write(avatar.SVG(key))
		return
	}
	h.Set("Content-Type", a.ContentType)
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("Last-Modified", a.Updated.UTC().Format(http.TimeFormat))
	w.Write(a.Data)
}

// formNotify reads the form's wish to be notified: the box
// "notify_me" with its choice "notify_scope" (replies to me, or all
// comments), or a "notify" field of replies or all, as the JSON API takes
// it.
func formNotify(f url.Values) string {
	if n := f.Get("notify"); n != "" {
		return n
	}
	if f.Get("notify_me") == "" {
		return ""
	}
	if scope := f.Get("notify_scope"); scope != "" {
		return scope
	}
	return service.NotifyReplies
}
