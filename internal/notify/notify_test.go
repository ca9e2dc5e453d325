package notify_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/auth"
	"parley/internal/auth/authtest"
	"parley/internal/comment"
	"parley/internal/mail"
	"parley/internal/notify"
	"parley/internal/outbox"
	"parley/internal/safehttp"
	"parley/internal/staff"
	"parley/internal/store"
	"parley/internal/store/sqlite"
	"parley/internal/webhook"
	"parley/internal/webhook/webhooktest"
)

var ctx = context.Background()

// clock is real time plus a shift the test moves forward (the store
// stamps events with real time).
type clock struct {
	mu    sync.Mutex
	shift time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.shift)
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.shift += d
	c.mu.Unlock()
}

// env is a store with site "news", a real SMTP server, the notifier and
// its outbox worker on a clock the test moves.
type env struct {
	st    store.Store
	smtp  *authtest.SMTP
	links *notify.Links
	n     *notify.Notifier
	w     *outbox.Worker
	clock *clock
	hooks *webhook.Client
	// verified remembers addresses proved by an emailed log-in link
	// (envOptions.verified).
	verified *auth.VerifiedEmails
	// run starts the outbox worker (envOptions.noWorkers: the test does).
	run func()
}

type envOptions struct {
	digest    time.Duration
	smtpPort  int // 0: the test server's
	webhooks  bool
	giveUp    time.Duration
	noWorkers bool // the test starts the worker (env.run)
	verified  bool // addresses proved by log-in links count as confirmed
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "n.db"), sqlite.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateSite(ctx, &comment.Site{ID: "news", Name: "The News", Origins: []string{"https://news.example"}, MaxDepth: 5}, nil); err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, clock: &clock{}}
	e.smtp = authtest.StartSMTP(t)
	port := e.smtp.Port()
	if o.smtpPort != 0 {
		port = o.smtpPort
	}
	mailer, err := mail.NewSMTP(mail.Config{Host: "127.0.0.1", Port: port, TLS: mail.TLSNone, From: "Comments <comments@news.example>", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	if e.links, err = notify.NewLinks(key, "https://comments.news.example"); err != nil {
		t.Fatal(err)
	}
	if o.webhooks {
		e.hooks = webhook.NewClient(webhook.Options{Policy: safehttp.Policy{Hosts: []string{"127.0.0.1"}}, Now: time.Now})
	}
	cfg := notify.Config{Store: st, Links: e.links, Mailer: mailer, Hooks: e.hooks, DigestEvery: o.digest, GiveUp: o.giveUp, Now: e.clock.Now}
	if o.verified {
		if e.verified, err = auth.NewVerifiedEmails(key, st); err != nil {
			t.Fatal(err)
		}
		cfg.Verified = e.verified.Verified
	}
	if e.n, err = notify.New(cfg); err != nil {
		t.Fatal(err)
	}
	if e.w, err = e.n.Worker(st, outbox.Config{Poll: 10 * time.Millisecond, RetryMin: time.Minute, RetryMax: time.Hour}); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var done chan struct{}
	e.run = func() {
		done = make(chan struct{})
		go func() { defer close(done); e.w.Run(runCtx) }()
	}
	if !o.noWorkers {
		e.run()
	}
	t.Cleanup(func() {
		stop()
		if done != nil {
			<-done
		}
		mailer.Close()
	})
	return e
}

func (e *env) post(t *testing.T, page, parent, name, email, body string, st comment.Status, sub *store.Subscription) *comment.Comment {
	t.Helper()
	c := &comment.Comment{ParentID: parent, Author: comment.Author{Name: name, Email: email}, Markdown: body, HTML: "<p>" + body + "</p>", Status: st, Created: e.clock.Now()}
	p := comment.Page{SiteID: "news", Key: page, URL: "https://news.example/" + page, Title: "Story " + page}
	var err error
	if sub != nil {
		err = e.st.CreateCommentSubscribed(ctx, p, c, sub, nil)
	} else {
		err = e.st.CreateComment(ctx, p, c)
	}
	if err != nil {
		t.Fatal(err)
	}
	e.w.Wake()
	return c
}

// subscribed returns a confirmed subscription of email to scope.
func (e *env) subscribed(email, scope, lang string) *store.Subscription {
	return &store.Subscription{ID: comment.NewID(time.Now()), Email: email, EmailKey: e.links.EmailKey(email), Scope: scope, Lang: lang,
		Created: e.clock.Now(), Confirmed: e.clock.Now()}
}

// until waits for cond, looked at every few milliseconds.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// messages returns the outbox's messages of a kind and state.
func (e *env) messages(t *testing.T, kind, state string) []*store.Message {
	t.Helper()
	list, _, err := e.st.Messages(ctx, store.MessageFilter{Kind: kind, State: state, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// settle waits until nothing is left to fan out or send.
func (e *env) settle(t *testing.T) {
	t.Helper()
	until(t, "the outbox to settle", func() bool {
		counts, _, err := e.st.OutboxCounts(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, byState := range counts {
			if byState[store.StatePending] > 0 {
				return false
			}
		}
		return true
	})
}

// TestDigest: the first reply goes out at once; the next ones wait for
// the interval and go out together, without the comment removed
// meanwhile; each comment is mailed once.
func TestDigest(t *testing.T) {
	e := newEnv(t, envOptions{digest: time.Hour})
	first := e.post(t, "a", "", "Amal", "amal@example.org", "Who checked the numbers?", comment.StatusApproved, e.subscribed("amal@example.org", store.ScopeReplies, "en"))
	e.post(t, "a", first.ID, "Bo", "bo@example.org", "I did, twice.", comment.StatusApproved, nil)
	m1 := e.smtp.WaitMail(t, 10*time.Second)
	if m1.Subject() != "New reply to your comment on “Story a”" || !strings.Contains(m1.Body(), "I did, twice.") {
		t.Fatalf("first email %q:\n%s", m1.Subject(), m1.Body())
	}
	// Three more within the hour: they wait. (The clock moves once
	// nothing is being sent: a jump would end the leases of sends under
	// way, which real time does not do.)
	e.settle(t)
	e.clock.Add(time.Minute)
	e.post(t, "a", first.ID, "Cy", "cy@example.org", "Me too.", comment.StatusApproved, nil)
	gone := e.post(t, "a", first.ID, "Spammer", "s@example.org", "Buy now", comment.StatusApproved, nil)
	e.post(t, "a", first.ID, "Dee", "dee@example.org", "Numbers hold up.", comment.StatusApproved, nil)
	until(t, "three waiting emails", func() bool {
		list := e.messages(t, store.KindEmail, store.StatePending)
		return len(list) == 3 && !list[2].NextAt.Before(e.clock.Now().Add(50*time.Minute))
	})
	if _, err := e.st.Moderate(ctx, "news", []string{gone.ID}, comment.StatusSpam, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(e.smtp.Messages()); n != 1 {
		t.Fatalf("%d emails within the interval, want 1", n)
	}
	e.clock.Add(time.Hour)
	e.w.Wake()
	digest := e.smtp.WaitMail(t, 10*time.Second)
	if digest.Subject() != "2 new comments on The News" || !strings.Contains(digest.Body(), "Me too.") || !strings.Contains(digest.Body(), "Numbers hold up.") || strings.Contains(digest.Body(), "Buy now") {
		t.Fatalf("digest %q:\n%s", digest.Subject(), digest.Body())
	}
	until(t, "the digest settled", func() bool { return len(e.messages(t, store.KindEmail, store.StatePending)) == 0 })
	if sent, dropped := len(e.messages(t, store.KindEmail, store.StateSent)), len(e.messages(t, store.KindEmail, store.StateDropped)); sent != 3 || dropped != 1 {
		t.Fatalf("%d sent, %d dropped; want 3 and 1", sent, dropped)
	}
	t.Logf("email sizes: single %d bytes, digest of 2 %d bytes", len(m1.Data), len(digest.Data))
}

// TestLanguages: a subscriber's emails speak their language, all six.
func TestLanguages(t *testing.T) {
	e := newEnv(t, envOptions{})
	want := map[string]string{"en": "New comment on", "ar": "تعليق جديد على", "de": "Neuer Kommentar zu", "es": "Nuevo comentario en", "fr": "Nouveau commentaire sur", "ru": "Новый комментарий к"}
	for lang := range want {
		e.post(t, "l", "", "Reader "+lang, lang+"@example.org", "Subscribed in "+lang, comment.StatusApproved, e.subscribed(lang+"@example.org", store.ScopeAll, lang))
	}
	e.post(t, "l", "", "Zed", "zed@example.org", "Hello all", comment.StatusApproved, nil)
	got := map[string]authtest.Mail{}
	e.settle(t)
	for _, m := range e.smtp.Messages() {
		if strings.Contains(m.Body(), "Hello all") {
			got[strings.TrimSuffix(m.To[0], "@example.org")] = m
		}
	}
	for _, lang := range []string{"en", "ar", "de", "es", "fr", "ru"} {
		t.Logf("email size, one reply in %s: %d bytes", lang, len(got[lang].Data))
	}
	for lang, w := range want {
		m, ok := got[lang]
		if !ok || !strings.HasPrefix(m.Subject(), w) || m.Header().Get("Content-Language") != lang {
			t.Errorf("%s: %q (%s)", lang, m.Subject(), m.Header().Get("Content-Language"))
		}
	}
	if !strings.Contains(got["ar"].HTML(), `dir="rtl"`) {
		t.Error("the Arabic email is not right to left")
	}
}

var actionRE = regexp.MustCompile(`https://comments\.news\.example/admin/act\?\S+`)

// TestAlerts: a moderator who asked for alerts gets held comments (not
// published or spam ones) with action links bound to them and the
// comment; one who lost their role gets nothing.
func TestAlerts(t *testing.T) {
	e := newEnv(t, envOptions{})
	now := e.clock.Now()
	for _, a := range []struct{ id, email string }{{"m1", "mod@example.org"}, {"m2", "former@example.org"}} {
		if err := e.st.CreateAccount(ctx, &staff.Account{ID: a.id, Email: a.email, Created: now}, []staff.Grant{{SiteID: "news", Role: staff.RoleModerator}}, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.st.SetEmailAlert(ctx, &store.EmailAlert{AccountID: a.id, SiteID: "news", Lang: "ar"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.SetGrant(ctx, staff.Grant{AccountID: "m2", SiteID: "news"}, nil); err != nil {
		t.Fatal(err)
	}
	e.post(t, "a", "", "Pub", "p@example.org", "Published at once", comment.StatusApproved, nil)
	e.post(t, "a", "", "Spam", "s@example.org", "Spam at once", comment.StatusSpam, nil)
	held := e.post(t, "a", "", "Held", "h@example.org", "Held for you", comment.StatusPending, nil)
	m := e.smtp.WaitMail(t, 10*time.Second)
	if m.To[0] != "mod@example.org" || !strings.Contains(m.Body(), "Held for you") || strings.Contains(m.Body(), "Published at once") {
		t.Fatalf("alert to %v:\n%s", m.To, m.Body())
	}
	t.Logf("email size, an alert of one held comment (ar): %d bytes", len(m.Data))
	links := actionRE.FindAllString(m.Body(), -1)
	if len(links) != 3 {
		t.Fatalf("%d action links in:\n%s", len(links), m.Body())
	}
	nonce := ""
	for i, d := range []string{"approve", "spam", "delete"} {
		u, _ := url.Parse(links[i])
		tok, err := e.links.Open(notify.PurposeAction, u.Query().Get("t"), time.Now())
		if ttl := time.Unix(tok.Expires, 0).Sub(now); err != nil || tok.Account != "m1" || tok.Comment != held.ID || tok.Decision != d || tok.Site != "news" || ttl < notify.ActionTTL-time.Minute || ttl > notify.ActionTTL+time.Minute {
			t.Errorf("link %d: %+v, %v", i, tok, err)
		}
		if nonce != "" && tok.Nonce != nonce {
			t.Error("the links of one comment do not share their single use")
		}
		nonce = tok.Nonce
	}
	if h := m.Header().Get("List-Unsubscribe"); !strings.Contains(h, notify.AlertsOffPath) {
		t.Errorf("List-Unsubscribe = %q", h)
	}
	until(t, "the alerts settled", func() bool { return len(e.messages(t, store.KindEmail, store.StatePending)) == 0 })
	if d := e.messages(t, store.KindEmail, store.StateDropped); len(d) != 1 || d[0].Target != "m2" {
		t.Fatalf("the former moderator's alert: %+v", d)
	}
	if n := len(e.smtp.Messages()); n != 1 {
		t.Fatalf("%d emails, want 1", n)
	}
}

// TestRetryAndGiveUp: with the mail server unreachable every email waits
// (one pause for all, not a try each), counts its attempts with the
// error, and is given up at its deadline, where the desk sees it.
func TestRetryAndGiveUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().(*net.TCPAddr).Port
	l.Close()
	e := newEnv(t, envOptions{smtpPort: dead, giveUp: 2 * time.Hour})
	first := e.post(t, "a", "", "Amal", "amal@example.org", "Hello", comment.StatusApproved, e.subscribed("amal@example.org", store.ScopeAll, "en"))
	e.post(t, "a", "", "Ben", "ben@example.org", "Hello", comment.StatusApproved, e.subscribed("ben@example.org", store.ScopeAll, "en"))
	for i := range 5 {
		e.post(t, "a", first.ID, "Cy", "cy@example.org", fmt.Sprint("Reply ", i), comment.StatusApproved, nil)
	}
	until(t, "the first attempts", func() bool {
		tried := 0
		for _, m := range e.messages(t, store.KindEmail, store.StatePending) {
			if m.Attempts == 1 && strings.Contains(m.LastError, "connect") {
				tried++
			}
		}
		return tried == 2 // one head per recipient; the rest wait behind them
	})
	e.clock.Add(3 * time.Hour)
	e.w.Wake()
	e.settle(t)
	failed := e.messages(t, store.KindEmail, store.StateFailed)
	if len(failed) != 12 {
		t.Fatalf("%d failed, want 12", len(failed))
	}
	for _, m := range failed {
		if m.LastError == "" || m.Attempts < 1 {
			t.Errorf("failed message %d: %+v", m.ID, m)
		}
	}
}

// TestWebhooks runs events through the outbox to a receiver that checks
// signatures with the published Standard Webhooks library: the events
// each webhook asked for, once each, in order, with no address unless
// the site opted in.
func TestWebhooks(t *testing.T) {
	e := newEnv(t, envOptions{webhooks: true})
	plain, withEmail := webhook.NewSecret(), webhook.NewSecret()
	r1, r2 := webhooktest.Start(t, plain), webhooktest.Start(t, withEmail)
	if err := e.st.CreateWebhook(ctx, &store.Webhook{ID: "h1", SiteID: "news", URL: r1.URL(), Events: []string{store.EventCreated, store.EventApproved, store.EventEdited}, Secret: plain}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.st.CreateWebhook(ctx, &store.Webhook{ID: "h2", SiteID: "news", URL: r2.URL(), Events: []string{store.EventSpam, store.EventDeleted}, Secret: withEmail, WithEmail: true}, nil); err != nil {
		t.Fatal(err)
	}
	c1 := e.post(t, "a", "", "Amal", "amal@example.org", "One", comment.StatusApproved, nil)
	c2 := e.post(t, "a", "", "Bo", "bo@example.org", "Two", comment.StatusPending, nil)
	e.st.Moderate(ctx, "news", []string{c2.ID}, comment.StatusApproved, nil)
	e.st.EditComment(ctx, c1.ID, "One, edited", "<p>One, edited</p>", time.Now())
	e.st.Moderate(ctx, "news", []string{c1.ID}, comment.StatusSpam, nil)
	e.st.Moderate(ctx, "news", []string{c2.ID}, comment.StatusDeleted, nil)
	e.w.Wake()
	got1, got2 := r1.Wait(4, 10*time.Second), r2.Wait(2, 10*time.Second)
	var seq []string
	ids := map[string]bool{}
	for _, d := range got1 {
		if !d.OK || d.Email != "" || ids[d.ID] || !strings.HasPrefix(d.ID, "msg_") {
			t.Errorf("delivery %+v", d)
		}
		ids[d.ID] = true
		seq = append(seq, d.Type+" "+d.Comment+" "+d.Status)
	}
	want := []string{"comment.created " + c1.ID + " approved", "comment.created " + c2.ID + " pending", "comment.approved " + c2.ID + " approved", "comment.edited " + c1.ID + " approved"}
	if fmt.Sprint(seq) != fmt.Sprint(want) {
		t.Errorf("h1 got\n%q\nwant\n%q", seq, want)
	}
	if got2[0].Type != store.EventSpam || got2[0].Email != "amal@example.org" || got2[1].Type != store.EventDeleted || got2[1].Email != "bo@example.org" {
		t.Errorf("h2 (with emails) got %+v", got2)
	}
	until(t, "the deliveries settled", func() bool { return len(e.messages(t, store.KindWebhook, store.StatePending)) == 0 })
	sent := e.messages(t, store.KindWebhook, store.StateSent)
	if len(sent) != 6 || sent[0].LastStatus != 204 {
		t.Fatalf("%d sent (status %d)", len(sent), sent[0].LastStatus)
	}

	// Sent again: the same webhook-id and body, so the receiver can tell.
	again, err := e.n.Resend(sent[len(sent)-1], e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Enqueue(ctx, again, nil); err != nil {
		t.Fatal(err)
	}
	e.w.Wake()
	got1 = r1.Wait(5, 10*time.Second)
	if got1[4].ID != got1[0].ID || got1[4].Comment != c1.ID || !got1[4].OK {
		t.Fatalf("resent %+v, first %+v", got1[4], got1[0])
	}

	// A removed webhook's waiting deliveries are dropped.
	r1.Stop()
	e.post(t, "a", "", "Cy", "cy@example.org", "Three", comment.StatusApproved, nil)
	until(t, "a failed try", func() bool {
		p := e.messages(t, store.KindWebhook, store.StatePending)
		return len(p) == 1 && p[0].Attempts == 1
	})
	if err := e.st.DeleteWebhook(ctx, "news", "h1", nil); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Hour)
	e.w.Wake()
	until(t, "the drop", func() bool { return len(e.messages(t, store.KindWebhook, store.StateDropped)) == 1 })
}
