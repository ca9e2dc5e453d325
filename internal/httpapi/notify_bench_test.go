package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/service"
	"parley/internal/store"
)

// BenchmarkOutbox measures the outbox sending to local receivers — a
// real SMTP server in-process (authtest) and an HTTP receiver answering
// 204 — alone and with posting going on beside it, and posting alone
// for comparison, each round in one run on the same machine:
//
//   - posting: 8 posters over loopback for 3 s, nothing else;
//   - emails: one comment on a thread 2,000 confirmed readers follow
//     ("all"), so the outbox sends 2,000 emails, one per reader;
//   - emails+posting: the same, with the 8 posters going on another
//     article until the 2,000 emails are in;
//   - webhooks and webhooks+posting: 1,000 comments whose
//     comment.created deliveries go to one receiver (one stream: in
//     order, one at a time).
//
// It reports emails/s or webhooks/s, and posts/s beside them. Run it
// with -benchtime 1x (one round); the machine is shared, so compare
// within one run.
func BenchmarkOutbox(b *testing.B) {
	const readers, hooks = 2000, 1000
	poster := func(ns *notifyServer, stop <-chan struct{}, count *atomic.Int64) *sync.WaitGroup {
		var wg sync.WaitGroup
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					body, _ := json.Marshal(post(map[string]string{"page": origin + "/other", "url": origin + "/other",
						"body": fmt.Sprintf("Poster %d, comment %d: the evening buses were on time.", w, i)}))
					req, _ := http.NewRequest("POST", ns.URL+"/api/v1/sites/news/comments", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != 201 {
						b.Errorf("post = %d", resp.StatusCode)
						return
					}
					count.Add(1)
				}
			}()
		}
		return &wg
	}
	// waitEmails waits until the SMTP server has n messages.
	waitEmails := func(ns *notifyServer, n int) {
		for deadline := time.Now().Add(5 * time.Minute); len(ns.smtp.Messages()) < n; time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d emails arrived", len(ns.smtp.Messages()), n)
			}
		}
	}
	subscribe := func(ns *notifyServer) {
		ctx := context.Background()
		for i := range readers {
			c := &comment.Comment{Author: comment.Author{Name: "R", Email: fmt.Sprintf("reader%d@example.org", i)}, Markdown: "Following.", HTML: "<p>Following.</p>",
				Status: comment.StatusDeleted}
			email := fmt.Sprintf("reader%d@example.org", i)
			sub := &store.Subscription{ID: fmt.Sprint("s", i), Email: email, EmailKey: ns.links.EmailKey(email), Scope: store.ScopeAll, Lang: "en", Confirmed: time.Now()}
			if err := ns.store.CreateCommentSubscribed(ctx, comment.Page{SiteID: "news", Key: origin + "/story", URL: origin + "/story", Title: "The bus line"}, c, sub, nil); err != nil {
				b.Fatal(err)
			}
		}
		ns.settle(b)
	}
	for _, tc := range []string{"posting", "emails", "emails+posting", "webhooks", "webhooks+posting"} {
		b.Run(tc, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				ns := newNotifyServer(b, nil)
				var delivered atomic.Int64
				receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					delivered.Add(1)
					w.WriteHeader(http.StatusNoContent)
				}))
				if tc == "emails" || tc == "emails+posting" {
					subscribe(ns)
				}
				if tc == "webhooks" || tc == "webhooks+posting" {
					if _, err := ns.svc.AddWebhook(context.Background(), service.OperatorActor(), service.NewWebhook{SiteID: "news", URL: receiver.URL + "/in", Events: []string{store.EventCreated}}); err != nil {
						b.Fatal(err)
					}
				}
				var posts atomic.Int64
				stop := make(chan struct{})
				b.StartTimer()
				start := time.Now()
				var wg *sync.WaitGroup
				if tc == "posting" || tc == "emails+posting" || tc == "webhooks+posting" {
					wg = poster(ns, stop, &posts)
				}
				switch tc {
				case "posting":
					time.Sleep(3 * time.Second)
				case "emails", "emails+posting":
					if _, err := ns.svc.Post(context.Background(), comment.Draft{SiteID: "news", Page: origin + "/story", Name: "Zed", Email: "zed@example.org", Body: "News: the line opens on Sunday."}, service.Meta{}); err != nil {
						b.Fatal(err)
					}
					waitEmails(ns, readers)
				default:
					// The deliveries are made as comments come; wait for the last.
					go func() {
						for i := range hooks {
							ns.svc.Post(context.Background(), comment.Draft{SiteID: "news", Page: origin + "/story", Name: "Zed", Email: "zed@example.org",
								Body: fmt.Sprintf("Update %d: the line opens on Sunday.", i)}, service.Meta{})
						}
					}()
					for deadline := time.Now().Add(5 * time.Minute); delivered.Load() < hooks; time.Sleep(2 * time.Millisecond) {
						if time.Now().After(deadline) {
							b.Fatalf("%d of %d webhooks arrived", delivered.Load(), hooks)
						}
					}
				}
				took := time.Since(start)
				close(stop)
				if wg != nil {
					wg.Wait()
				}
				b.StopTimer()
				switch tc {
				case "emails", "emails+posting":
					b.ReportMetric(float64(readers)/took.Seconds(), "emails/s")
				case "webhooks", "webhooks+posting":
					b.ReportMetric(float64(hooks)/took.Seconds(), "webhooks/s")
				}
				if wg != nil {
					b.ReportMetric(float64(posts.Load())/took.Seconds(), "posts/s")
				}
				receiver.Close()
				b.StartTimer()
			}
		})
	}
}
