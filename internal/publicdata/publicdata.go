// Package publicdata finds the public test data written by others (hostile
// strings, labelled spam, import files) that the repository keeps in
// testdata/ at its root, for tests, benchmarks and the spam model's build.
// Each set there has a README with its provenance and licence.
package publicdata

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Dir returns the absolute path of testdata/<sub> at the root of the
// module (the folder holding go.mod), found upwards from the working
// directory. It fails tb if the folder is missing.
func Dir(tb testing.TB, sub string) string {
	tb.Helper()
	root, err := Root()
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(root, "testdata", sub)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		tb.Fatalf("public test data %q not found at %s", sub, dir)
	}
	return dir
}

// Root returns the module's root folder, the nearest one upwards from the
// working directory that holds go.mod.
func Root() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
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
