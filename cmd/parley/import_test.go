package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parley/internal/comment"
	"parley/internal/publicdata"
	"parley/internal/service"
	"parley/internal/store"
)

// TestImportPublicExports imports every public export file through the
// CLI, twice: the second time adds nothing. Then the site's Parley export
// restores into an empty database identically, and its WXR export imports
// back with every comment.
func TestImportPublicExports(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	ctx := context.Background()
	if err := run(ctx, []string{"site", "add", "--db", db, "--id", "blog", "--origin", "https://blog.example"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	root := publicdata.Dir(t, "import")
	total := 0
	for _, format := range []string{"wxr", "disqus", "remark42", "isso", "commento"} {
		files, _ := filepath.Glob(filepath.Join(root, format, "*.*"))
		for _, f := range files {
			if strings.HasSuffix(f, ".md") {
				continue
			}
			t.Run(format+"/"+filepath.Base(f), func(t *testing.T) {
				var sums [2]map[string]any
				for i := range sums {
					var out bytes.Buffer
					if err := run(ctx, []string{"import", "--db", db, "--site", "blog", "--format", format, "--json", f}, &out, io.Discard); err != nil {
						t.Fatalf("import #%d: %v", i+1, err)
					}
					if err := json.Unmarshal(out.Bytes(), &sums[i]); err != nil {
						t.Fatalf("summary %q: %v", out.String(), err)
					}
					for _, k := range []string{"pages", "comments", "skipped"} {
						if _, ok := sums[i][k]; !ok {
							t.Fatalf("summary lacks %q: %s", k, out.String())
						}
					}
				}
				added := int(sums[0]["comments"].(float64)) + int(sums[0]["existing"].(float64))
				if sums[1]["comments"].(float64) != 0 || sums[1]["pages"].(float64) != 0 || int(sums[1]["existing"].(float64)) != added {
					t.Fatalf("second import = %v after first %v; want nothing new", sums[1], sums[0])
				}
				total += int(sums[0]["comments"].(float64))
			})
		}
	}
	if total < 50 {
		t.Fatalf("only %d comments imported from all public files", total)
	}

	e1, e2 := filepath.Join(dir, "e1.jsonl"), filepath.Join(dir, "e2.jsonl")
	if err := run(ctx, []string{"export", "--db", db, "--site", "blog", "--out", e1}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(dir, "restored.db")
	if err := run(ctx, []string{"import", "--db", restored, "--format", "parley", e1}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"export", "--db", restored, "--site", "blog", "--out", e2}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(e1)
	b, _ := os.ReadFile(e2)
	if !bytes.Equal(a, b) || len(a) < 1000 {
		t.Fatal("the export of the restore differs from the original export")
	}
	if err := run(ctx, []string{"import", "--db", restored, "--format", "parley", e1}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("restoring over the same site = %v", err)
	}

	wxr := filepath.Join(dir, "out.xml")
	if err := run(ctx, []string{"export", "--db", db, "--site", "blog", "--format", "wxr", "--out", wxr}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	wp := filepath.Join(dir, "wp.db")
	run(ctx, []string{"site", "add", "--db", wp, "--id", "blog", "--origin", "https://blog.example"}, io.Discard, io.Discard)
	var out bytes.Buffer
	if err := run(ctx, []string{"import", "--db", wp, "--site", "blog", "--format", "wxr", "--keep-deleted", "--json", wxr}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var sum map[string]any
	json.Unmarshal(out.Bytes(), &sum)
	if int(sum["comments"].(float64)) != strings.Count(string(a), `"comment":`) {
		t.Fatalf("WXR round trip imported %v comments, the site has %d", sum["comments"], strings.Count(string(a), `"comment":`))
	}
}

func TestImport_Refused(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	ctx := context.Background()
	run(ctx, []string{"site", "add", "--db", db, "--id", "blog", "--origin", "https://blog.example"}, io.Discard, io.Discard)
	good, err := os.ReadFile(filepath.Join(publicdata.Dir(t, "import"), "wxr", "wordpress-importer__valid-wxr-1.1.xml"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.xml")
	os.WriteFile(cut, good[:len(good)*2/3], 0o600)
	err = run(ctx, []string{"import", "--db", db, "--site", "blog", "--format", "wxr", cut}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "line ") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("truncated file = %v, want the line and that nothing was imported", err)
	}
	var out bytes.Buffer
	run(ctx, []string{"export", "--db", db, "--site", "blog"}, &out, io.Discard)
	if strings.Contains(out.String(), `"comment":`) {
		t.Fatal("a refused import left comments behind")
	}
	for _, args := range [][]string{
		{"import", "--db", db, "--site", "blog", cut},                     // no format
		{"import", "--db", db, "--site", "blog", "--format", "nope", cut}, // unknown format
		{"import", "--db", db, "--format", "wxr", cut},                    // no site
		{"import", "--db", db, "--site", "blog", "--format", "wxr", "--rewrite", "noequals", cut},
	} {
		if err := run(ctx, args, io.Discard, io.Discard); err == nil {
			t.Errorf("parley %s succeeded", strings.Join(args, " "))
		}
	}
	if err := run(ctx, []string{"import", "--db", db, "--site", "nope", "--format", "wxr", cut}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "no site") {
		t.Errorf("import into a missing site = %v", err)
	}
}

func TestImport_URLMap(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	ctx := context.Background()
	run(ctx, []string{"site", "add", "--db", db, "--id", "blog", "--origin", "https://news.example"}, io.Discard, io.Discard)
	f := filepath.Join(publicdata.Dir(t, "import"), "isso", "isso-docs__tips-and-tricks-generic-example.json")
	var out bytes.Buffer
	if err := run(ctx, []string{"import", "--db", db, "--site", "blog", "--format", "isso", "--rewrite", "/blog/=https://news.example/archive/", "--json", f}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "not a web address") {
		t.Fatalf("rewrite not applied: %s", out.String())
	}
	out.Reset()
	run(ctx, []string{"export", "--db", db, "--site", "blog"}, &out, io.Discard)
	if !strings.Contains(out.String(), `"Key":"https://news.example/archive/article1"`) {
		t.Fatalf("mapped page key missing from export:\n%s", out.String())
	}
}

func TestBackupCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	ctx := context.Background()
	run(ctx, []string{"site", "add", "--db", db, "--id", "blog", "--origin", "https://blog.example"}, io.Discard, io.Discard)
	copyPath := filepath.Join(dir, "copy.db")
	if err := run(ctx, []string{"backup", "--db", db, copyPath}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	// The copy holds the log-in secret and the sites' SSO secrets: only
	// its owner may read it, whatever the umask (as parley export's files).
	if fi, err := os.Stat(copyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	// The source's own files (its WAL) are not the copy's business, and
	// the copy leaves nothing else behind.
	if left, _ := filepath.Glob(copyPath + "-*"); len(left) > 0 {
		t.Errorf("backup left %v", left)
	}
	var out bytes.Buffer
	run(ctx, []string{"site", "list", "--db", copyPath}, &out, io.Discard)
	if !strings.Contains(out.String(), "blog") {
		t.Fatalf("backup lacks the site:\n%s", out.String())
	}
	if err := run(ctx, []string{"backup", "--db", db, copyPath}, io.Discard, io.Discard); err == nil {
		t.Fatal("backup over an existing file succeeded")
	}
}

// TestImportParley_Sanitises: a Parley export is restored like any other
// import. Comment HTML an edited file slips in (script, event handlers, a
// javascript: link, a javascript: website) comes out safe and counted;
// what Parley wrote itself, from Markdown and from imported HTML, comes
// back byte for byte.
func TestImportParley_Sanitises(t *testing.T) {
	ctx := context.Background()
	db, st, svc := sitesDB(t, "blog")
	for i, body := range []string{
		"Plain words, **bold**, _em_, ~~gone~~ and `code`.\nA second line.",
		"> A quote\n\n1. one\n2. two\n\n- a\n- b\n\n```\nfn()\n```",
		"A [link](https://example.org/a?b=1&c=2 \"title\") and https://bare.example/x, <mailto:a@b.example>",
		"Quotes \"double\" and 'single', & < > — ünïcödé, العربية",
	} {
		if _, err := svc.Post(ctx, comment.Draft{SiteID: "blog", Page: "https://blog.example/p", Name: fmt.Sprintf("Reader %d", i), Email: "r@example.org",
			Website: "https://reader.example/~me", Body: body}, service.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	wxr := strings.NewReader(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><title>Old</title><link>https://blog.example/old</link><wp:post_id>1</wp:post_id>
<wp:comment><wp:comment_id>1</wp:comment_id><wp:comment_author>Old Reader</wp:comment_author><wp:comment_date_gmt>2019-01-02 03:04:05</wp:comment_date_gmt>
<wp:comment_content><![CDATA[<b>Bold</b> <q>quoted</q> <a href="http://old.example/">there</a><script>x()</script>]]></wp:comment_content><wp:comment_approved>1</wp:comment_approved></wp:comment></item></channel></rss>`)
	if _, err := svc.Import(ctx, "blog", "wxr", wxr, service.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	dir := t.TempDir()
	honest := filepath.Join(dir, "honest.jsonl")
	if err := run(ctx, []string{"export", "--db", db, "--site", "blog", "--out", honest}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(honest)

	// Honest: byte for byte, nothing cleaned.
	restored := filepath.Join(dir, "restored.db")
	var out bytes.Buffer
	if err := run(ctx, []string{"import", "--db", restored, "--format", "parley", "--json", honest}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"cleaned":0`) || !strings.Contains(out.String(), `"comments":5`) {
		t.Errorf("honest restore summary: %s", out.String())
	}
	again := filepath.Join(dir, "again.jsonl")
	if err := run(ctx, []string{"export", "--db", restored, "--site", "blog", "--out", again}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(again); !bytes.Equal(b, orig) {
		t.Fatalf("an honest export does not restore byte for byte:\n%s\n---\n%s", orig, b)
	}

	// Edited: every comment's HTML and website replaced with hostile ones.
	var edited bytes.Buffer
	hostile := `<p>Hi<script>alert(1)</script><img src=x onerror=alert(2)> <a href="javascript:alert(3)" onclick="alert(4)">x</a> <svg onload=alert(5)></svg><iframe src="https://evil.example/"></iframe></p>`
	for line := range strings.Lines(string(orig)) {
		var row map[string]map[string]any
		if json.Unmarshal([]byte(line), &row) == nil && row["comment"] != nil {
			row["comment"]["HTML"] = hostile
			row["comment"]["Author"].(map[string]any)["Website"] = "javascript:alert(6)"
			b, _ := json.Marshal(row)
			line = string(b) + "\n"
		}
		edited.WriteString(line)
	}
	if strings.Count(edited.String(), "onerror") != 5 {
		t.Fatalf("the test did not edit the export's comments:\n%s", edited.String())
	}
	tampered := filepath.Join(dir, "tampered.jsonl")
	os.WriteFile(tampered, edited.Bytes(), 0o600)
	restored2 := filepath.Join(dir, "restored2.db")
	out.Reset()
	if err := run(ctx, []string{"import", "--db", restored2, "--format", "parley", tampered}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "5 comments held HTML or a website address Parley does not write") {
		t.Errorf("summary does not say what was cleaned: %s", out.String())
	}
	st2, err := openStore(ctx, dbOptions{dsn: restored2})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	n := 0
	st2.Dump(ctx, "blog", func(r *store.Row) error {
		if c := r.Comment; c != nil {
			n++
			low := strings.ToLower(c.HTML)
			for _, bad := range []string{"<script", "onerror", "onclick", "onload", "javascript:", "<img", "<svg", "<iframe"} {
				if strings.Contains(low, bad) {
					t.Errorf("restored comment %s keeps %s: %s", c.ID, bad, c.HTML)
				}
			}
			if !strings.Contains(c.HTML, "Hi") || c.Author.Website != "" {
				t.Errorf("restored comment %s: html %q, website %q", c.ID, c.HTML, c.Author.Website)
			}
		}
		return nil
	})
	if n != 5 {
		t.Errorf("%d comments restored, want 5", n)
	}
}
