package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parley/internal/comment"
	"parley/internal/service"
)

// TestPrivacyCommands exports a reader's data to a file, erases it, and
// finds the audit log holding the requests but not the address.
func TestPrivacyCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "p.db")
	ctx := context.Background()
	for _, id := range []string{"s", "t"} {
		if _, err := cli(t, db, "site", "add", "--id", id, "--origin", "https://"+id+".example"); err != nil {
			t.Fatal(err)
		}
	}
	st, err := openStore(ctx, dbOptions{dsn: db})
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := newService(ctx, st, nil)
	post := func(site, name, email, body, parent string) *comment.Comment {
		t.Helper()
		c, err := svc.Post(ctx, comment.Draft{SiteID: site, Page: "https://" + site + ".example/a", Title: "A story", Name: name, Email: email, Body: body, ParentID: parent}, service.Meta{IP: "198.51.100.2"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	mine := post("s", "Rosalind Fenwick", "ros@example.org", "My first thoughts on the bridge.", "")
	post("s", "Other", "other@example.org", "A reply to that.", mine.ID)
	post("t", "Rosalind Fenwick", "Ros@Example.org", "On another site.", "")
	st.Close()

	// Refusals: nobody named, a bad address, an unknown site, an existing file.
	if _, err := cli(t, db, "privacy", "export"); err == nil || !strings.Contains(err.Error(), "--email or --identity") {
		t.Errorf("export without a reader: %v", err)
	}
	if _, err := cli(t, db, "privacy", "erase", "--email", "not an address"); err == nil || !strings.Contains(err.Error(), "not an email address") {
		t.Errorf("erase with a bad address: %v", err)
	}
	if _, err := cli(t, db, "privacy", "export", "--email", "ros@example.org", "--site", "nope"); err == nil || !strings.Contains(err.Error(), `no site "nope"`) {
		t.Errorf("export on an unknown site: %v", err)
	}
	out := filepath.Join(dir, "ros.json")
	if _, err := cli(t, db, "privacy", "export", "--email", "ROS@example.org", "--out", out); err != nil {
		t.Fatal(err)
	}
	if _, err := cli(t, db, "privacy", "export", "--email", "ros@example.org", "--out", out); err == nil {
		t.Error("export over an existing file succeeded")
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Version  int    `json:"parley_export"`
		Email    string `json:"email"`
		Comments []struct {
			Site, Page, Markdown string
		} `json:"comments"`
		Likes []any `json:"likes"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, b)
	}
	if got.Version != 1 || got.Email != "ros@example.org" || len(got.Comments) != 2 || got.Comments[0].Page != "https://s.example/a" || got.Likes == nil {
		t.Errorf("export = %+v", got)
	}
	// Erase on one site, anonymising.
	res, err := cli(t, db, "privacy", "erase", "--email", "ros@example.org", "--site", "s", "--anonymise")
	if err != nil || !strings.Contains(res, "0 comments deleted, 1 anonymised") {
		t.Fatalf("erase = %q, %v", res, err)
	}
	res, err = cli(t, db, "privacy", "erase", "--email", "ros@example.org")
	if err != nil || !strings.Contains(res, "1 comments deleted, 0 anonymised") {
		t.Fatalf("erase everywhere = %q, %v", res, err)
	}
	audit, err := cli(t, db, "audit", "--site", "s", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(audit, "privacy.erase") || strings.Contains(strings.ToLower(audit), "ros@example.org") {
		t.Errorf("audit log of site s:\n%s", audit)
	}
	if res, _ := cli(t, db, "comment", "list", "--site", "s", "--status", "all"); strings.Contains(res, "Rosalind") || !strings.Contains(res, "My first thoughts") {
		t.Errorf("after anonymising, the comments are:\n%s", res)
	}

	// A WordPress import erased and imported again: left out, and said so.
	wxr := filepath.Join(dir, "old.xml")
	os.WriteFile(wxr, []byte(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><title>Old</title><link>https://t.example/old</link><wp:post_id>1</wp:post_id>
<wp:comment><wp:comment_id>1</wp:comment_id><wp:comment_author>Old Reader</wp:comment_author><wp:comment_author_email>old@example.org</wp:comment_author_email><wp:comment_date_gmt>2019-01-02 03:04:05</wp:comment_date_gmt>
<wp:comment_content><![CDATA[Words from long ago.]]></wp:comment_content><wp:comment_approved>1</wp:comment_approved></wp:comment></item></channel></rss>`), 0o600)
	if res, err := cli(t, db, "import", "--site", "t", "--format", "wxr", wxr); err != nil || !strings.Contains(res, "Imported 1 comments") {
		t.Fatalf("first import = %q, %v", res, err)
	}
	if res, err := cli(t, db, "privacy", "erase", "--email", "old@example.org"); err != nil || !strings.Contains(res, "1 comments deleted") {
		t.Fatalf("erase = %q, %v", res, err)
	}
	res, err = cli(t, db, "import", "--site", "t", "--format", "wxr", wxr)
	if err != nil || !strings.Contains(res, "Imported 0 comments") || !strings.Contains(res, "left out 1 comments whose author had their data erased") {
		t.Fatalf("import again = %q, %v", res, err)
	}
}
