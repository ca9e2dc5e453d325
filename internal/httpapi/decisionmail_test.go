package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/notify"
	"parley/internal/service"
)

// TestNotify_DecisionEmail: on a site that emails authors the decision,
// a guest who confirmed their address is told, in the language of the
// page they wrote from, that their held comment was not published and
// why; the link in the email stops these emails (one click, as mail
// systems do it) and restarts them. A guest whose address is not
// confirmed is told nothing by email.
func TestNotify_DecisionEmail(t *testing.T) {
	ctx := context.Background()
	ns := newNotifyServer(t, func(s *comment.Site) { s.Moderation = comment.ModerateAll })
	op := service.OperatorActor()
	cm, _, err := ns.svc.CommunitySettings(ctx, op, "news")
	if err != nil {
		t.Fatal(err)
	}
	cm.Reasons, cm.EmailDecisions = []string{"Fuera de tema", "Off topic"}, true
	if err := ns.svc.SetCommunitySettings(ctx, op, "news", *cm); err != nil {
		t.Fatal(err)
	}

	// The privacy page says what is sent, and what is kept for it.
	if resp, b := ns.do(t, "GET", "/sites/news/privacy", nil, nil); resp.StatusCode != 200 ||
		!strings.Contains(string(b), "emails you when a held comment of yours is published or not") {
		t.Fatalf("privacy page = %d %s", resp.StatusCode, b)
	}

	// Rosa subscribes with her held comment, in Spanish, and confirms.
	resp, b := ns.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"name": "Rosa", "email": "rosa@example.org", "body": "Mi opinión.", "notify": "replies", "lang": "es"}), nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("post = %d %s", resp.StatusCode, b)
	}
	rosa := decode[map[string]any](t, b)["id"].(string)
	confirm := ns.smtp.WaitMail(t, 10*time.Second)
	if resp, b := ns.do(t, "POST", notify.ConfirmPath, url.Values{"t": {mustQuery(t, link(t, confirm, notify.ConfirmPath), "t")}}, nil); resp.StatusCode != 200 {
		t.Fatalf("confirm = %d %s", resp.StatusCode, b)
	}
	// Ugo writes from a German page (the widget says so in
	// Accept-Language) and has confirmed nothing.
	resp, b = ns.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"name": "Ugo", "email": "ugo@example.org", "body": "Meine Meinung."}),
		map[string]string{"Accept-Language": "de"})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("post = %d %s", resp.StatusCode, b)
	}
	ugo := decode[map[string]any](t, b)["id"].(string)
	langs, err := ns.store.HeldLangs(ctx, []string{rosa, ugo})
	if err != nil || langs[rosa] != "es" || langs[ugo] != "de" {
		t.Fatalf("held comments' languages = %v, %v", langs, err)
	}
	ns.settle(t)
	sent := len(ns.smtp.Messages())

	if _, err := ns.svc.DecideWithReason(ctx, op, "news", []string{rosa, ugo}, service.Delete, "Fuera de tema"); err != nil {
		t.Fatal(err)
	}
	m := ns.smtp.WaitMail(t, 10*time.Second)
	if m.To[0] != "rosa@example.org" || m.Subject() != "Tu comentario en «"+origin+"/story» no se publicó" || !strings.Contains(m.Body(), "No publicado: Fuera de tema") {
		t.Fatalf("decision email to %v %q:\n%s", m.To, m.Subject(), m.Body())
	}
	ns.settle(t)
	if n := len(ns.smtp.Messages()) - sent; n != 1 {
		t.Fatalf("%d decision emails, want only Rosa's", n)
	}

	// The stop link: a page with a button; the one-click POST stops.
	stop := link(t, m, notify.DecisionsPath)
	resp, b = ns.do(t, "GET", ns.pathOf(stop), nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "parley-notify-button") || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("stop page = %d %s", resp.StatusCode, b)
	}
	resp, b = ns.do(t, "POST", ns.pathOf(strings.Trim(m.Header().Get("List-Unsubscribe"), "<>")), "List-Unsubscribe=One-Click",
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if resp.StatusCode != 200 || !strings.Contains(string(b), "The News ya no te escribirá") {
		t.Fatalf("one-click stop = %d %s", resp.StatusCode, b)
	}
	again := func() string {
		resp, b := ns.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"name": "Rosa", "email": "rosa@example.org", "body": "Otra vez."}), nil)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("post = %d %s", resp.StatusCode, b)
		}
		id := decode[map[string]any](t, b)["id"].(string)
		if _, err := ns.svc.Decide(ctx, op, "news", []string{id}, service.Approve); err != nil {
			t.Fatal(err)
		}
		return id
	}
	again()
	ns.settle(t)
	if n := len(ns.smtp.Messages()) - sent; n != 1 {
		t.Fatalf("%d decision emails after stopping, want 1", n)
	}
	// The page says so and offers to restart them.
	resp, b = ns.do(t, "GET", ns.pathOf(stop), nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `name="resume" value="1"`) {
		t.Fatalf("stop page once stopped = %d %s", resp.StatusCode, b)
	}
	if resp, b := ns.do(t, "POST", notify.DecisionsPath, url.Values{"t": {mustQuery(t, stop, "t")}, "resume": {"1"}}, nil); resp.StatusCode != 200 {
		t.Fatalf("restart = %d %s", resp.StatusCode, b)
	}
	id := again()
	m = ns.smtp.WaitMail(t, 10*time.Second)
	if m.To[0] != "rosa@example.org" || !strings.Contains(m.Body(), "#comment-"+id) {
		t.Fatalf("after restarting: %v\n%s", m.To, m.Body())
	}

	// A forged link is refused, and stops nothing.
	forged := strings.Replace(mustQuery(t, stop, "t"), ".", ".x", 1)
	if resp, _ := ns.do(t, "POST", notify.DecisionsPath, url.Values{"t": {forged}}, nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("forged link = %d", resp.StatusCode)
	}
}
