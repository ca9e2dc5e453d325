package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// rssFile reads how much of this process's resident memory is file pages.
func rssFile(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// Releasing the binary's start pages unmaps its read-only mappings and
// nothing else: the process goes on running code and reading its data
// (they fault back in), and its file-backed memory shrinks.
func TestReleaseStartPages(t *testing.T) {
	before := rssFile(t)
	released, err := releaseStartPages()
	if err != nil {
		t.Fatal(err)
	}
	after := rssFile(t)
	if released < 1<<20 {
		t.Errorf("released %d bytes of mappings; the test binary's code alone is megabytes", released)
	}
	if after >= before {
		t.Errorf("RssFile %d kB before, %d kB after: nothing was given back", before, after)
	}
	// Code and read-only data still work after: format, parse, and read an
	// embedded table (usage text lives in read-only data).
	if got := strconv.Itoa(12345); got != "12345" {
		t.Errorf("strconv after release: %q", got)
	}
	if !strings.Contains(usage, "parley serve") {
		t.Error("the usage text is gone after the release")
	}
	t.Logf("released %d MB of mappings; RssFile %d kB -> %d kB", released>>20, before, after)
}
