package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestWebhookCommands: add prints the secret as the last line of stdout;
// list shows the webhook without it; a loopback address is refused unless
// --webhook-allow names it; remove removes.
func TestWebhookCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "w.db")
	ctx := context.Background()
	if err := run(ctx, []string{"site", "add", "--db", db, "--id", "ledger", "--origin", "https://ledger.example"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--url", "http://127.0.0.1:9000/hooks"}, "only https"},
		{[]string{"--url", "https://127.0.0.1:9000/hooks"}, "loopback"},
		{[]string{"--url", "https://192.168.1.10/hooks"}, "private"},
		{[]string{"--url", "https://hooks.example/in", "--events", "comment.exploded"}, "not an event"},
		{[]string{"--url", "https://127.0.0.1/hooks", "--webhook-allow", "http://127.0.0.1"}, "-webhook-allow"},
	} {
		var ue usageError
		err := run(ctx, append([]string{"webhook", "add", "--db", db, "--site", "ledger"}, tc.args...), io.Discard, io.Discard)
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("webhook add %v = %v, want a usage error saying %q", tc.args, err, tc.says)
		}
	}
	if err := run(ctx, []string{"webhook", "add", "--db", db, "--site", "nope", "--url", "https://hooks.example/in"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "no site") {
		t.Errorf("webhook on a missing site = %v", err)
	}

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"webhook", "add", "--db", db, "--site", "ledger", "--url", "http://127.0.0.1:9000/hooks", "--events", "comment.created,comment.approved",
		"--webhook-allow", "127.0.0.1"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	secret := lines[len(lines)-1]
	if !strings.HasPrefix(secret, "whsec_") || len(secret) < 40 || !strings.Contains(errOut.String(), "not shown again") {
		t.Fatalf("add printed:\n%s\n(stderr: %s)", out.String(), errOut.String())
	}
	out.Reset()
	if err := run(ctx, []string{"webhook", "list", "--db", db, "--json"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var list []struct {
		ID, Site, URL string
		Events        []string
	}
	if err := json.Unmarshal(out.Bytes(), &list); err != nil || len(list) != 1 || list[0].Site != "ledger" || len(list[0].Events) != 2 || strings.Contains(out.String(), "whsec_") {
		t.Fatalf("list = %s (%v)", out.String(), err)
	}
	out.Reset()
	if err := run(ctx, []string{"webhook", "list", "--db", db, "--site", "ledger"}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "http://127.0.0.1:9000/hooks") {
		t.Fatalf("list (table) = %v\n%s", err, out.String())
	}
	if err := run(ctx, []string{"webhook", "remove", "--db", db, "--site", "ledger", "nosuch"}, io.Discard, io.Discard); err == nil {
		t.Error("removing a missing webhook succeeded")
	}
	if err := run(ctx, []string{"webhook", "remove", "--db", db, "--site", "ledger", list[0].ID}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	run(ctx, []string{"webhook", "list", "--db", db, "--json"}, &out, io.Discard)
	if strings.TrimSpace(out.String()) != "[]" {
		t.Fatalf("after remove: %s", out.String())
	}
	// Every change is in the audit log, as the operator's.
	out.Reset()
	if err := run(ctx, []string{"audit", "--db", db, "--site", "ledger"}, &out, io.Discard); err != nil || strings.Count(out.String(), "webhook.") != 2 {
		t.Fatalf("audit = %v\n%s", err, out.String())
	}
}
