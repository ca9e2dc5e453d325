package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"parley/internal/auth/authtest"
	"parley/internal/webhook/webhooktest"
)

// smtpGate stands between Parley and the test's SMTP server and can take
// the server down the way a mail server going down for maintenance does:
// new connections are refused, and a kept connection gets "421" at its
// next transaction; a transaction already under way finishes. (Cutting
// one in the middle would leave Parley not knowing whether the server
// kept the message, which no SMTP client can know.)
type smtpGate struct {
	t      *testing.T
	addr   string
	target string
	down   atomic.Bool

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newSMTPGate(t *testing.T, target string) *smtpGate {
	g := &smtpGate{t: t, target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	g.serve(ln)
	t.Cleanup(func() { g.ln.Close() })
	return g
}

func (g *smtpGate) serve(ln net.Listener) {
	g.mu.Lock()
	g.ln = ln
	g.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go g.relay(c)
		}
	}()
}

// relay copies one conversation, watching the client's commands: while
// the gate is down, a MAIL command (the start of a transaction) is
// answered 421 and the connection closed.
func (g *smtpGate) relay(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", g.target)
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(c, up)
	r := bufio.NewReader(c)
	inData := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case inData:
			inData = cmd != "."
		case strings.HasPrefix(cmd, "MAIL FROM") && g.down.Load():
			c.Write([]byte("421 4.3.2 Service shutting down, try later\r\n"))
			return
		case cmd == "DATA":
			inData = true
		}
		if _, err := up.Write([]byte(line)); err != nil {
			return
		}
	}
}

// stop takes the server down; start brings it back on the same address.
func (g *smtpGate) stop() {
	g.down.Store(true)
	g.mu.Lock()
	g.ln.Close()
	g.mu.Unlock()
}

func (g *smtpGate) start() {
	ln, err := net.Listen("tcp", g.addr)
	if err != nil {
		g.t.Fatal(err)
	}
	g.down.Store(false)
	g.serve(ln)
}

var replyRE = regexp.MustCompile(`Reply (\d+)-(\d+): `)

// TestOutage_EmailsOnceWebhooksAtLeastOnce runs the real binary with
// notifications on and sends a burst of 1,000 replies, each of which owes
// one reader an email and the site's webhook a delivery. In the middle,
// the SMTP server and the webhook receiver go down, and, while they are
// down, Parley is killed with SIGKILL and started again. When everything
// is back, every email has arrived exactly once, in order for each
// reader, and every webhook at least once under one webhook-id, checked
// with the Standard Webhooks library.
func TestOutage_EmailsOnceWebhooksAtLeastOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped in -short mode")
	}
	webhooktest.Installed(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "parley")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "o.db")
	ms := authtest.StartSMTP(t)
	gate := newSMTPGate(t, fmt.Sprintf("127.0.0.1:%d", ms.Port()))
	host, port, _ := net.SplitHostPort(gate.addr)
	config := filepath.Join(dir, "login.json")
	os.WriteFile(config, []byte(`{"smtp": {"host": "`+host+`", "port": `+port+`, "tls": "none", "from": "Comments <comments@ledger.example>", "timeout": "3s"}}`), 0o600)

	// The site's webhook, to a receiver that checks signatures.
	ctx := context.Background()
	addr := "127.0.0.1:" + freePort(t)
	base := "http://" + addr
	if err := run(ctx, []string{"site", "add", "--db", db, "--id", "demo", "--name", "The Riverton Ledger", "--origin", base}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	hookPort, _ := strconv.Atoi(freePort(t))
	var out bytes.Buffer
	if err := run(ctx, []string{"webhook", "add", "--db", db, "--site", "demo", "--url", fmt.Sprintf("http://127.0.0.1:%d/hooks", hookPort),
		"--events", "comment.created", "--webhook-allow", "127.0.0.1"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	receiver := webhooktest.StartAt(t, lines[len(lines)-1], hookPort)

	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--addr", addr, "--public-url", base, "--db", db, "--login-config", config,
			"--webhook-allow", "127.0.0.1", "--notify-digest", "0", "--outbox-retry", "200ms", "--outbox-retry-max", "2s",
			"--rate-limit-ip", "0", "--rate-limit-email", "0", "--min-form-age", "0")
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
			cmd.Process.Kill()
			t.Fatalf("server did not start: %v", err)
		}
		return cmd
	}
	cmd := start()
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	client := &http.Client{Timeout: 10 * time.Second}
	postJSON := func(fields map[string]string) (map[string]any, error) {
		fields["page"], fields["url"] = "ledger-article", base+"/ledger-article"
		b, _ := json.Marshal(fields)
		resp, err := client.Post(base+"/api/v1/sites/demo/comments", "application/json", bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var c map[string]any
		json.NewDecoder(resp.Body).Decode(&c)
		if resp.StatusCode != http.StatusCreated {
			return nil, fmt.Errorf("status %d: %v", resp.StatusCode, c)
		}
		return c, nil
	}

	// Twenty readers comment and ask for replies; each confirms by the
	// link in the email the SMTP server received.
	const readers, per = 20, 50
	parents := make([]string, readers)
	for i := range readers {
		c, err := postJSON(map[string]string{"name": fmt.Sprint("Reader ", i), "email": fmt.Sprintf("reader%d@example.org", i), "body": fmt.Sprint("Reader ", i, " asks for replies."), "notify": "replies"})
		if err != nil || c["notify"] != "confirm" {
			t.Fatalf("subscriber %d: %v %v", i, c, err)
		}
		parents[i] = c["id"].(string)
	}
	for range readers {
		m := ms.WaitMail(t, 30*time.Second)
		for _, l := range regexp.MustCompile(`http://\S+/notify/confirm\?\S+`).FindAllString(m.Body(), 1) {
			u, _ := url.Parse(l)
			resp, err := client.PostForm(base+"/notify/confirm", url.Values{"t": {u.Query().Get("t")}})
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("confirm: %v %v", resp, err)
			}
			resp.Body.Close()
		}
	}

	// The burst: each reader gets 50 replies, one after another (so their
	// order is known), the readers in parallel.
	var acked atomic.Int64
	var killing atomic.Bool
	down := make(chan struct{})
	restarted := make(chan struct{})
	var wg sync.WaitGroup
	for i := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < per; k++ {
				body := fmt.Sprintf("Reply %d-%d: the evening buses ran on time in ward %d today.", i, k, k)
				if _, err := postJSON(map[string]string{"name": "Replier", "email": fmt.Sprintf("replier%d@example.org", i), "body": body, "parent": parents[i]}); err != nil {
					if !killing.Load() {
						t.Errorf("reply %d-%d before the kill: %v", i, k, err)
						return
					}
					// The server was killed: after its restart, post again
					// unless the comment was stored before the kill.
					<-restarted
					if !stored(t, client, base, body) {
						k--
					}
					continue
				}
				if acked.Add(1) == 400 {
					close(down)
				}
			}
		}()
	}
	select {
	case <-down:
	case <-time.After(60 * time.Second):
		t.Fatalf("only %d replies acknowledged", acked.Load())
	}
	// The mail server and the receiver go down; while they are down the
	// process is killed.
	gate.stop()
	receiver.Stop()
	for deadline := time.Now().Add(30 * time.Second); acked.Load() < 600 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
	}
	killing.Store(true)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	t.Logf("killed after %d replies were acknowledged", acked.Load())
	cmd = start()
	close(restarted)
	wg.Wait()
	t.Logf("all %d replies posted; the mail server and the receiver come back", readers*per)
	gate.start()
	receiver.Restart()

	// Every reply's email, exactly once, in order for each reader.
	emails := map[string]int{}
	last := make([]int, readers)
	for i := range last {
		last[i] = -1
	}
	duplicates, outOfOrder := 0, 0
	for got := 0; got < readers*per; got++ {
		for deadline := time.Now().Add(60 * time.Second); len(ms.Messages()) < readers+got+1; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				var out bytes.Buffer
				run(ctx, []string{"webhook", "deliveries", "--db", db, "--site", "demo", "--state", "pending"}, &out, io.Discard)
				t.Fatalf("%d of %d emails arrived; waiting in the outbox:\n%s", got, readers*per, out.String())
			}
		}
		m := ms.WaitMail(t, time.Second)
		sub := replyRE.FindStringSubmatch(m.Body())
		if sub == nil {
			t.Fatalf("not a reply notification: %q\n%s", m.Subject(), m.Body())
		}
		var i, k int
		fmt.Sscan(sub[1], &i)
		fmt.Sscan(sub[2], &k)
		if m.To[0] != fmt.Sprintf("reader%d@example.org", i) {
			t.Errorf("reply %d-%d mailed to %v", i, k, m.To)
		}
		if emails[sub[1]+"-"+sub[2]]++; emails[sub[1]+"-"+sub[2]] > 1 {
			duplicates++
		}
		if k < last[i] {
			outOfOrder++
		}
		last[i] = max(last[i], k)
	}
	// Nothing more comes (a duplicate would arrive within the retries).
	time.Sleep(3 * time.Second)
	extra := len(ms.Messages()) - readers - readers*per
	if duplicates != 0 || outOfOrder != 0 || extra != 0 || len(emails) != readers*per {
		t.Errorf("emails: %d distinct of %d, %d duplicates, %d out of order, %d extra", len(emails), readers*per, duplicates, outOfOrder, extra)
	}

	// Every comment's webhook at least once, under one id, verified.
	all := receiver.Wait(readers+readers*per, 60*time.Second)
	time.Sleep(time.Second)
	all = receiver.Deliveries()
	byComment := map[string]string{}
	ids := map[string]bool{}
	repeats := 0
	for _, d := range all {
		if !d.OK {
			t.Fatalf("the Standard Webhooks library refused a delivery: %+v", d)
		}
		if id, ok := byComment[d.Comment]; ok && id != d.ID {
			t.Errorf("comment %s delivered under ids %s and %s", d.Comment, id, d.ID)
		}
		if ids[d.ID] {
			repeats++
		}
		byComment[d.Comment], ids[d.ID] = d.ID, true
	}
	if len(byComment) != readers+readers*per {
		t.Errorf("%d comments' webhooks arrived, want %d", len(byComment), readers+readers*per)
	}
	// In order: each reader's replies' deliveries come in posting order.
	seen := make([]int, readers)
	for i := range seen {
		seen[i] = -1
	}
	webhookOutOfOrder := 0
	counted := map[string]bool{}
	for _, d := range all {
		if sub := replyRE.FindStringSubmatch(d.Text); sub != nil && !counted[d.ID] {
			counted[d.ID] = true
			var i, k int
			fmt.Sscan(sub[1], &i)
			fmt.Sscan(sub[2], &k)
			if k < seen[i] {
				webhookOutOfOrder++
			}
			seen[i] = max(seen[i], k)
		}
	}
	if webhookOutOfOrder != 0 {
		t.Errorf("%d webhooks out of order", webhookOutOfOrder)
	}
	t.Logf("events %d; emails delivered %d (distinct %d, duplicates %d, out of order %d); webhooks delivered %d (distinct ids %d, repeats %d, out of order %d)",
		readers*per, readers*per+duplicates, len(emails), duplicates, outOfOrder, len(all), len(byComment), repeats, webhookOutOfOrder)
}

// stored reports whether the thread holds a comment with this text.
func stored(t *testing.T, client *http.Client, base, body string) bool {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := client.Get(base + "/api/v1/sites/demo/comments?page=ledger-article")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			return bytes.Contains(b, []byte(body))
		}
	}
	t.Error("the thread could not be read after the restart")
	return true
}
