package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/outbox"
	"parley/internal/store"
	"parley/internal/store/sqlite"
)

// refusing is a mail server that refuses every recipient, quoting the
// address, as real ones do; a webhook receiver's reply rides along.
type refusing struct{}

func (refusing) Send(context.Context, *store.Message) outbox.Result {
	return outbox.Result{Err: errors.New("smtp: rcpt to: 550 5.1.1 <amal.refused@example.org>: Recipient address rejected"),
		Detail: "receiver said: comment Leaktest text", Permanent: true}
}
func (refusing) Timeout() time.Duration { return time.Second }

type noExpand struct{}

func (noExpand) Expand(context.Context, []*store.Message) ([]*store.Message, error) { return nil, nil }

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

// TestWorker_LogsNoAddress: a refused message's error is kept whole in
// the delivery log, but the server's log gets it without the address or
// what the other side replied.
func TestWorker_LogsNoAddress(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "o.db"), sqlite.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateSite(ctx, &comment.Site{ID: "news", Name: "News", Origins: []string{"https://news.example"}, MaxDepth: 5}, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := st.Enqueue(ctx, &store.Message{Key: "m1", Kind: store.KindEmail, Stream: "e:amal", SiteID: "news", Target: "amal.refused@example.org",
		Payload: "{}", Created: now, Deadline: now.Add(time.Hour)}, nil); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	w, err := outbox.New(outbox.Config{Store: st, Expander: noExpand{}, Senders: map[string]outbox.Sender{store.KindEmail: refusing{}},
		Poll: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(runCtx) }()
	var failed []*store.Message
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if failed, _, err = st.Messages(ctx, store.MessageFilter{SiteID: "news", State: store.StateFailed}); err == nil && len(failed) == 1 {
			break
		}
	}
	stop()
	<-done
	if len(failed) != 1 || !strings.Contains(failed[0].LastError, "amal.refused@example.org") || !strings.Contains(failed[0].LastError, "receiver said") {
		t.Fatalf("delivery log = %+v, want the whole error", failed)
	}
	log := logs.String()
	if !strings.Contains(log, "outbox message given up") || !strings.Contains(log, "<[email]>") {
		t.Fatalf("the log does not tell the failure:\n%s", log)
	}
	for _, leak := range []string{"amal.refused", "Leaktest", "receiver said"} {
		if strings.Contains(log, leak) {
			t.Errorf("the log holds %q:\n%s", leak, log)
		}
	}
}
