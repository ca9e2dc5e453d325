package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/internal/comment"
	"parley/internal/notify"
	"parley/internal/service"
	"parley/internal/staff"
)

// axe is axe-core, the accessibility engine, installed once per test run
// with npm from testdata/axe (the version is pinned in its lock file).
var axe struct {
	once sync.Once
	src  string
	err  error
}

// axeSource returns axe-core's script, or skips the test without npm.
func axeSource(t *testing.T) string {
	t.Helper()
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not on PATH, so axe-core cannot be installed (.ci/run installs Debian's npm)")
	}
	axe.once.Do(func() {
		dir, err := os.MkdirTemp("", "parley-axe-")
		if err != nil {
			axe.err = err
			return
		}
		defer os.RemoveAll(dir)
		for _, f := range []string{"package.json", "package-lock.json"} {
			b, err := os.ReadFile(filepath.Join("testdata", "axe", f))
			if err != nil {
				axe.err = err
				return
			}
			os.WriteFile(filepath.Join(dir, f), b, 0o644)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			axe.err = err
			axe.src = string(out)
			return
		}
		b, err := os.ReadFile(filepath.Join(dir, "node_modules", "axe-core", "axe.min.js"))
		axe.src, axe.err = string(b), err
	})
	if axe.err != nil {
		t.Fatalf("installing axe-core: %v %s", axe.err, axe.src)
	}
	return axe.src
}

// axeCheck runs axe-core's WCAG 2.1 A and AA rules on the page the tab
// shows and fails the test on every violation, naming the elements.
func (b *browser) axeCheck(src, page string) {
	b.tb.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](src))
	b.do(chromedp.Evaluate[chromedp.Void](`window.__axe = null; axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}).then(r => { window.__axe = JSON.stringify(r.violations.map(v => v.id + ': ' + v.help + ' — ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))) })`))
	b.waitFor("axe's result", `window.__axe !== null`)
	if got := eval[string](b, `window.__axe`); got != "[]" {
		b.tb.Errorf("%s: accessibility violations: %s", page, got)
	}
}

// TestBrowser_DeskAccessible runs axe-core on every page of the desk, in
// English and Arabic.
func TestBrowser_DeskAccessible(t *testing.T) {
	src := axeSource(t)
	s := deskStack(t)
	c := s.post(t, "story", "", "Ana Reader", "I grew up on that street; the new **bridge** is long overdue.")
	if _, err := s.svc.Decide(context.Background(), service.OperatorActor(), "news", []string{c.ID}, service.Approve); err != nil {
		t.Fatal(err)
	}
	reply := s.post(t, "story", c.ID, "Ben Critic", "> the new bridge\n\nIt is not new at all.")
	if _, err := s.svc.AddMember(context.Background(), service.OperatorActor(), service.NewMember{Email: "owner@example.org", Password: "owner's long password", Role: staff.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	thread := communityData(t, s, c, reply) // community_test.go
	b := newBrowser(t, 3*time.Minute)
	b.do(chromedp.Navigate(s.parley.URL + "/admin/login"))
	b.waitFor("the log-in page", `document.querySelector('#email') !== null`)
	b.axeCheck(src, "log-in")
	b.do(chromedp.SendKeys(`#email`, "owner@example.org"), chromedp.SendKeys(`#password`, "owner's long password"), chromedp.Submit(`#password`))
	b.waitLocation("the desk", func(l string) bool { return !strings.Contains(l, "/admin/login") })
	for _, lang := range []string{"en", "ar"} {
		for _, p := range []string{"/admin/", "/admin/sites/news/", "/admin/sites/news/?status=approved", "/admin/sites/news/comments/" + reply.ID, "/admin/sites/news/settings",
			"/admin/sites/news/audit", "/admin/sites/news/staff", "/admin/account",
			"/admin/sites/news/reported", "/admin/sites/news/articles", "/admin/sites/news/articles/" + thread, "/admin/sites/news/bans?all=1",
			"/admin/sites/news/authors?comment=" + reply.ID, "/admin/sites/news/community",
			"/admin/sites/news/notifications", "/admin/sites/news/deliveries"} {
			u := s.parley.URL + p
			if strings.Contains(u, "?") {
				u += "&lang=" + lang
			} else {
				u += "?lang=" + lang
			}
			b.do(chromedp.Navigate(u))
			b.waitFor("the page", `document.readyState === 'complete' && document.querySelector('main') !== null`)
			b.axeCheck(src, lang+" "+p)
		}
	}
	// The confirmation of a decision by query.
	b.do(chromedp.Navigate(s.parley.URL + "/admin/sites/news/?lang=en"))
	b.waitFor("the queue", `document.querySelector('.matching button') !== null`)
	b.do(chromedp.Click(`.matching button`))
	b.waitLocation("the confirmation", func(l string) bool { return strings.Contains(l, "decide-matching") })
	b.waitFor("the page", `document.querySelector('.confirm') !== null`)
	b.axeCheck(src, "confirmation")
}

// TestBrowser_NotifyPagesAccessible runs axe-core on the pages behind
// the links of Parley's emails — a moderator's action link and alerts'
// stop link (desk pages), a reader's confirmation, unsubscribe,
// subscriptions and held-comment emails' stop pages — and on the desk's notification pages with
// content, in English and Arabic.
func TestBrowser_NotifyPagesAccessible(t *testing.T) {
	src := axeSource(t)
	s := newNotifyStack(t)
	ctx := context.Background()
	op := service.OperatorActor()
	m, err := s.svc.AddMember(ctx, op, service.NewMember{Email: "mod@example.org", Name: "Mona Mod", Password: "correct horse battery", SiteID: "news", Role: staff.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.AddWebhook(ctx, op, service.NewWebhook{SiteID: "news", URL: s.parley.URL + "/nowhere"}); err != nil {
		t.Fatal(err)
	}
	c, err := s.svc.Post(ctx, comment.Draft{SiteID: "news", Page: "story", PageURL: s.articleURL("story"), Title: "The bridge", Name: "Ana Reader",
		Email: "ana@example.org", Body: "When does the **bridge** open?", Notify: service.NotifyAll, Lang: "ar"}, service.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	confirm := s.smtp.WaitMail(t, 20*time.Second)
	key := s.links.EmailKey("ana@example.org")
	b := newBrowser(t, 3*time.Minute)
	for _, lang := range []string{"en", "ar"} {
		for name, u := range map[string]string{
			"action":        s.links.URL(notify.ActionPath, notify.PurposeAction, notify.Token{Site: "news", Account: m.Account.ID, Comment: c.ID, Decision: "spam", Nonce: "n" + lang, Expires: time.Now().Add(time.Hour).Unix(), Lang: lang}),
			"alerts off":    s.links.URL(notify.AlertsOffPath, notify.PurposeAlertsOff, notify.Token{Site: "news", Account: m.Account.ID, Lang: lang}),
			"confirm":       linkIn(t, confirm, notify.ConfirmPath) + "&lang=" + lang,
			"unsubscribe":   s.links.URL(notify.UnsubscribePath, notify.PurposeUnsubscribe, notify.Token{Site: "news", EmailKey: key, Lang: lang}),
			"subscriptions": s.links.URL(notify.SubscriptionsPath, notify.PurposeManage, notify.Token{Site: "news", EmailKey: key, Lang: lang}),
			"decisions":     s.links.URL(notify.DecisionsPath, notify.PurposeDecisions, notify.Token{Site: "news", EmailKey: key, Lang: lang}),
		} {
			b.do(chromedp.Navigate(u))
			b.waitFor("the page", `document.readyState === 'complete' && document.querySelector('h1') !== null`)
			b.axeCheck(src, lang+" "+name)
		}
	}
	b.logIn(s.parley.URL, "/admin/sites/news/notifications")
	for _, lang := range []string{"en", "ar"} {
		for _, p := range []string{"/admin/sites/news/notifications", "/admin/sites/news/deliveries", "/admin/account"} {
			b.do(chromedp.Navigate(s.parley.URL + p + "?lang=" + lang))
			b.waitFor("the page", `document.readyState === 'complete' && document.querySelector('main') !== null`)
			b.axeCheck(src, lang+" "+p)
		}
	}
	b.do(chromedp.Navigate(s.parley.URL + "/admin/sites/news/notifications?lang=ar"))
	b.screenshot("desk-notifications-ar.png")
}
