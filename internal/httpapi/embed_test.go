package httpapi

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/service"
	"parley/internal/widget"
)

// lockedBuffer is a log the server writes from its handlers' goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRefusedEmbedding: a page on an origin its site does not allow, and
// one naming a site that does not exist, get error answers their script
// can read (CORS headers), with codes the widget tells apart; the server
// logs each refusal once per origin (and hour), with the command that
// fixes it.
func TestRefusedEmbedding(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	svc, err := service.New(ctx, st, service.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.CreateSite(ctx, service.OperatorActor(), &comment.Site{ID: "ledger", Name: "Ledger", Origins: []string{origin}}); err != nil {
		t.Fatal(err)
	}
	assets, err := widget.New()
	if err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	api := New(svc, assets, slog.New(slog.NewTextHandler(&log, nil)), Config{})
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(func() { srv.Close(); st.Close() })
	ts := &testServer{srv, svc, st}

	const stranger = "https://x.example"
	for i := 0; i < 3; i++ {
		resp, body := ts.do(t, "GET", "/api/v1/sites/ledger/comments?page=p", nil, map[string]string{"Origin": stranger})
		if e := decode[apiErr](t, body); resp.StatusCode != 403 || e.Error.Code != "origin_not_allowed" || resp.Header.Get("Access-Control-Allow-Origin") != stranger ||
			e.Hint != "Parley: origin https://x.example is not allowed for site 'ledger': parley site set --id ledger --add-origin https://x.example" {
			t.Fatalf("wrong origin = %d %s %v", resp.StatusCode, body, resp.Header)
		}
		resp, body = ts.do(t, "GET", "/api/v1/sites/ledgr/comments?page=p", nil, map[string]string{"Origin": origin})
		if e := decode[apiErr](t, body); resp.StatusCode != 404 || e.Error.Code != "unknown_site" || resp.Header.Get("Access-Control-Allow-Origin") != origin ||
			!strings.HasPrefix(e.Hint, "Parley: there is no site 'ledgr' on http://127.0.0.1:") || !strings.HasSuffix(e.Hint, "parley site add --id ledgr --origin "+origin) {
			t.Fatalf("unknown site = %d %s %v", resp.StatusCode, body, resp.Header)
		}
	}
	// The reader's words, in their language.
	_, body := ts.do(t, "GET", "/api/v1/sites/ledger/comments?page=p", nil, map[string]string{"Origin": stranger, "Accept-Language": "de"})
	if e := decode[apiErr](t, body); e.Error.Message != "Diese Website nimmt von dieser Seite keine Anfragen an." {
		t.Errorf("German refusal %q", e.Error.Message)
	}
	// The allowed origin is still served, and is not logged.
	if resp, _ := ts.do(t, "GET", "/api/v1/sites/ledger/comments?page=p", nil, map[string]string{"Origin": origin}); resp.StatusCode != 200 {
		t.Fatalf("allowed origin = %d", resp.StatusCode)
	}
	out := log.String()
	if n := strings.Count(out, "origin the site does not allow"); n != 1 {
		t.Errorf("wrong-origin refusal logged %d times:\n%s", n, out)
	}
	if !strings.Contains(out, `fix="parley site set --id ledger --add-origin https://x.example"`) {
		t.Errorf("the log does not say how to fix it:\n%s", out)
	}
	if n := strings.Count(out, "site that does not exist"); n != 1 || !strings.Contains(out, "site=ledgr") {
		t.Errorf("unknown-site refusal logged %d times:\n%s", n, out)
	}
	// Another origin is reported on its own; the same one again an hour on.
	var l refusalLog
	now := time.Now()
	if !l.first("ledger https://a", now) || l.first("ledger https://a", now.Add(59*time.Minute)) || !l.first("ledger https://b", now) || !l.first("ledger https://a", now.Add(61*time.Minute)) {
		t.Error("refusals are not logged once per origin and hour")
	}
}
