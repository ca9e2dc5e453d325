//go:build ignore

// gen writes the widget's files as readers download them into dist/,
// from the sources beside it (package build): go generate ./internal/widget.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"parley/internal/widget/build"
)

func main() {
	files, err := build.Files(os.DirFS("."))
	if err != nil {
		fmt.Fprintln(os.Stderr, "widget:", err)
		os.Exit(1)
	}
	if err := os.RemoveAll("dist"); err != nil {
		fmt.Fprintln(os.Stderr, "widget:", err)
		os.Exit(1)
	}
	for name, b := range files {
		p := filepath.Join("dist", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "widget:", err)
			os.Exit(1)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "widget:", err)
			os.Exit(1)
		}
	}
}
