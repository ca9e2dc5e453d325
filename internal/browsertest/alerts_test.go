package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/internal/auth/authtest"
	"parley/internal/comment"
	"parley/internal/notify"
	"parley/internal/service"
	"parley/internal/staff"
)

// showMail opens an email's HTML part in the browser (as a file, the way
// a mail client shows it, without Parley's pages around it) and takes
// its picture.
func (b *browser) showMail(m authtest.Mail, name string) {
	b.tb.Helper()
	path := filepath.Join(b.tb.TempDir(), name+".html")
	if err := os.WriteFile(path, []byte(m.HTML()), 0o644); err != nil {
		b.tb.Fatal(err)
	}
	b.do(chromedp.Navigate("file://" + path))
	b.waitFor("the email", `document.body !== null && document.body.textContent.length > 0`)
	b.screenshot(name + ".png")
}

// waitMailAbout returns the next email whose subject starts with prefix,
// passing over others (held-comment alerts, confirmations).
func waitMailAbout(tb testing.TB, s *stack, prefix string) authtest.Mail {
	tb.Helper()
	for range 10 {
		if m := s.smtp.WaitMail(tb, 20*time.Second); strings.HasPrefix(m.Subject(), prefix) {
			return m
		}
	}
	tb.Fatalf("no email %q…", prefix)
	return authtest.Mail{}
}

// TestBrowser_SurgeAlertEmail: comments pour in on one article past the
// site's surge threshold; the moderator who asked for email alerts gets
// the surge alert in their mailbox, and its desk links work: the first
// asks them to log in and then shows the article with its surge guard,
// the second the article's held comments.
func TestBrowser_SurgeAlertEmail(t *testing.T) {
	needChromium(t)
	s := newNotifyStack(t)
	ctx := context.Background()
	op := service.OperatorActor()
	m, err := s.svc.AddMember(ctx, op, service.NewMember{Email: "mod@example.org", Name: "Mona Mod", Password: "correct horse battery", SiteID: "news", Role: staff.RoleModerator})
	if err != nil {
		t.Fatal(err)
	}
	// Hourly digests of held comments: the surge alert does not wait.
	if err := s.svc.SetEmailAlert(ctx, service.MemberActor(m), "news", m.Account.ID, time.Hour, "en"); err != nil {
		t.Fatal(err)
	}
	cm, _, err := s.svc.CommunitySettings(ctx, op, "news")
	if err != nil {
		t.Fatal(err)
	}
	cm.SurgeRate, cm.SurgeAction, cm.SurgeFor = 20, comment.SurgeHold, 30*time.Minute
	if err := s.svc.SetCommunitySettings(ctx, op, "news", *cm); err != nil {
		t.Fatal(err)
	}
	held := 0
	for i := range 40 {
		if c := s.post(t, "hot-take", "", fmt.Sprintf("Reader %d", i), fmt.Sprintf("My view on the decision, number %d", i)); c.Status == comment.StatusPending {
			held++
		}
	}
	if held == 0 {
		t.Fatal("the surge guard held nothing")
	}
	alerts, err := s.svc.Alerts(ctx, op, "news", false)
	if err != nil || len(alerts) != 1 {
		t.Fatalf("alerts = %+v, %v", alerts, err)
	}
	thread := alerts[0].ThreadID
	mail := waitMailAbout(t, s, "Surge of comments on")
	if mail.To[0] != "mod@example.org" || !strings.Contains(mail.Body(), "(the limit is 20); new comments there are held until") {
		t.Fatalf("surge email to %v %q:\n%s", mail.To, mail.Subject(), mail.Body())
	}
	b := newBrowser(t, 2*time.Minute)
	b.showMail(mail, "surge-email")

	// The article link: log in first, then the article's page.
	article := linkIn(t, mail, "/admin/sites/news/articles/"+thread)
	b.logIn(s.parley.URL, strings.TrimPrefix(article, s.parley.URL))
	b.waitLocation("the article in the desk", func(l string) bool { return strings.Contains(l, "/articles/"+thread) })
	if got := eval[string](b, `document.querySelector('main').textContent`); !strings.Contains(got, "The surge guard holds new comments until") {
		t.Fatalf("article page: %s", got)
	}
	b.screenshot("surge-email-article.png")

	// The held comments link: the queue of that article's held comments.
	b.do(chromedp.Navigate(linkIn(t, mail, "/admin/sites/news/")))
	b.waitFor("the held comments", `document.querySelectorAll('.card').length > 0`)
	if got := eval[string](b, `document.querySelector('.view[aria-current] .count').textContent`); got != fmt.Sprint(held) {
		t.Errorf("held count = %s, want %d", got, held)
	}
	if n := eval[float64](b, `document.querySelectorAll('.card.status-pending').length`); int(n) != min(held, 50) {
		t.Errorf("%v held cards, want %d", n, min(held, 50))
	}
	b.screenshot("surge-email-held.png")
}

// TestBrowser_HeldCommentDecisionEmail: a site's admin turns on "email
// the author" in Community; a guest writing in French subscribes under
// their held comment and confirms by the emailed link; when a moderator
// approves the comment in the desk, the guest's mailbox gets the news in
// French, whose link shows the published comment, and whose stop link
// stops these emails.
func TestBrowser_HeldCommentDecisionEmail(t *testing.T) {
	needChromium(t)
	s := newNotifyStack(t)
	ctx := context.Background()
	op := service.OperatorActor()
	site, _ := s.svc.DeskSite(ctx, op, "news")
	hold := *site
	hold.Moderation = comment.ModerateAll
	if err := s.svc.UpdateSite(ctx, op, &hold); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.AddMember(ctx, op, service.NewMember{Email: "mod@example.org", Name: "Ada Admin", Password: "correct horse battery", SiteID: "news", Role: staff.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	desk := newBrowser(t, 3*time.Minute)
	desk.logIn(s.parley.URL, "/admin/sites/news/community")
	desk.waitFor("the community settings", `document.querySelector('#c-decisions') !== null`)
	desk.click(`document.querySelector('#c-decisions')`)
	desk.screenshot("desk-community-decisions.png")
	desk.do(chromedp.Submit(`#c-decisions`))
	desk.waitFor("saved", `document.getElementById('flash') !== null && document.getElementById('flash').textContent.includes('saved')`)
	if cm, _, _ := s.svc.CommunitySettings(ctx, op, "news"); !cm.EmailDecisions {
		t.Fatal("the checkbox did not turn the setting on")
	}

	// The guest, in French, asks to be told of replies under a comment
	// that is held.
	g := newBrowser(t, 3*time.Minute)
	g.openWidget(s.articleURL("bridge") + "?lang=fr")
	g.waitFor("the notification box", has(".parley-notify")+` && !`+widgetJS(".parley-notify")+`.hidden`)
	g.do(
		retype(inWidget("textarea[name=body]"), "Le pont sera-t-il ouvert aux vélos ?"),
		retype(inWidget("input[name=email]"), "camille@example.org"),
		retype(inWidget("input[name=name]"), "Camille"),
	)
	g.click(widgetJS(".parley-notify input"))
	g.click(widgetJS(".parley-submit"))
	g.waitFor("held", widgetJS(".parley-pending")+` !== null`)
	confirm := waitMailAbout(t, s, "Confirm")
	g.do(chromedp.Navigate(linkIn(t, confirm, notify.ConfirmPath)))
	g.waitFor("the confirmation page", `document.querySelector('#parley-notify-button') !== null`)
	g.do(chromedp.Click(`#parley-notify-button`))
	g.waitFor("confirmed", `document.body.textContent.includes('votre abonnement est confirmé')`)

	// The moderator approves it from the queue.
	list, err := s.svc.Queue(ctx, op, "news", service.Query{})
	if err != nil || len(list.Cards) != 1 {
		t.Fatalf("queue: %+v, %v", list, err)
	}
	id := list.Cards[0].Comment.ID
	desk.do(chromedp.Navigate(s.parley.URL + "/admin/sites/news/"))
	desk.waitFor("the held card", `document.querySelector('.card[data-id="`+id+`"] .btn-approve') !== null`)
	desk.do(chromedp.Click(`.card[data-id="` + id + `"] .btn-approve`))
	desk.waitFor("approved", `document.getElementById('flash').textContent.includes('1 comment approved')`)

	mail := waitMailAbout(t, s, "Votre commentaire sur")
	if mail.To[0] != "camille@example.org" || !strings.HasSuffix(mail.Subject(), "» est publié") || !strings.Contains(mail.Body(), "Le pont sera-t-il ouvert aux vélos ?") {
		t.Fatalf("decision email to %v %q:\n%s", mail.To, mail.Subject(), mail.Body())
	}
	g.showMail(mail, "decision-email")
	g.openWidget(linkIn(t, mail, "/article/bridge"))
	g.waitFor("the published comment", has("#comment-"+id)+` && !`+widgetJS("#comment-"+id)+`.classList.contains('parley-pending')`)
	g.screenshot("decision-email-comment.png")

	// The stop link: a page with a button, then done.
	g.do(chromedp.Navigate(linkIn(t, mail, notify.DecisionsPath)))
	g.waitFor("the stop page", `document.querySelector('#parley-notify-button') !== null`)
	g.screenshot("decision-email-stop.png")
	g.do(chromedp.Click(`#parley-notify-button`))
	g.waitFor("stopped", `document.body.textContent.includes('ne vous écrira plus')`)
	g.screenshot("decision-email-stopped.png")
	if p, err := s.svc.DecisionMailLink(ctx, strings.SplitN(strings.SplitN(linkIn(t, mail, notify.DecisionsPath), "t=", 2)[1], "&", 2)[0]); err != nil || !p.Stopped {
		t.Fatalf("after the button: %+v, %v", p, err)
	}
}
