package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bareServer is the yardstick for a cold start: a net/http server that
// answers /healthz and does nothing else.
const bareServer = `package main

import (
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	http.ListenAndServe(os.Args[1], nil)
}
`

// buildBinaries builds parley and the bare server into a temporary
// directory, as an operator's go build would.
func buildBinaries(b *testing.B) (parley, bare string) {
	b.Helper()
	dir := b.TempDir()
	parley, bare = filepath.Join(dir, "parley"), filepath.Join(dir, "bare")
	if out, err := exec.Command("go", "build", "-o", parley, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	src := filepath.Join(dir, "bare.go")
	if err := os.WriteFile(src, []byte(bareServer), 0o644); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("go", "build", "-o", bare, src).CombinedOutput(); err != nil {
		b.Fatalf("go build bare: %v\n%s", err, out)
	}
	return parley, bare
}

// freeAddr returns a loopback address no one listens on.
func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// timeToHealthy starts cmd and returns how long it took until GET
// /healthz on addr answered 200, asking every 100 µs; it leaves the
// process running (the caller stops it).
func timeToHealthy(b *testing.B, cmd *exec.Cmd, addr string) time.Duration {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	for time.Since(start) < 10*time.Second {
		resp, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(start)
			}
		}
		time.Sleep(100 * time.Microsecond)
	}
	b.Fatalf("%s: no healthy answer within 10 s", cmd.Path)
	return 0
}

func stop(cmd *exec.Cmd) {
	cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkColdStart starts the built parley binary on an existing SQLite
// database (the demo site's) and a bare net/http server binary started the
// same way, alternately, b.N times each (-benchtime 50x), and reports the
// median time from exec to the first 200 from /healthz for both and their
// ratio. The machine is shared: compare within one run.
func BenchmarkColdStart(b *testing.B) {
	parley, bare := buildBinaries(b)
	db := filepath.Join(b.TempDir(), "parley.db")
	// The first start creates the database and the demo site; restarts
	// are what is measured.
	addr := freeAddr(b)
	first := exec.Command(parley, "serve", "--addr", addr, "--db", db, "--demo")
	timeToHealthy(b, first, addr)
	stop(first)

	var ps, bs []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		addr := freeAddr(b)
		cmd := exec.Command(bare, addr)
		bs = append(bs, timeToHealthy(b, cmd, addr))
		stop(cmd)
		addr = freeAddr(b)
		cmd = exec.Command(parley, "serve", "--addr", addr, "--db", db, "--demo")
		ps = append(ps, timeToHealthy(b, cmd, addr))
		stop(cmd)
	}
	p, m := median(ps), median(bs)
	b.ReportMetric(float64(p.Microseconds())/1000, "parley-ms")
	b.ReportMetric(float64(m.Microseconds())/1000, "bare-ms")
	b.ReportMetric(float64(p)/float64(m), "ratio")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d starts each: parley median %v (min %v, max %v), bare median %v (min %v, max %v), ratio %.1f",
		b.N, p, slices.Min(ps), slices.Max(ps), m, slices.Min(bs), slices.Max(bs), float64(p)/float64(m))
}

// BenchmarkIdleRSS starts the built parley binary with the demo site on
// SQLite and reports its resident memory two seconds later (VmRSS, as the
// kernel counts it), b.N starts (-benchtime 5x), the median.
func BenchmarkIdleRSS(b *testing.B) {
	parley, _ := buildBinaries(b)
	db := filepath.Join(b.TempDir(), "parley.db")
	var rss []memStat
	for i := 0; i < b.N; i++ {
		addr := freeAddr(b)
		cmd := exec.Command(parley, "serve", "--addr", addr, "--db", db, "--demo")
		timeToHealthy(b, cmd, addr)
		time.Sleep(2 * time.Second)
		st, err := memStatus(cmd.Process.Pid)
		stop(cmd)
		if err != nil {
			b.Fatal(err)
		}
		rss = append(rss, st)
	}
	// The median start by total RSS, with its split: anonymous memory (the
	// heap, stacks, SQLite's cache) and file pages (the binary's code and
	// read-only data).
	slices.SortFunc(rss, func(x, y memStat) int { return x.rss - y.rss })
	m := rss[len(rss)/2]
	b.ReportMetric(float64(m.rss)/1024, "RSS-MB")
	b.ReportMetric(float64(m.anon)/1024, "anon-MB")
	b.ReportMetric(float64(m.file)/1024, "file-MB")
	b.ReportMetric(0, "ns/op")
	b.Logf("idle RSS 2 s after start, %d starts: median %.1f MB (anonymous %.1f MB, file %.1f MB); all, kB: %v",
		b.N, float64(m.rss)/1024, float64(m.anon)/1024, float64(m.file)/1024, rss)
}

// memStat is a process's resident memory in kB: all of it, anonymous,
// and file-backed.
type memStat struct{ rss, anon, file int }

// memStatus reads a process's resident memory from /proc.
func memStatus(pid int) (memStat, error) {
	var st memStat
	f, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	fields := map[string]*int{"VmRSS:": &st.rss, "RssAnon:": &st.anon, "RssFile:": &st.file}
	sc := bufio.NewScanner(bytes.NewReader(f))
	for sc.Scan() {
		for prefix, dst := range fields {
			if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
				if *dst, err = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB")); err != nil {
					return st, err
				}
			}
		}
	}
	if st.rss == 0 {
		return st, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return st, nil
}
