package admin_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/notify"
	"parley/internal/service"
	"parley/internal/staff"
	"parley/internal/store"
)

var actionLink = regexp.MustCompile(`http://\S+/admin/act\?\S+`)

// TestDesk_AlertActionLinks: a moderator asks for alerts on the account
// page; a held comment is mailed with action links; the link opens a
// page with a button (nothing changes on opening), the button decides as
// that moderator, once, and the audit log says so.
func TestDesk_AlertActionLinks(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t, e.srv.URL)
	csrf := b.logIn("mod@example.org", "moderator password")
	resp, page := b.get("/admin/account")
	if resp.StatusCode != 200 || !strings.Contains(page, `name="every.news"`) {
		t.Fatalf("account page: %d", resp.StatusCode)
	}
	resp, _ = b.post("/admin/account/alerts", url.Values{"csrf": {csrf}, "every.news": {"0s"}}, e.srv.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save alerts = %d", resp.StatusCode)
	}
	_, page = b.get("/admin/account")
	if !strings.Contains(page, `<option value="0s" selected>`) {
		t.Fatal("the alert choice was not kept")
	}

	held, err := e.svc.Post(ctx, comment.Draft{SiteID: "news", Page: "https://news.example/story", Name: "Vic", Email: "vic@example.org", Body: "Please hold me"}, service.Meta{})
	if err != nil || held.Status != comment.StatusPending {
		t.Fatalf("held comment: %v %v", held, err)
	}
	m := e.smtp.WaitMail(t, 10*time.Second)
	if m.To[0] != "mod@example.org" || !strings.Contains(m.Body(), "Please hold me") {
		t.Fatalf("alert to %v:\n%s", m.To, m.Body())
	}
	links := actionLink.FindAllString(m.Body(), -1)
	if len(links) != 3 {
		t.Fatalf("%d action links:\n%s", len(links), m.Body())
	}
	approve, spam := strings.TrimPrefix(links[0], e.srv.URL), strings.TrimPrefix(links[1], e.srv.URL)

	// Opening the link (as a mail scanner would) changes nothing.
	anon := newBrowser(t, e.srv.URL)
	resp, page = anon.get(approve)
	if resp.StatusCode != 200 || !strings.Contains(page, "Please hold me") || !strings.Contains(page, `id="act-go"`) || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("action page = %d %s", resp.StatusCode, page)
	}
	if c, _ := e.svc.Comment(ctx, "news", held.ID); c.Status != comment.StatusPending {
		t.Fatal("opening the link decided")
	}
	tok := mustParam(t, approve, "t")
	resp, page = anon.post("/admin/act", url.Values{"t": {tok}}, e.srv.URL)
	if resp.StatusCode != 200 {
		t.Fatalf("act = %d %s", resp.StatusCode, page)
	}
	if c, _ := e.svc.Comment(ctx, "news", held.ID); c.Status != comment.StatusApproved {
		t.Fatalf("after the button: %s", c.Status)
	}
	// Once: this link and its siblings are spent.
	for _, l := range []string{approve, spam} {
		resp, page = anon.post("/admin/act", url.Values{"t": {mustParam(t, l, "t")}}, e.srv.URL)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "used already") {
			t.Errorf("second use = %d %s", resp.StatusCode, page)
		}
	}
	if c, _ := e.svc.Comment(ctx, "news", held.ID); c.Status != comment.StatusApproved {
		t.Fatalf("a spent link decided: %s", c.Status)
	}
	// The audit log names the moderator, acting by link.
	entries, _, err := e.svc.AuditLog(ctx, service.OperatorActor(), "news", store.AuditFilter{CommentID: held.ID}, "")
	if err != nil || len(entries) == 0 || entries[0].ActorKind != staff.ActorLink || entries[0].ActorName != "mod@example.org" || entries[0].Action != "comment.approve" {
		t.Fatalf("audit: %+v %v", entries, err)
	}

	// Forged, altered, expired, and made for another member or comment.
	member := func(site, email string) *staff.Member {
		ms, err := e.svc.Members(ctx, service.OperatorActor(), site)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Account.Email == email {
				return m
			}
		}
		t.Fatalf("no staff member %s on %s", email, site)
		return nil
	}
	mod, other := member("news", "mod@example.org"), member("other", "adm@example.org")
	good := notify.Token{Site: "news", Account: mod.Account.ID, Comment: e.comments[1].ID, Decision: "spam", Nonce: "n1", Expires: time.Now().Add(time.Hour).Unix()}
	forger, _ := notify.NewLinks([]byte("an attacker's key, 32 bytes long!"), e.srv.URL)
	expired := good
	expired.Expires = time.Now().Add(-time.Minute).Unix()
	foreign := good
	foreign.Account = other.Account.ID // admin of another site: no role on news
	gone := good
	gone.Comment = "nosuch"
	for name, tc := range map[string]struct {
		tok    string
		status int
	}{
		"forged":               {forger.Seal(notify.PurposeAction, good), http.StatusBadRequest},
		"made for unsubscribe": {e.links.Seal(notify.PurposeUnsubscribe, good), http.StatusBadRequest},
		"expired":              {e.links.Seal(notify.PurposeAction, expired), http.StatusGone},
		"another member's":     {e.links.Seal(notify.PurposeAction, foreign), http.StatusForbidden},
		"no such comment":      {e.links.Seal(notify.PurposeAction, gone), http.StatusForbidden},
	} {
		resp, page := anon.post("/admin/act", url.Values{"t": {tc.tok}}, e.srv.URL)
		if resp.StatusCode != tc.status {
			t.Errorf("%s link = %d, want %d: %s", name, resp.StatusCode, tc.status, page)
		}
	}
	if c, _ := e.svc.Comment(ctx, "news", e.comments[1].ID); c.Status != comment.StatusPending {
		t.Fatalf("a bad link decided: %s", c.Status)
	}

	// The alert's stop link: RFC 8058's one-click POST turns alerts off.
	off := strings.Trim(m.Header().Get("List-Unsubscribe"), "<>")
	resp, page = anon.post(strings.TrimPrefix(off, e.srv.URL), url.Values{"List-Unsubscribe": {"One-Click"}}, "")
	if resp.StatusCode != 200 {
		t.Fatalf("alerts off = %d %s", resp.StatusCode, page)
	}
	if as, _ := e.svc.EmailAlerts(ctx, service.MemberActor(mod)); len(as) != 0 {
		t.Fatalf("alerts still on: %v", as)
	}
}

func mustParam(t *testing.T, link, key string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get(key) == "" {
		t.Fatalf("no %s in %s", key, link)
	}
	return u.Query().Get(key)
}

// TestDesk_Webhooks: an admin adds a webhook on the Notifications page
// (the secret shown once), a bad address is refused with the reason, the
// delivery log lists a delivery, Send again sends it again with its id;
// moderators do not see the page.
func TestDesk_Webhooks(t *testing.T) {
	e := newEnv(t)
	got := make(chan string, 8)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Get("webhook-id") }))
	defer receiver.Close()

	mod := newBrowser(t, e.srv.URL)
	mod.logIn("mod@example.org", "moderator password")
	if resp, _ := mod.get("/admin/sites/news/notifications"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a moderator's Notifications page = %d, want 403", resp.StatusCode)
	}
	owner := newBrowser(t, e.srv.URL)
	csrf := owner.logIn("owner@example.org", "owner password 1")
	resp, page := owner.get("/admin/sites/news/notifications")
	if resp.StatusCode != 200 || !strings.Contains(page, "comment.approved") {
		t.Fatalf("notifications page = %d", resp.StatusCode)
	}
	for _, bad := range []struct{ url, says string }{
		{"http://127.0.0.2:9/in", "only https"},
		{"https://10.1.2.3/in", "private address"},
		{"https://localhost/in", "resolves to"},
	} {
		resp, page = owner.post("/admin/sites/news/webhooks", url.Values{"csrf": {csrf}, "url": {bad.url}, "events": {"comment.created"}}, e.srv.URL)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, bad.says) {
			t.Errorf("webhook to %s = %d, want 400 saying %q", bad.url, resp.StatusCode, bad.says)
		}
	}
	resp, page = owner.post("/admin/sites/news/webhooks", url.Values{"csrf": {csrf}, "url": {receiver.URL + "/in"}, "events": {"comment.created", "comment.approved"}}, e.srv.URL)
	secret := regexp.MustCompile(`id="webhook-secret">(whsec_[^<]+)<`).FindStringSubmatch(page)
	if resp.StatusCode != 200 || secret == nil {
		t.Fatalf("add webhook = %d", resp.StatusCode)
	}
	_, page = owner.get("/admin/sites/news/notifications")
	if strings.Contains(page, secret[1]) {
		t.Fatal("the secret is shown again")
	}
	if _, err := e.svc.Decide(ctx, service.OperatorActor(), "news", []string{e.comments[0].ID}, service.Approve); err != nil {
		t.Fatal(err)
	}
	first := <-got
	hooks, _ := e.svc.Webhooks(ctx, service.OperatorActor(), "news")
	var delivered []*store.Message
	for deadline := time.Now().Add(10 * time.Second); len(delivered) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		delivered, _, _ = e.svc.Deliveries(ctx, service.OperatorActor(), "news", hooks[0].ID, store.StateSent, "")
	}
	if len(delivered) != 1 {
		t.Fatalf("%d deliveries sent", len(delivered))
	}
	resp, page = owner.get("/admin/sites/news/deliveries?webhook=" + hooks[0].ID)
	if resp.StatusCode != 200 || !strings.Contains(page, "/deliveries/") || strings.Contains(page, "Reader A") {
		t.Fatalf("delivery log = %d", resp.StatusCode)
	}
	resp, _ = owner.post("/admin/sites/news/deliveries/"+itoa(delivered[0].ID)+"/resend", url.Values{"csrf": {csrf}}, e.srv.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("send again = %d", resp.StatusCode)
	}
	if again := <-got; again != first {
		t.Errorf("sent again as %q, first as %q", again, first)
	}
	resp, _ = owner.post("/admin/sites/news/webhooks/"+hooks[0].ID+"/remove", url.Values{"csrf": {csrf}}, e.srv.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove = %d", resp.StatusCode)
	}
	entries, _, _ := e.svc.AuditLog(ctx, service.OperatorActor(), "news", store.AuditFilter{Action: "webhook."}, "")
	if len(entries) != 3 || strings.Contains(entries[2].After, "whsec_") {
		t.Fatalf("audit of webhooks: %+v", entries)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
