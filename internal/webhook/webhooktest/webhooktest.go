// Package webhooktest runs, for tests, a webhook receiver that checks
// Parley's deliveries with an independent implementation of the Standard
// Webhooks scheme: the published npm package "standardwebhooks" (the
// version pinned in npm/package-lock.json), run by node. It needs node
// and npm on PATH (.ci/run installs them) and skips the test otherwise.
package webhooktest

import (
	"bufio"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

//go:embed npm/package.json npm/package-lock.json npm/receiver.mjs
var files embed.FS

// install is the receiver's folder with its packages, made once per test
// binary.
var install struct {
	once sync.Once
	dir  string
	err  error
	out  []byte
}

func installed(t testing.TB) string {
	t.Helper()
	npm, err := exec.LookPath("npm")
	if _, nerr := exec.LookPath("node"); err != nil || nerr != nil {
		t.Skip("node and npm are not on PATH, so the Standard Webhooks receiver cannot run (.ci/run installs Debian's nodejs and npm)")
	}
	install.once.Do(func() {
		dir, err := os.MkdirTemp("", "parley-webhooks-")
		if err != nil {
			install.err = err
			return
		}
		for _, name := range []string{"package.json", "package-lock.json", "receiver.mjs"} {
			b, _ := files.ReadFile("npm/" + name)
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				install.err = err
				return
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
		install.out, install.err = cmd.CombinedOutput()
		install.dir = dir
	})
	if install.err != nil {
		t.Fatalf("npm ci (standardwebhooks): %v\n%s", install.err, install.out)
	}
	return install.dir
}

// Delivery is one request the receiver got, as it judged it.
type Delivery struct {
	OK      bool   `json:"ok"`
	ID      string `json:"id"` // webhook-id
	Type    string `json:"type"`
	Comment string `json:"comment"`
	Status  string `json:"status"`
	Email   string `json:"email"`
	Text    string `json:"text"`
	Page    string `json:"page"`   // the article's key
	Action  string `json:"action"` // a surge guard's (page.surge)
	Error   string `json:"error"`  // why it was refused
}

// Receiver is a running node receiver.
type Receiver struct {
	t      testing.TB
	dir    string
	secret string

	mu      sync.Mutex
	port    int
	cmd     *exec.Cmd
	got     []Delivery
	arrived chan struct{}
	exited  chan struct{}
}

// Start runs a receiver on 127.0.0.1 that checks deliveries with secret
// ("whsec_…"), until the test ends.
func Start(t testing.TB, secret string) *Receiver {
	t.Helper()
	return StartAt(t, secret, 0)
}

// StartAt is Start on a given port (0: any).
func StartAt(t testing.TB, secret string, port int) *Receiver {
	t.Helper()
	r := &Receiver{t: t, dir: installed(t), secret: secret, arrived: make(chan struct{})}
	r.start(port)
	t.Cleanup(r.Stop)
	return r
}

// Installed installs the receiver's packages now (or skips the test
// without node and npm), so a test can do it before it starts timing.
func Installed(t testing.TB) { installed(t) }

// URL is the address to deliver to.
func (r *Receiver) URL() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("http://127.0.0.1:%d/hooks/parley", r.port)
}

func (r *Receiver) start(port int) {
	r.t.Helper()
	cmd := exec.Command("node", "receiver.mjs")
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "WEBHOOK_SECRET="+r.secret, fmt.Sprintf("PORT=%d", port))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var first struct{ Listening int }
	if !sc.Scan() || json.Unmarshal(sc.Bytes(), &first) != nil || first.Listening == 0 {
		cmd.Process.Kill()
		cmd.Wait()
		r.t.Fatalf("the webhook receiver did not start: %s", sc.Text())
	}
	exited := make(chan struct{})
	r.mu.Lock()
	r.port, r.cmd, r.exited = first.Listening, cmd, exited
	r.mu.Unlock()
	go func() {
		defer close(exited)
		for sc.Scan() {
			var d Delivery
			if json.Unmarshal(sc.Bytes(), &d) != nil {
				continue
			}
			r.mu.Lock()
			r.got = append(r.got, d)
			close(r.arrived)
			r.arrived = make(chan struct{})
			r.mu.Unlock()
		}
		cmd.Wait()
	}()
}

// Stop ends the receiver: deliveries then fail to connect (an outage).
func (r *Receiver) Stop() {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-exited
}

// Restart starts the receiver again on the port it had.
func (r *Receiver) Restart() {
	r.t.Helper()
	r.mu.Lock()
	port := r.port
	r.mu.Unlock()
	r.start(port)
}

// Deliveries returns every request received so far, in order.
func (r *Receiver) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.got...)
}

// Wait waits until n requests have arrived, or fails the test after
// timeout, and returns them.
func (r *Receiver) Wait(n int, timeout time.Duration) []Delivery {
	r.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		if len(r.got) >= n {
			out := append([]Delivery(nil), r.got...)
			r.mu.Unlock()
			return out
		}
		arrived := r.arrived
		have := len(r.got)
		r.mu.Unlock()
		select {
		case <-arrived:
		case <-deadline.C:
			r.t.Fatalf("webhook receiver: %d deliveries within %v, want %d", have, timeout, n)
			return nil
		}
	}
}
