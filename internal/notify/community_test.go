package notify_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/internal/auth/authtest"
	"parley/internal/comment"
	"parley/internal/notify"
	"parley/internal/staff"
	"parley/internal/store"
	"parley/internal/webhook"
	"parley/internal/webhook/webhooktest"
)

// member adds a moderator of "news" who asked for email alerts every
// every, in lang (no alerts with every < 0).
func (e *env) member(t *testing.T, id, email string, every time.Duration, lang string) {
	t.Helper()
	if err := e.st.CreateAccount(ctx, &staff.Account{ID: id, Email: email, Created: e.clock.Now()}, []staff.Grant{{SiteID: "news", Role: staff.RoleModerator}}, nil); err != nil {
		t.Fatal(err)
	}
	if every >= 0 {
		if err := e.st.SetEmailAlert(ctx, &store.EmailAlert{AccountID: id, SiteID: "news", Every: every, Lang: lang}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// surge starts the surge guard on the thread of page, as the service
// does when comments come too fast.
func (e *env) surge(t *testing.T, threadID string, rate int) *comment.Alert {
	t.Helper()
	now := e.clock.Now()
	a := &comment.Alert{SiteID: "news", Kind: "surge", ThreadID: threadID, Rate: rate, Threshold: 100, Action: comment.SurgeHold, Until: now.Add(30 * time.Minute)}
	ok, err := e.st.StartSurge(ctx, a, now, &staff.AuditEntry{SiteID: "news", ActorKind: staff.ActorSystem, ActorName: "surge guard", Action: "page.surge", Target: "thread:" + threadID})
	if err != nil || !ok {
		t.Fatalf("StartSurge = %v, %v", ok, err)
	}
	e.w.Wake()
	return a
}

// mailTo waits for n emails and returns them by recipient.
func (e *env) mailTo(t *testing.T, n int) map[string]authtest.Mail {
	t.Helper()
	out := map[string]authtest.Mail{}
	for range n {
		m := e.smtp.WaitMail(t, 10*time.Second)
		out[m.To[0]] = m
	}
	return out
}

// TestSurgeAlerts: a surge alert reaches every staff member who asked
// for the site's alerts at once — even one whose digest of held comments
// is waiting for its hour — in their language, with links to the
// article and its held comments in the desk, and the webhooks subscribed
// to page.surge; each once.
func TestSurgeAlerts(t *testing.T) {
	e := newEnv(t, envOptions{webhooks: true})
	e.member(t, "m1", "mod@example.org", time.Hour, "en")
	e.member(t, "m2", "mudir@example.org", 0, "ar")
	e.member(t, "m3", "quiet@example.org", -1, "")
	surgeHook, otherHook := webhook.NewSecret(), webhook.NewSecret()
	r1, r2 := webhooktest.Start(t, surgeHook), webhooktest.Start(t, otherHook)
	if err := e.st.CreateWebhook(ctx, &store.Webhook{ID: "h1", SiteID: "news", URL: r1.URL(), Events: []string{store.EventCreated, store.EventSurge}, Secret: surgeHook}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.st.CreateWebhook(ctx, &store.Webhook{ID: "h2", SiteID: "news", URL: r2.URL(), Events: []string{store.EventApproved}, Secret: otherHook}, nil); err != nil {
		t.Fatal(err)
	}
	// Held comments: m1's first alert goes, and the next waits an hour.
	held := e.post(t, "hot", "", "Ann", "ann@example.org", "First held", comment.StatusPending, nil)
	e.mailTo(t, 2)
	e.post(t, "hot", "", "Ben", "ben@example.org", "Second held", comment.StatusPending, nil)
	if got := e.mailTo(t, 1); got["mudir@example.org"].Subject() == "" {
		t.Fatalf("m2's second alert: %v", got)
	}
	until(t, "m1's second alert waiting", func() bool { return len(e.messages(t, store.KindEmail, store.StatePending)) == 1 })

	a := e.surge(t, held.ThreadID, 120)
	got := e.mailTo(t, 2)
	m1, m2 := got["mod@example.org"], got["mudir@example.org"]
	if m1.Subject() != "Surge of comments on “Story hot”" || !strings.Contains(m1.Body(), "“Story hot” got 120 comments in a minute (the limit is 100); new comments there are held until") {
		t.Fatalf("m1's surge alert %q:\n%s", m1.Subject(), m1.Body())
	}
	links := map[string]string{}
	for _, l := range regexpLinks(m1.Body()) {
		u, _ := url.Parse(l)
		links[u.Path] = l
	}
	article := "https://comments.news.example/admin/sites/news/articles/" + held.ThreadID
	if links["/admin/sites/news/articles/"+held.ThreadID] != article {
		t.Errorf("no link to the article in the desk in:\n%s", m1.Body())
	}
	if q, _ := url.Parse(links["/admin/sites/news/"]); q == nil || q.Query().Get("status") != "pending" || q.Query().Get("page") != "hot" {
		t.Errorf("no link to the article's held comments in:\n%s", m1.Body())
	}
	if h := m1.Header().Get("List-Unsubscribe"); !strings.Contains(h, notify.AlertsOffPath) {
		t.Errorf("List-Unsubscribe = %q", h)
	}
	if m2.Subject() != "تدفق تعليقات على «Story hot»" || !strings.Contains(m2.HTML(), `dir="rtl"`) {
		t.Errorf("m2's surge alert %q", m2.Subject())
	}
	t.Logf("email size, a surge alert (en): %d bytes", len(m1.Data))

	// The webhook asked for page.surge gets it, signed; the other not.
	d := r1.Wait(3, 10*time.Second)
	if s := d[2]; !s.OK || s.Type != store.EventSurge || s.Page != "hot" || s.Action != comment.SurgeHold {
		t.Fatalf("surge delivery %+v", s)
	}
	// Once each: m1's digest of held comments still waits; nothing else.
	until(t, "the surge settled", func() bool { return len(e.messages(t, store.KindWebhook, store.StatePending)) == 0 })
	time.Sleep(100 * time.Millisecond)
	if n := len(e.smtp.Messages()); n != 5 {
		t.Fatalf("%d emails, want 5 (3 held alerts, 2 surge alerts)", n)
	}
	if n := len(r2.Deliveries()); n != 0 {
		t.Fatalf("the webhook not asking for surges got %d deliveries", n)
	}
	var surgeMsgs int
	for _, m := range e.messages(t, store.KindEmail, "") {
		var p struct{ Type string }
		json.Unmarshal([]byte(m.Payload), &p)
		if p.Type == "surge" {
			surgeMsgs++
			if m.State != store.StateSent || m.Stream != notify.SurgeStream("news", m.Target) {
				t.Errorf("surge message %+v", m)
			}
		}
	}
	if surgeMsgs != 2 {
		t.Fatalf("%d surge emails in the outbox, want 2", surgeMsgs)
	}
	if all, _ := e.st.AlertsByID(ctx, []int64{a.ID}); all[a.ID].Delivered.IsZero() {
		t.Error("the alert is not marked delivered")
	}
}

var linkRE = strings.NewReplacer("\n", " ", "\r", " ")

// regexpLinks returns the https links of a text.
func regexpLinks(body string) []string {
	var out []string
	for _, w := range strings.Fields(linkRE.Replace(body)) {
		if strings.HasPrefix(w, "https://") {
			out = append(out, w)
		}
	}
	return out
}

// TestSurgeAlertsDismissedAndTogether: alerts that waited (the outbox
// was not running) go out as one email; one dismissed in the desk
// meanwhile is not sent.
func TestSurgeAlertsDismissedAndTogether(t *testing.T) {
	e := newEnv(t, envOptions{noWorkers: true})
	e.member(t, "m1", "mod@example.org", 24*time.Hour, "en")
	var alerts []*comment.Alert
	for _, page := range []string{"a", "b", "c"} {
		c := e.post(t, page, "", "Ann", "ann@example.org", "Published", comment.StatusApproved, nil)
		alerts = append(alerts, e.surge(t, c.ThreadID, 150))
	}
	if err := e.st.DismissAlert(ctx, "news", alerts[0].ID, e.clock.Now(), "mod@example.org", nil); err != nil {
		t.Fatal(err)
	}
	e.run()
	m := e.smtp.WaitMail(t, 10*time.Second)
	if m.Subject() != "2 surges of comments on The News" || strings.Contains(m.Body(), "Story a") || !strings.Contains(m.Body(), "Story b") || !strings.Contains(m.Body(), "Story c") {
		t.Fatalf("%q:\n%s", m.Subject(), m.Body())
	}
	e.settle(t)
	if n := len(e.smtp.Messages()); n != 1 {
		t.Fatalf("%d emails, want 1", n)
	}
	if d := e.messages(t, store.KindEmail, store.StateDropped); len(d) != 1 {
		t.Fatalf("dropped: %+v", d)
	}
}

// decide makes a staff member's decision on comments, as the desk does
// (the audit entry records the reason chosen).
func (e *env) decide(t *testing.T, to comment.Status, reason string, ids ...string) {
	t.Helper()
	action := map[comment.Status]string{comment.StatusApproved: "comment.approve", comment.StatusDeleted: "comment.delete", comment.StatusSpam: "comment.spam"}[to]
	audit := &staff.AuditEntry{SiteID: "news", ActorKind: staff.ActorStaff, ActorID: "m1", ActorName: "mod@example.org", Action: action, Target: "comment:" + ids[0]}
	after, _ := json.Marshal(map[string]string{"status": string(to), "reason": reason})
	audit.After = string(after)
	if _, err := e.st.Moderate(ctx, "news", ids, to, audit); err != nil {
		t.Fatal(err)
	}
	e.w.Wake()
}

func (e *env) emailDecisions(t *testing.T, on bool) {
	t.Helper()
	cm := comment.DefaultCommunity()
	cm.Reasons, cm.EmailDecisions = []string{"Off topic", "Personal attack"}, on
	if err := e.st.SetCommunity(ctx, "news", &cm, nil); err != nil {
		t.Fatal(err)
	}
}

// TestDecisionEmails: on a site that asks for it, the author of a held
// comment who gave a confirmed address — a confirmed subscription, or
// one proved by an emailed log-in link — is emailed when a moderator
// publishes it or not, in their language, with the reason chosen and a
// link that stops these emails; nobody else is, and nothing is said of
// spam.
func TestDecisionEmails(t *testing.T) {
	e := newEnv(t, envOptions{verified: true})
	e.emailDecisions(t, true)
	// Sam confirmed a subscription (in French); Lena proved her address
	// by a log-in link and wrote from a German page; Una's subscription
	// waits for confirmation; Pia published directly.
	e.post(t, "x", "", "Sam", "sam@example.org", "Subscribed", comment.StatusApproved, e.subscribed("sam@example.org", store.ScopeReplies, "fr"))
	unconfirmed := e.subscribed("una@example.org", store.ScopeReplies, "en")
	unconfirmed.Confirmed = time.Time{}
	if err := e.verified.Mark(ctx, "Lena@Example.org"); err != nil {
		t.Fatal(err)
	}
	sam := e.post(t, "a", "", "Sam", "sam@example.org", "Sam's held view", comment.StatusPending, nil)
	samSpam := e.post(t, "a", "", "Sam", "sam@example.org", "Sam's spam", comment.StatusPending, nil)
	lena := e.post(t, "a", "", "Lena", "lena@example.org", "Lena's held view", comment.StatusPending, nil)
	if err := e.st.SetHeldLang(ctx, lena.ID, "de", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	una := e.post(t, "a", "", "Una", "una@example.org", "Una's held view", comment.StatusPending, unconfirmed)
	pia := e.post(t, "a", "", "Pia", "pia@example.org", "Pia's view", comment.StatusApproved, e.subscribed("pia@example.org", store.ScopeReplies, "en"))
	e.settle(t)
	before := len(e.smtp.Messages())

	e.decide(t, comment.StatusApproved, "", sam.ID, una.ID)
	e.decide(t, comment.StatusDeleted, "Off topic", lena.ID)
	e.decide(t, comment.StatusSpam, "", samSpam.ID)
	e.decide(t, comment.StatusDeleted, "Off topic", pia.ID) // was published: not a held comment's decision
	got := e.mailTo(t, 2)
	s, l := got["sam@example.org"], got["lena@example.org"]
	if s.Subject() != "Votre commentaire sur « Story a » est publié" || !strings.Contains(s.Body(), "Sam's held view") || s.Header().Get("Content-Language") != "fr" {
		t.Errorf("Sam's email %q (%s):\n%s", s.Subject(), s.Header().Get("Content-Language"), s.Body())
	}
	if !strings.Contains(s.Body(), "https://news.example/a#comment-"+sam.ID) {
		t.Errorf("Sam's email has no link to the comment:\n%s", s.Body())
	}
	if l.Subject() != "Dein Kommentar zu „Story a“ wurde nicht veröffentlicht" || !strings.Contains(l.Body(), "Nicht veröffentlicht: Off topic") || !strings.Contains(l.Body(), "Lena's held view") {
		t.Errorf("Lena's email %q:\n%s", l.Subject(), l.Body())
	}
	t.Logf("email sizes, a decision: published (fr) %d bytes, not published with a reason (de) %d bytes", len(s.Data), len(l.Data))
	stop := l.Header().Get("List-Unsubscribe")
	if !strings.Contains(stop, notify.DecisionsPath) || l.Header().Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || strings.Contains(stop, "lena") {
		t.Errorf("List-Unsubscribe %q", stop)
	}
	e.settle(t)
	if n := len(e.smtp.Messages()) - before; n != 2 {
		t.Fatalf("%d emails about decisions, want 2", n)
	}

	// Lena stops them (the link carries her address's key, not the
	// address); her next decision is not mailed.
	u, _ := url.Parse(strings.Trim(stop, "<>"))
	tok, err := e.links.Open(notify.PurposeDecisions, u.Query().Get("t"), time.Now())
	if err != nil || tok.Site != "news" || tok.EmailKey != e.links.EmailKey("lena@example.org") || tok.Lang != "de" {
		t.Fatalf("stop link %+v, %v", tok, err)
	}
	if err := e.st.SetDecisionMail(ctx, tok.Site, tok.EmailKey, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	again := e.post(t, "b", "", "Lena", "lena@example.org", "Lena again", comment.StatusPending, nil)
	e.decide(t, comment.StatusApproved, "", again.ID)
	// A site that does not ask: nothing either.
	e.emailDecisions(t, false)
	sam2 := e.post(t, "b", "", "Sam", "sam@example.org", "Sam again", comment.StatusPending, nil)
	e.decide(t, comment.StatusApproved, "", sam2.ID)
	e.settle(t)
	if n := len(e.smtp.Messages()) - before; n != 2 {
		t.Fatalf("%d emails about decisions after stopping, want 2", n)
	}
}

// TestDecisionEmailsTogether: decisions made close together reach their
// author as one email (at most one per digest interval, as readers'
// other emails), and one undone before it went is left out.
func TestDecisionEmailsTogether(t *testing.T) {
	e := newEnv(t, envOptions{digest: time.Hour})
	e.emailDecisions(t, true)
	e.post(t, "x", "", "Sam", "sam@example.org", "Subscribed", comment.StatusApproved, e.subscribed("sam@example.org", store.ScopeReplies, "en"))
	var held []*comment.Comment
	for _, body := range []string{"One", "Two", "Three", "Four"} {
		held = append(held, e.post(t, "a", "", "Sam", "sam@example.org", body, comment.StatusPending, nil))
	}
	e.settle(t)
	e.decide(t, comment.StatusApproved, "", held[0].ID)
	first := e.smtp.WaitMail(t, 10*time.Second)
	if first.Subject() != "Your comment on “Story a” is published" {
		t.Fatalf("first: %q", first.Subject())
	}
	e.settle(t)
	e.clock.Add(time.Minute)
	e.decide(t, comment.StatusApproved, "", held[1].ID)
	e.decide(t, comment.StatusDeleted, "Personal attack", held[2].ID)
	e.decide(t, comment.StatusDeleted, "", held[3].ID)
	until(t, "three decisions waiting", func() bool { return len(e.messages(t, store.KindEmail, store.StatePending)) == 3 })
	// The last one is undone (back to pending): its email is not sent.
	if _, err := e.st.Moderate(ctx, "news", []string{held[3].ID}, comment.StatusPending, nil); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Hour)
	e.w.Wake()
	digest := e.smtp.WaitMail(t, 10*time.Second)
	if digest.Subject() != "Moderators decided on 2 of your comments on The News" || !strings.Contains(digest.Body(), "Two") ||
		!strings.Contains(digest.Body(), "Not published: Personal attack") || strings.Contains(digest.Body(), "Four") {
		t.Fatalf("digest %q:\n%s", digest.Subject(), digest.Body())
	}
	e.settle(t)
	if n := len(e.smtp.Messages()); n != 2 {
		t.Fatalf("%d emails, want 2", n)
	}
}
