package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSiteIPRetention: site set --ip-retention sets a site's own period
// (0 goes back to the server's), site list shows it, and periods out of
// range are refused, by site set and by serve and its variable.
func TestSiteIPRetention(t *testing.T) {
	db := filepath.Join(t.TempDir(), "r.db")
	ctx := context.Background()
	if err := run(ctx, []string{"site", "add", "--db", db, "--id", "news", "--origin", "https://news.example"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"site", "set", "--db", db, "--id", "news", "--ip-retention", "48h"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	st, err := openStore(ctx, dbOptions{dsn: db})
	if err != nil {
		t.Fatal(err)
	}
	site, _ := st.Site(ctx, "news")
	st.Close()
	if site.IPRetention != 48*time.Hour {
		t.Fatalf("IPRetention = %v, want 48h", site.IPRetention)
	}
	var out bytes.Buffer
	run(ctx, []string{"site", "list", "--db", db}, &out, io.Discard)
	if !strings.Contains(out.String(), "IP RETENTION") || !strings.Contains(out.String(), "48h0m0s") {
		t.Errorf("site list:\n%s", out.String())
	}
	var ue usageError
	for _, args := range [][]string{
		{"site", "set", "--db", db, "--id", "news", "--ip-retention", "30m"},
		{"site", "set", "--db", db, "--id", "news", "--ip-retention", "-1h"},
		{"serve", "--db", db, "--addr", "127.0.0.1:0", "--ip-retention", "10m"},
		{"serve", "--db", db, "--addr", "127.0.0.1:0", "--ip-retention", "monthly"},
	} {
		if err := run(ctx, args, io.Discard, io.Discard); !errors.As(err, &ue) {
			t.Errorf("parley %s = %v, want a usage error", strings.Join(args, " "), err)
		}
	}
	t.Setenv("PARLEY_IP_RETENTION", "forever")
	if err := run(ctx, []string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "PARLEY_IP_RETENTION") {
		t.Errorf("serve with PARLEY_IP_RETENTION=forever = %v, want an error naming the variable", err)
	}
	if err := run(ctx, []string{"site", "set", "--db", db, "--id", "news", "--ip-retention", "0"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	st, _ = openStore(ctx, dbOptions{dsn: db})
	defer st.Close()
	if site, _ = st.Site(ctx, "news"); site.IPRetention != 0 {
		t.Fatalf("IPRetention = %v after 0, want the server's (0)", site.IPRetention)
	}
}
