package akismet

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"parley/internal/spam"
)

// TestRealClients points published Akismet clients from the npm registry
// (@cedx/akismet, akismet, akismet-api; exact versions in
// testdata/npm/package-lock.json) at a Parley server on 127.0.0.1 and
// checks what they report, then what the sites learned from their
// submissions. It needs node and npm, which .ci/run installs; it installs
// the packages into a temporary folder with npm ci.
func TestRealClients(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: installs npm packages")
	}
	node, nerr := exec.LookPath("node")
	npm, perr := exec.LookPath("npm")
	if nerr != nil || perr != nil {
		t.Skip("node and npm are not on PATH, so the real Akismet clients cannot run (.ci/run installs Debian's nodejs and npm)")
	}
	dir := t.TempDir()
	for _, name := range []string{"package.json", "package-lock.json", "clients.mjs"} {
		b, err := os.ReadFile(filepath.Join("testdata", "npm", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	install.Dir = dir
	install.Env = append(os.Environ(), "npm_config_update_notifier=false")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}

	sites := map[string]string{"cedx": "CEDX", "akismet": "AKISMET", "akismetApi": "AKISMET_API"}
	ts := newTestAPI(t, "cedx", "akismet", "akismetApi")
	run := exec.CommandContext(ctx, node, "clients.mjs", ts.URL)
	run.Dir = dir
	run.Env = os.Environ()
	for site, env := range sites {
		run.Env = append(run.Env, "PARLEY_KEY_"+env+"="+ts.keys[site])
	}
	var stderr strings.Builder
	run.Stderr = &stderr
	out, err := run.Output()
	if err != nil {
		t.Fatalf("node clients.mjs: %v\n%s", err, stderr.String())
	}
	t.Logf("what the clients reported:\n%s", out)
	var all map[string]json.RawMessage
	if err := json.Unmarshal(out, &all); err != nil {
		t.Fatalf("client output is not JSON: %v\n%s", err, out)
	}
	var texts map[string]string // what the script sent, by name
	if err := json.Unmarshal(all["texts"], &texts); err != nil {
		t.Fatal(err)
	}

	errorContaining := func(s string) func(any) bool {
		return func(v any) bool {
			m, ok := v.(map[string]any)
			e, _ := m["error"].(string)
			return ok && strings.Contains(e, s)
		}
	}
	want := map[string]map[string]any{
		// Reads the body and X-akismet-pro-tip; throws on any
		// X-akismet-debug-help, so a bad key is an error.
		"cedx": {
			"verifyKey": true, "verifyBadKey": false,
			"ham": "ham", "held": "ham", "testTrigger": "spam", "blatant": "spam", "admin": "ham",
			"badKeyCheck": errorContaining("API key is not valid"),
			"submitTest":  "ok", "submitSpam": "ok", "submitHam": "ok",
		},
		// Spam only for a 2xx "true"; anything else, invalid too, is ham.
		"akismet": {
			"verifyKey": true, "verifyBadKey": false,
			"ham": false, "held": false, "testTrigger": true, "blatant": true, "admin": false, "badKeyCheck": false,
			"submitTest": "ok", "submitSpam": "ok", "submitHam": "ok",
			"hostVerifyKey": true, "hostTestTrigger": true, "hostHam": false, "hostBadKeyCheck": false,
		},
		// Key in the host name for everything but verify-key.
		"akismetApi": {
			"verifyKey": true, "verifyBadKey": false,
			"ham": false, "held": false, "testTrigger": true, "blatant": true, "admin": false, "honeypot": true,
			"badKeyCheck": errorContaining("Invalid API key"),
			"submitTest":  "ok", "submitSpam": "ok", "submitHam": "ok",
		},
	}
	for client, steps := range want {
		var res map[string]any
		if err := json.Unmarshal(all[client], &res); err != nil {
			t.Fatalf("%s: %v", client, err)
		}
		if e, ok := res["error"]; ok {
			t.Errorf("%s failed: %v", client, e)
			continue
		}
		for name, w := range steps {
			g, ok := res[name]
			switch w := w.(type) {
			case func(any) bool:
				if !ok || !w(g) {
					t.Errorf("%s %s = %v", client, name, g)
				}
			default:
				if !ok || !reflect.DeepEqual(g, w) {
					t.Errorf("%s %s = %v, want %v", client, name, g, w)
				}
			}
		}
		if len(res) != len(steps) {
			t.Errorf("%s ran %d steps, the test knows %d", client, len(res), len(steps))
		}
	}

	// The submissions taught each client's site at once, except the one
	// sent with is_test.
	for site := range sites {
		for text, w := range map[string]spam.Action{"missed": spam.Hold, "held": spam.Publish, "testOnly": spam.Publish} {
			v, err := ts.svc.Classify(ctx, site, &spam.Input{Body: texts[text], IP: "2001:db8::7"})
			if err != nil {
				t.Fatal(err)
			}
			if v.Action != w {
				t.Errorf("site %s after the submissions: %q is %s, want %s", site, text, v.Action, w)
			}
		}
	}
}
