package browsertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"parley/internal/comment"
	"parley/internal/service"
	"parley/internal/staff"
)

// deskStack is a stack whose site holds every comment, with a staff member
// who moderates it.
func deskStack(tb testing.TB) *stack {
	tb.Helper()
	s := newStack(tb)
	ctx := context.Background()
	site, err := s.svc.DeskSite(ctx, service.OperatorActor(), "news")
	if err != nil {
		tb.Fatal(err)
	}
	held := *site
	held.Moderation = comment.ModerateAll
	if err := s.svc.UpdateSite(ctx, service.OperatorActor(), &held); err != nil {
		tb.Fatal(err)
	}
	if _, err := s.svc.AddMember(ctx, service.OperatorActor(), service.NewMember{Email: "mod@example.org", Name: "Mona Mod", Password: "correct horse battery", SiteID: "news", Role: staff.RoleModerator}); err != nil {
		tb.Fatal(err)
	}
	return s
}

// postFrom stores a comment as sent from a client address.
func (s *stack) postFrom(tb testing.TB, key, name, body, ip string) *comment.Comment {
	tb.Helper()
	c, err := s.svc.Post(context.Background(), comment.Draft{SiteID: "news", Page: key, PageURL: s.articleURL(key),
		Name: name, Email: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.org", Body: body}, service.Meta{IP: ip})
	if err != nil {
		tb.Fatalf("post %q: %v", body, err)
	}
	return c
}

// logIn logs the browser in to the desk through its log-in form.
func (b *browser) logIn(base, next string) {
	b.tb.Helper()
	b.do(chromedp.Navigate(base + next))
	b.waitLocation("the log-in page", func(l string) bool { return strings.Contains(l, "/admin/login") })
	b.do(chromedp.SendKeys(`#email`, "mod@example.org"), chromedp.SendKeys(`#password`, "correct horse battery"), chromedp.Submit(`#password`))
	b.waitLocation("the desk after log-in", func(l string) bool { return !strings.Contains(l, "/admin/login") })
}

// TestBrowser_DeskQueue is a moderator's morning: log in, find a held
// comment with the search, approve it with the keyboard, see it on the
// article page; and on a phone, and in Arabic.
func TestBrowser_DeskQueue(t *testing.T) {
	s := deskStack(t)
	s.post(t, "story", "", "Ana Reader", "I grew up on that street; the new **bridge** is long overdue.")
	target := s.post(t, "story", "", "Ben Critic", "The council voted on the bridge without asking us.")
	s.post(t, "story", "", "Cheap Pills", "Buy cheap pills online, best prices")

	b := newBrowser(t, 90*time.Second)
	b.logIn(s.parley.URL, "/admin/sites/news/")
	b.waitFor("three held comments", `document.querySelectorAll('.card').length === 3`)
	if got := eval[string](b, `document.querySelector('.view[aria-current] .count').textContent`); got != "3" {
		t.Fatalf("pending count = %q, want 3", got)
	}
	if got := eval[string](b, `document.querySelector('.card .why').textContent`); !strings.Contains(got, "moderation") {
		t.Fatalf("why-here line = %q, want the moderation setting", got)
	}
	b.screenshot("desk-queue.png")

	// Search by text.
	b.do(chromedp.SendKeys(`#f-q`, "council"), chromedp.Submit(`#f-q`))
	b.waitLocation("the filtered queue", func(l string) bool { return strings.Contains(l, "q=council") })
	b.waitFor("one card", `document.querySelectorAll('.card').length === 1`)
	if id := eval[string](b, `document.querySelector('.card').dataset.id`); id != target.ID {
		t.Fatalf("search found %s, want %s", id, target.ID)
	}
	// j selects it, a approves it: the card leaves the view.
	b.do(chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
	b.do(chromedp.KeyEvent("j"))
	b.waitFor("the card to be current", `document.querySelector('.card.current') !== null`)
	b.do(chromedp.KeyEvent("a"))
	b.waitFor("the approval to be said", `document.getElementById('flash').textContent.includes('1 comment approved')`)
	if c, err := s.svc.Comment(context.Background(), "news", target.ID); err != nil || c.Status != comment.StatusApproved {
		t.Fatalf("after the a key: %v %v", c, err)
	}

	// Readers see it.
	b.openWidget(s.articleURL("story"))
	b.waitFor("the approved comment in the thread", widgetJS(".parley-comment")+` !== null && `+shadowRoot+`.textContent.includes('without asking us')`)

	// The audit log says who did it.
	b.do(chromedp.Navigate(s.parley.URL + "/admin/sites/news/audit"))
	b.waitFor("the audit log", `document.querySelector('table.audit') !== null`)
	if got := eval[string](b, `document.querySelector('table.audit tbody tr').textContent`); !strings.Contains(got, "mod@example.org") || !strings.Contains(got, "Approved") {
		t.Fatalf("audit row = %q", got)
	}

	// A phone.
	if _, err := chromedp.Call(b.ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 390, Height: 844, DeviceScaleFactor: 3, Mobile: true}); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Navigate(s.parley.URL + "/admin/sites/news/"))
	b.waitFor("the queue on a phone", `document.querySelectorAll('.card').length === 2`)
	if w := eval[float64](b, `document.documentElement.scrollWidth`); w > 390 {
		t.Fatalf("the queue is %v px wide on a 390 px phone: it scrolls sideways", w)
	}
	b.screenshot("desk-phone.png")
	if _, err := chromedp.Call(b.ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}

	// Arabic, right to left.
	b.do(chromedp.Navigate(s.parley.URL + "/admin/sites/news/?lang=ar"))
	b.waitFor("the Arabic queue", `document.documentElement.dir === 'rtl'`)
	if got := eval[string](b, `document.querySelector('.view[aria-current]').textContent`); !strings.Contains(got, "قيد الانتظار") {
		t.Fatalf("Arabic view tab = %q", got)
	}
	b.screenshot("desk-arabic.png")
}

// TestBrowser_DeskSpamWave is a spam wave of 50 comments from one address:
// filtered by that address, marked spam in one action across pages, then
// undone.
func TestBrowser_DeskSpamWave(t *testing.T) {
	s := deskStack(t)
	for i := range 50 {
		s.postFrom(t, fmt.Sprintf("story-%d", i%7), "Win Big", fmt.Sprintf("Visit my casino %d for a bonus", i), "203.0.113.9")
	}
	s.postFrom(t, "story-1", "Ana Reader", "A real comment among the spam.", "198.51.100.4")

	b := newBrowser(t, 90*time.Second)
	b.logIn(s.parley.URL, "/admin/sites/news/")
	b.waitFor("the queue", `document.querySelectorAll('.card').length > 0`)
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('details.more').open = true`))
	b.do(chromedp.SendKeys(`#f-ip`, "203.0.113.9"), chromedp.SetValue(`#f-since`, "1h"), chromedp.Submit(`#f-ip`))
	b.waitLocation("the filtered queue", func(l string) bool { return strings.Contains(l, "ip=203.0.113.9") })
	b.waitFor("a full first page", `document.querySelectorAll('.card').length === 50`)
	if got := eval[string](b, `document.querySelector('.matching label').textContent`); !strings.Contains(got, "50") {
		t.Fatalf("bulk-by-query label = %q", got)
	}
	b.do(chromedp.SetValue(`#match-action`, "spam"), chromedp.Click(`.matching button`))
	b.waitLocation("the confirmation", func(l string) bool { return strings.Contains(l, "decide-matching") })
	if got := eval[string](b, `document.querySelector('.confirm .big').textContent`); !strings.Contains(got, "50") {
		t.Fatalf("confirmation = %q", got)
	}
	b.screenshot("desk-confirm.png")
	b.do(chromedp.Click(`#confirm-go`))
	b.waitFor("the result", `document.getElementById('flash') && document.getElementById('flash').textContent.includes('50 of 50')`)
	pending, err := s.svc.Queue(context.Background(), service.OperatorActor(), "news", service.Query{Status: comment.StatusPending})
	if err != nil || pending.Counts[comment.StatusPending] != 1 || pending.Counts[comment.StatusSpam] != 50 {
		t.Fatalf("after the wave: %v %v", pending.Counts, err)
	}
	// Undo puts all fifty back.
	b.do(chromedp.Click(`#flash button`))
	b.waitFor("undone", `document.getElementById('flash').textContent.includes('Undone')`)
	pending, _ = s.svc.Queue(context.Background(), service.OperatorActor(), "news", service.Query{Status: comment.StatusPending})
	if pending.Counts[comment.StatusPending] != 51 || pending.Counts[comment.StatusSpam] != 0 {
		t.Fatalf("after undo: %v", pending.Counts)
	}
}

// TestBrowser_DeskWithoutJavaScript approves a comment with the card's
// plain form.
func TestBrowser_DeskWithoutJavaScript(t *testing.T) {
	s := deskStack(t)
	c := s.post(t, "story", "", "Ana Reader", "Plain forms work too.")
	b := newBrowser(t, 60*time.Second)
	b.withoutJavaScript()
	b.logIn(s.parley.URL, "/admin/sites/news/")
	b.waitFor("the card", `document.querySelector('.card') !== null`)
	b.do(chromedp.Click(`.card button[value="approve"]`))
	b.waitFor("the flash after the redirect", `document.getElementById('flash') && document.getElementById('flash').textContent.includes('1 comment approved')`)
	if got, _ := s.svc.Comment(context.Background(), "news", c.ID); got.Status != comment.StatusApproved {
		t.Fatalf("status = %s", got.Status)
	}
	b.screenshot("desk-nojs.png")
}

// TestBrowser_DeskProviderLogIn: a staff account without a password logs
// in to the desk with a reader log-in provider that vouches for its
// email address (which links the two), in a browser blocking third-party
// cookies; someone the provider knows but the staff does not is refused.
func TestBrowser_DeskProviderLogIn(t *testing.T) {
	s := newLoginStack(t)
	ctx := context.Background()
	if _, err := s.svc.AddMember(ctx, service.OperatorActor(), service.NewMember{Email: "jane@example.org", SiteID: "news", Role: staff.RoleModerator}); err != nil {
		t.Fatal(err)
	}
	b := thirdPartyCookiesBlocked(t)
	b.do(chromedp.Navigate(s.parleyURL + "/admin/login"))
	b.waitFor("the provider's button", `[...document.querySelectorAll('.providers a')].some(a => a.textContent.includes('Newsroom ID'))`)
	b.screenshot("desk-login-providers.png")
	b.do(chromedp.Click(`.providers a`), chromedp.WaitVisible("#username"))
	b.do(chromedp.SendKeys("#username", "jane"), chromedp.SendKeys("#password", "correct horse"), chromedp.Click("#login"))
	b.waitLocation("the desk's queue", func(u string) bool { return strings.HasPrefix(u, s.parleyURL+"/admin/sites/news/") })
	b.waitFor("the queue", `document.querySelector('.views') !== null`)
	m, err := s.svc.Members(ctx, service.OperatorActor(), "news")
	if err != nil || len(m) != 1 || m[0].Account.Identity != "newsroom:user-7f3a" {
		t.Fatalf("the account's linked log-in: %+v %v", m, err)
	}

	// Log out; a provider account with no staff account is refused.
	b.do(chromedp.Click(`.me button`))
	b.waitLocation("the log-in page", func(u string) bool { return strings.Contains(u, "/admin/login") })
	if err := s.svc.SetRole(ctx, service.OperatorActor(), m[0].Account.ID, "news", ""); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Click(`.providers a`))
	// The provider remembers Jane, or asks again.
	b.waitLocation("back from the provider", func(u string) bool {
		return strings.HasPrefix(u, s.parleyURL+"/admin/") || strings.Contains(u, "login")
	})
	if eval[bool](b, `!!document.querySelector('#username')`) {
		b.do(chromedp.SendKeys("#username", "jane"), chromedp.SendKeys("#password", "correct horse"), chromedp.Click("#login"))
	}
	b.waitFor("the refusal", `document.querySelector('.problem') !== null || document.querySelector('.message') !== null || document.querySelector('main h1') !== null`)
	b.waitLocation("Parley", func(u string) bool { return strings.HasPrefix(u, s.parleyURL) })
	// No role anywhere: the desk's home says so, and no site is shown.
	if got := eval[string](b, `document.body.textContent`); !strings.Contains(got, "no role") && !strings.Contains(got, "No staff account") {
		t.Fatalf("a log-in without a role shows %q", got)
	}
}
