package retention_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/internal/auth"
	"parley/internal/comment"
	"parley/internal/retention"
	"parley/internal/staff"
	"parley/internal/store"
	"parley/internal/store/postgres"
	"parley/internal/store/sqlite"
)

var ctx = context.Background()

// databases opens, for each database the test can reach, a function
// that opens one more store on the same database (as another instance
// would).
func databases(t testing.TB) map[string]func() store.Store {
	t.Helper()
	dir := t.TempDir()
	out := map[string]func() store.Store{
		"sqlite": func() store.Store {
			st, err := sqlite.Open(ctx, filepath.Join(dir, "parley.db"), sqlite.Options{Migrate: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
	url := os.Getenv("PARLEY_TEST_POSTGRES_URL")
	if url == "" {
		t.Log("PARLEY_TEST_POSTGRES_URL is not set; PostgreSQL skipped")
		return out
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "parley_retention_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if conn, err := pgx.Connect(ctx, url); err == nil {
			conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			conn.Close(ctx)
		}
	})
	out["postgres"] = func() store.Store {
		st, err := postgres.Open(ctx, url, postgres.Options{Migrate: true, Schema: schema, MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	return out
}

// clock is a fake clock the test moves by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// TestJob runs the job with a fake clock over a store holding one of
// everything it forgets, and of everything it must keep.
func TestJob(t *testing.T) {
	for name, open := range databases(t) {
		t.Run(name, func(t *testing.T) {
			st := open()
			// The store stamps the change log with the real time; the
			// fake clock starts there.
			clk := &clock{time.Now().UTC().Truncate(time.Second)}
			t0 := clk.t
			for _, s := range []*comment.Site{
				{ID: "news", Name: "News", Origins: []string{"https://news.example"}, MaxDepth: 5},
				{ID: "brief", Name: "Brief", Origins: []string{"https://brief.example"}, MaxDepth: 5, IPRetention: 48 * time.Hour},
			} {
				if err := st.CreateSite(ctx, s, nil); err != nil {
					t.Fatal(err)
				}
			}
			post := func(site, id string, created time.Time) {
				t.Helper()
				c := &comment.Comment{ID: id, Author: comment.Author{Name: "Ana", Email: "ana@example.org"}, Markdown: "hi", HTML: "<p>hi</p>",
					Status: comment.StatusApproved, Created: created, IPHash: "addr-" + id, IPNet: "net-" + id, UserAgent: "Mozilla/5.0"}
				if err := st.CreateComment(ctx, comment.Page{SiteID: site, Key: "https://" + site + ".example/p"}, c); err != nil {
					t.Fatal(err)
				}
			}
			post("news", "n-old", t0.Add(-31*24*time.Hour)) // past the server's 30 days
			post("news", "n-mid", t0.Add(-3*24*time.Hour))  // within them
			post("brief", "b-old", t0.Add(-3*24*time.Hour)) // past the site's 48 hours
			post("brief", "b-new", t0.Add(-time.Hour))
			// A reader session that ends in a day, a used log-in link that
			// expires in 15 minutes, a desk session, a sent email.
			if err := st.CreateSession(ctx, &auth.Session{ID: "sess", Identity: auth.Identity{Provider: "email", Subject: "ana@example.org"}, Created: t0, Expires: t0.Add(24 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if err := st.UseOnce(ctx, "link:1", t0.Add(15*time.Minute)); err != nil {
				t.Fatal(err)
			}
			acct := &staff.Account{ID: "acct", Email: "mod@example.org", Name: "Mod", Created: t0}
			if err := st.CreateAccount(ctx, acct, nil, nil); err != nil {
				t.Fatal(err)
			}
			if err := st.CreateStaffSession(ctx, &staff.Session{Hash: "desk", AccountID: "acct", Created: t0, Seen: t0}); err != nil {
				t.Fatal(err)
			}
			m := &store.Message{Key: "mail-1", Kind: store.KindEmail, Stream: "e:ana", SiteID: "news", Target: "ana@example.org", Payload: "{}", Created: t0, Deadline: t0.Add(time.Hour)}
			if _, err := st.Enqueue(ctx, m, nil); err != nil {
				t.Fatal(err)
			}
			ms, err := st.ClaimMessages(ctx, "w", t0, t0.Add(time.Minute), 10)
			if err != nil || len(ms) != 1 {
				t.Fatalf("ClaimMessages = %v, %v", ms, err)
			}
			if err := st.Finish(ctx, "w", ms[0].ID, nil, store.Outcome{State: store.StateSent, Attempted: true}, t0); err != nil {
				t.Fatal(err)
			}
			thread, _ := st.Thread(ctx, "news", "https://news.example/p")

			job := retention.New(retention.Config{Store: st, Now: clk.now})
			r, err := job.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r != (retention.Report{Comments: 2}) {
				t.Errorf("first run: %+v, want only the 2 comments past their period", r)
			}
			for id, reduced := range map[string]bool{"n-old": true, "n-mid": false, "b-old": true, "b-new": false} {
				c, err := st.Comment(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if reduced && (c.IPHash != "net-"+id || c.UserAgent != "") {
					t.Errorf("%s: ip hash %q, agent %q; want its network's hash and no agent", id, c.IPHash, c.UserAgent)
				}
				if !reduced && (c.IPHash != "addr-"+id || c.UserAgent == "") {
					t.Errorf("%s was reduced before its time: %q, %q", id, c.IPHash, c.UserAgent)
				}
			}
			if last, _ := st.LastEvent(ctx, thread.ID); last == 0 {
				t.Errorf("the change log was pruned within its day")
			}

			// Two hours on: the link and the desk session (idle) are gone.
			clk.t = t0.Add(3 * time.Hour)
			if r, err = job.RunOnce(ctx); err != nil || r.Logins != 1 || r.StaffSessions != 1 || r.Comments != 0 || r.Outbox != 0 {
				t.Errorf("three hours on: %+v, %v; want the link and the desk session", r, err)
			}
			if err := st.UseOnce(ctx, "link:1", t0.Add(time.Hour)); err != nil {
				t.Errorf("the used link is still remembered: %v", err)
			}
			// Two days on: the session has expired, the change log is
			// pruned, and brief's newer comment is past its 48 hours.
			clk.t = t0.Add(48*time.Hour + time.Minute)
			if r, err = job.RunOnce(ctx); err != nil || r.Logins != 2 || r.Comments != 1 {
				t.Errorf("two days on: %+v, %v; want the session (and the link key used just now) and b-new", r, err)
			}
			if _, err := st.Session(ctx, "sess"); !errors.Is(err, comment.ErrNotFound) {
				t.Errorf("expired session: %v, want ErrNotFound", err)
			}
			if last, err := st.LastEvent(ctx, thread.ID); err != nil || last != 0 {
				t.Errorf("change log after two days: last event %d, %v; want none", last, err)
			}
			// 31 days on: the sent email goes, and n-mid.
			clk.t = t0.Add(31 * 24 * time.Hour)
			if r, err = job.RunOnce(ctx); err != nil || r.Outbox != 1 || r.Comments != 1 {
				t.Errorf("31 days on: %+v, %v; want the sent email and n-mid", r, err)
			}
			if _, err := st.OutboxMessage(ctx, ms[0].ID); !errors.Is(err, comment.ErrNotFound) {
				t.Errorf("sent email after 31 days: %v, want ErrNotFound", err)
			}
			// Nothing else was touched.
			for _, id := range []string{"n-old", "n-mid", "b-old", "b-new"} {
				if c, err := st.Comment(ctx, id); err != nil || c.Markdown != "hi" || c.Author.Email != "ana@example.org" {
					t.Errorf("%s: %+v, %v", id, c, err)
				}
			}
		})
	}
}

// TestOneInstanceAtATime runs the job of two instances sharing a
// database: only the lease holder works, until its lease lapses.
func TestOneInstanceAtATime(t *testing.T) {
	for name, open := range databases(t) {
		t.Run(name, func(t *testing.T) {
			a, b := open(), open()
			clk := &clock{time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
			ja := retention.New(retention.Config{Store: a, Now: clk.now})
			jb := retention.New(retention.Config{Store: b, Now: clk.now})
			if _, ran, err := ja.RunIfLeader(ctx); err != nil || !ran {
				t.Fatalf("first instance: ran %v, %v; want it to take the lease", ran, err)
			}
			if _, ran, err := jb.RunIfLeader(ctx); err != nil || ran {
				t.Fatalf("second instance ran %v, %v while the first holds the lease", ran, err)
			}
			clk.t = clk.t.Add(time.Hour) // the holder renews on its next tick
			if _, ran, _ := ja.RunIfLeader(ctx); !ran {
				t.Fatal("the holder could not renew its lease")
			}
			if _, ran, _ := jb.RunIfLeader(ctx); ran {
				t.Fatal("second instance ran while the lease was renewed")
			}
			// The first instance stops; its lease (two periods) lapses.
			clk.t = clk.t.Add(2*retention.DefaultEvery + time.Second)
			if _, ran, err := jb.RunIfLeader(ctx); err != nil || !ran {
				t.Fatalf("second instance after the lease lapsed: ran %v, %v", ran, err)
			}
			if _, ran, _ := ja.RunIfLeader(ctx); ran {
				t.Fatal("the first instance came back and ran beside the new holder")
			}
			// A holder that stops hands the lease back: the next instance
			// runs at once, not two periods later; a release by an instance
			// that does not hold it changes nothing.
			if err := ja.Release(ctx); err != nil {
				t.Fatal(err)
			}
			if _, ran, _ := ja.RunIfLeader(ctx); ran {
				t.Fatal("a release by a non-holder freed the lease")
			}
			if err := jb.Release(ctx); err != nil {
				t.Fatal(err)
			}
			if _, ran, err := ja.RunIfLeader(ctx); err != nil || !ran {
				t.Fatalf("after the holder released its lease: ran %v, %v", ran, err)
			}
		})
	}
}

var benchRuns int

// BenchmarkJob100k times one run of the job over 100,000 comments past
// their period (each run starts from a freshly restored database).
func BenchmarkJob100k(b *testing.B) {
	const n = 100_000
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for name, open := range databases(b) {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				st := open()
				benchRuns++
				site := fmt.Sprintf("s%d", benchRuns) // b.N grows over calls on one database
				rows := []*store.Row{
					{Site: &comment.Site{ID: site, Name: "S", Origins: []string{"https://s.example"}, MaxDepth: 5, Created: t0}},
					{Thread: &comment.Thread{ID: "t" + site, SiteID: site, Key: "https://s.example/p", URL: "https://s.example/p", Created: t0}},
				}
				k := 0
				err := st.Restore(ctx, func() (*store.Row, error) {
					if len(rows) > 0 {
						r := rows[0]
						rows = rows[1:]
						return r, nil
					}
					if k == n {
						return nil, io.EOF
					}
					k++
					return &store.Row{Comment: &comment.Comment{ID: fmt.Sprintf("%s-%06d", site, k), SiteID: site, ThreadID: "t" + site,
						Author: comment.Author{Name: "Ana"}, Markdown: "hi", HTML: "<p>hi</p>", Status: comment.StatusApproved,
						Created: t0.Add(-time.Duration(k) * time.Second), IPHash: fmt.Sprintf("%012x", k), IPNet: fmt.Sprintf("%012x", k>>8), UserAgent: "Mozilla/5.0 (X11; Linux x86_64)"}}, nil
				})
				if err != nil {
					b.Fatal(err)
				}
				job := retention.New(retention.Config{Store: st, Now: func() time.Time { return t0.Add(60 * 24 * time.Hour) }})
				b.StartTimer()
				r, err := job.RunOnce(ctx)
				b.StopTimer()
				if err != nil || r.Comments != n {
					b.Fatalf("RunOnce = %+v, %v; want %d comments", r, err, n)
				}
				st.Close()
			}
			b.ReportMetric(float64(n), "comments/op")
		})
	}
}
