package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"parley/internal/publicdata"
)

// TestBehindNginx runs Parley behind a real nginx (Debian's package), with
// TLS ended at nginx by a certificate the test makes, and nginx set up by
// the example shipped to users, contrib/nginx/parley.conf (only its ports
// and certificate paths changed). Readers behind nginx are told apart by
// their own addresses, which they cannot forge with X-Forwarded-For or
// Forwarded; Parley knows they came over https; live updates flow through;
// plain http is sent to https. A peer Parley does not trust cannot forge
// its address either.
func TestBehindNginx(t *testing.T) {
	bin := nginxBinary(t)
	dir := t.TempDir()
	ctx := context.Background()
	db := filepath.Join(dir, "parley.db")
	if err := run(ctx, []string{"site", "add", "--db", db, "--id", "news", "--origin", "https://news.example"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	// Two comments per reader address an hour.
	parley := startServe(t, "--db", db, "--trusted-proxy", "127.0.0.1", "--rate-limit-ip", "2/1h")
	httpsPort, httpPort := freePort(t), freePort(t)
	pool := startNginx(t, bin, dir, map[string]string{
		"listen 80;":                        "listen 127.0.0.1:" + httpPort + ";",
		"listen 443 ssl http2;":             "listen 127.0.0.1:" + httpsPort + " ssl http2;",
		"proxy_pass http://127.0.0.1:8080;": "proxy_pass " + parley + ";",
		"/etc/letsencrypt/live/comments.example.com/fullchain.pem": filepath.Join(dir, "cert.pem"),
		"/etc/letsencrypt/live/comments.example.com/privkey.pem":   filepath.Join(dir, "key.pem"),
	})
	base := "https://localhost:" + httpsPort
	readers := behindProxy(t, "nginx", base, "https://localhost", parley, pool)
	t.Run("plain http goes to https", func(t *testing.T) {
		resp, err := readers(8).Get("http://localhost:" + httpPort + "/sites/news/privacy")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://localhost/sites/news/privacy" {
			t.Errorf("http: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// behindProxy checks Parley (at parley, run with --trusted-proxy
// 127.0.0.1 and --rate-limit-ip 2/1h for site "news") behind a reverse
// proxy that ends TLS at base: readers are told apart by their own
// addresses, which they cannot forge with X-Forwarded-For or Forwarded;
// Parley knows they came over https (its links start with public); live
// updates flow through; a peer Parley does not trust cannot forge its
// address either. It returns the reader clients' maker: a browser on its
// own loopback address, 127.0.0.N, trusting pool.
func behindProxy(t *testing.T, proxy, base, public, parley string, pool *x509.CertPool) func(n int) *http.Client {
	t.Helper()
	reader := func(n int) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(n))}, Timeout: 5 * time.Second}
		return &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport: &http.Transport{DialContext: d.DialContext, TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	}
	post := func(c *http.Client, url, body string, header ...string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", url+"/api/v1/sites/news/comments", strings.NewReader(
			fmt.Sprintf(`{"page":"https://news.example/bus","name":"Reader","email":"reader@example.org","body":%q}`, body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "https://news.example")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	ok := func(code int) bool { return code == http.StatusCreated || code == http.StatusAccepted }

	t.Run("the public scheme is https", func(t *testing.T) {
		code, c := post(reader(10), base, "Over TLS, through "+proxy+".")
		if !ok(code) {
			t.Fatalf("post: %d %v", code, c)
		}
		if avatar, _ := c["author"].(map[string]any)["avatar"].(string); !strings.HasPrefix(avatar, public+"/avatars/") {
			t.Errorf("avatar %q: Parley did not learn the reader came over https", avatar)
		}
	})
	t.Run("each reader has their own limit", func(t *testing.T) {
		a, b := reader(2), reader(3)
		for i := range 2 {
			if code, c := post(a, base, fmt.Sprintf("A says %d.", i)); !ok(code) {
				t.Fatalf("reader A's comment %d: %d %v", i, code, c)
			}
		}
		if code, _ := post(a, base, "A again."); code != http.StatusTooManyRequests {
			t.Errorf("reader A's third comment: %d, want 429", code)
		}
		// A's own X-Forwarded-For is left of the hop the proxy adds (nginx)
		// or replaced (Caddy); a Forwarded header it does not pass on.
		if code, _ := post(a, base, "A as someone else.", "X-Forwarded-For", "203.0.113.77"); code != http.StatusTooManyRequests {
			t.Errorf("reader A posing as 203.0.113.77: %d, want 429", code)
		}
		if code, _ := post(a, base, "A as someone else.", "Forwarded", "for=203.0.113.78"); code != http.StatusTooManyRequests {
			t.Errorf("reader A posing as 203.0.113.78 with Forwarded: %d, want 429", code)
		}
		// B, behind the same proxy, is someone else.
		for i := range 2 {
			if code, c := post(b, base, fmt.Sprintf("B says %d.", i)); !ok(code) {
				t.Fatalf("reader B's comment %d (A is limited, B is not): %d %v", i, code, c)
			}
		}
		if code, _ := post(b, base, "B again."); code != http.StatusTooManyRequests {
			t.Errorf("reader B's third comment: %d, want 429", code)
		}
	})
	t.Run("an untrusted peer cannot forge its address", func(t *testing.T) {
		c := reader(5) // straight to Parley, not through the proxy
		for i := range 3 {
			code, _ := post(c, parley, fmt.Sprintf("Direct %d.", i), "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
			if want := i < 2; ok(code) != want {
				t.Errorf("direct comment %d from 127.0.0.5 claiming 198.51.100.%d: %d", i, i, code)
			}
		}
	})
	t.Run("live updates", func(t *testing.T) {
		req, _ := http.NewRequest("GET", base+"/api/v1/sites/news/stream?page=https%3A%2F%2Fnews.example%2Flive", nil)
		resp, err := reader(6).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream: %d %v", resp.StatusCode, resp.Header)
		}
		lines := make(chan string, 16)
		go func() {
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		req, _ = http.NewRequest("POST", base+"/api/v1/sites/news/comments", strings.NewReader(`{"page":"https://news.example/live","name":"Live","email":"live@example.org","body":"Seen live through `+proxy+`."}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "https://news.example")
		if resp, err := reader(7).Do(req); err != nil || !ok(resp.StatusCode) {
			t.Fatalf("post: %v %v", resp, err)
		}
		deadline := time.After(15 * time.Second)
		for {
			select {
			case l, open := <-lines:
				if !open {
					t.Fatal("the stream ended")
				}
				if strings.Contains(l, "Seen live through "+proxy+".") {
					return
				}
			case <-deadline:
				t.Fatalf("the new comment did not come through %s's stream (buffered?)", proxy)
			}
		}
	})
	return reader
}

// nginxBinary finds nginx, or skips the test saying so.
func nginxBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	t.Skip("nginx is not installed (Debian: apt-get install nginx; .ci/run installs it); the test of Parley behind nginx is skipped")
	return ""
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// startNginx writes a certificate for localhost, the shipped example with
// the given substitutions (each must be found in it), and a main
// configuration that includes it, runs nginx in the foreground until the
// test ends, and returns the pool that trusts the certificate.
func startNginx(t *testing.T, bin, dir string, subst map[string]string) *x509.CertPool {
	t.Helper()
	pool := writeCert(t, dir)
	root, err := publicdata.Root()
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(root, "contrib", "nginx", "parley.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(example)
	for old, new := range subst {
		if !strings.Contains(conf, old) {
			t.Fatalf("contrib/nginx/parley.conf no longer has %q; change the test with it", old)
		}
		conf = strings.ReplaceAll(conf, old, new)
	}
	if err := os.WriteFile(filepath.Join(dir, "parley.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	user := ""
	if os.Geteuid() == 0 {
		// Workers would otherwise run as nobody, who cannot use the
		// test's temporary folder.
		user = "user root;\n"
	}
	temp := func(name string) string { return filepath.Join(dir, "tmp-"+name) }
	main := fmt.Sprintf(`%sworker_processes 1;
pid %s;
error_log %s warn;
events { worker_connections 64; }
http {
  access_log %s;
  client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;
  include %s;
}
`, user, filepath.Join(dir, "nginx.pid"), filepath.Join(dir, "error.log"), filepath.Join(dir, "access.log"),
		temp("body"), temp("proxy"), temp("fastcgi"), temp("uwsgi"), temp("scgi"), filepath.Join(dir, "parley.conf"))
	mainPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(mainPath, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-e", filepath.Join(dir, "error.log"), "-p", dir, "-c", mainPath}
	if out, err := exec.Command(bin, append(args, "-t")...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append(args, "-g", "daemon off;")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "error.log")); err == nil {
				t.Logf("nginx error log:\n%s", b)
			}
		}
	})
	listen := ""
	for line := range strings.Lines(conf) {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "listen" && f[2] == "ssl" {
			listen = f[1]
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", listen); err == nil {
			c.Close()
			return pool
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not listen on %s", listen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeCert makes a self-signed certificate for localhost (cert.pem and
// key.pem in dir) and returns a pool that trusts it.
func writeCert(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}
