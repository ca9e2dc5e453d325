package browsertest

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/internal/auth/authtest"
	"parley/internal/comment"
	"parley/internal/notify"
	"parley/internal/service"
	"parley/internal/staff"
	"parley/internal/store"
)

var mailLink = regexp.MustCompile(`http://\S+`)

// linkIn returns the link of a mail's text whose path is path.
func linkIn(tb testing.TB, m authtest.Mail, path string) string {
	tb.Helper()
	for _, l := range mailLink.FindAllString(m.Body(), -1) {
		if u, err := url.Parse(l); err == nil && u.Path == path {
			return l
		}
	}
	tb.Fatalf("no %s link in:\n%s", path, m.Body())
	return ""
}

// TestBrowser_NotifyReplies is a guest's whole story: they tick "Notify
// me of follow-up comments by email" under their comment, confirm by the
// link in the email the SMTP server received, get an email when someone
// replies, and unsubscribe with one click on the link in it.
func TestBrowser_NotifyReplies(t *testing.T) {
	s := newNotifyStack(t)
	b := newBrowser(t, 3*time.Minute)
	b.openWidget(s.articleURL("bus-line"))
	b.waitFor("the notification box", has(".parley-notify")+` && !`+widgetJS(".parley-notify")+`.hidden`)
	b.do(
		retype(inWidget("textarea[name=body]"), "Will the number 7 run on Sundays?"),
		retype(inWidget("input[name=email]"), "Guest.Reader@example.org"),
		retype(inWidget("input[name=name]"), "Gina Guest"),
	)
	b.click(widgetJS(".parley-notify input"))
	b.do(chromedp.SetValue(inWidget(".parley-notify select"), "replies"))
	b.click(widgetJS(".parley-submit"))
	b.waitFor("the confirmation note", widgetJS(".parley-notify + .parley-hint")+`.textContent.includes('Check your email')`)
	b.screenshot("notify-1-subscribed.png")

	confirm := s.smtp.WaitMail(t, 20*time.Second)
	if confirm.To[0] != "guest.reader@example.org" || !strings.Contains(confirm.Subject(), "Confirm your subscription") {
		t.Fatalf("confirmation: %v %q", confirm.To, confirm.Subject())
	}
	b.do(chromedp.Navigate(linkIn(t, confirm, notify.ConfirmPath)))
	b.waitFor("the confirmation page", `document.querySelector('#parley-notify-button') !== null`)
	b.screenshot("notify-2-confirm-page.png")
	b.do(chromedp.Click(`#parley-notify-button`))
	b.waitFor("confirmed", `document.body.textContent.includes('your subscription is confirmed')`)
	b.screenshot("notify-3-confirmed.png")

	// Someone replies to the guest's comment.
	mine := s.stored(t, "bus-line")[0]
	s.post(t, "bus-line", mine.ID, "Rita Rider", "Yes, every 20 minutes from 8 a.m.")
	note := s.smtp.WaitMail(t, 20*time.Second)
	if note.To[0] != "guest.reader@example.org" || !strings.Contains(note.Subject(), "New reply to your comment") || !strings.Contains(note.Body(), "every 20 minutes") {
		t.Fatalf("notification %q:\n%s", note.Subject(), note.Body())
	}
	// The link to the reply lands on it.
	b.do(chromedp.Navigate(linkIn(t, note, "/article/bus-line")))
	b.waitFor("the reply", has("#comment-"+s.stored(t, "bus-line")[1].ID))

	// One click on the email's unsubscribe link's button.
	b.do(chromedp.Navigate(linkIn(t, note, notify.UnsubscribePath)))
	b.waitFor("the unsubscribe page", `document.querySelector('#parley-notify-button') !== null`)
	b.screenshot("notify-4-unsubscribe-page.png")
	b.do(chromedp.Click(`#parley-notify-button`))
	b.waitFor("unsubscribed", `document.body.textContent.includes('You are unsubscribed')`)
	b.screenshot("notify-5-unsubscribed.png")
	s.post(t, "bus-line", mine.ID, "Rita Rider", "And on holidays too.")
	time.Sleep(time.Second)
	if n := len(s.smtp.Messages()); n != 2 {
		t.Fatalf("%d emails after unsubscribing, want 2", n)
	}
}

// TestBrowser_NotifyWithoutJavaScript: the plain form has the same box.
func TestBrowser_NotifyWithoutJavaScript(t *testing.T) {
	s := newNotifyStack(t)
	b := newBrowser(t, 2*time.Minute, chromedp.Flag("blink-settings", "scriptEnabled=false"))
	b.do(chromedp.Navigate(s.includeURL("ferry")))
	b.waitFor("the form", `!!`+shadowRoot+` && `+widgetJS("input[name=notify_me]")+` !== null`)
	b.do(
		chromedp.SendKeys(inWidget(`#parley-body`), "Does the ferry take bicycles?"),
		chromedp.SendKeys(inWidget(`#parley-email`), "nojs@example.org"),
		chromedp.SendKeys(inWidget(`#parley-name`), "Nadia"),
		chromedp.Click(inWidget(`input[name=notify_me]`)),
		chromedp.SetValue(inWidget(`select[name=notify_scope]`), "all"),
	)
	b.screenshot("notify-nojs-form.png")
	b.do(chromedp.Submit(inWidget(`#parley-body`)))
	m := s.smtp.WaitMail(t, 20*time.Second)
	if m.To[0] != "nojs@example.org" || !strings.Contains(m.Subject(), "Confirm") {
		t.Fatalf("confirmation: %v %q", m.To, m.Subject())
	}
	subs, err := s.st.SubscriptionsByKey(context.Background(), s.links.EmailKey("nojs@example.org"), "news")
	if err != nil || len(subs) != 1 || subs[0].Scope != store.ScopeAll {
		t.Fatalf("subscriptions: %+v %v", subs, err)
	}
}

// TestBrowser_DeskNotifications walks the desk's new pages as an owner
// and a moderator would, and takes their pictures: webhooks, the
// delivery log, alerts, and an alert's action link.
func TestBrowser_DeskNotifications(t *testing.T) {
	s := newNotifyStack(t)
	ctx := context.Background()
	op := service.OperatorActor()
	site, _ := s.svc.DeskSite(ctx, op, "news")
	held := *site
	held.Moderation = comment.ModerateAll
	if err := s.svc.UpdateSite(ctx, op, &held); err != nil {
		t.Fatal(err)
	}
	m, err := s.svc.AddMember(ctx, op, service.NewMember{Email: "mod@example.org", Name: "Mona Mod", Password: "correct horse battery", SiteID: "news", Role: staff.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.svc.SetEmailAlert(ctx, service.MemberActor(m), "news", m.Account.ID, 0, "en"); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, 3*time.Minute)
	b.logIn(s.parley.URL, "/admin/sites/news/notifications")
	b.do(chromedp.SendKeys(`#h-url`, s.parley.URL+"/nowhere"))
	b.do(chromedp.Submit(`#h-url`))
	b.waitFor("the new secret", `document.querySelector('#webhook-secret') !== null`)
	b.screenshot("desk-notifications.png")
	c := s.post(t, "story", "", "Vic Visitor", "Is the bridge open on **Sundays**?")
	mail := s.smtp.WaitMail(t, 20*time.Second)
	b.do(chromedp.Navigate(s.parley.URL + "/admin/sites/news/deliveries"))
	b.waitFor("the delivery log", `document.querySelector('table.deliveries') !== null`)
	b.screenshot("desk-deliveries.png")
	b.do(chromedp.Navigate(s.parley.URL + "/admin/account"))
	b.waitFor("alerts", `document.querySelector('#al-news') !== null`)
	b.screenshot("desk-account-alerts.png")

	// The alert's Approve link, opened in a browser without a desk
	// session: a page with a button.
	anon := newBrowser(t, 2*time.Minute)
	links := regexp.MustCompile(`http://\S+/admin/act\?\S+`).FindAllString(mail.Body(), -1)
	if len(links) != 3 {
		t.Fatalf("alert:\n%s", mail.Body())
	}
	anon.do(chromedp.Navigate(links[0]))
	anon.waitFor("the action page", `document.querySelector('#act-go') !== null`)
	anon.screenshot("desk-act.png")
	anon.do(chromedp.Click(`#act-go`))
	anon.waitFor("approved", `document.querySelector('h1').textContent.includes('Approved')`)
	anon.screenshot("desk-act-done.png")
	if got, _ := s.svc.Comment(ctx, "news", c.ID); got.Status != comment.StatusApproved {
		t.Fatalf("after the action link: %s", got.Status)
	}
}
