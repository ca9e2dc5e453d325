package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/auth/authtest"
)

// syncBuffer is a log the server writes to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServe_LogsKeepNoPersonalData runs `parley serve` at debug level
// through what readers, staff and bots do — guests posting with their
// email (by the API and the plain form), a subscription confirmed by its
// emailed link, a log-in by emailed link, likes, moderation through the
// admin API, and bad requests of every kind — then searches its whole
// log for every comment text, email address, client address, token and
// secret the run used. None may be there.
func TestServe_LogsKeepNoPersonalData(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "p.db")
	ctx := context.Background()
	addr := "127.0.0.1:" + freePort(t)
	base := "http://" + addr
	if err := run(ctx, []string{"site", "add", "--db", db, "--id", "news", "--name", "News", "--origin", base}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"token", "add", "--db", db, "--site", "news", "--role", "admin", "--name", "ci"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	adminToken := strings.TrimSpace(out.String())
	if i := strings.LastIndexByte(adminToken, '\n'); i >= 0 {
		adminToken = adminToken[i+1:]
	}
	ms := authtest.StartSMTP(t)
	config := filepath.Join(dir, "login.json")
	os.WriteFile(config, []byte(fmt.Sprintf(`{"smtp": {"host": "127.0.0.1", "port": %d, "tls": "none", "from": "Comments <c@news.example>", "timeout": "3s"}}`, ms.Port())), 0o600)

	logs := &syncBuffer{}
	runCtx, cancel := context.WithCancel(ctx)
	started := &lineWriter{lines: make(chan string, 16)}
	done := make(chan error, 1)
	go func() {
		done <- run(runCtx, []string{"serve", "--addr", addr, "--db", db, "--public-url", base, "--login-config", config,
			"--log-level", "debug", "--trusted-proxy", "127.0.0.1", "--notify-digest", "0", "--min-form-age", "0"}, started, logs)
	}()
	select {
	case <-started.lines:
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}

	// Every reader comes from this address, through the trusted proxy.
	const clientIP = "203.0.113.77"
	secrets := map[string]string{"client address": clientIP, "admin token": adminToken}
	call := func(method, path string, body any, hdr map[string]string) (int, []byte, http.Header) {
		t.Helper()
		var r io.Reader
		ct := ""
		switch b := body.(type) {
		case nil:
		case url.Values:
			r, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
		case string:
			r, ct = strings.NewReader(b), "application/json"
		default:
			j, _ := json.Marshal(b)
			r, ct = bytes.NewReader(j), "application/json"
		}
		req, _ := http.NewRequest(method, base+path, r)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		req.Header.Set("X-Forwarded-For", clientIP)
		req.Header.Set("User-Agent", "Mozilla/5.0 (LeakTest) Firefox/140.0")
		req.Header.Set("Origin", base)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, resp.Header
	}
	field := func(b []byte, name string) string {
		var m map[string]any
		json.Unmarshal(b, &m)
		s, _ := m[name].(string)
		return s
	}
	// linkIn waits for an email with a link matching re (other emails,
	// such as reply notifications, may come first).
	linkIn := func(re string) string {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			for _, m := range ms.Messages() {
				if l := regexp.MustCompile(re).FindString(m.Body()); l != "" {
					return l
				}
			}
		}
		t.Fatalf("no email with a link %s", re)
		return ""
	}

	// A reader token, and a guest's comment with their email, asking for
	// replies: the confirmation comes by email.
	_, b, _ := call("POST", "/api/v1/reader", nil, nil)
	reader := field(b, "reader")
	secrets["reader token"] = reader
	texts := []string{"Leaktest-Amara thinks the bus should run at night.", "Leaktest-Chidi replies without JavaScript.", "Leaktest-Noor posts when logged in."}
	emails := []string{"amara.leak@example.org", "chidi.leak@example.org", "noor.leak@example.org"}
	code, b, _ := call("POST", "/api/v1/sites/news/comments", map[string]any{"page": "bus", "url": base + "/bus", "name": "Amara Okafor",
		"email": emails[0], "body": texts[0], "reader": reader, "notify": "replies", "lang": "en"}, map[string]string{"Idempotency-Key": "leak-idem-key-1"})
	if code != http.StatusCreated {
		t.Fatalf("guest post = %d %s", code, b)
	}
	first := field(b, "id")
	confirm := linkIn(`http://\S+/notify/confirm\?\S+`)
	cu, _ := url.Parse(confirm)
	secrets["subscription link"] = cu.Query().Get("t")
	if code, b, _ = call("POST", "/notify/confirm", url.Values{"t": {cu.Query().Get("t")}}, nil); code != http.StatusOK {
		t.Fatalf("confirm = %d %s", code, b)
	}
	call("POST", "/api/v1/sites/news/comments/"+first+"/like", map[string]any{"reader": reader}, nil)

	// The plain form, a reply with an email address and "Save my name".
	_, page, _ := call("GET", "/sites/news/thread?page=bus", nil, nil)
	tok := regexp.MustCompile(`name="token" value="([^"]+)"`).FindSubmatch(page)
	if tok == nil {
		t.Fatalf("no form token:\n%s", page)
	}
	secrets["form token"] = string(tok[1])
	if code, b, _ = call("POST", "/sites/news/comments", url.Values{"token": {string(tok[1])}, "page": {"bus"}, "url": {base + "/bus"}, "parent": {first},
		"name": {"Chidi Eze"}, "email": {emails[1]}, "body": {texts[1]}, "remember": {"1"}}, nil); code != http.StatusSeeOther {
		t.Fatalf("form post = %d %s", code, b)
	}

	// A log-in by emailed link, then a comment, who-am-I and log-out.
	const bind = "leakbindkey0123456789abcdefAB"
	if code, b, _ = call("POST", "/api/v1/sites/news/auth/email", map[string]any{"email": emails[2], "return": base + "/bus", "bind": bind}, nil); code >= 300 {
		t.Fatalf("send link = %d %s", code, b)
	}
	link := linkIn(`http://\S+/auth/email\?\S+`)
	lu, _ := url.Parse(link)
	secrets["log-in link"] = lu.Query().Get("token")
	call("GET", "/auth/email?"+lu.RawQuery, nil, nil)
	code, _, h := call("POST", "/auth/email", url.Values{"token": {lu.Query().Get("token")}}, nil)
	loc := h.Get("Location")
	m := regexp.MustCompile(`parley-login=([^&]+)`).FindStringSubmatch(loc)
	if code != http.StatusSeeOther || m == nil {
		t.Fatalf("link confirm = %d to %q", code, loc)
	}
	secrets["hand-off code"] = m[1]
	_, b, _ = call("POST", "/auth/redeem", map[string]any{"code": m[1], "bind": bind}, nil)
	session := field(b, "token")
	if session == "" {
		t.Fatalf("redeem: %s", b)
	}
	secrets["session token"] = session
	bearer := map[string]string{"Authorization": "Bearer " + session}
	if code, b, _ = call("POST", "/api/v1/sites/news/comments", map[string]any{"page": "bus", "url": base + "/bus", "name": "Noor Haddad", "body": texts[2]}, bearer); code != http.StatusCreated {
		t.Fatalf("logged-in post = %d %s", code, b)
	}
	call("GET", "/api/v1/sites/news/me", nil, bearer)
	call("POST", "/auth/logout", nil, bearer)

	// Moderation through the admin API.
	admin := map[string]string{"Authorization": "Bearer " + adminToken}
	if code, b, _ = call("GET", "/api/v1/admin/sites/news/comments?status=all&email="+url.QueryEscape(emails[0]), nil, admin); code != http.StatusOK {
		t.Fatalf("admin list = %d %s", code, b)
	}
	call("POST", "/api/v1/admin/sites/news/comments/"+first+"/spam", nil, admin)
	call("POST", "/api/v1/admin/sites/news/comments/"+first+"/approve", nil, admin)

	// Bad requests: broken JSON, a bad address, forged and used tokens,
	// an unknown site, a form from elsewhere.
	call("POST", "/api/v1/sites/news/comments", `{"page": "bus", "body": "`+texts[0], nil)
	call("POST", "/api/v1/sites/news/comments", map[string]any{"page": "bus", "name": "X", "email": "not-an-address " + emails[0], "body": texts[0]}, nil)
	call("POST", "/auth/redeem", map[string]any{"code": m[1], "bind": bind}, nil)
	call("POST", "/auth/email", url.Values{"token": {lu.Query().Get("token")}}, nil)
	call("GET", "/api/v1/sites/news/me", nil, bearer)
	call("GET", "/api/v1/admin/sites/news/comments", nil, map[string]string{"Authorization": "Bearer " + adminToken + "x"})
	call("POST", "/notify/confirm", url.Values{"t": {cu.Query().Get("t") + "x"}}, nil)
	call("POST", "/api/v1/sites/nosuch/comments", map[string]any{"page": "bus", "name": "X", "email": emails[1], "body": texts[1]}, nil)
	call("POST", "/sites/news/comments", url.Values{"token": {string(tok[1])}, "page": {"bus"}, "name": {"X"}, "email": {emails[1]}, "body": {texts[1]}},
		map[string]string{"Origin": "https://evil.example"})

	// Let the outbox and the retention job finish, then stop.
	time.Sleep(500 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	log := logs.String()
	if !strings.Contains(log, `msg=request`) || !strings.Contains(log, "reader logged in") {
		t.Fatalf("the debug log is not what the test expects; did the run happen?\n%s", log)
	}
	for i, s := range texts {
		secrets[fmt.Sprint("comment text ", i)] = s
	}
	for i, e := range emails {
		secrets[fmt.Sprint("email ", i)] = e
	}
	secrets["bind key"] = bind
	secrets["idempotency key"] = "leak-idem-key-1"
	for what, v := range secrets {
		if v == "" {
			t.Errorf("the run did not get its %s", what)
			continue
		}
		if i := strings.Index(log, v); i >= 0 {
			t.Errorf("the log holds the %s %q: …%s…", what, v, log[max(0, i-200):min(len(log), i+len(v)+50)])
		}
	}
	// Names are public, but the log has no reason to hold them either.
	for _, name := range []string{"Amara Okafor", "Chidi Eze", "Noor Haddad"} {
		if strings.Contains(log, name) {
			t.Errorf("the log holds the name %q", name)
		}
	}
	t.Logf("%d lines of log searched", strings.Count(log, "\n"))
	if os.Getenv("PARLEY_SHOW_LOG") != "" {
		t.Log(log)
	}
}
