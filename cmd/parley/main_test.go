package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/gravatar/gravatartest"
	"parley/internal/service"
)

// lineWriter hands each line written to it to a channel, so a test can wait
// for the server's "running" message.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		select {
		case w.lines <- line:
		default:
		}
	}
}

var addrRE = regexp.MustCompile(`http://[0-9a-z.:\[\]]+`)

// startServe runs `parley serve` in-process and returns its base URL.
func startServe(t testing.TB, args ...string) string {
	t.Helper()
	base, _ := startServeOut(t, args...)
	return base
}

// startServeOut is startServe that also gives the lines serve prints
// after the first.
func startServeOut(t testing.TB, args ...string) (string, <-chan string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{lines: make(chan string, 16)}
	done := make(chan error, 1)
	// Tests post many comments quickly from one address: the bot traps
	// that would stop that are tested in package service.
	base := []string{"serve", "--addr", "127.0.0.1:0", "--rate-limit-ip", "0", "--rate-limit-email", "0", "--min-form-age", "0"}
	go func() { done <- run(ctx, append(base, args...), out, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v", err)
		}
	})
	select {
	case line := <-out.lines:
		return addrRE.FindString(line), out.lines
	case err := <-done:
		done <- nil // for the cleanup, which waits for serve to return
		t.Fatalf("serve stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	return "", nil
}

func TestServe_Demo(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	base := startServe(t, "--db", db, "--demo")
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	page := get(t, base+"/")
	for _, want := range []string{"Riverton", `<script src="` + base + `/embed.js"`, `name="token"`, `data-site="demo"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("demo page lacks %q", want)
		}
	}
	tok := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(page)[1]
	form := url.Values{"page": {"demo-article"}, "url": {base + "/"}, "name": {"Tomás"}, "email": {"t@example.org"}, "body": {"The 5:40 bus is too early!"}, "token": {tok}}
	req, _ := http.NewRequest("POST", base+"/sites/demo/comments", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, base+"/#comment-") {
		t.Fatalf("form post = %d to %q", resp.StatusCode, loc)
	}
	if page := get(t, base+"/"); !strings.Contains(page, "The 5:40 bus is too early!") || !strings.Contains(page, "Tomás") {
		t.Fatal("demo page does not show the posted comment")
	}
	if js := get(t, base+"/embed.js"); len(js) < 1000 {
		t.Fatalf("embed.js is %d bytes", len(js))
	}
}

func get(t testing.TB, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

func TestSiteCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	var out, errOut bytes.Buffer
	ctx := context.Background()
	if err := run(ctx, []string{"site", "add", "--db", db, "--id", "ledger", "--name", "The Ledger", "--origin", "https://Ledger.example/", "--origin", "http://localhost:4000"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	err := run(ctx, []string{"site", "add", "--db", db, "--id", "ledger", "--origin", "https://x.example"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate site add = %v", err)
	}
	out.Reset()
	if err := run(ctx, []string{"site", "list", "--db", db}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ledger") || !strings.Contains(out.String(), "https://ledger.example http://localhost:4000") {
		t.Fatalf("site list:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"site", "key", "--db", db, "--id", "ledger"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out.String())
	st, _ := openStore(ctx, dbOptions{dsn: db})
	svc, _ := newService(ctx, st, nil)
	site, err := svc.SiteByAPIKey(ctx, key)
	st.Close()
	if err != nil || site.ID != "ledger" {
		t.Fatalf("key %q does not find the site: %v", key, err)
	}
	if err := run(ctx, []string{"site", "key", "--db", db, "--id", "nope"}, io.Discard, io.Discard); err == nil {
		t.Fatal("key for a missing site succeeded")
	}
	for _, args := range [][]string{
		{"site", "add", "--db", db, "--id", "x", "--origin", "not a url"},
		{"site", "add", "--db", db, "--origin", "https://x.example"},
		{"site", "add", "--db", db, "--id", "bad id!", "--origin", "https://x.example"},
		{"site", "frobnicate"},
		{"serve", "--no-such-flag"},
		{"serve", "--log-format", "xml"},
		{"nope"},
	} {
		var ue usageError
		if err := run(ctx, args, io.Discard, io.Discard); !errors.As(err, &ue) || err.Error() == "" {
			t.Errorf("parley %s = %v, want a usage error", strings.Join(args, " "), err)
		}
	}
}

// TestSiteSetOrigins: --add-origin and --remove-origin change one origin
// and keep the rest; --origin replaces them all and says what it
// replaced; mistakes are usage errors that change nothing.
func TestSiteSetOrigins(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	ctx := context.Background()
	site := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{"site", args[0], "--db", db, "--id", "ledger"}, args[1:]...), &out, io.Discard)
		return out.String(), err
	}
	origins := func() string {
		var out bytes.Buffer
		if err := run(ctx, []string{"site", "list", "--db", db}, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(out.String(), "\n") {
			if f := regexp.MustCompile(`\s{2,}`).Split(l, -1); len(f) > 2 && f[0] == "ledger" {
				return f[2]
			}
		}
		t.Fatalf("no ledger in\n%s", out.String())
		return ""
	}
	if _, err := site("add", "--origin", "https://ledger.example"); err != nil {
		t.Fatal(err)
	}
	out, err := site("set", "--add-origin", "https://WWW.ledger.example", "--add-origin", "http://localhost:4000")
	if err != nil || !strings.Contains(out, "https://ledger.example https://www.ledger.example http://localhost:4000") {
		t.Fatalf("add-origin: %v\n%s", err, out)
	}
	if _, err := site("set", "--remove-origin", "http://localhost:4000"); err != nil {
		t.Fatal(err)
	}
	if got := origins(); got != "https://ledger.example https://www.ledger.example" {
		t.Fatalf("after remove: %q", got)
	}
	out, err = site("set", "--origin", "https://new.example")
	if err != nil || !strings.Contains(out, "was https://ledger.example https://www.ledger.example, now https://new.example") {
		t.Fatalf("replacing --origin does not say what it replaced: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"set", "--remove-origin", "https://other.example"},
		{"set", "--remove-origin", "https://new.example"},
		{"set", "--add-origin", "not an origin"},
		{"set", "--origin", "https://a.example", "--add-origin", "https://b.example"},
	} {
		var ue usageError
		if _, err := site(args...); !errors.As(err, &ue) {
			t.Errorf("site %s = %v, want a usage error", strings.Join(args, " "), err)
		} else {
			t.Logf("site %s: %v", strings.Join(args, " "), err)
		}
	}
	if got := origins(); got != "https://new.example" {
		t.Fatalf("a refused change changed the origins: %q", got)
	}
}

// TestDurability_KillAfterAck posts comments to a real parley process,
// kills it with SIGKILL while posts are in flight, restarts it, and checks
// that every comment it acknowledged is still there.
func TestDurability_KillAfterAck(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped in -short mode")
	}
	bin := buildParley(t)
	db := filepath.Join(t.TempDir(), "d.db")
	start := func() (*exec.Cmd, string) {
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", db, "--demo", "--rate-limit-ip", "0", "--rate-limit-email", "0")
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			cmd.Process.Kill()
			t.Fatalf("server did not start: %v", err)
		}
		return cmd, addrRE.FindString(line)
	}
	cmd, base := start()

	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body, _ := json.Marshal(map[string]string{"page": "demo-article", "url": base + "/", "name": "w", "email": "w@example.org",
					"body": fmt.Sprintf("Worker %d, post %d: the evening buses ran on time today.", w, i)})
				resp, err := client.Post(base+"/api/v1/sites/demo/comments", "application/json", bytes.NewReader(body))
				if err != nil {
					return // the server is gone
				}
				var c struct{ ID string }
				json.NewDecoder(resp.Body).Decode(&c)
				resp.Body.Close()
				if resp.StatusCode == 201 {
					mu.Lock()
					acked = append(acked, c.ID)
					mu.Unlock()
				}
			}
		}()
	}
	// Kill once a few hundred posts were answered, mid-stream.
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) < 100 {
		t.Fatalf("only %d posts acknowledged before the kill", len(acked))
	}

	cmd, base = start()
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var thread struct {
		Comments []struct{ ID string }
		Total    int
	}
	if err := json.Unmarshal([]byte(get(t, base+"/api/v1/sites/demo/comments?page=demo-article")), &thread); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, c := range thread.Comments {
		have[c.ID] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Errorf("acknowledged comment %s lost after SIGKILL", id)
		}
	}
	t.Logf("%d acknowledged posts, %d stored after the kill", len(acked), thread.Total)
}

func TestCommentCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	ctx := context.Background()
	if err := run(ctx, []string{"site", "add", "--db", db, "--id", "s", "--origin", "https://s.example", "--moderation", "all"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	st, err := openStore(ctx, dbOptions{dsn: db})
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := newService(ctx, st, nil)
	c, err := svc.Post(ctx, comment.Draft{SiteID: "s", Page: "https://s.example/a", Name: "Ada", Email: "ada@example.org", Body: "Held\nfor review"}, service.Meta{})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"comment", "list", "--db", db, "--site", "s"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), c.ID) || !strings.Contains(out.String(), "Held for review") || !strings.Contains(out.String(), "moderation") {
		t.Fatalf("comment list:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"comment", "approve", "--db", db, "--site", "s", c.ID}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	run(ctx, []string{"comment", "list", "--db", db, "--site", "s", "--status", "approved"}, &out, io.Discard)
	if !strings.Contains(out.String(), c.ID) {
		t.Fatalf("approved list:\n%s", out.String())
	}
	if err := run(ctx, []string{"comment", "spam", "--db", db, "--site", "s", "nope"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "not changed") {
		t.Fatalf("moderating a missing comment = %v", err)
	}
	var ue usageError
	if err := run(ctx, []string{"comment", "approve", "--db", db, "--site", "s"}, io.Discard, io.Discard); !errors.As(err, &ue) {
		t.Fatalf("approve without ids = %v", err)
	}
}

// TestServe_AkismetAPI: the running server answers Akismet clients with a
// site's key.
func TestServe_AkismetAPI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	ctx := context.Background()
	run(ctx, []string{"site", "add", "--db", db, "--id", "blog", "--origin", "https://blog.example"}, io.Discard, io.Discard)
	var out bytes.Buffer
	if err := run(ctx, []string{"site", "key", "--db", db, "--id", "blog"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out.String())
	base := startServe(t, "--db", db)
	for key, want := range map[string]string{key: "valid", "wrong": "invalid"} {
		resp, err := http.PostForm(base+"/1.1/verify-key", url.Values{"key": {key}, "blog": {"https://blog.example"}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != want {
			t.Fatalf("verify-key = %q, want %q", b, want)
		}
	}
}

// TestServe_SpamRules: a site owner's blocked words send comments to the
// spam folder; a broken rules file stops the server with a clear error.
func TestServe_SpamRules(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.json")
	os.WriteFile(rules, []byte(`{"blocked_words": ["cheap pills"], "blocked_ips": ["203.0.113.0/24"]}`), 0o600)
	db := filepath.Join(dir, "r.db")
	base := startServe(t, "--db", db, "--demo", "--spam-rules", rules)
	body, _ := json.Marshal(map[string]string{"page": "demo-article", "url": base + "/", "name": "B", "email": "b@example.org", "body": "Buy cheap pills here today"})
	resp, err := http.Post(base+"/api/v1/sites/demo/comments", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("blocked word post = %d, want 202 (held as far as the poster knows)", resp.StatusCode)
	}
	var out bytes.Buffer
	run(context.Background(), []string{"comment", "list", "--db", db, "--site", "demo", "--status", "spam"}, &out, io.Discard)
	if !strings.Contains(out.String(), "rules") {
		t.Fatalf("spam folder:\n%s", out.String())
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"blocked_ips": ["not-an-ip"]}`), 0o600)
	err = run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "x.db"), "--spam-rules", bad}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "spam rules") {
		t.Fatalf("serve with a broken rules file = %v", err)
	}
}

// TestServe_Gravatar: with --gravatar, a guest's picture at the service is
// fetched by the server and served as their avatar.
func TestServe_Gravatar(t *testing.T) {
	pics := gravatartest.Start(t, "noor@example.org")
	base := startServe(t, "--db", filepath.Join(t.TempDir(), "g.db"), "--demo", "--gravatar", pics.URL+"/avatar/")
	page := get(t, base+"/")
	tok := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(page)[1]
	form := url.Values{"page": {"demo-article"}, "url": {base + "/"}, "name": {"Noor"}, "email": {"noor@example.org"}, "body": {"Lovely."}, "token": {tok}}
	req, _ := http.NewRequest("POST", base+"/sites/demo/comments", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	m := regexp.MustCompile(`class="parley-avatar"[^>]*src="([^"]+)"|src="([^"]+/avatars/[^"]+)"[^>]*class="parley-avatar"`).FindStringSubmatch(get(t, base+"/"))
	if m == nil {
		t.Fatal("no avatar on the demo page")
	}
	avatar := m[1] + m[2]
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(avatar)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if bytes.Equal(b, pics.PictureOf("noor@example.org")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("avatar %s is still %s", avatar, resp.Header.Get("Content-Type"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	var ue usageError
	if err := run(context.Background(), []string{"serve", "--db", filepath.Join(t.TempDir(), "x.db"), "--gravatar", "gravatar.com/avatar"}, io.Discard, io.Discard); !errors.As(err, &ue) {
		t.Errorf("serve with a bad --gravatar = %v", err)
	}
}

// TestServe_SeesChangesFromCommands: a moderator marks a comment as spam
// with `parley comment spam` in a terminal while the server runs on the
// same SQLite file. The server's cached thread (and the server-rendered
// page) must stop showing it soon after, without a restart, and an open
// page must hear that it should load its thread again.
func TestServe_SeesChangesFromCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	base := startServe(t, "--db", db, "--demo")
	body, _ := json.Marshal(map[string]string{"page": "demo-article", "url": base + "/", "name": "Ines", "email": "ines@example.org", "body": "Buy cheap watches at my shop"})
	resp, err := http.Post(base+"/api/v1/sites/demo/comments", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var posted struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&posted)
	resp.Body.Close()
	if resp.StatusCode != 201 || posted.ID == "" {
		t.Fatalf("post = %d, id %q", resp.StatusCode, posted.ID)
	}
	thread := base + "/api/v1/sites/demo/comments?page=demo-article"
	html := base + "/sites/demo/thread?page=demo-article"
	for _, u := range []string{thread, html} {
		if !strings.Contains(get(t, u), "cheap watches") {
			t.Fatalf("%s does not show the new comment", u)
		}
	}
	// An open page, to hear the reset.
	req, _ := http.NewRequest("GET", base+"/api/v1/sites/demo/stream?page=demo-article", nil)
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	heard := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			if e, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				heard <- e
			}
		}
	}()

	var out bytes.Buffer
	if err := run(context.Background(), []string{"comment", "spam", "--db", db, "--site", "demo", posted.ID}, &out, io.Discard); err != nil {
		t.Fatalf("comment spam: %v\n%s", err, out.String())
	}
	changed := time.Now()
	deadline := changed.Add(10 * time.Second)
	for _, u := range []string{thread, html} {
		for strings.Contains(get(t, u), "cheap watches") {
			if time.Now().After(deadline) {
				t.Fatalf("%s still shows the comment marked as spam from the command line %v later", u, time.Since(changed).Round(time.Millisecond))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("the server stopped showing it %v after the command", time.Since(changed).Round(time.Millisecond))
	for wait := time.After(5 * time.Second); ; {
		select {
		case e := <-heard:
			if e == "reset" {
				return
			}
		case <-wait:
			t.Fatal("the open page heard no reset")
		}
	}
}
