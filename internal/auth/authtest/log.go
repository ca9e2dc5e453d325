package authtest

import (
	"strings"
	"sync"
	"testing"
)

// tbLog sends a server's log to the test log, and drops it once the
// test is over: testing panics on a Log after the test has finished, and
// a server's goroutines can outlive it by a moment.
type tbLog struct {
	tb     testing.TB
	prefix string

	mu   sync.Mutex
	done bool
}

// Printf and Println make tbLog a go-smtp Logger.
func (l *tbLog) Printf(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.tb.Logf(l.prefix+format, v...)
	}
}

func (l *tbLog) Println(v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.tb.Log(append([]any{strings.TrimSpace(l.prefix)}, v...)...)
	}
}

// Write makes tbLog an io.Writer for a slog handler, which writes one
// record per call.
func (l *tbLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.tb.Log(l.prefix + strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (l *tbLog) stop() {
	l.mu.Lock()
	l.done = true
	l.mu.Unlock()
}
