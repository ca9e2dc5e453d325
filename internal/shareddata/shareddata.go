// Package shareddata finds the public test data (hostile strings, labelled
// spam, import files) that lives in shared/data beside the project, for
// tests and benchmarks. It is never copied into the project; a test that
// needs it and cannot find it fails, saying where it looked.
package shareddata

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Dir returns the absolute path of shared/data/<sub>, searching upwards
// from the working directory. It fails tb if the folder is missing.
func Dir(tb testing.TB, sub string) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	var looked []string
	for dir := wd; ; dir = filepath.Dir(dir) {
		candidate := filepath.Join(dir, "shared", "data", sub)
		looked = append(looked, candidate)
		if st, err := os.Stat(candidate); err == nil && st.IsDir() {
			return candidate
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	tb.Fatalf("shared test data %q not found; it must be in shared/data beside the project (as ../shared/data from the repository root). Looked in:\n  %s",
		sub, strings.Join(looked, "\n  "))
	return ""
}

// NaughtyStrings returns the Big List of Naughty Strings.
func NaughtyStrings(tb testing.TB) []string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(tb, "hostile"), "naughty-strings", "blns.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		tb.Fatalf("blns.json: %v", err)
	}
	return out
}

// XSSPayloads returns the cross-site scripting payloads, one per line.
func XSSPayloads(tb testing.TB) []string {
	tb.Helper()
	f, err := os.Open(filepath.Join(Dir(tb, "hostile"), "xss", "xss-payloads.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.TrimSpace(line) != "" {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}
