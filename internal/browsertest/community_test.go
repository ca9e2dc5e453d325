package browsertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"parley/internal/comment"
	"parley/internal/httpapi"
	"parley/internal/service"
	"parley/internal/staff"
	"parley/internal/web"
)

// behindProxy is a stack whose Parley trusts the loopback address as its
// reverse proxy, so that each browser can say, in X-Forwarded-For, which
// network it reads from (as a proxy in front of Parley would).
func behindProxy(tb testing.TB) *stack {
	tb.Helper()
	proxies, err := web.ParseProxies("127.0.0.1/32")
	if err != nil {
		tb.Fatal(err)
	}
	return newStack(tb, func(c *httpapi.Config) { c.Proxies = proxies })
}

// from makes every request of the browser to Parley's API come, for
// Parley, from ip: the requests are paused on their way out and sent on
// with X-Forwarded-For added, as the proxy in front of Parley would
// (added below the page, so no CORS preflight is needed for it).
func (b *browser) from(ip, parley string) {
	b.tb.Helper()
	chromedp.Listen(b.ctx, func(ev any) {
		e, ok := ev.(*fetch.EventRequestPaused)
		if !ok {
			return
		}
		hs := []*fetch.HeaderEntry{{Name: "X-Forwarded-For", Value: ip}}
		for k, v := range e.Request.Headers {
			hs = append(hs, &fetch.HeaderEntry{Name: k, Value: fmt.Sprint(v)})
		}
		go chromedp.Call(b.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID, Headers: hs})
	})
	if _, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: parley + "/api/*"}}}); err != nil {
		b.tb.Fatal(err)
	}
}

// addModerator gives the stack's site a moderator who logs in with
// logIn.
func (s *stack) addModerator(tb testing.TB) {
	tb.Helper()
	if _, err := s.svc.AddMember(context.Background(), service.OperatorActor(), service.NewMember{Email: "mod@example.org", Name: "Mona Mod", Password: "correct horse battery", SiteID: "news", Role: staff.RoleModerator}); err != nil {
		tb.Fatal(err)
	}
}

// TestBrowser_ReportsHideAComment: three readers, each in their own
// browser and network, report a comment from the widget; after the third
// it is hidden pending review, and the desk's Reported view shows it with
// the reasons.
func TestBrowser_ReportsHideAComment(t *testing.T) {
	needChromium(t)
	s := behindProxy(t)
	s.addModerator(t)
	c := s.post(t, "story", "", "Hot Head", "Everyone who rides that bus is a fool.")
	s.post(t, "story", "", "Ana Reader", "The bus saves me twenty minutes a day.")
	reasons := []string{"abuse", "abuse", "off_topic"}
	for i, ip := range []string{"192.0.2.10", "198.51.100.20", "203.0.113.30"} {
		b := newBrowser(t, 60*time.Second)
		b.from(ip, s.parley.URL)
		b.openWidget(s.articleURL("story"))
		b.click(widgetJS(own(c.ID, ".parley-report")))
		b.waitFor("the report form", has(own(c.ID, ".parley-report-form")))
		if i == 0 {
			b.screenshot("report-form.png")
		}
		b.click(widgetJS(own(c.ID, `.parley-report-form input[value="`+reasons[i]+`"]`)))
		b.do(chromedp.SendKeys(inWidget(own(c.ID, ".parley-report-form textarea")), fmt.Sprintf("reader %d: not acceptable", i+1)))
		b.click(widgetJS(own(c.ID, ".parley-report-form .parley-send")))
		// The reader is thanked (said, and shown in place of the form);
		// the third report hides the comment, which leaves their page
		// at once (a live update).
		b.waitFor("the thanks", announced("Thanks — a moderator will look at it."))
		if i < 2 {
			b.waitFor("the thanks in place", `(e => e && e.textContent.includes('Thanks — a moderator will look at it.'))(`+widgetJS(own(c.ID, ".parley-notice"))+`)`)
			if got := eval[bool](b, has(own(c.ID, ".parley-report"))); got {
				t.Errorf("reader %d can report the same comment again", i+1)
			}
		} else {
			b.waitWithin(liveWait, "the hidden comment to leave the page", `!`+has("#comment-"+c.ID))
		}
		if i == 0 {
			b.screenshot("report-thanks.png")
		}
		got, err := s.svc.Comment(context.Background(), "news", c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]comment.Status{true: comment.StatusPending, false: comment.StatusApproved}[i == 2]; got.Status != want {
			t.Fatalf("after %d reports the comment is %s, want %s", i+1, got.Status, want)
		}
	}
	// A fourth reader no longer sees it.
	b := newBrowser(t, 60*time.Second)
	b.openWidget(s.articleURL("story"))
	if eval[bool](b, has("#comment-"+c.ID)) || text(b, ".parley-count") != "1 comment" {
		t.Fatalf("the hidden comment is still shown: %s", text(b, ".parley-list"))
	}
	// The desk's Reported view.
	b.logIn(s.parley.URL, "/admin/sites/news/reported")
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](`document.querySelector('.reported #c-`+c.ID+`') !== null`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("Reported view: %s", eval[string](b, `location.href + "\n" + document.body.innerText`))
	}
	summary := eval[string](b, `document.querySelector('.reported .reports').textContent`)
	if !strings.Contains(summary, "3 reports") || !strings.Contains(summary, "abuse (2)") || !strings.Contains(summary, "off-topic (1)") || !strings.Contains(summary, "reader 3: not acceptable") {
		t.Fatalf("Reported view: %s", summary)
	}
	if got := eval[string](b, `document.querySelector('.view[aria-current]').textContent`); !strings.Contains(got, "Reported") || !strings.Contains(got, "1") {
		t.Fatalf("Reported tab = %q", got)
	}
	b.screenshot("desk-reported.png")
}

// TestBrowser_BannedReaderRefused: a banned reader's comment is refused
// with a plain message, in the widget (the text stays in the box) and
// without JavaScript; a suspension says until when.
func TestBrowser_BannedReaderRefused(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	ctx := context.Background()
	if _, err := s.svc.AddSanction(ctx, service.OperatorActor(), "news", service.NewSanction{Match: comment.MatchEmail, Value: "troll@example.org", Reason: "abuse"}); err != nil {
		t.Fatal(err)
	}
	until := time.Date(2031, 6, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.svc.AddSanction(ctx, service.OperatorActor(), "news", service.NewSanction{Kind: comment.SanctionSuspend, Match: comment.MatchEmailDomain, Value: "hot.example", Until: until}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, 60*time.Second)
	b.openWidget(s.articleURL("story"))
	b.do(
		chromedp.SendKeys(inWidget("textarea[name=body]"), "You will hear from me again."),
		chromedp.SendKeys(inWidget("input[name=email]"), "troll@example.org"),
		chromedp.SendKeys(inWidget("input[name=name]"), "Troll"),
	)
	b.click(widgetJS(".parley-submit"))
	b.waitFor("the refusal", `(e => !e.hidden && e.textContent.includes('This site does not accept your comments.'))(`+widgetJS(".parley-form-error")+`)`)
	if got := eval[string](b, widgetJS("textarea[name=body]")+".value"); got != "You will hear from me again." {
		t.Errorf("the text was lost: %q", got)
	}
	if eval[bool](b, has(".parley-list li")) {
		t.Error("the refused comment is shown")
	}
	b.screenshot("banned-widget.png")
	// A suspended reader is told until when.
	b.do(retype(inWidget("input[name=email]"), "reader@hot.example"))
	b.click(widgetJS(".parley-submit"))
	b.waitFor("the suspension", `(e => !e.hidden && e.textContent.includes('until') && e.textContent.includes('2031'))(`+widgetJS(".parley-form-error")+`)`)
	// Without JavaScript.
	nb := newBrowser(t, 60*time.Second)
	nb.withoutJavaScript()
	nb.do(chromedp.Navigate(s.includeURL("story")), chromedp.WaitVisible(inWidget("textarea[name=body]")))
	nb.do(
		chromedp.SendKeys(inWidget("textarea[name=body]"), "Posted without a script."),
		chromedp.SendKeys(inWidget("input[name=email]"), "troll@example.org"),
		chromedp.SendKeys(inWidget("input[name=name]"), "Troll"),
		chromedp.Click(inWidget(".parley-submit")),
	)
	nb.waitLocation("the refusal page", func(l string) bool { return strings.HasPrefix(l, s.parley.URL) })
	nb.waitFor("the alert", `document.querySelector('.parley-form-error[role=alert]') !== null`)
	if got := eval[string](nb, `document.querySelector('.parley-form-error').textContent`); got != "This site does not accept your comments." {
		t.Errorf("no-JS refusal = %q", got)
	}
	if got := eval[string](nb, `document.querySelector('textarea[name=body]').value.trim()`); got != "Posted without a script." {
		t.Errorf("no-JS text lost: %q", got)
	}
	nb.screenshot("banned-nojs.png")
}

// TestBrowser_ClosedArticle: an article closed while a reader has it open
// shows "Comments are closed." at once, its comments still readable; and
// so does its server-rendered thread without JavaScript.
func TestBrowser_ClosedArticle(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	s.post(t, "story", "", "Ana Reader", "The new timetable is much better.")
	b := newBrowser(t, 60*time.Second)
	b.openWidget(s.articleURL("story"))
	if !eval[bool](b, widgetJS(".parley-closed")+".hidden") || eval[bool](b, widgetJS("#respond")+".hidden") {
		t.Fatal("an open article shows as closed")
	}
	closed := true
	msg := "Comments on this story were closed after the election results."
	if _, err := s.svc.SetPage(context.Background(), service.OperatorActor(), "news", "story", service.PageChange{Closed: &closed, Message: &msg}); err != nil {
		t.Fatal(err)
	}
	b.waitWithin(liveWait, "the closed notice, live", `!`+widgetJS(".parley-closed")+`.hidden && `+widgetJS("#respond")+`.hidden`)
	if got := text(b, ".parley-closed"); got != "Comments are closed." {
		t.Errorf("closed notice = %q", got)
	}
	if !strings.Contains(text(b, ".parley-message"), "after the election results") {
		t.Errorf("the article's message is not shown: %q", text(b, ".parley-message"))
	}
	if !strings.Contains(text(b, ".parley-list"), "The new timetable is much better.") {
		t.Error("the thread is not readable any more")
	}
	b.screenshot("closed-widget.png")

	nb := newBrowser(t, 60*time.Second)
	nb.withoutJavaScript()
	nb.do(chromedp.Navigate(s.includeURL("story")))
	nb.waitFor("the thread", `!!`+shadowRoot+` && `+widgetJS(".parley-closed")+` !== null`)
	if got := eval[string](nb, widgetJS(".parley-closed")+`.textContent`); got != "Comments are closed." {
		t.Errorf("no-JS closed notice = %q", got)
	}
	if eval[bool](nb, widgetJS("form.parley-form")+` !== null`) {
		t.Error("a closed article's no-JS page has a comment form")
	}
	if !eval[bool](nb, widgetJS(".parley-list")+`.textContent.includes('The new timetable is much better.')`) {
		t.Error("the no-JS thread is not readable")
	}
	nb.screenshot("closed-nojs.png")
}

// TestBrowser_SurgeHoldsAndAlerts: 100 comments arrive on one article
// within a minute (sent from the article's page through Parley's API, as
// many readers' widgets would); past the site's threshold the rest are
// held, and the desk alerts the staff on every page of the site.
func TestBrowser_SurgeHoldsAndAlerts(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	s.addModerator(t)
	ctx := context.Background()
	cm, _, err := s.svc.CommunitySettings(ctx, service.OperatorActor(), "news")
	if err != nil {
		t.Fatal(err)
	}
	cm.SurgeRate, cm.SurgeAction, cm.SurgeFor = 20, comment.SurgeHold, 30*time.Minute
	if err := s.svc.SetCommunitySettings(ctx, service.OperatorActor(), "news", *cm); err != nil {
		t.Fatal(err)
	}
	s.post(t, "hot-take", "", "First Reader", "Interesting decision by the council.")
	b := newBrowser(t, 120*time.Second)
	b.openWidget(s.articleURL("hot-take"))
	// 99 more, one after the other, from the page (CORS as the widget).
	b.do(chromedp.Evaluate[chromedp.Void](`window.__surge = null; (async () => {
		const out = {201: 0, 202: 0, other: []};
		for (let i = 0; i < 99; i++) {
			const r = await fetch(` + js(s.parley.URL) + ` + '/api/v1/sites/news/comments', {method: 'POST', headers: {'Content-Type': 'application/json'},
				body: JSON.stringify({page: 'hot-take', url: location.href, name: 'Reader ' + i, email: 'reader' + i + '@example.org', body: 'My view on the decision, number ' + i})});
			if (r.status in out) out[r.status]++; else out.other.push(r.status);
		}
		window.__surge = JSON.stringify(out);
	})()`))
	b.waitWithin(60*time.Second, "the 99 posts", `window.__surge !== null`)
	res := eval[string](b, `window.__surge`)
	var published, held int
	fmt.Sscanf(strings.NewReplacer(`{"201":`, "", `,"202":`, " ", `,"other":[]}`, "").Replace(res), "%d %d", &published, &held)
	// The first comment plus the bucket of 20 (and what refilled while
	// they were sent) are published; the rest wait for a moderator.
	if published+1 < 20 || published+1 > 25 || published+held != 99 {
		t.Fatalf("published %d, held %d of 99 (%s)", published, held, res)
	}
	alerts, err := s.svc.Alerts(ctx, service.OperatorActor(), "news", false)
	if err != nil || len(alerts) != 1 || alerts[0].Threshold != 20 {
		t.Fatalf("alerts = %+v, %v", alerts, err)
	}
	// The staff see it on the desk, with the article, and dismiss it.
	b.logIn(s.parley.URL, "/admin/sites/news/")
	b.waitFor("the alert", `document.querySelector('.alerts .alert') !== null`)
	if got := eval[string](b, `document.querySelector('.alerts .alert').textContent`); !strings.Contains(got, "Surge:") || !strings.Contains(got, "the limit is 20") || !strings.Contains(got, "held until") {
		t.Fatalf("alert = %q", got)
	}
	if got := eval[string](b, `document.querySelector('.view[aria-current] .count').textContent`); got != fmt.Sprint(held) {
		t.Errorf("pending count = %s, want %d", got, held)
	}
	b.screenshot("desk-surge-alert.png")
	b.do(chromedp.Click(`.alerts .alert a`))
	b.waitLocation("the article", func(l string) bool { return strings.Contains(l, "/articles/") })
	if got := eval[string](b, `document.querySelector('main').textContent`); !strings.Contains(got, "The surge guard holds new comments until") {
		t.Errorf("article page: %s", got)
	}
	b.screenshot("desk-article-surge.png")
	b.do(chromedp.Click(`.alerts .alert button`))
	b.waitFor("the alert gone", `document.querySelector('.alerts') === null`)
	if open, _ := s.svc.Alerts(ctx, service.OperatorActor(), "news", false); len(open) != 0 {
		t.Fatalf("alert still open after dismissing: %+v", open)
	}
}

// TestBrowser_DeskCommunityPages walks the new desk pages as a moderator
// and an admin do: the article list and one article's controls (closing
// it, pinning), bans (a ban from an author's page that removes their
// comments, then Undo), notes, community settings and rules.
func TestBrowser_DeskCommunityPages(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	ctx := context.Background()
	if _, err := s.svc.AddMember(ctx, service.OperatorActor(), service.NewMember{Email: "mod@example.org", Name: "Ada Admin", Password: "correct horse battery", SiteID: "news", Role: staff.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		s.post(t, fmt.Sprint("article-", i), "", "Ana Reader", fmt.Sprint("A fine comment on article ", i))
	}
	troll := s.post(t, "article-1", "", "Troll", "Nonsense and insults.")
	s.post(t, "article-2", "", "Troll", "More insults.")
	b := newBrowser(t, 120*time.Second)
	b.logIn(s.parley.URL, "/admin/sites/news/articles")
	b.waitFor("the article list", `document.querySelectorAll('table.articles tbody tr').length === 3`)
	if got := eval[string](b, `document.querySelector('table.articles tbody tr').textContent`); !strings.Contains(got, "article-2") || !strings.Contains(got, "Open") {
		t.Fatalf("first row (latest comment first) = %q", got)
	}
	b.screenshot("desk-articles.png")
	b.do(chromedp.Click(`table.articles tbody tr a`))
	b.waitLocation("an article", func(l string) bool { return strings.Contains(l, "/articles/") })
	b.do(chromedp.Click(`button[value="close"]`))
	b.waitFor("closed", `document.getElementById('flash').textContent.includes('Comments closed.')`)
	b.screenshot("desk-article.png")

	// The troll's author page: a ban that removes both comments.
	b.do(chromedp.Navigate(s.parley.URL + "/admin/sites/news/authors?comment=" + troll.ID))
	b.waitFor("the author page", `document.querySelector('#sanctions details') !== null`)
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#sanctions details').open = true`))
	b.do(chromedp.Click(`#sanctions input[name=remove]`), chromedp.SendKeys(`#sn-reason`, "insults"), chromedp.Click(`#sanctions button.primary`))
	b.waitFor("the ban", `document.getElementById('flash').textContent.includes('2 comments removed')`)
	if n := len(s.stored(t, "article-1")); n != 1 {
		t.Fatalf("article-1 has %d comments after the ban", n)
	}
	b.screenshot("desk-banned.png")
	// Undo: the ban is lifted and the comments come back.
	b.do(chromedp.Click(`#flash button`))
	b.waitFor("undone", `document.getElementById('flash').textContent.includes('2 comments restored')`)
	if n := len(s.stored(t, "article-1")); n != 2 {
		t.Fatalf("article-1 has %d comments after Undo", n)
	}
	// A note.
	b.do(chromedp.Navigate(s.parley.URL + "/admin/sites/news/authors?comment=" + troll.ID))
	b.waitFor("the author page", `document.querySelector('#note-text') !== null`)
	b.do(chromedp.SendKeys(`#note-text`, "Called them: they will calm down."), chromedp.Submit(`#note-text`))
	b.waitFor("the note", `document.querySelector('.notes') && document.querySelector('.notes').textContent.includes('they will calm down')`)
	b.screenshot("desk-author.png")
	// Bans page lists the lifted ban with --all.
	b.do(chromedp.Navigate(s.parley.URL + "/admin/sites/news/bans?all=1"))
	b.waitFor("the bans", `document.querySelectorAll('table.bans tbody tr').length === 1`)
	b.screenshot("desk-bans.png")
	// Community settings and rules (an admin).
	b.do(chromedp.Navigate(s.parley.URL + "/admin/sites/news/community"))
	b.waitFor("the settings", `document.querySelector('#r-blocked_words') !== null`)
	b.do(chromedp.SendKeys(`#r-blocked_words`, "press"), chromedp.Submit(`#r-blocked_words`))
	b.waitFor("saved", `document.getElementById('flash').textContent.includes('Rules saved.')`)
	b.screenshot("desk-community.png")
	if _, r, _ := s.svc.CommunitySettings(ctx, service.OperatorActor(), "news"); len(r.BlockedWords) != 1 || r.BlockedWords[0] != "press" {
		t.Fatalf("rules after saving: %+v", r)
	}
}

// communityData gives the desk's accessibility check something on every
// community page: a reported comment, a featured one, a ban and a lifted
// one, a note, community settings with reasons, and a surge's alert
// (shown on every page of the site). It returns the thread id of c's
// article.
func communityData(t *testing.T, s *stack, c, reply *comment.Comment) string {
	t.Helper()
	ctx, op := context.Background(), service.OperatorActor()
	if _, err := s.svc.Report(ctx, service.ReportInput{SiteID: "news", CommentID: c.ID, Reason: "abuse", Text: "rude to other readers", IP: "192.0.2.9"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.Feature(ctx, op, "news", c.ID, true); err != nil {
		t.Fatal(err)
	}
	sn, err := s.svc.AddSanction(ctx, op, "news", service.NewSanction{FromComment: reply.ID, Kind: comment.SanctionSuspend, Until: time.Now().Add(72 * time.Hour), Reason: "cool off"})
	if err != nil {
		t.Fatal(err)
	}
	s.svc.LiftSanction(ctx, op, "news", sn.ID, false)
	if _, err := s.svc.AddSanction(ctx, op, "news", service.NewSanction{Match: comment.MatchIP, Value: "203.0.113.0/24", Reason: "spam wave"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.AddNote(ctx, op, "news", reply.ID, "", "Argues a lot, but in good faith."); err != nil {
		t.Fatal(err)
	}
	cm, _, _ := s.svc.CommunitySettings(ctx, op, "news")
	cm.Reasons, cm.SurgeRate, cm.Message = []string{"Off topic", "Personal attack"}, 2, "Read our [guidelines](https://news.example/guidelines)."
	if err := s.svc.SetCommunitySettings(ctx, op, "news", *cm); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		s.post(t, "surging", "", fmt.Sprint("Reader ", i), fmt.Sprint("Hot take number ", i))
	}
	a, err := s.svc.Article(ctx, op, "news", "story")
	if err != nil {
		t.Fatal(err)
	}
	return a.Thread.ID
}

// TestBrowser_ReportPageAccessible runs axe-core on Parley's own report
// page (readers without JavaScript), in English and Arabic.
func TestBrowser_ReportPageAccessible(t *testing.T) {
	src := axeSource(t)
	s := newStack(t)
	c := s.post(t, "story", "", "Ana Reader", "A comment someone may report.")
	b := newBrowser(t, 60*time.Second)
	for _, lang := range []string{"en", "ar"} {
		b.do(chromedp.Navigate(s.parley.URL + "/sites/news/comments/" + c.ID + "/report?lang=" + lang + "&url=" + s.articleURL("story")))
		b.waitFor("the report page", `document.querySelector('form input[name=reason]') !== null`)
		b.axeCheck(src, "report page "+lang)
		b.screenshot("report-page-" + lang + ".png")
	}
}
