package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// helpCase is one command's --help: what its usage must name, and flags
// it must not list (another command's).
type helpCase struct {
	args  []string
	want  []string // in the output: the synopsis and every flag of its own
	never []string // flags of other commands
}

var helpCases = []helpCase{
	{[]string{"serve"}, []string{"parley serve", "-addr", "-db", "-demo", "-public-url", "-migrate", "-login-config", "-gravatar", "-rate-limit-ip", "-pg-max-conns", "-trusted-proxy",
		"-webhook-allow", "-notify-digest", "-outbox-give-up", "-outbox-retry", "-metrics-addr", "-pprof"}, []string{"-site", "-out", "-from"}},
	{[]string{"site"}, []string{"parley site add", "parley site set", "parley site list", "parley site key", "parley site sso-secret"}, []string{"-addr"}},
	{[]string{"site", "add"}, []string{"parley site add", "-id", "-name", "-origin", "-moderation", "-guests", "-providers", "-db"}, []string{"-addr", "-remove", "-add-origin", "-status"}},
	{[]string{"site", "set"}, []string{"parley site set", "-id", "-origin", "-add-origin", "-remove-origin", "-edit-window"}, []string{"-addr", "-remove "}},
	{[]string{"site", "list"}, []string{"parley site list", "-db"}, []string{"-id", "-addr"}},
	{[]string{"site", "key"}, []string{"parley site key", "-id"}, []string{"-name", "-addr"}},
	{[]string{"site", "sso-secret"}, []string{"parley site sso-secret", "-id", "-remove"}, []string{"-name", "-addr"}},
	{[]string{"comment"}, []string{"parley comment list", "parley comment show", "parley comment approve", "parley comment ham", "parley comment edit", "parley comment logout"}, []string{"-addr"}},
	{[]string{"comment", "list"}, []string{"parley comment list", "-site", "-status", "-limit", "-q", "-page", "-author", "-email", "-ip", "-since", "-until", "-cursor", "-json"}, []string{"-addr", "-id", "-body-file"}},
	{[]string{"comment", "show"}, []string{"parley comment show", "-site", "-json"}, []string{"-status", "-body-file"}},
	{[]string{"comment", "ham"}, []string{"parley comment ham", "-site"}, []string{"-json", "-status"}},
	{[]string{"comment", "edit"}, []string{"parley comment edit", "-site", "-body-file"}, []string{"-status", "-json"}},
	{[]string{"admin"}, []string{"parley admin add", "parley admin password", "parley admin list"}, []string{"-addr"}},
	{[]string{"admin", "add"}, []string{"parley admin add", "-email", "-password-file", "-name", "-site", "-role", "-db"}, []string{"-addr", "-status"}},
	{[]string{"admin", "password"}, []string{"parley admin password", "-email", "-password-file"}, []string{"-site", "-role", "-name"}},
	{[]string{"admin", "list"}, []string{"parley admin list", "-site"}, []string{"-email", "-role", "-password-file"}},
	{[]string{"token"}, []string{"parley token add", "parley token list", "parley token remove"}, []string{"-addr"}},
	{[]string{"token", "add"}, []string{"parley token add", "-site", "-role", "-name"}, []string{"-addr", "-email"}},
	{[]string{"token", "list"}, []string{"parley token list", "-site"}, []string{"-role", "-name"}},
	{[]string{"token", "remove"}, []string{"parley token remove", "-site"}, []string{"-role", "-name"}},
	{[]string{"audit"}, []string{"parley audit", "-site", "-actor", "-action", "-comment", "-limit", "-json"}, []string{"-addr", "-status"}},
	{[]string{"comment", "approve"}, []string{"parley comment approve", "-site"}, []string{"-addr", "-status"}},
	{[]string{"comment", "spam"}, []string{"parley comment spam", "-site"}, []string{"-addr"}},
	{[]string{"comment", "delete"}, []string{"parley comment delete", "-site"}, []string{"-addr"}},
	{[]string{"comment", "pending"}, []string{"parley comment pending", "-site"}, []string{"-addr"}},
	{[]string{"comment", "logout"}, []string{"parley comment logout", "-site"}, []string{"-addr", "-status"}},
	{[]string{"avatars"}, []string{"parley avatars", "-site", "-gravatar", "-workers"}, []string{"-addr"}},
	{[]string{"import"}, []string{"parley import", "-site", "-format", "-url-map", "-rewrite", "-keep-deleted", "-by-page-id", "-json"}, []string{"-addr", "-out"}},
	{[]string{"export"}, []string{"parley export", "-site", "-format", "-out"}, []string{"-addr", "-rewrite"}},
	{[]string{"backup"}, []string{"parley backup", "-db"}, []string{"-addr", "-site"}},
	{[]string{"migrate"}, []string{"parley migrate", "-db"}, []string{"-addr", "-demo"}},
	{[]string{"migrate-db"}, []string{"parley migrate-db", "-from", "-to"}, []string{"-addr"}},
	{[]string{"spam"}, []string{"parley spam train", "parley spam eval"}, []string{"-addr"}},
	{[]string{"spam", "train"}, []string{"parley spam train", "-out", "-seed"}, []string{"-addr", "-model"}},
	{[]string{"spam", "eval"}, []string{"parley spam eval", "-model", "-learn", "-seed", "-json"}, []string{"-addr", "-out"}},
	{[]string{"webhook"}, []string{"parley webhook add", "parley webhook list", "parley webhook remove", "parley webhook deliveries", "parley webhook resend"}, []string{"-addr"}},
	{[]string{"webhook", "add"}, []string{"parley webhook add", "-site", "-url", "-events", "-with-email", "-webhook-allow", "-db"}, []string{"-addr", "-state"}},
	{[]string{"webhook", "deliveries"}, []string{"parley webhook deliveries", "-site", "-webhook", "-state"}, []string{"-url", "-addr"}},
	{[]string{"version"}, []string{"parley version"}, []string{"-addr"}},
}

// TestHelp_EveryCommand: every command's --help (and -h, and help) prints
// its own usage to standard output, lists its own flags and no other
// command's, exits 0, and touches nothing: no database is created or
// migrated, no server starts.
func TestHelp_EveryCommand(t *testing.T) {
	for _, c := range helpCases {
		for _, h := range []string{"--help", "-h", "-help"} {
			name := strings.Join(append(slices.Clone(c.args), h), " ")
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				db := filepath.Join(dir, "parley.db")
				t.Setenv("PARLEY_DB", db)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				var stdout, stderr bytes.Buffer
				done := make(chan error, 1)
				// Arguments after the help flag are not acted on either.
				go func() { done <- run(ctx, append(slices.Clone(c.args), h, "--db", db), &stdout, &stderr) }()
				var err error
				select {
				case err = <-done:
				case <-time.After(5 * time.Second):
					cancel()
					<-done
					t.Fatal("the command ran instead of printing its usage")
				}
				if err != nil {
					t.Fatalf("exit with %v; stderr: %s", err, stderr.String())
				}
				out := stdout.String()
				if !strings.HasPrefix(out, "Usage:") {
					t.Errorf("stdout does not start with Usage:\n%s", out)
				}
				for _, w := range c.want {
					if !containsWord(out, w) {
						t.Errorf("usage lacks %q:\n%s", w, out)
					}
				}
				for _, n := range c.never {
					if containsWord(out, n) {
						t.Errorf("usage lists another command's %q:\n%s", n, out)
					}
				}
				if stderr.Len() > 0 {
					t.Errorf("stderr: %s", stderr.String())
				}
				if entries, _ := os.ReadDir(dir); len(entries) > 0 {
					t.Errorf("--help created %s", entries[0].Name())
				}
			})
		}
	}
	t.Run("help after a subcommand's arguments", func(t *testing.T) {
		dir := t.TempDir()
		var stdout bytes.Buffer
		err := run(context.Background(), []string{"comment", "approve", "--site", "news", "--db", filepath.Join(dir, "p.db"), "abc", "--help"}, &stdout, &bytes.Buffer{})
		if err != nil || !strings.HasPrefix(stdout.String(), "Usage:") {
			t.Errorf("err %v, stdout %q", err, stdout.String())
		}
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			t.Errorf("--help created %s", entries[0].Name())
		}
	})
}

// containsWord reports whether s holds w not as part of a longer flag or
// word ("-id" is not in "-idle").
func containsWord(s, w string) bool {
	return regexp.MustCompile(`(^|[^\w-])` + regexp.QuoteMeta(w) + `($|[^\w-])`).MatchString(s)
}

// TestHelp_TopLevel: parley's own usage lists every command and every flag
// of serve (read from serve's own --help, so a new flag must be added).
func TestHelp_TopLevel(t *testing.T) {
	var top, serve bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &top, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"serve", "--help"}, &serve, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	flags := regexp.MustCompile(`(?m)^  -([\w-]+)`).FindAllStringSubmatch(serve.String(), -1)
	if len(flags) < 15 {
		t.Fatalf("serve --help lists %d flags:\n%s", len(flags), serve.String())
	}
	for _, f := range flags {
		if !strings.Contains(top.String(), "--"+f[1]) {
			t.Errorf("top-level usage lacks serve's --%s", f[1])
		}
	}
	// "parley comment approve|spam|delete|pending" names four commands.
	all := regexp.MustCompile(`parley comment ([a-z|]+)`).ReplaceAllStringFunc(top.String(), func(m string) string {
		return "parley comment " + strings.ReplaceAll(strings.TrimPrefix(m, "parley comment "), "|", " parley comment ")
	})
	for _, c := range helpCases {
		if !strings.Contains(all, "parley "+strings.Join(c.args, " ")) {
			t.Errorf("top-level usage lacks parley %s", strings.Join(c.args, " "))
		}
	}
	// Every command the usage names is one run knows.
	for _, m := range regexp.MustCompile(`(?m)^  parley ([a-z-]+)`).FindAllStringSubmatch(top.String(), -1) {
		var out bytes.Buffer
		if err := run(context.Background(), []string{m[1], "--help"}, &out, &bytes.Buffer{}); err != nil {
			t.Errorf("parley %s --help: %v", m[1], err)
		}
	}
}

// TestEnvironment_Strict: a malformed environment variable stops the
// start with a message naming it, as the same value given as a flag
// would; a flag given on the command line wins over the variable.
func TestEnvironment_Strict(t *testing.T) {
	for _, c := range []struct{ name, value string }{
		{"PARLEY_MIGRATE", "yes"},
		{"PARLEY_PG_MAX_CONNS", "ten"},
		{"PARLEY_PG_STATEMENT_TIMEOUT", "5"},
		{"PARLEY_LOG_LEVEL", "loud"},
		{"PARLEY_LOG_FORMAT", "xml"},
		{"PARLEY_PUBLIC_URL", "comments.example.com"},
		{"PARLEY_TRUSTED_PROXIES", "127.0.0.1, localhost"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv(c.name, c.value)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "p.db")}, &bytes.Buffer{}, &bytes.Buffer{})
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.name) {
				t.Fatalf("serve with %s=%s: %v", c.name, c.value, err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("a bad %s still created %s", c.name, entries[0].Name())
			}
		})
	}
	t.Run("flag wins", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv("PARLEY_PG_MAX_CONNS", "ten")
		var out bytes.Buffer
		// The flag replaces the variable, so its bad value is not read.
		if err := run(context.Background(), []string{"migrate", "--pg-max-conns", "4", "--db", filepath.Join(dir, "p.db")}, &out, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("good values", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv("PARLEY_MIGRATE", "false")
		t.Setenv("PARLEY_DB", filepath.Join(dir, "p.db"))
		// With migrations off, a new database is refused: the variable was read.
		err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0"}, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "migrat") {
			t.Fatalf("serve with PARLEY_MIGRATE=false on a new database: %v", err)
		}
	})
}
