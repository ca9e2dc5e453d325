package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"parley/internal/publicdata"
)

// TestREADME_LayoutListsEveryPackage keeps the README's map of the code
// complete: every folder holding Go files is listed, and nothing else.
func TestREADME_LayoutListsEveryPackage(t *testing.T) {
	root, err := publicdata.Root()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, layout, ok := strings.Cut(string(readme), "## Layout")
	if !ok {
		t.Fatal("README.md has no Layout section")
	}
	_, block, _ := strings.Cut(layout, "```\n")
	block, _, _ = strings.Cut(block, "```")
	var listed []string
	for line := range strings.Lines(block) {
		if f := strings.Fields(line); len(f) > 0 {
			listed = append(listed, f[0])
		}
	}

	var packages []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != root) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".go") {
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			if !slices.Contains(packages, rel) {
				packages = append(packages, filepath.ToSlash(rel))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range packages {
		if !slices.Contains(listed, p) {
			t.Errorf("package %s is missing from README.md's Layout", p)
		}
	}
	for _, p := range listed {
		if !slices.Contains(packages, p) {
			t.Errorf("README.md's Layout lists %s, which holds no Go package", p)
		}
	}
}
