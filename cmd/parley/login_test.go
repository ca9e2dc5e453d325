package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/internal/auth"
	"parley/internal/comment"
	"parley/internal/service"
	"parley/internal/store"
)

func TestSiteLogInSettings(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	ctx := context.Background()
	if err := run(ctx, []string{"site", "add", "--db", db, "--id", "ledger", "--origin", "https://ledger.example", "--guests", "login", "--providers", "github,email"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	// set changes only what it is given.
	if err := run(ctx, []string{"site", "set", "--db", db, "--id", "ledger", "--name", "The Ledger"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"site", "sso-secret", "--db", db, "--id", "ledger"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(out.String())
	if len(secret) != 64 || !strings.Contains(errOut.String(), "Keep it on the server") {
		t.Fatalf("sso-secret printed %q / %q", secret, errOut.String())
	}
	st, err := openStore(ctx, dbOptions{dsn: db})
	if err != nil {
		t.Fatal(err)
	}
	site, err := st.Site(ctx, "ledger")
	if err != nil {
		t.Fatal(err)
	}
	if site.Name != "The Ledger" || site.Guests != comment.GuestsLogin || strings.Join(site.Providers, ",") != "github,email" || site.SSOSecret != secret || site.Origins[0] != "https://ledger.example" {
		t.Fatalf("site = %+v", site)
	}
	// A new secret ends the sessions made with the old one.
	if err := st.CreateSession(ctx, &auth.Session{ID: "s1", Identity: auth.Identity{Provider: auth.SSOProviderFor("ledger"), Subject: "7", Name: "Sam"},
		SiteID: "ledger", Created: time.Now(), Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	if err := run(ctx, []string{"site", "sso-secret", "--db", db, "--id", "ledger"}, io.Discard, &errOut); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Session(ctx, "s1"); !errors.Is(err, comment.ErrNotFound) || !strings.Contains(errOut.String(), "1 session(s)") {
		t.Errorf("after a new secret: session %v, said %q", err, errOut.String())
	}
	st.Close()
	out.Reset()
	if err := run(ctx, []string{"site", "list", "--db", db}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "login") || !strings.Contains(out.String(), "github,email") || strings.Contains(out.String(), secret) {
		t.Errorf("site list:\n%s", out.String())
	}
	for _, args := range [][]string{
		{"site", "set", "--db", db, "--id", "ledger", "--guests", "everyone"},
		{"site", "set", "--db", db, "--id", "ledger", "--providers", "Google"},
		{"site", "set", "--db", db, "--id", "ledger", "--providers", "github,github"},
		{"site", "set", "--db", db},
	} {
		var ue usageError
		if err := run(ctx, args, io.Discard, io.Discard); !errors.As(err, &ue) {
			t.Errorf("parley %s = %v, want a usage error", strings.Join(args, " "), err)
		}
	}
	if err := run(ctx, []string{"site", "set", "--db", db, "--id", "nope", "--name", "x"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "no site") {
		t.Errorf("set on a missing site = %v", err)
	}
}

func TestServe_LogInConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"providers": [{"kind": "github", "client_id": "x", "client_secret": "super-secret-value"}, {"kind": "myspace"}]}`), 0o600)
	var ue usageError
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "p.db"), "--login-config", bad}, io.Discard, io.Discard)
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "myspace") || strings.Contains(err.Error(), "super-secret-value") {
		t.Fatalf("bad config = %v", err)
	}

	// A good one: GitHub switched on, its secret from the environment, and
	// the demo site's widget offers it; the secret appears in no output.
	t.Setenv("TEST_GITHUB_SECRET", "gh-secret-do-not-print")
	good := filepath.Join(dir, "login.json")
	os.WriteFile(good, []byte(`{"providers": [{"kind": "github", "client_id": "Iv1.abc", "client_secret": "env:TEST_GITHUB_SECRET"}]}`), 0o600)
	base := startServe(t, "--db", filepath.Join(dir, "p.db"), "--demo", "--login-config", good)
	resp, err := http.Get(base + "/api/v1/sites/demo/comments?page=demo-article")
	if err != nil {
		t.Fatal(err)
	}
	var th struct {
		Login struct {
			Providers []struct{ ID, Name string }
			SSO       bool
		}
	}
	json.NewDecoder(resp.Body).Decode(&th)
	resp.Body.Close()
	// GitHub, then the demo's own Demo ID.
	if len(th.Login.Providers) != 2 || th.Login.Providers[0].ID != "github" || th.Login.Providers[0].Name != "GitHub" || th.Login.Providers[1].Name != "Demo ID" {
		t.Fatalf("login = %+v", th.Login)
	}
	// Starting a log-in sends the reader to GitHub with PKCE and state.
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = cl.Get(base + "/auth/github/start?site=demo&mode=redirect&return=" + base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "https://github.com/login/oauth/authorize?") || !strings.Contains(loc, "state=") || !strings.Contains(loc, "client_id=Iv1.abc") || strings.Contains(loc, "gh-secret") {
		t.Fatalf("start: %d %s", resp.StatusCode, loc)
	}
}

func TestServe_SSOFromTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "p.db")
	ctx := context.Background()
	if err := run(ctx, []string{"site", "add", "--db", db, "--id", "ledger", "--origin", "https://ledger.example"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"site", "sso-secret", "--db", db, "--id", "ledger"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	tok, err := auth.SignSSO(auth.SSOUser{ID: "99", Name: "Desk Editor", Expires: time.Now().Add(5 * time.Minute)}, []byte(strings.TrimSpace(out.String())))
	if err != nil {
		t.Fatal(err)
	}
	base := startServe(t, "--db", db)
	resp, err := http.Post(base+"/api/v1/sites/ledger/auth/sso", "application/json", strings.NewReader(`{"token":"`+tok+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Token string
		User  map[string]string
	}
	json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	if resp.StatusCode != 200 || s.Token == "" || s.User["name"] != "Desk Editor" {
		t.Fatalf("sso: %d %+v", resp.StatusCode, s)
	}
}

// TestCommentLogout: the operator logs a comment's author out on every
// device; other readers stay logged in, and guests have nothing to end.
func TestCommentLogout(t *testing.T) {
	db, st, svc := sitesDB(t, "s", "other")
	ctx := context.Background()
	mallory := auth.Identity{Provider: "github", Subject: "666", Name: "Mallory"}
	jane := auth.Identity{Provider: "github", Subject: "7", Name: "Jane"}
	for i, id := range []auth.Identity{mallory, mallory, jane} {
		if err := st.CreateSession(ctx, &auth.Session{ID: "s" + strconv.Itoa(i), Identity: id, SiteID: "s", Created: time.Now(), Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	posted, err := svc.Post(ctx, comment.Draft{SiteID: "s", Page: "https://s.example/a", Identity: mallory.Key(), Name: "Mallory", Body: "Buy my pills"}, service.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	guest, err := svc.Post(ctx, comment.Draft{SiteID: "s", Page: "https://s.example/a", Name: "Ada", Email: "ada@example.org", Body: "Hello"}, service.Meta{})
	if err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"comment", "logout", "--db", db, "--site", "s", posted.ID}, &out, &errOut); err != nil {
		t.Fatalf("logout: %v (%s)", err, errOut.String())
	}
	if !strings.Contains(out.String(), "ended 2 session(s) of Mallory (log-in: github)") {
		t.Errorf("said %q", out.String())
	}
	for id, want := range map[string]error{"s0": comment.ErrNotFound, "s1": comment.ErrNotFound, "s2": nil} {
		if _, err := st.Session(ctx, id); !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Errorf("session %s: %v, want %v", id, err, want)
		}
	}
	// A guest's comment, another site's comment and a missing one are
	// each explained, and the command fails.
	errOut.Reset()
	err = run(ctx, []string{"comment", "logout", "--db", db, "--site", "other", guest.ID, "nope"}, io.Discard, &errOut)
	if err == nil || !strings.Contains(err.Error(), "2 of 2") || strings.Count(errOut.String(), "has no comment") != 2 {
		t.Errorf("other site: %v, said %q", err, errOut.String())
	}
	errOut.Reset()
	err = run(ctx, []string{"comment", "logout", "--db", db, "--site", "s", guest.ID}, io.Discard, &errOut)
	if err == nil || !strings.Contains(errOut.String(), "written by a guest (Ada)") {
		t.Errorf("guest: %v, said %q", err, errOut.String())
	}
	var ue usageError
	if err := run(ctx, []string{"comment", "logout", "--db", db, "--site", "s"}, io.Discard, io.Discard); !errors.As(err, &ue) {
		t.Errorf("logout without ids = %v", err)
	}
}

// sitesDB adds the sites ids (each at https://ID.example) to a new
// database with the CLI, and opens it for the test to fill in.
func sitesDB(t *testing.T, ids ...string) (string, store.Store, *service.Service) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "p.db")
	ctx := context.Background()
	for _, id := range ids {
		if err := run(ctx, []string{"site", "add", "--db", db, "--id", id, "--origin", "https://" + id + ".example"}, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	st, err := openStore(ctx, dbOptions{dsn: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := newService(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	return db, st, svc
}

// TestServe_DemoExtras: with --demo, the server has Demo ID (discovered by
// its issuer on the server's own address), the demo mailbox, and the
// demo site offers Demo ID and email links; without --demo none of it
// exists and the site list is untouched.
func TestServe_DemoExtras(t *testing.T) {
	dir := t.TempDir()
	base := startServe(t, "--db", filepath.Join(dir, "demo.db"), "--demo")
	var disc struct{ Issuer, AuthorizationEndpoint string }
	if err := json.Unmarshal([]byte(get(t, base+"/demo-id/.well-known/openid-configuration")), &disc); err != nil || disc.Issuer != base+"/demo-id" {
		t.Fatalf("Demo ID discovery: %+v %v", disc, err)
	}
	if page := get(t, base+"/demo/mailbox"); !strings.Contains(page, "Demo mailbox") {
		t.Fatalf("mailbox page:\n%s", page)
	}
	var th struct {
		Login struct {
			Providers []struct{ ID, Name string }
			Email     bool
		}
	}
	json.Unmarshal([]byte(get(t, base+"/api/v1/sites/demo/comments?page=demo-article")), &th)
	if len(th.Login.Providers) != 1 || th.Login.Providers[0].ID != "demo-id" || !th.Login.Email {
		t.Fatalf("demo site log-ins = %+v", th.Login)
	}
	if page := get(t, base+"/?lang=ar&theme=dark"); !strings.Contains(page, `data-lang="ar"`) || !strings.Contains(page, `data-theme="dark"`) || !strings.Contains(page, `dir="rtl"`) {
		t.Fatal("?lang=ar&theme=dark is not on the demo page")
	}

	plain := startServe(t, "--db", filepath.Join(dir, "plain.db"))
	for _, p := range []string{"/", "/demo-id/.well-known/openid-configuration", "/demo-id/login", "/demo/mailbox"} {
		resp, err := http.Get(plain + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("without --demo, %s = %d", p, resp.StatusCode)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"site", "list", "--db", filepath.Join(dir, "plain.db")}, &out, io.Discard); err != nil || strings.Contains(out.String(), "demo") {
		t.Errorf("without --demo, the site list: %v\n%s", err, out.String())
	}
}
