package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var soakFor = flag.Duration("soak", 3*time.Second, "how long TestSoak posts to each database (CI runs the default; try -soak 5m)")

// TestSoak is the kill -9 soak: eight posters post to a real `parley
// serve` process, each comment with its own Idempotency-Key, as the
// widget does; some hang up mid-request (half of those never come back,
// like a reader closing the tab; the others send again, like the widget);
// the server is killed with SIGKILL at random moments and started again,
// and posters whose connection broke send again with the same key. At the
// end every post answered 2xx is stored, and no post is stored twice.
// It runs against SQLite and, when PARLEY_TEST_POSTGRES_URL is set,
// PostgreSQL.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped in -short mode")
	}
	bin := buildParley(t)
	t.Run("sqlite", func(t *testing.T) {
		soak(t, bin, filepath.Join(t.TempDir(), "soak.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		soak(t, bin, testPostgresDSN(t))
	})
}

var built struct {
	once sync.Once
	path string
	err  error
}

// buildParley builds the parley binary once for the test run.
func buildParley(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "parley-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "parley")
		if out, err := exec.Command("go", "build", "-o", built.path, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// soakServer is a `parley serve` process that the soak kills and starts
// again; base is where it listens now.
type soakServer struct {
	t    *testing.T
	bin  string
	db   string
	cmd  *exec.Cmd
	base atomic.Value // string
}

func (s *soakServer) start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, "serve", "--addr", "127.0.0.1:0", "--db", s.db,
		"--rate-limit-ip", "0", "--rate-limit-email", "0", "--min-form-age", "0", "--log-level", "error")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		s.t.Fatalf("server did not start: %v", err)
	}
	go io.Copy(io.Discard, stdout)
	s.cmd = cmd
	s.base.Store(addrRE.FindString(line))
}

func (s *soakServer) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

// soakPost is one comment as its poster saw it.
type soakPost struct {
	key    string
	page   string
	body   string
	acked  string // the comment id of a 2xx answer, "" if none yet
	hungUp bool   // the poster hung up on its first sending
	gaveUp bool   // and never sent it again
}

func soak(t *testing.T, bin, db string) {
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"site", "add", "--db", db, "--id", "soak", "--name", "Soak", "--origin", "https://soak.example"}, &out, io.Discard); err != nil {
		t.Fatalf("site add: %v", err)
	}
	srv := &soakServer{t: t, bin: bin, db: db}
	srv.start()
	defer func() { srv.kill() }()

	var (
		mu                  sync.Mutex
		posts               []*soakPost
		statuses            = map[int]int{}
		sends, networkFails atomic.Int64
		wrongAnswers        []string
	)
	// send posts p once and reports whether it got an answer (any status).
	send := func(client *http.Client, p *soakPost, hangUp bool) bool {
		body, _ := json.Marshal(map[string]string{"page": p.page, "url": "https://soak.example/" + p.page, "name": "Soak", "email": "soak@example.org", "body": p.body})
		rctx := ctx
		if hangUp {
			var cancel context.CancelFunc
			rctx, cancel = context.WithTimeout(ctx, time.Duration(rand.IntN(4000))*time.Microsecond)
			defer cancel()
		}
		req, _ := http.NewRequestWithContext(rctx, "POST", srv.base.Load().(string)+"/api/v1/sites/soak/comments", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", p.key)
		sends.Add(1)
		resp, err := client.Do(req)
		if err != nil {
			networkFails.Add(1)
			return false
		}
		var c struct{ ID string }
		json.NewDecoder(resp.Body).Decode(&c)
		resp.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		statuses[resp.StatusCode]++
		if resp.StatusCode/100 == 2 {
			if p.acked != "" && p.acked != c.ID {
				wrongAnswers = append(wrongAnswers, fmt.Sprintf("post %s was answered with comment %s, then with %s", p.key, p.acked, c.ID))
			}
			p.acked = c.ID
		}
		return true
	}

	stop := time.Now().Add(*soakFor)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			client := &http.Client{Timeout: 10 * time.Second}
			for i := 0; time.Now().Before(stop); i++ {
				p := &soakPost{key: fmt.Sprintf("soak-%d-%d", w, i), page: fmt.Sprintf("page-%d", i%4)}
				p.body = fmt.Sprintf("Soak poster %d, comment %d (%s): the evening buses ran on time.", w, i, p.key)
				p.hungUp = rand.IntN(4) == 0
				mu.Lock()
				posts = append(posts, p)
				mu.Unlock()
				answered := send(client, p, p.hungUp)
				if p.hungUp && !answered && rand.IntN(2) == 0 {
					p.gaveUp = true
					continue
				}
				// Like the widget: send again, same key, until answered.
				for !answered && time.Now().Before(stop.Add(10*time.Second)) {
					time.Sleep(20 * time.Millisecond)
					answered = send(client, p, false)
				}
			}
		})
	}
	kills := 0
	for time.Now().Before(stop) {
		time.Sleep(time.Duration(150+rand.IntN(850)) * time.Millisecond)
		if !time.Now().Before(stop) {
			break
		}
		srv.kill()
		kills++
		srv.start()
	}
	wg.Wait()
	srv.kill()

	// Everything stored, in every state, from the database itself.
	out.Reset()
	if err := run(ctx, []string{"export", "--db", db, "--site", "soak"}, &out, io.Discard); err != nil {
		t.Fatalf("export: %v", err)
	}
	stored := map[string]int{}     // comment id -> times
	byKey := map[string][]string{} // post key -> comment ids
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var row struct {
			Comment *struct{ ID, Markdown string } `json:"comment"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		if row.Comment == nil {
			continue
		}
		stored[row.Comment.ID]++
		if i := strings.Index(row.Comment.Markdown, "(soak-"); i >= 0 {
			k := row.Comment.Markdown[i+1:]
			k = k[:strings.IndexByte(k, ')')]
			byKey[k] = append(byKey[k], row.Comment.ID)
		}
	}
	for _, w := range wrongAnswers {
		t.Error(w)
	}
	var acked, hungUp, gaveUp, lost, twice int
	for _, p := range posts {
		if p.hungUp {
			hungUp++
		}
		if p.gaveUp {
			gaveUp++
		}
		if ids := byKey[p.key]; len(ids) > 1 {
			twice++
			t.Errorf("post %s is stored %d times: %v", p.key, len(ids), ids)
		}
		if p.acked == "" {
			continue
		}
		acked++
		if stored[p.acked] != 1 || len(byKey[p.key]) != 1 || byKey[p.key][0] != p.acked {
			lost++
			t.Errorf("post %s was answered 2xx (comment %s) but the database holds %v", p.key, p.acked, byKey[p.key])
		}
	}
	if statuses[http.StatusInternalServerError] > 0 {
		t.Errorf("%d posts were answered 500", statuses[http.StatusInternalServerError])
	}
	if acked == 0 || kills == 0 {
		t.Fatalf("the soak did too little to prove anything: %d acknowledged, %d kills", acked, kills)
	}
	t.Logf("%v: %d posts (%d sendings, %d broken connections), %d hung up mid-request (%d never sent again), %d kill -9; answers by status %v; %d acknowledged, %d stored, %d acknowledged but missing, %d stored twice",
		*soakFor, len(posts), sends.Load(), networkFails.Load(), hungUp, gaveUp, kills, statuses, acked, len(stored), lost, twice)
}
