package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/service"
)

// cli runs parley with args (and --db) and returns its standard output.
func cli(t *testing.T, db string, args ...string) (string, error) {
	t.Helper()
	// --db goes before the first flag: flags stop at an argument.
	i := len(args)
	for j, a := range args {
		if strings.HasPrefix(a, "-") {
			i = j
			break
		}
	}
	args = append(append(append([]string{}, args[:i]...), "--db", db), args[i:]...)
	var out bytes.Buffer
	err := run(context.Background(), args, &out, io.Discard)
	return out.String(), err
}

// TestCommunityCommands drives the community controls from the command
// line as an operator would: sanctions, story controls, reports, settings
// and rules, an author's history, featured and pinned comments, alerts.
func TestCommunityCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	ctx := context.Background()
	if _, err := cli(t, db, "site", "add", "--id", "s", "--origin", "https://s.example"); err != nil {
		t.Fatal(err)
	}
	st, err := openStore(ctx, dbOptions{dsn: db})
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := newService(ctx, st, nil)
	post := func(name, email, body, ip string) *comment.Comment {
		t.Helper()
		c, err := svc.Post(ctx, comment.Draft{SiteID: "s", Page: "https://s.example/a", Title: "A story", Name: name, Email: email, Body: body}, service.Meta{IP: ip})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	troll := post("Troll", "troll@spam.example", "You are all wrong about the bridge.", "203.0.113.7")
	troll2 := post("Troll", "troll@spam.example", "And about the bus line as well.", "203.0.113.7")
	ana := post("Ana", "ana@example.org", "I use the bus every morning and it is on time.", "198.51.100.2")
	st.Close()

	// A ban by email domain that removes the author's comments; listed;
	// lifted with the comments restored.
	out, err := cli(t, db, "ban", "add", "--site", "s", "--email-domain", "spam.example", "--reason", "abuse", "--remove-comments", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var ban struct {
		ID      string
		Removed int
		Match   string
	}
	if err := json.Unmarshal([]byte(out), &ban); err != nil || ban.Removed != 2 || ban.Match != "email_domain" {
		t.Fatalf("ban add: %s (%v)", out, err)
	}
	if out, _ = cli(t, db, "ban", "list", "--site", "s"); !strings.Contains(out, ban.ID) || !strings.Contains(out, "spam.example") || !strings.Contains(out, "in force") {
		t.Fatalf("ban list:\n%s", out)
	}
	if out, _ = cli(t, db, "comment", "show", "--site", "s", troll.ID); !strings.Contains(out, "deleted") {
		t.Fatalf("the banned author's comment:\n%s", out)
	}
	if out, err = cli(t, db, "ban", "remove", "--site", "s", "--restore", ban.ID); err != nil || !strings.Contains(out, "2 comments restored") {
		t.Fatalf("ban remove: %s %v", out, err)
	}
	if _, err := cli(t, db, "ban", "remove", "--site", "s", ban.ID); err == nil || !strings.Contains(err.Error(), "lifted already") {
		t.Fatalf("lifting twice: %v", err)
	}
	if out, _ = cli(t, db, "ban", "list", "--site", "s", "--all"); !strings.Contains(out, "lifted by cli") {
		t.Fatalf("ban list --all:\n%s", out)
	}
	// Every way in: identity, email, ip range (v4, v6), a comment's
	// author; a suspension; bad input is a usage error.
	for _, args := range [][]string{
		{"--identity", "github:42"}, {"--email", "x@example.org", "--kind", "premod"}, {"--ip", "2001:db8::/32"},
		{"--comment", troll2.ID, "--kind", "warn", "--message", "Keep it civil."},
		{"--ip", "192.0.2.0/24", "--kind", "suspend", "--until", time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)},
	} {
		if _, err := cli(t, db, append([]string{"ban", "add", "--site", "s"}, args...)...); err != nil {
			t.Errorf("ban add %v: %v", args, err)
		}
	}
	var ue usageError
	for _, args := range [][]string{
		{"--ip", "203.0.113.0/33"}, {}, {"--email", "a@b.example", "--ip", "192.0.2.1"}, {"--email", "a@b.example", "--kind", "suspend"},
		{"--email", "a@b.example", "--until", "tomorrow"}, {"--ip", "198.51.100.0/24", "--remove-comments"},
	} {
		if _, err := cli(t, db, append([]string{"ban", "add", "--site", "s"}, args...)...); !errors.As(err, &ue) {
			t.Errorf("ban add %v = %v, want a usage error", args, err)
		}
	}
	if _, err := cli(t, db, "ban", "list", "--site", "nope"); err == nil || !strings.Contains(err.Error(), `no site "nope"`) {
		t.Fatalf("ban list of a missing site: %v", err)
	}

	// Story controls.
	if out, err = cli(t, db, "page", "close", "--site", "s", "--page", "https://s.example/a"); err != nil || !strings.Contains(out, "closed") {
		t.Fatalf("page close: %s %v", out, err)
	}
	if out, _ = cli(t, db, "page", "list", "--site", "s"); !strings.Contains(out, "A story") || !strings.Contains(out, "closed") || !strings.Contains(out, "https://s.example/a") {
		t.Fatalf("page list:\n%s", out)
	}
	if out, err = cli(t, db, "page", "open", "--site", "s", "--page", "https://s.example/a"); err != nil || !strings.Contains(out, "open") {
		t.Fatalf("page open: %s %v", out, err)
	}
	if out, err = cli(t, db, "page", "set", "--site", "s", "--page", "https://s.example/a", "--premod=true", "--close-after", "14", "--message", "Be kind."); err != nil || !strings.Contains(out, "pre-moderated") {
		t.Fatalf("page set: %s %v", out, err)
	}
	if out, _ = cli(t, db, "page", "list", "--site", "s", "--json"); !strings.Contains(out, `"close_after_days": 14`) || !strings.Contains(out, `"message": "Be kind."`) {
		t.Fatalf("page list --json:\n%s", out)
	}
	if _, err := cli(t, db, "page", "close", "--site", "s", "--page", "https://s.example/none"); err == nil {
		t.Fatal("closing an article without comments succeeded")
	}
	if _, err := cli(t, db, "page", "close", "--site", "s"); !errors.As(err, &ue) {
		t.Fatalf("page close without --page: %v", err)
	}

	// Featured and pinned.
	if out, err = cli(t, db, "comment", "feature", "--site", "s", ana.ID); err != nil || !strings.Contains(out, "featured") {
		t.Fatalf("comment feature: %s %v", out, err)
	}
	if out, err = cli(t, db, "comment", "pin", "--site", "s", ana.ID); err != nil {
		t.Fatalf("comment pin: %s %v", out, err)
	}
	if out, _ = cli(t, db, "page", "list", "--site", "s", "--json"); !strings.Contains(out, `"pinned": "`+ana.ID+`"`) {
		t.Fatalf("pinned:\n%s", out)
	}

	// Community settings and rules.
	if out, err = cli(t, db, "community", "set", "--site", "s", "--report-hide", "2", "--surge-rate", "30", "--surge-action", "close", "--reason", "Off topic", "--reason", "Personal attack"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"report_hide": 2`) || !strings.Contains(out, `"Personal attack"`) || !strings.Contains(out, `"surge_action": "close"`) {
		t.Fatalf("community set:\n%s", out)
	}
	if _, err := cli(t, db, "community", "set", "--site", "s", "--surge-action", "explode"); !errors.As(err, &ue) {
		t.Fatalf("a bad surge action: %v", err)
	}
	if out, _ = cli(t, db, "community", "show", "--site", "s"); !strings.Contains(out, "30 comments a minute") || !strings.Contains(out, "email authors decisions:  false") {
		t.Fatalf("community show:\n%s", out)
	}
	// Emailing authors the decision: on, the rest kept.
	if out, err = cli(t, db, "community", "set", "--site", "s", "--email-decisions", "true"); err != nil || !strings.Contains(out, `"email_decisions": true`) || !strings.Contains(out, `"Personal attack"`) {
		t.Fatalf("community set --email-decisions: %s %v", out, err)
	}
	if _, err := cli(t, db, "community", "set", "--site", "s", "--email-decisions", "maybe"); !errors.As(err, &ue) {
		t.Fatalf("a bad --email-decisions: %v", err)
	}
	rules := filepath.Join(t.TempDir(), "rules.json")
	os.WriteFile(rules, []byte(`{"blocked_words": ["press"], "hold_words": ["crypto*"], "blocked_ips": ["203.0.113.0/24"], "hold_links": 1}`), 0o644)
	if out, err = cli(t, db, "rules", "set", "--site", "s", "--file", rules); err != nil || !strings.Contains(out, `"crypto*"`) {
		t.Fatalf("rules set: %s %v", out, err)
	}
	os.WriteFile(rules, []byte(`{"blocked_ips": ["not an ip"]}`), 0o644)
	if _, err := cli(t, db, "rules", "set", "--site", "s", "--file", rules); !errors.As(err, &ue) || !strings.Contains(err.Error(), "not an ip") {
		t.Fatalf("bad rules: %v", err)
	}
	if out, _ = cli(t, db, "rules", "show", "--site", "s"); !strings.Contains(out, `"press"`) {
		t.Fatalf("rules show:\n%s", out)
	}

	// Reports: a reader's report is listed and dismissed.
	st, _ = openStore(ctx, dbOptions{dsn: db})
	svc, _ = newService(ctx, st, nil)
	if _, err := svc.Report(ctx, service.ReportInput{SiteID: "s", CommentID: ana.ID, Reason: "off_topic", Text: "not about buses", IP: "192.0.2.50"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if out, _ = cli(t, db, "report", "list", "--site", "s"); !strings.Contains(out, ana.ID) || !strings.Contains(out, "off_topic 1") {
		t.Fatalf("report list:\n%s", out)
	}
	if out, err = cli(t, db, "report", "dismiss", "--site", "s", ana.ID); err != nil || !strings.Contains(out, "1 reports dismissed") {
		t.Fatalf("report dismiss: %s %v", out, err)
	}

	// An author's history, with a note.
	if out, err = cli(t, db, "author", "--site", "s", "--comment", troll.ID, "--note", "Second warning given by phone."); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Troll", "email:troll@spam.example", "ban by email_domain, cli", "warn by email, cli", "sanction.ban by cli", "sanction.lift by cli", "Second warning given by phone."} {
		if !strings.Contains(out, want) {
			t.Errorf("author lacks %q:\n%s", want, out)
		}
	}
	if _, err := cli(t, db, "author", "--site", "s"); !errors.As(err, &ue) {
		t.Fatalf("author without --comment: %v", err)
	}
	if out, _ = cli(t, db, "alert", "list", "--site", "s"); !strings.Contains(out, "THRESHOLD") {
		t.Fatalf("alert list:\n%s", out)
	}
	if out, _ = cli(t, db, "audit", "--site", "s"); !strings.Contains(out, "sanction.ban") || !strings.Contains(out, "page.close") || !strings.Contains(out, "site.rules") {
		t.Fatalf("audit after the commands:\n%s", out)
	}
}

// TestExportKeepsCommunity: a site's export carries its bans, settings and
// rules, and importing it into another database brings them back; an
// export edited to hold a sanction that matches nothing is refused.
func TestExportKeepsCommunity(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	for _, args := range [][]string{
		{"site", "add", "--id", "s", "--origin", "https://s.example"},
		{"ban", "add", "--site", "s", "--email", "troll@spam.example", "--reason", "abuse"},
		{"community", "set", "--site", "s", "--report-hide", "5", "--message", "Be kind."},
	} {
		if out, err := cli(t, db, args...); err != nil {
			t.Fatalf("parley %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	rules := filepath.Join(dir, "rules.json")
	os.WriteFile(rules, []byte(`{"blocked_words": ["cheap pills"]}`), 0o600)
	if out, err := cli(t, db, "rules", "set", "--site", "s", "--file", rules); err != nil {
		t.Fatalf("rules set: %v\n%s", err, out)
	}
	export := filepath.Join(dir, "s.jsonl")
	if _, err := cli(t, db, "export", "--site", "s", "--out", export); err != nil {
		t.Fatal(err)
	}
	b := filepath.Join(dir, "b.db")
	if _, err := cli(t, b, "import", "--format", "parley", export); err != nil {
		t.Fatal(err)
	}
	for args, want := range map[string]string{"ban list --site s": "troll@spam.example", "community show --site s": "Be kind.", "rules show --site s": "cheap pills"} {
		if out, err := cli(t, b, strings.Fields(args)...); err != nil || !strings.Contains(out, want) {
			t.Errorf("after import, parley %s = %v\n%s", args, err, out)
		}
	}
	raw, _ := os.ReadFile(export)
	tampered := filepath.Join(dir, "t.jsonl")
	os.WriteFile(tampered, bytes.Replace(raw, []byte(`"Value":"troll@spam.example"`), []byte(`"Value":"not an address"`), 1), 0o600)
	if _, err := cli(t, filepath.Join(dir, "c.db"), "import", "--format", "parley", tampered); err == nil || !strings.Contains(err.Error(), "sanction") {
		t.Fatalf("importing a bad sanction = %v", err)
	}
}
