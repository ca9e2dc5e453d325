package httpapi

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"parley/internal/auth"
	"parley/internal/comment"
	"parley/internal/demo"
	"parley/internal/i18n"
	"parley/internal/notify"
	"parley/internal/outbox"
	"parley/internal/service"
	"parley/internal/widget"
)

// DemoPageID is the explicit page id of the demo article, so its thread is
// the same whether the server is reached as 127.0.0.1 or localhost.
const DemoPageID = "demo-article"

var demoTemplate = template.Must(template.New("demo").Parse(`<!doctype html>
<html lang="en" data-theme="{{.Theme}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Riverton's new bus line opens on Monday — The Riverton Ledger</title>
<style>
body{font:18px/1.6 Georgia,serif;max-width:42rem;margin:0 auto;padding:1.5rem;color:#1d1d1f;background:#fff}
header{border-bottom:3px double #1d1d1f;margin-bottom:1.5rem}header p{font:700 1.4rem/1 system-ui,sans-serif;margin:.5rem 0}
h1{font-size:2rem;line-height:1.2}.byline{color:#555;font:14px system-ui,sans-serif}
.demo{font:14px/1.5 system-ui,sans-serif;border:1px dashed #888;border-radius:.4rem;padding:.5rem .8rem;margin:0 0 1.5rem}
.demo p{margin:.25rem 0}.demo a{color:#0b57d0}.demo [aria-current]{font-weight:700;color:inherit;text-decoration:none}
html[data-theme=dark] body{background:#121417;color:#e8e8ea}html[data-theme=dark] header{border-color:#e8e8ea}html[data-theme=dark] .byline{color:#aaa}html[data-theme=dark] .demo a{color:#8ab4f8}
@media (prefers-color-scheme:dark){html[data-theme=auto] body{background:#121417;color:#e8e8ea}html[data-theme=auto] header{border-color:#e8e8ea}html[data-theme=auto] .byline{color:#aaa}html[data-theme=auto] .demo a{color:#8ab4f8}}
</style></head>
<body>
<header><p>The Riverton Ledger</p></header>
<main>
<aside class="demo" aria-label="Demo settings">
<p><strong>Parley demo.</strong> Log in with <em>Demo ID</em> (a made-up provider on this server) or an email link; the emails go to the <a href="{{.Mailbox}}" id="demo-mailbox">demo mailbox</a>.</p>
<p id="demo-lang">Comments in: {{range .Langs}}<a href="{{.URL}}" lang="{{.Code}}" hreflang="{{.Code}}"{{if .Current}} aria-current="true"{{end}}>{{.Name}}</a> {{end}}</p>
<p id="demo-theme">Theme: {{range .Themes}}<a href="{{.URL}}"{{if .Current}} aria-current="true"{{end}}>{{.Name}}</a> {{end}}</p>
</aside>
<article>
<h1>Riverton's new bus line opens on Monday</h1>
<p class="byline">By the Ledger's transport desk · Demo article served by Parley</p>
<p>After three years of planning and one very long winter of road works, Route 9 starts running on Monday at 5:40 in the morning. The line links the Old Mill district with the hospital and the new college campus on the hill, a trip that today takes two changes and most of an hour.</p>
<p>The council says buses will come every ten minutes at rush hour and every twenty in the evening. The twelve new stops have heated shelters and real-time arrival boards, and the first month of rides is free.</p>
<p>Not everyone is pleased. Shop owners on Tanner Street lost eleven parking spaces to the bus lane and fear their customers will go elsewhere. "We'll see in the spring," said one baker. The council promises to review the lane after six months.</p>
<p>What do you think of the new line? Tell us below.</p>
</article>
<section aria-label="Comments">
<div id="parley" data-site="{{.Site}}" data-page-id="{{.Page}}"{{with .Lang}} data-lang="{{.}}"{{end}} data-theme="{{.Theme}}">{{.Thread}}</div>
<script src="{{.Script}}" async></script>
</section>
</main>
</body></html>
`))

// demoLangs are the demo page's languages, each named in itself.
var demoLangs = []struct{ Code, Name string }{
	{"en", "English"}, {"de", "Deutsch"}, {"fr", "Français"}, {"es", "Español"}, {"ru", "Русский"}, {"ar", "العربية"},
}

// demoLink is one choice of the demo page's switches.
type demoLink struct {
	Code, Name, URL string
	Current         bool
}

// handleDemo serves the demo article with the comment section embedded
// both ways: rendered on the server (so it works without JavaScript) and
// enhanced by the widget script when JavaScript runs. ?lang= and ?theme=
// (light, dark, auto) choose the comment section's language and the
// page's theme; the switches above the article are plain links, so they
// work without JavaScript too.
func (s *Server) handleDemo(w http.ResponseWriter, r *http.Request) {
	site, err := s.svc.Site(r.Context(), s.cfg.DemoSite)
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	q := r.URL.Query()
	order, err := comment.ParseSort(q.Get("sort"))
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	t, err := s.svc.Thread(r.Context(), site.ID, DemoPageID, order)
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	lang := ""
	if q.Get("lang") != "" {
		lang = i18n.Get(q.Get("lang")).Lang()
	}
	theme := q.Get("theme")
	if theme != "light" && theme != "dark" {
		theme = "auto"
	}
	pageURL := s.baseURL(r) + "/"
	// Keep the reader's replytocom and held-comment parameters.
	if r.URL.RawQuery != "" {
		pageURL += "?" + r.URL.RawQuery
	}
	v := s.threadView(r, site, t, pageURL)
	v.Title = "Riverton's new bus line opens on Monday"
	v.Theme, v.Feeds = theme, threadFeeds(s.baseURL(r), v.Lang, site.ID, t.Key, v.Title)
	var thread bytes.Buffer
	if err := widget.IsolatedThread(&thread, v); err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	// The switches keep the other choice and drop the rest (a reply in
	// progress, a sort).
	switchURL := func(l, th string) string {
		v := url.Values{}
		if l != "" {
			v.Set("lang", l)
		}
		if th != "auto" {
			v.Set("theme", th)
		}
		if len(v) == 0 {
			return "/"
		}
		return "/?" + v.Encode()
	}
	var langs, themes []demoLink
	current := v.Lang
	for _, l := range demoLangs {
		langs = append(langs, demoLink{Code: l.Code, Name: l.Name, URL: switchURL(l.Code, theme), Current: l.Code == current})
	}
	for _, th := range []struct{ code, name string }{{"auto", "Automatic"}, {"light", "Light"}, {"dark", "Dark"}} {
		themes = append(themes, demoLink{Code: th.code, Name: th.name, URL: switchURL(lang, th.code), Current: th.code == theme})
	}
	var b bytes.Buffer
	if err := demoTemplate.Execute(&b, map[string]any{
		"Site": site.ID, "Page": DemoPageID, "Thread": template.HTML(thread.String()), "Script": s.baseURL(r) + "/embed.js",
		"Lang": lang, "Theme": theme, "Langs": langs, "Themes": themes, "Mailbox": demo.MailboxPath,
	}); err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Add("Vary", "Accept-Language")
	// The demo article runs the widget, from Parley, and nothing else.
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
	w.Write(b.Bytes())
}

var privacyTemplate = template.Must(template.New("privacy").Parse(`<h1>{{.T.T "page.privacy.heading" "site" .Name}}</h1>
<p>{{.T.T "page.privacy.intro" "site" .Name}} {{if or .Akismet .Gravatar}}{{.T.T "page.privacy.some_others"}}{{else}}{{.T.T "page.privacy.no_others"}}{{end}}</p>
<h2>{{.T.T "page.privacy.stored"}}</h2>
<ul>
<li><strong>{{.T.T "page.privacy.name_title"}}</strong> {{.T.T "page.privacy.name"}}</li>
<li><strong>{{.T.T "page.privacy.email_title"}}</strong> {{.T.T "page.privacy.email"}} {{with .Gravatar}}{{$.T.T "page.privacy.email_gravatar" "service" .}} {{$.T.T "page.privacy.gravatar_kept"}}{{else}}{{.T.T "page.privacy.email_identicon"}}{{end}}</li>
<li><strong>{{.T.T "page.privacy.comment_title"}}</strong> {{.T.T "page.privacy.comment"}}</li>
<li><strong>{{.T.T "page.privacy.ip_title"}}</strong> {{.T.T "page.privacy.ip" "period" .IPPeriod}}</li>
</ul>
{{with .Ways}}<h2>{{$.T.T "page.privacy.login_head"}}</h2>
<p>{{if eq $.Guests "login"}}{{$.T.T "page.privacy.login_required"}}{{else}}{{$.T.T "page.privacy.login_optional"}}{{end}} {{$.T.T "page.privacy.login_ways" "ways" .}} {{$.T.T "page.privacy.login_data" "days" ($.T.N "page.privacy.days" $.SessionDays)}} {{$.T.T "page.privacy.login_linked"}}</p>
{{end}}<h2>{{.T.T "page.privacy.spam_head"}}</h2>
<p>{{.T.T "page.privacy.spam"}}{{with .Akismet}} {{.}}{{end}}</p>
{{if .Notify}}<h2>{{.T.T "page.privacy.notify_head"}}</h2>
<p>{{.T.T "page.privacy.notify"}} {{.T.T "page.privacy.outbox" "period" .OutboxPeriod}}</p>
{{if .Decisions}}<p>{{.T.T "page.privacy.decisions" "site" .Name}}</p>
{{end}}{{end}}{{if .Hooks}}<p>{{.T.T "page.privacy.hooks"}}{{if .HooksEmail}} {{.T.T "page.privacy.hooks_email"}}{{end}}</p>
{{end}}<h2>{{.T.T "page.privacy.browser_head"}}</h2>
<p>{{.T.T "page.privacy.browser"}} {{.T.T "page.privacy.remember"}}</p>
<h2>{{.T.T "page.privacy.who_head"}}</h2>
<p>{{.T.T "page.privacy.who"}} {{.T.T "page.privacy.cleanup" "period" .EventPeriod}}</p>
<h2 id="your-data">{{.T.T "page.privacy.data_head"}}</h2>
<p>{{.T.T "page.privacy.data"}} <a href="{{.DataURL}}" id="parley-data-link">{{.DataLink}}</a></p>
{{with .Back}}<p><a href="{{.}}">{{$.T.T "page.privacy.back"}}</a></p>{{end}}
`))

// akismetNotice is the privacy page's sentence about Akismet in t's
// language, with the link to Automattic's policy where it says {policy}.
func akismetNotice(t *i18n.Table) template.HTML {
	return i18n.HTML(t.T("page.privacy.akismet"), func(name string) (template.HTML, bool) {
		return template.HTML(`<a href="https://automattic.com/privacy/">` + template.HTMLEscapeString(t.T("page.privacy.akismet_policy")) + "</a>"),
			name == "policy"
	})
}

// handlePrivacy serves the site's privacy page, in the reader's language.
func (s *Server) handlePrivacy(w http.ResponseWriter, r *http.Request) {
	site, err := s.svc.Site(r.Context(), r.PathValue("site"))
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	t := words(r, "")
	back := r.Header.Get("Referer")
	if service.OriginOf(back) == "" {
		back = ""
	}
	data := map[string]any{"T": t, "Name": site.Name, "Back": back, "Guests": string(guestPolicy(site)),
		"Gravatar": hostOf(s.cfg.Gravatar), "SessionDays": int(auth.DefaultSessionTTL.Hours() / 24)}
	if s.cfg.AkismetUpstream {
		data["Akismet"] = akismetNotice(t)
	}
	var ways []string
	if s.cfg.Login != nil {
		for _, c := range s.cfg.Login.Choices(site) {
			if c.ID == auth.EmailProvider {
				ways = append(ways, t.T("page.privacy.way_email"))
			} else {
				ways = append(ways, c.Name)
			}
		}
		data["SessionDays"] = int(s.cfg.Login.SessionTTL().Hours() / 24)
	}
	if site.SSOSecret != "" {
		ways = append(ways, t.T("page.privacy.way_sso", "site", site.Name))
	}
	data["Ways"] = strings.Join(ways, t.T("page.privacy.sep"))
	// Each period as this server and site are configured.
	outboxKeep := s.cfg.OutboxKeep
	if outboxKeep <= 0 {
		outboxKeep = outbox.DefaultKeep
	}
	data["IPPeriod"], data["OutboxPeriod"], data["EventPeriod"] = period(t, s.svc.IPRetention(site)), period(t, outboxKeep), period(t, service.EventRetention)
	data["Notify"], data["Decisions"] = s.svc.Notifies(), s.svc.EmailsDecisions(r.Context(), site.ID)
	data["Hooks"], data["HooksEmail"] = s.svc.WebhooksShare(r.Context(), site.ID)
	data["DataURL"] = "/sites/" + url.PathEscape(site.ID) + "/privacy/data?" + url.Values{"lang": {t.Lang()}}.Encode()
	data["DataLink"] = t.T("page.privacy.data_link")
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=300")
	if g := r.URL.Query().Get("g"); g != "" && len(g) <= maxGrantLen {
		// A logged-in reader the widget sent here with a grant to their
		// data (POST /api/v1/sites/{site}/data): the page links straight
		// to it, no email round trip. The grant is checked when followed;
		// it must not be cached nor leave in a Referer.
		data["DataURL"] = notify.PrivacyPath + "?" + url.Values{"g": {g}, "lang": {t.Lang()}}.Encode()
		data["DataLink"] = t.T("page.privacy.data_open")
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
	}
	var b bytes.Buffer
	privacyTemplate.Execute(&b, data)
	h.Add("Vary", "Accept-Language")
	writePage(w, http.StatusOK, t.Lang(), t.T("page.privacy.title", "site", site.Name), template.HTML(b.String()))
}

// maxGrantLen bounds a grant taken from the privacy page's address: a
// sealed grant holds the reader's address and log-in, well under this.
const maxGrantLen = 4096

// period says a duration in t's language: in days when it is a whole
// number of days, else in hours (rounded up).
func period(t *i18n.Table, d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return t.N("page.privacy.days", int(d/day))
	}
	return t.N("page.privacy.hours", int((d+time.Hour-1)/time.Hour))
}

// hostOf is the host name of a service's URL, as readers would know it
// ("gravatar.com"), or "" for "".
func hostOf(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Hostname()
	}
	return ""
}
