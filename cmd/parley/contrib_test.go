package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"parley/internal/publicdata"
)

// repoRoot is the module's root, where contrib/ is.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := publicdata.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestSystemdUnit checks contrib/systemd/parley.service with
// systemd-analyze: verify must find nothing to say (an unknown or
// misspelt setting is only a warning there, so any output fails), and
// the offline security review must rate its exposure 2.0 or lower (of
// 10). Its ExecStart binary is pointed at one that exists here.
func TestSystemdUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian: apt-get install systemd; .ci/run installs it); the systemd unit is not checked")
	}
	unit, err := os.ReadFile(filepath.Join(repoRoot(t), "contrib", "systemd", "parley.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "StateDirectory=parley", "ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n", "--db /var/lib/parley/parley.db"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "parley.service")
	os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/local/bin/parley"), []byte(exe)), 0o644)
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=yes", "--threshold=20", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: exposure above 2.0 (%v)\n%s", err, out)
	}
	// And verify does catch a broken unit.
	os.WriteFile(path, bytes.ReplaceAll(unit, []byte("ProtectSystem=strict"), []byte("ProtectSytem=strict")), 0o644)
	if out, _ := exec.Command(analyze, "verify", path).CombinedOutput(); !strings.Contains(string(out), "ProtectSytem") {
		t.Fatalf("systemd-analyze verify said nothing of a misspelt setting: %s", out)
	}
}

// TestBehindCaddy runs Parley behind a real Caddy (Debian's package) set
// up by contrib/caddy/Caddyfile, with only its address, ports and
// certificate changed, through the checks TestBehindNginx makes
// (behindProxy); plain http is sent to https.
func TestBehindCaddy(t *testing.T) {
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		t.Skip("caddy is not installed (Debian: apt-get install caddy; .ci/run installs it); the test of Parley behind Caddy is skipped")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "parley.db")
	if err := run(t.Context(), []string{"site", "add", "--db", db, "--id", "news", "--origin", "https://news.example"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	parley := startServe(t, "--db", db, "--trusted-proxy", "127.0.0.1", "--rate-limit-ip", "2/1h")
	pool := writeCert(t, dir)
	example, err := os.ReadFile(filepath.Join(repoRoot(t), "contrib", "caddy", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	// The file as shipped is a valid Caddyfile.
	shipped := filepath.Join(dir, "Caddyfile.shipped")
	os.WriteFile(shipped, example, 0o644)
	caddyEnv := append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	adapt := exec.Command(caddy, "adapt", "--config", shipped, "--adapter", "caddyfile")
	adapt.Env = caddyEnv
	if out, err := adapt.CombinedOutput(); err != nil {
		t.Fatalf("caddy adapt contrib/caddy/Caddyfile: %v\n%s", err, out)
	}

	httpsPort, httpPort := freePort(t), freePort(t)
	conf := string(example)
	for old, new := range map[string]string{
		"comments.example.com {":       "https://localhost:" + httpsPort + " {\n\ttls " + filepath.Join(dir, "cert.pem") + " " + filepath.Join(dir, "key.pem"),
		"reverse_proxy 127.0.0.1:8080": "reverse_proxy " + strings.TrimPrefix(parley, "http://"),
		"grace_period 10s": fmt.Sprintf("grace_period 1s\n\tadmin off\n\thttp_port %s\n\thttps_port %s\n\tstorage file_system %s\n\tskip_install_trust",
			httpPort, httpsPort, filepath.Join(dir, "caddy-data")),
	} {
		if !strings.Contains(conf, old) {
			t.Fatalf("contrib/caddy/Caddyfile no longer has %q; change the test with it", old)
		}
		conf = strings.ReplaceAll(conf, old, new)
	}
	path := filepath.Join(dir, "Caddyfile")
	os.WriteFile(path, []byte(conf), 0o644)
	cmd := exec.Command(caddy, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Env = caddyEnv
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("caddy's log:\n%s", log.String())
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; {
		if c, err := net.Dial("tcp", "127.0.0.1:"+httpsPort); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy does not listen on %s:\n%s", httpsPort, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	base := "https://localhost:" + httpsPort

	readers := behindProxy(t, "Caddy", base, base, parley, pool)
	t.Run("plain http goes to https", func(t *testing.T) {
		resp, err := readers(8).Get("http://localhost:" + httpPort + "/sites/news/privacy")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || !strings.HasPrefix(loc, "https://localhost") || !strings.HasSuffix(loc, "/sites/news/privacy") {
			t.Errorf("http: %d to %q", resp.StatusCode, loc)
		}
	})
}

// buildLine is the go build line of contrib/Containerfile.
var buildLine = regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build .*)$`)

// TestContainerfile: the Containerfile builds in two stages and runs
// Parley as a user other than root on an empty image; its go build line,
// run here exactly as written (only its output path changed), makes a
// statically linked binary that serves. With that binary, the backup
// recipe of contrib/backup is run end to end: a running server's
// database is backed up by parley-backup (which keeps the newest
// copies), restored by parley-restore into a fresh folder, and a server
// started on it shows the comments.
func TestContainerfile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Parley from scratch; skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the container and the backup scripts are for Linux")
	}
	root := repoRoot(t)
	file, err := os.ReadFile(filepath.Join(root, "contrib", "Containerfile"))
	if err != nil {
		t.Fatal(err)
	}
	cf := string(file)
	if n := strings.Count(cf, "\nFROM "); n != 2 || !strings.Contains(cf, "\nFROM scratch\n") {
		t.Errorf("want two stages, the last FROM scratch: %d FROM lines", n)
	}
	user := regexp.MustCompile(`(?m)^USER (\S+)$`).FindStringSubmatch(cf)
	if user == nil || strings.HasPrefix(user[1], "0") || strings.HasPrefix(user[1], "root") {
		t.Errorf("the image must run as a user other than root: %v", user)
	}
	m := buildLine.FindStringSubmatch(cf)
	if m == nil {
		t.Fatal("contrib/Containerfile has no RUN CGO_ENABLED=0 go build line")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "parley")
	line := strings.Replace(m[1], "-o /out/parley", "-o "+bin, 1)
	if line == m[1] {
		t.Fatal("the build line no longer writes -o /out/parley; change the test with it")
	}
	build := exec.Command("sh", "-c", line)
	build.Dir = root
	build.Env = append(os.Environ(), "VERSION=contrib-test")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}

	t.Run("static", func(t *testing.T) {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Fatalf("the binary is dynamically linked (%v)", p.Type)
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Fatalf("the binary needs %v", libs)
		}
		out, err := exec.Command(bin, "version").Output()
		if err != nil || strings.TrimSpace(string(out)) != "parley contrib-test" {
			t.Fatalf("parley version: %q %v", out, err)
		}
	})
	t.Run("serves", func(t *testing.T) {
		base := startBinary(t, bin, "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "c.db"), "--demo")
		if got := get(t, base+"/healthz"); strings.TrimSpace(got) != "ok" {
			t.Fatalf("healthz: %q", got)
		}
		if page := get(t, base+"/"); !strings.Contains(page, `data-site="demo"`) {
			t.Fatal("the demo page does not embed the comments")
		}
	})
	t.Run("backup recipe", func(t *testing.T) { backupRecipe(t, root, bin) })
}

// startBinary runs a parley binary until the test ends and returns the
// address its first line of output gives.
func startBinary(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	// Tests post many comments from one address quickly.
	cmd.Env = append(os.Environ(), "PARLEY_LOG_LEVEL=warn")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("%s %v: %v\n%s", bin, args, err, stderr.String())
		}
	})
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			first <- sc.Text()
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case line := <-first:
		return addrRE.FindString(line)
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not start:\n%s", bin, stderr.String())
	}
	return ""
}

func backupRecipe(t *testing.T, root, bin string) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live", "parley.db")
	os.MkdirAll(filepath.Dir(live), 0o700)
	base := startBinary(t, bin, "serve", "--addr", "127.0.0.1:0", "--db", live, "--demo", "--rate-limit-ip", "0", "--rate-limit-email", "0", "--min-form-age", "0")
	seedDemoThread(t, base, 3)

	backups := filepath.Join(dir, "backups")
	script := func(name string, env []string, args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(root, "contrib", "backup", name), args...)
		cmd.Env = append(append(os.Environ(), "PARLEY_BIN="+bin), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	env := []string{"PARLEY_DB=" + live, "PARLEY_BACKUP_DIR=" + backups, "PARLEY_BACKUP_KEEP=2"}
	for i := range 3 {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond) // copies are named to the second
		}
		if out, err := script("parley-backup", env); err != nil {
			t.Fatalf("parley-backup: %v\n%s", err, out)
		}
	}
	entries, _ := os.ReadDir(backups)
	var copies []string
	for _, e := range entries {
		copies = append(copies, e.Name())
		if info, _ := e.Info(); info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
	}
	if len(copies) != 2 {
		t.Fatalf("PARLEY_BACKUP_KEEP=2 kept %v", copies)
	}
	slices.Sort(copies)
	newest := filepath.Join(backups, copies[1])
	// Written after the backup: not in it.
	body, _ := json.Marshal(map[string]string{"page": "demo-article", "url": base + "/", "name": "Late", "email": "late@example.org", "body": "Posted after the backup."})
	if resp, err := http.Post(base+"/api/v1/sites/demo/comments", "application/json", bytes.NewReader(body)); err != nil || resp.StatusCode != 201 {
		t.Fatalf("post: %v %v", resp, err)
	}

	// A file that is not a Parley database changes nothing.
	fresh := filepath.Join(dir, "fresh", "parley.db")
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, []byte("not a database"), 0o600)
	if out, err := script("parley-restore", nil, junk, fresh); err == nil {
		t.Fatalf("parley-restore of junk succeeded:\n%s", out)
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Fatal("a failed restore left a database behind")
	}
	if out, err := script("parley-restore", nil, newest, fresh); err != nil {
		t.Fatalf("parley-restore: %v\n%s", err, out)
	}
	restored := startBinary(t, bin, "serve", "--addr", "127.0.0.1:0", "--db", fresh, "--demo")
	// The thread as JSON, replies nested in their parents.
	text := get(t, restored+"/api/v1/sites/demo/comments?page=demo-article")
	for i := range 3 {
		if !strings.Contains(text, fmt.Sprintf("trip number %d,", i)) {
			t.Errorf("the restored thread lacks comment %d: %s", i, text)
		}
	}
	if strings.Contains(text, "Posted after the backup.") {
		t.Error("the restored thread holds a comment posted after the backup")
	}
}
