package notify_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/internal/auth/authtest"
	"parley/internal/comment"
	"parley/internal/mail"
	"parley/internal/notify"
	"parley/internal/outbox"
	"parley/internal/safehttp"
	"parley/internal/store"
	"parley/internal/store/postgres"
	"parley/internal/webhook"
)

// TestTwoInstancesOnPostgres runs two instances' outbox workers on one
// PostgreSQL database: between them they send every email and webhook,
// and each exactly once (each instance signs its emails with its own
// From, to see that both worked).
func TestTwoInstancesOnPostgres(t *testing.T) {
	url := os.Getenv("PARLEY_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("PARLEY_TEST_POSTGRES_URL is not set; PostgreSQL tests skipped")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "parley_notify_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if conn, err := pgx.Connect(ctx, url); err == nil {
			conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			conn.Close(ctx)
		}
	})
	open := func() store.Store {
		st, err := postgres.Open(ctx, url, postgres.Options{Migrate: true, Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, bb := open(), open()
	if err := a.CreateSite(ctx, &comment.Site{ID: "news", Name: "The News", Origins: []string{"https://news.example"}, MaxDepth: 5}, nil); err != nil {
		t.Fatal(err)
	}
	ms := authtest.StartSMTP(t)
	var mu sync.Mutex
	hooks := map[string]int{}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hooks[r.Header.Get("webhook-id")]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	links, _ := notify.NewLinks([]byte("two instances share this link key"), "https://comments.news.example")
	run := func(st store.Store, from string) {
		mailer, err := mail.NewSMTP(mail.Config{Host: ms.Host(), Port: ms.Port(), TLS: mail.TLSNone, From: from})
		if err != nil {
			t.Fatal(err)
		}
		n, err := notify.New(notify.Config{Store: st, Links: links, Mailer: mailer,
			Hooks: webhook.NewClient(webhook.Options{Policy: safehttp.Policy{Hosts: []string{"127.0.0.1"}}})})
		if err != nil {
			t.Fatal(err)
		}
		w, err := n.Worker(st, outbox.Config{Poll: 10 * time.Millisecond, Workers: 8})
		if err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); w.Run(runCtx) }()
		t.Cleanup(func() { stop(); <-done; mailer.Close() })
	}
	if err := a.CreateWebhook(ctx, &store.Webhook{ID: "h1", SiteID: "news", URL: receiver.URL, Events: []string{store.EventCreated}, Secret: webhook.NewSecret()}, nil); err != nil {
		t.Fatal(err)
	}
	const readers, comments = 300, 100
	page := comment.Page{SiteID: "news", Key: "a", URL: "https://news.example/a", Title: "A"}
	for i := range readers {
		email := fmt.Sprintf("r%d@example.org", i)
		c := &comment.Comment{Author: comment.Author{Name: "R", Email: email}, Markdown: "x", HTML: "<p>x</p>", Status: comment.StatusDeleted}
		sub := &store.Subscription{ID: fmt.Sprint("s", i), Email: email, EmailKey: links.EmailKey(email), Scope: store.ScopeAll, Confirmed: time.Now(), Created: time.Now()}
		if err := a.CreateCommentSubscribed(ctx, page, c, sub, nil); err != nil {
			t.Fatal(err)
		}
	}
	run(a, "a@news.example")
	run(bb, "b@news.example")
	if err := bb.CreateComment(ctx, page, &comment.Comment{Author: comment.Author{Name: "Z", Email: "z@example.org"}, Markdown: "News", HTML: "<p>News</p>", Status: comment.StatusApproved}); err != nil {
		t.Fatal(err)
	}
	for i := range comments - 1 {
		st := []store.Store{a, bb}[i%2]
		if err := st.CreateComment(ctx, comment.Page{SiteID: "news", Key: "b"}, &comment.Comment{Author: comment.Author{Name: "Y"}, Markdown: "n", HTML: "n", Status: comment.StatusApproved}); err != nil {
			t.Fatal(err)
		}
	}
	until(t, "every email and webhook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(ms.Messages()) >= readers && len(hooks) >= readers+comments
	})
	time.Sleep(500 * time.Millisecond) // a second send would come now
	to := map[string]int{}
	from := map[string]int{}
	for _, m := range ms.Messages() {
		to[m.To[0]]++
		from[m.From]++
	}
	for addr, n := range to {
		if n != 1 {
			t.Errorf("%s got %d emails", addr, n)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for id, n := range hooks {
		if n != 1 {
			t.Errorf("webhook %s delivered %d times", id, n)
		}
	}
	if len(to) != readers || len(hooks) != readers+comments {
		t.Errorf("%d readers mailed, %d webhooks; want %d and %d", len(to), len(hooks), readers, readers+comments)
	}
	t.Logf("emails sent by instance A: %d, by B: %d; %d webhooks, each once", from["a@news.example"], from["b@news.example"], len(hooks))
}
