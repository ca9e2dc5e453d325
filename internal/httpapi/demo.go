package httpapi

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"parley/internal/auth"

	"parley/internal/comment"
	"parley/internal/service"
	"parley/internal/widget"
)

// DemoPageID is the explicit page id of the demo article, so its thread is
// the same whether the server is reached as 127.0.0.1 or localhost.
const DemoPageID = "demo-article"

var demoTemplate = template.Must(template.New("demo").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Riverton's new bus line opens on Monday — The Riverton Ledger</title>
<style>
body{font:18px/1.6 Georgia,serif;max-width:42rem;margin:0 auto;padding:1.5rem;color:#1d1d1f;background:#fff}
header{border-bottom:3px double #1d1d1f;margin-bottom:1.5rem}header p{font:700 1.4rem/1 system-ui,sans-serif;margin:.5rem 0}
h1{font-size:2rem;line-height:1.2}.byline{color:#555;font:14px system-ui,sans-serif}
@media (prefers-color-scheme:dark){body{background:#121417;color:#e8e8ea}header{border-color:#e8e8ea}.byline{color:#aaa}}
</style></head>
<body>
<header><p>The Riverton Ledger</p></header>
<main>
<article>
<h1>Riverton's new bus line opens on Monday</h1>
<p class="byline">By the Ledger's transport desk · Demo article served by Parley</p>
<p>After three years of planning and one very long winter of road works, Route 9 starts running on Monday at 5:40 in the morning. The line links the Old Mill district with the hospital and the new college campus on the hill, a trip that today takes two changes and most of an hour.</p>
<p>The council says buses will come every ten minutes at rush hour and every twenty in the evening. The twelve new stops have heated shelters and real-time arrival boards, and the first month of rides is free.</p>
<p>Not everyone is pleased. Shop owners on Tanner Street lost eleven parking spaces to the bus lane and fear their customers will go elsewhere. "We'll see in the spring," said one baker. The council promises to review the lane after six months.</p>
<p>What do you think of the new line? Tell us below.</p>
</article>
<section aria-label="Comments">
<div id="parley" data-site="{{.Site}}" data-page-id="{{.Page}}">{{.Thread}}</div>
<script src="{{.Script}}" async></script>
</section>
</main>
</body></html>
`))

// handleDemo serves the demo article with the comment section embedded
// both ways: rendered on the server (so it works without JavaScript) and
// enhanced by the widget script when JavaScript runs.
func (s *Server) handleDemo(w http.ResponseWriter, r *http.Request) {
	site, err := s.svc.Site(r.Context(), s.cfg.DemoSite)
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	order, err := comment.ParseSort(r.URL.Query().Get("sort"))
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	t, err := s.svc.Thread(r.Context(), site.ID, DemoPageID, order)
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	pageURL := s.baseURL(r) + "/"
	// Keep the reader's replytocom and held-comment parameters.
	if r.URL.RawQuery != "" {
		pageURL += "?" + r.URL.RawQuery
	}
	v := s.threadView(r, site, t, pageURL)
	v.Title = "Riverton's new bus line opens on Monday"
	var thread bytes.Buffer
	if err := widget.RenderThread(&thread, v); err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	var b bytes.Buffer
	if err := demoTemplate.Execute(&b, map[string]any{
		"Site": site.ID, "Page": DemoPageID, "Thread": template.HTML(thread.String()), "Script": s.baseURL(r) + "/embed.js",
	}); err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b.Bytes())
}

var privacyTemplate = template.Must(template.New("privacy").Parse(`<h1>How your comment data is processed on {{.Name}}</h1>
<p>The comments on {{.Name}} are run by Parley, on a server the site's owner runs. {{if or .Akismet .Gravatar}}Only the services named below receive anything about you, from this server{{else}}No other company receives your data{{end}}, and the comment section loads nothing from any third party.</p>
<h2>What is stored when you comment</h2>
<ul>
<li><strong>Your name, and your website if you give one</strong>: shown with your comment.</li>
<li><strong>Your email address</strong>: never shown to anyone but the site's moderators. {{with .Gravatar}}It picks your avatar: Parley asks {{.}}, a picture service, whether a picture belongs to your address, sending it a SHA-256 hash of the address (not the address itself). If there is one, Parley copies it to this server and shows it with your comments; your browser never contacts that service. If there is none, your avatar is drawn by Parley itself.{{else}}It picks your avatar, which is drawn by Parley itself from a keyed hash of the address, so the picture reveals nothing about it.{{end}}</li>
<li><strong>Your comment</strong> and the time you posted it.</li>
<li><strong>A keyed hash of your IP address</strong> (not the address itself) and your browser's user-agent string, kept with the comment to stop spam and abuse.</li>
</ul>
{{if or .Providers .Email .SSO}}<h2>If you log in</h2>
<p>{{if eq .Guests "login"}}This site asks readers to log in before they comment.{{else}}You can comment without logging in.{{end}} If you log in{{with .Providers}} with {{range $i, $p := .}}{{if $i}}, {{end}}{{$p}}{{end}}{{end}}{{if .Email}}{{if .Providers}} or{{end}} with a link sent to your email address{{end}}{{if .SSO}}{{if or .Providers .Email}} or{{end}} with your {{.Name}} account{{end}}, Parley receives from that service your name, your email address (if it shares it), the link to your profile and your picture. Parley keeps them in a session for up to {{.SessionDays}} days, or until you log out; your picture is copied to this server so your browser never loads it from elsewhere. Your comments are linked to that account, so its name and picture are shown with them. The session is kept in your browser's local storage for this site (and, for the form without JavaScript, in a cookie of Parley's own); it is sent to Parley only. An email address confirmed through a log-in link is remembered so that your later comments are not held as a newcomer's.</p>
{{end}}<h2>How spam is kept out</h2>
<p>Your comment is checked by Parley's own filter on this server: how fast the form was sent, how many comments come from your address, links and words in the text, and a statistical model. The filter records its verdict with the comment; moderators see it.{{if .Akismet}} The comment (your name, email address, website, IP address, browser user-agent and text) is also sent to Akismet, a spam-checking service run by Automattic, under <a href="https://automattic.com/privacy/">Automattic's privacy policy</a>.{{end}}</p>
<h2>In your browser</h2>
<p>When JavaScript is on, the comment section keeps a random reader token and the list of comments you liked in your browser's local storage for this site, so you can like a comment once and see your own comments that await moderation. No tracking cookies are set.</p>
<h2>Who sees it, and for how long</h2>
<p>Published comments are public. Held comments are seen only by their author and the site's moderators. Comments are kept until the site removes them; ask the site's owner to export or delete your comments.</p>
{{with .Back}}<p><a href="{{.}}">Back</a></p>{{end}}
`))

// handlePrivacy serves the site's privacy page.
func (s *Server) handlePrivacy(w http.ResponseWriter, r *http.Request) {
	site, err := s.svc.Site(r.Context(), r.PathValue("site"))
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	back := r.Header.Get("Referer")
	if service.OriginOf(back) == "" {
		back = ""
	}
	var b bytes.Buffer
	data := map[string]any{"Name": site.Name, "Back": back, "Akismet": s.cfg.AkismetUpstream, "SSO": site.SSOSecret != "", "Guests": string(guestPolicy(site)),
		"Gravatar":    hostOf(s.cfg.Gravatar),
		"SessionDays": int(auth.DefaultSessionTTL.Hours() / 24)}
	if s.cfg.Login != nil {
		var names []string
		for _, c := range s.cfg.Login.Choices(site) {
			if c.ID == auth.EmailProvider {
				data["Email"] = true
			} else {
				names = append(names, c.Name)
			}
		}
		data["Providers"] = names
		data["SessionDays"] = int(s.cfg.Login.SessionTTL().Hours() / 24)
	}
	privacyTemplate.Execute(&b, data)
	w.Header().Set("Cache-Control", "public, max-age=300")
	writePage(w, http.StatusOK, "en", "Privacy — "+site.Name, template.HTML(b.String()))
}

// hostOf is the host name of a service's URL, as readers would know it
// ("gravatar.com"), or "" for "".
func hostOf(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Hostname()
	}
	return ""
}
