package httpapi

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"parley/internal/auth/authtest"
	"parley/internal/comment"
	"parley/internal/mail"
	"parley/internal/notify"
	"parley/internal/outbox"
	"parley/internal/safehttp"
	"parley/internal/service"
	"parley/internal/store"
	"parley/internal/store/sqlite"
	"parley/internal/webhook"
	"parley/internal/widget"
)

// notifyServer is the real handler with notifications on: a real SMTP
// server (authtest) receives the mail, the outbox worker runs.
type notifyServer struct {
	*testServer
	smtp  *authtest.SMTP
	store store.Store
	links *notify.Links
}

func newNotifyServer(tb testing.TB, site func(*comment.Site)) *notifyServer {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "n.db"), sqlite.Options{Migrate: true})
	if err != nil {
		tb.Fatal(err)
	}
	ms := authtest.StartSMTP(tb)
	mailer, err := mail.NewSMTP(mail.Config{Host: ms.Host(), Port: ms.Port(), TLS: mail.TLSNone, From: "Comments <comments@news.example>"})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	key := make([]byte, 32)
	rand.Read(key)
	links, err := notify.NewLinks(key, base)
	if err != nil {
		tb.Fatal(err)
	}
	policy := safehttp.Policy{Hosts: []string{"127.0.0.1"}}
	n, err := notify.New(notify.Config{Store: st, Links: links, Mailer: mailer, Hooks: webhook.NewClient(webhook.Options{Policy: policy})})
	if err != nil {
		tb.Fatal(err)
	}
	w, err := n.Worker(st, outbox.Config{Poll: 20 * time.Millisecond, RetryMin: 50 * time.Millisecond, RetryMax: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := service.New(ctx, st, service.Options{Notify: &service.NotifyOptions{Notifier: n, Links: links, Webhooks: policy, Wake: w.Wake}})
	if err != nil {
		tb.Fatal(err)
	}
	s := &comment.Site{ID: "news", Name: "The News", Origins: []string{origin}, EditWindow: comment.DefaultEditWindow}
	if site != nil {
		site(s)
	}
	if err := svc.CreateSite(ctx, service.OperatorActor(), s); err != nil {
		tb.Fatal(err)
	}
	assets, err := widget.New()
	if err != nil {
		tb.Fatal(err)
	}
	api := New(svc, assets, nil, Config{PublicURL: base})
	srv.Config.Handler = api.Handler()
	srv.Start()
	runCtx, stop := context.WithCancel(ctx)
	go svc.Run(runCtx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(runCtx) }()
	tb.Cleanup(func() {
		api.StopStreams()
		srv.Close()
		stop()
		<-done
		mailer.Close()
		st.Close()
	})
	return &notifyServer{testServer: &testServer{srv, svc, st}, smtp: ms, store: st, links: links}
}

// settle waits until the outbox has nothing left to fan out or send.
func (ns *notifyServer) settle(tb testing.TB) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		counts, _, err := ns.store.OutboxCounts(context.Background(), "")
		if err != nil {
			tb.Fatal(err)
		}
		busy := 0
		for _, byState := range counts {
			busy += byState[store.StatePending]
		}
		if busy == 0 {
			return
		}
	}
	tb.Fatal("the outbox did not settle")
}

var linkRE = regexp.MustCompile(`https?://\S+`)

// link returns the first link in a mail's text whose path is path.
func link(tb testing.TB, m authtest.Mail, path string) string {
	tb.Helper()
	for _, l := range linkRE.FindAllString(m.Body(), -1) {
		if u, err := url.Parse(l); err == nil && u.Path == path {
			return l
		}
	}
	tb.Fatalf("no %s link in:\n%s", path, m.Body())
	return ""
}

// pathOf turns an absolute link of the server into a request path.
func (ns *notifyServer) pathOf(link string) string { return strings.TrimPrefix(link, ns.URL) }

func TestNotify_SubscribeConfirmReplyUnsubscribe(t *testing.T) {
	ns := newNotifyServer(t, nil)
	thread := decode[map[string]any](t, func() []byte {
		_, b := ns.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/story"), nil, nil)
		return b
	}())
	if thread["notify"] != true {
		t.Fatalf("thread JSON does not offer notifications: %v", thread["notify"])
	}

	// A guest asks for replies: the comment is posted and a confirmation
	// is mailed, in the reader's language.
	resp, b := ns.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"name": "Amal", "email": "Amal@Example.org", "body": "First!", "notify": "replies", "lang": "ar"}), nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("post = %d %s", resp.StatusCode, b)
	}
	first := decode[map[string]any](t, b)
	if first["notify"] != "confirm" {
		t.Fatalf("notify = %v, want confirm", first["notify"])
	}
	confirm := ns.smtp.WaitMail(t, 10*time.Second)
	if confirm.To[0] != "amal@example.org" || !strings.Contains(confirm.Subject(), "أكّد") {
		t.Fatalf("confirmation to %v: %q", confirm.To, confirm.Subject())
	}
	confirmLink := link(t, confirm, notify.ConfirmPath)
	if strings.Contains(confirmLink, "amal") || strings.Contains(confirmLink, "example.org") {
		t.Errorf("the link carries the address: %s", confirmLink)
	}

	// Until confirmed, a reply sends nothing to the address.
	resp, b = ns.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"name": "Bo", "email": "bo@example.org", "body": "Too early to tell.", "parent": first["id"].(string)}), nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("reply = %d %s", resp.StatusCode, b)
	}
	ns.settle(t)
	if n := len(ns.smtp.Messages()); n != 1 {
		t.Fatalf("%d emails before confirmation, want only the confirmation", n)
	}

	// The link opens a page with a button (scanners change nothing).
	resp, b = ns.do(t, "GET", ns.pathOf(confirmLink), nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "<form") || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("confirm page = %d %s", resp.StatusCode, b)
	}
	tok := mustQuery(t, confirmLink, "t")
	resp, b = ns.do(t, "POST", notify.ConfirmPath+"?lang=ar", url.Values{"t": {tok}}, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "تأكّد اشتراكك") {
		t.Fatalf("confirm = %d %s", resp.StatusCode, b)
	}

	// A published reply to her comment now reaches her, once.
	resp, b = ns.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"name": "Bo", "email": "bo@example.org", "body": "Now it is clearer.", "parent": first["id"].(string)}), nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("reply = %d %s", resp.StatusCode, b)
	}
	replyID := decode[map[string]any](t, b)["id"].(string)
	note := ns.smtp.WaitMail(t, 10*time.Second)
	h := note.Header()
	if !strings.Contains(note.Body(), "Now it is clearer.") || !strings.Contains(note.HTML(), "<p>Now it is clearer.</p>") ||
		!strings.Contains(note.Body(), origin+"/story#comment-"+replyID) {
		t.Fatalf("reply notification:\n%s", note.Body())
	}
	if h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.HasPrefix(h.Get("List-Unsubscribe"), "<"+ns.URL+notify.UnsubscribePath+"?") {
		t.Errorf("unsubscribe headers: %q %q", h.Get("List-Unsubscribe"), h.Get("List-Unsubscribe-Post"))
	}
	if strings.Contains(h.Get("List-Unsubscribe"), "amal") {
		t.Error("the unsubscribe link carries the address")
	}
	if strings.Contains(note.Body(), "bo@example.org") || strings.Contains(note.HTML(), "bo@example.org") {
		t.Error("the replier's address was mailed to another reader")
	}
	// Her own comments never notify her; a held one notifies nobody
	// until it is approved.
	ns.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"name": "Amal", "email": "amal@example.org", "body": "Thanks, Bo.", "parent": replyID}), nil)
	hold := func(mode comment.Moderation) {
		site, _ := ns.svc.Site(context.Background(), "news")
		s := *site
		s.Moderation = mode
		if err := ns.svc.UpdateSite(context.Background(), service.OperatorActor(), &s); err != nil {
			t.Fatal(err)
		}
	}
	hold(comment.ModerateAll)
	resp, b = ns.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"name": "Cy", "email": "cy@example.org", "parent": first["id"].(string),
		"body": "See http://a.example/1 http://a.example/2 http://a.example/3 for more"}), nil)
	held := decode[map[string]any](t, b)
	hold(comment.ModerateNone)
	ns.settle(t)
	if resp.StatusCode != http.StatusAccepted || len(ns.smtp.Messages()) != 2 {
		t.Fatalf("held = %d, %d emails; want 202 and no new email", resp.StatusCode, len(ns.smtp.Messages()))
	}
	if _, err := ns.svc.Decide(context.Background(), service.OperatorActor(), "news", []string{held["id"].(string)}, service.Approve); err != nil {
		t.Fatal(err)
	}
	approved := ns.smtp.WaitMail(t, 10*time.Second)
	if !strings.Contains(approved.Body(), "a.example/3") {
		t.Fatalf("after approval:\n%s", approved.Body())
	}
	// Approved again after an unapproval: not mailed twice.
	ns.svc.Decide(context.Background(), service.OperatorActor(), "news", []string{held["id"].(string)}, service.Pending)
	ns.svc.Decide(context.Background(), service.OperatorActor(), "news", []string{held["id"].(string)}, service.Approve)
	ns.settle(t)
	if n := len(ns.smtp.Messages()); n != 3 {
		t.Fatalf("%d emails, want 3", n)
	}

	// The manage link lists her subscription; one-click unsubscribe as a
	// mail system does it (RFC 8058) ends it.
	manage := link(t, approved, notify.SubscriptionsPath)
	resp, b = ns.do(t, "GET", ns.pathOf(manage), nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "Title of") && !strings.Contains(string(b), "/story") {
		t.Fatalf("subscriptions page = %d %s", resp.StatusCode, b)
	}
	unsub := strings.Trim(approved.Header().Get("List-Unsubscribe"), "<>")
	resp, b = ns.do(t, "POST", ns.pathOf(unsub), "List-Unsubscribe=One-Click", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if resp.StatusCode != 200 {
		t.Fatalf("one-click unsubscribe = %d %s", resp.StatusCode, b)
	}
	ns.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"name": "Bo", "email": "bo@example.org", "body": "Anyone there?", "parent": first["id"].(string)}), nil)
	ns.settle(t)
	if n := len(ns.smtp.Messages()); n != 3 {
		t.Fatalf("%d emails after unsubscribing, want still 3", n)
	}
	// The page now says there is nothing to end.
	resp, b = ns.do(t, "GET", ns.pathOf(manage), nil, nil)
	if resp.StatusCode != 200 || strings.Contains(string(b), "<li>") {
		t.Fatalf("subscriptions page after unsubscribing = %d %s", resp.StatusCode, b)
	}
}

func mustQuery(tb testing.TB, link, key string) string {
	tb.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get(key) == "" {
		tb.Fatalf("no %s in %s", key, link)
	}
	return u.Query().Get(key)
}

// TestNotify_BadInput: each mistake is a clear refusal, and nothing is
// mailed.
func TestNotify_BadInput(t *testing.T) {
	ns := newNotifyServer(t, func(s *comment.Site) { s.Guests = comment.GuestsAnonymous })
	for _, tc := range []struct {
		name   string
		fields map[string]string
		code   string
	}{
		{"invalid address", map[string]string{"email": "amal@", "notify": "replies"}, "invalid_email"},
		{"header injection", map[string]string{"email": "amal@example.org\r\nBcc: x@example.org", "notify": "all"}, "invalid_email"},
		{"no address", map[string]string{"email": "", "notify": "all"}, "notify_needs_email"},
		{"unknown scope", map[string]string{"notify": "everything"}, "invalid_notify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := ns.do(t, "POST", "/api/v1/sites/news/comments", post(tc.fields), nil)
			e := decode[apiErr](t, b)
			if resp.StatusCode != http.StatusBadRequest || e.Error.Code != tc.code {
				t.Fatalf("= %d %s, want 400 %s", resp.StatusCode, b, tc.code)
			}
		})
	}
	// The plain form: the same refusal, the page again with the text kept.
	form := url.Values{"page": {origin + "/story"}, "url": {origin + "/story"}, "name": {"Amal"}, "email": {"amal@"}, "body": {"Keep this text."},
		"token": {ns.svc.FormToken("news")}, "notify_me": {"1"}, "notify_scope": {"all"}}
	resp, b := ns.do(t, "POST", "/sites/news/comments", form, map[string]string{"Origin": origin})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "Keep this text.") || !strings.Contains(string(b), `value="all" selected`) {
		t.Fatalf("form = %d %s", resp.StatusCode, b)
	}

	// The privacy page tells what notifications keep, and that the site's
	// webhooks send addresses once they do.
	_, page := ns.do(t, "GET", "/sites/news/privacy", nil, nil)
	if !strings.Contains(string(page), "If you ask to be notified") || strings.Contains(string(page), "systems receive") {
		t.Errorf("privacy page before webhooks:\n%s", page)
	}
	if _, err := ns.svc.AddWebhook(context.Background(), service.OperatorActor(), service.NewWebhook{SiteID: "news", URL: ns.URL + "/in", WithEmail: true}); err != nil {
		t.Fatal(err)
	}
	if _, page := ns.do(t, "GET", "/sites/news/privacy", nil, nil); !strings.Contains(string(page), "Your email address is sent with it.") {
		t.Errorf("privacy page with a webhook that sends addresses:\n%s", page)
	}

	// Forged, altered and expired links.
	good := ns.links.Seal(notify.PurposeUnsubscribe, notify.Token{Site: "news", EmailKey: ns.links.EmailKey("amal@example.org")})
	forged := notify.Token{Site: "news", EmailKey: ns.links.EmailKey("amal@example.org")}
	otherKey, _ := notify.NewLinks([]byte("0123456789abcdef0123456789abcdef"), ns.URL)
	for name, tok := range map[string]string{
		"forged":              otherKey.Seal(notify.PurposeUnsubscribe, forged),
		"altered":             strings.Replace(good, good[:4], "eyJa", 1),
		"made for confirming": ns.links.Seal(notify.PurposeConfirm, forged),
		"garbage":             "%%%",
	} {
		resp, b := ns.do(t, "POST", notify.UnsubscribePath+"?t="+url.QueryEscape(tok), "List-Unsubscribe=One-Click", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "not valid") {
			t.Errorf("%s unsubscribe link = %d %s", name, resp.StatusCode, b)
		}
	}
	expired := ns.links.Seal(notify.PurposeConfirm, notify.Token{Site: "news", EmailKey: forged.EmailKey, Expires: time.Now().Add(-time.Minute).Unix()})
	if resp, b := ns.do(t, "POST", notify.ConfirmPath, url.Values{"t": {expired}}, nil); resp.StatusCode != http.StatusGone || !strings.Contains(string(b), "expired") {
		t.Errorf("expired confirmation = %d %s", resp.StatusCode, b)
	}
	ns.settle(t)
	if n := len(ns.smtp.Messages()); n != 0 {
		t.Fatalf("%d emails sent for refused input", n)
	}
}
