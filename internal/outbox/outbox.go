// Package outbox sends what Parley has to say to the outside world —
// emails and webhooks — from a table in its database, so nothing is lost
// to a crash, an outage or a restart.
//
// Every change that causes messages writes an event to the outbox in its
// own transaction (package store). The Worker here, running in every
// instance:
//
//   - fans events out into messages (an Expander decides who gets what),
//     one instance at a time, under a lease; each message has a key, so
//     doing it twice adds nothing;
//   - claims due messages (on PostgreSQL with FOR UPDATE SKIP LOCKED: with
//     several instances each message is leased to exactly one) and hands
//     each to the Sender of its kind;
//   - retries a failed message with exponential backoff and full jitter,
//     across restarts (the lease of a crashed instance runs out and another
//     takes the message over), and gives it up at its deadline, where the
//     desk shows it;
//   - sends the messages of one recipient (a stream) one at a time, in
//     order; a Sender may gather a stream's waiting messages into one
//     digest, or ask to wait (per-recipient throttling).
//
// Emails are sent once: a message is settled in the same transaction
// that records its sending. (One gap is left, as in any SMTP client: a
// crash after the server accepted an email and before that transaction
// commits sends it again, with the same Message-ID.) Webhooks are sent at
// least once, with the same webhook-id every time, for receivers to drop
// repeats.
package outbox

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"parley/internal/redact"
	"parley/internal/store"
)

// Store is what the worker needs of the store.
type Store interface {
	PendingEvents(ctx context.Context, limit int) ([]*store.Message, error)
	ExpandEvents(ctx context.Context, done []int64, msgs []*store.Message) (int, error)
	TakeLock(ctx context.Context, name, owner string, now, until time.Time) (bool, error)
	ClaimMessages(ctx context.Context, owner string, now, until time.Time, limit int) ([]*store.Message, error)
	FinishNext(ctx context.Context, owner string, head int64, with []store.Settled, o store.Outcome, now, leaseUntil time.Time) (*store.Message, error)
	PruneOutbox(ctx context.Context, before time.Time) (int, error)
}

// Expander turns events into the messages they cause.
type Expander interface {
	Expand(ctx context.Context, events []*store.Message) ([]*store.Message, error)
}

// Sender delivers the messages of one kind.
type Sender interface {
	// Send delivers head, a stream's oldest pending message, which the
	// caller holds a lease on, and says what became of it.
	Send(ctx context.Context, head *store.Message) Result
	// Timeout bounds one Send; the lease outlasts it.
	Timeout() time.Duration
}

// Result is what became of a Send.
type Result struct {
	// Err says the attempt failed; it is retried with backoff until the
	// message's deadline, unless Permanent.
	Err error
	// Detail is what the other side said about the failure (a webhook
	// receiver's reply): kept with Err in the delivery log for the desk,
	// never written to the server's log, as it may quote anything.
	Detail string
	// Permanent: trying again cannot help (a refused address, a receiver
	// that says the endpoint is gone); the message is given up now.
	Permanent bool
	// Transport: the failure is the server's or network's, not this
	// message's (SMTP unreachable): every message of the kind waits a
	// while, rather than each trying on its own.
	Transport bool
	// Drop: the message is no longer wanted (unsubscribed, comment
	// removed, webhook deleted).
	Drop bool
	// Wait, if set, asks to try again then, without counting an attempt
	// (a digest waiting for its interval).
	Wait time.Time
	// With are the stream's other messages the Send settled (sent in the
	// same digest, or found unwanted).
	With []store.Settled
	// Status is the receiver's answer (an HTTP status), Took how long it
	// took.
	Status int
	Took   time.Duration
}

// Config configures a Worker. Store, Expander and Senders are required.
type Config struct {
	Store    Store
	Expander Expander
	// Senders deliver the messages, by kind (store.KindEmail,
	// store.KindWebhook).
	Senders map[string]Sender
	// Workers is how many messages are sent at once (16 if zero).
	Workers int
	// Poll is how often the outbox is looked at when idle (250 ms if
	// zero); a worker that finishes a message looks again at once.
	Poll time.Duration
	// RetryMin and RetryMax bound the backoff: the n-th retry waits a
	// random time between half and all of min(RetryMax, RetryMin·2^(n-1)).
	// 5 s and 30 min if zero.
	RetryMin, RetryMax time.Duration
	// Keep is how long settled messages stay for the desk's delivery log
	// (30 days if zero). Negative: the worker prunes nothing, as another
	// job does (parley serve runs package retention's).
	Keep time.Duration
	// Prune, if set, is called with the prune of settled messages
	// (hourly): what else the messages' owner keeps for a while.
	Prune  func(ctx context.Context, now time.Time) error
	Logger *slog.Logger
	Now    func() time.Time
}

// Defaults of Config.
const (
	DefaultWorkers  = 16
	DefaultPoll     = 250 * time.Millisecond
	DefaultRetryMin = 5 * time.Second
	DefaultRetryMax = 30 * time.Minute
	DefaultKeep     = 30 * 24 * time.Hour
	// leaseMargin is how much longer than a Send's timeout a lease runs.
	leaseMargin = 15 * time.Second
	// fanoutBatch is how many events one fan-out step takes.
	fanoutBatch = 500
	// fanoutLease is how long one instance does the fan-out before it must
	// renew: short, so that when an instance dies another takes over soon.
	fanoutLease = 10 * time.Second
)

// Worker runs the outbox.
type Worker struct {
	c     Config
	owner string
	log   *slog.Logger
	now   func() time.Time
	wake  chan struct{}

	// fanoutUntil is when this instance's fan-out lease ends, and
	// fanoutRetry when to ask again for one another instance holds (only
	// Run reads and writes them).
	fanoutUntil, fanoutRetry time.Time

	mu     sync.Mutex
	paused map[string]time.Time // kind -> until, after transport failures
	fails  map[string]int       // kind -> transport failures in a row
}

// New checks c and returns a Worker.
func New(c Config) (*Worker, error) {
	if c.Store == nil || c.Expander == nil || len(c.Senders) == 0 {
		return nil, errors.New("outbox: a store, an expander and senders are required")
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.Poll <= 0 {
		c.Poll = DefaultPoll
	}
	if c.RetryMin <= 0 {
		c.RetryMin = DefaultRetryMin
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = max(DefaultRetryMax, c.RetryMin)
	}
	if c.Keep == 0 {
		c.Keep = DefaultKeep
	}
	var b [8]byte
	crand.Read(b[:])
	w := &Worker{c: c, owner: hex.EncodeToString(b[:]), log: c.Logger, now: c.Now, wake: make(chan struct{}, 1),
		paused: map[string]time.Time{}, fails: map[string]int{}}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.now == nil {
		w.now = time.Now
	}
	return w, nil
}

// Wake asks the worker to look at the outbox now (after a write that
// enqueued something), instead of at its next poll.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Backoff returns how long the n-th retry (n ≥ 1) waits: a random time
// between half and all of min(max, min·2^(n-1)) ("equal jitter"), so
// that messages failing together do not come back together.
func Backoff(n int, minWait, maxWait time.Duration) time.Duration {
	d := minWait
	for i := 1; i < n && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	return d/2 + rand.N(d/2+1)
}

// Run works until ctx ends, then waits for the sends under way (each
// bounded by its Sender's timeout) and returns.
func (w *Worker) Run(ctx context.Context) {
	slots := make(chan struct{}, w.c.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	timer := time.NewTimer(0)
	defer timer.Stop()
	w.prune(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-prune.C:
			w.prune(ctx)
			continue
		case <-timer.C:
		case <-w.wake:
		}
		busy := w.fanout(ctx)
		free := w.c.Workers - len(slots)
		if free > 0 {
			msgs, err := w.claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				w.log.Warn("could not claim outbox messages", slog.String("err", err.Error()))
			}
			for _, m := range msgs {
				slots <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-slots; w.Wake() }()
					// A send under way finishes when the worker stops (each
					// within its timeout); the stream's next one waits.
					for m != nil {
						m = w.send(context.WithoutCancel(ctx), m, ctx.Err() == nil)
					}
				}()
			}
			busy = busy || len(msgs) == free
		}
		next := w.c.Poll
		if busy {
			next = 0
		}
		timer.Reset(next)
	}
}

// fanout expands a batch of events if this instance holds the fan-out
// lease, and reports whether more may be waiting.
func (w *Worker) fanout(ctx context.Context) bool {
	now := w.now()
	if now.After(w.fanoutUntil.Add(-fanoutLease / 2)) {
		// Renewed half-way, so a busy outbox is not a write per look;
		// another instance's lease is asked for again a little later (it
		// runs out soon after that instance stops).
		if now.Before(w.fanoutRetry) {
			return false
		}
		ok, err := w.c.Store.TakeLock(ctx, "fanout", w.owner, now, now.Add(fanoutLease))
		if err != nil || !ok {
			if err != nil && ctx.Err() == nil {
				w.log.Warn("could not take the outbox fan-out lease", slog.String("err", err.Error()))
			}
			w.fanoutRetry = now.Add(fanoutLease / 4)
			return false
		}
		w.fanoutUntil = now.Add(fanoutLease)
	}
	events, err := w.c.Store.PendingEvents(ctx, fanoutBatch)
	if err != nil || len(events) == 0 {
		if err != nil && ctx.Err() == nil {
			w.log.Warn("could not read outbox events", slog.String("err", err.Error()))
		}
		return false
	}
	msgs, err := w.c.Expander.Expand(ctx, events)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("could not fan out outbox events", slog.String("err", err.Error()))
		}
		return false
	}
	done := make([]int64, len(events))
	for i, e := range events {
		done[i] = e.ID
	}
	added, err := w.c.Store.ExpandEvents(ctx, done, msgs)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("could not write fanned-out messages", slog.String("err", err.Error()))
		}
		return false
	}
	w.log.Debug("outbox events fanned out", slog.Int("events", len(events)), slog.Int("messages", added))
	return len(events) == fanoutBatch || added > 0
}

// claim leases up to n due messages of kinds not paused.
func (w *Worker) claim(ctx context.Context, n int) ([]*store.Message, error) {
	now := w.now()
	msgs, err := w.c.Store.ClaimMessages(ctx, w.owner, now, now.Add(w.lease()), n)
	if err != nil {
		return nil, err
	}
	// Messages of a paused kind go back until the pause ends.
	kept := msgs[:0]
	for _, m := range msgs {
		if until, ok := w.pausedUntil(m.Kind, now); ok {
			w.finish(ctx, m, nil, store.Outcome{NextAt: until}, false)
			continue
		}
		kept = append(kept, m)
	}
	return kept, nil
}

func (w *Worker) pausedUntil(kind string, now time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	until, ok := w.paused[kind]
	return until, ok && now.Before(until)
}

// lease is how long a claimed message is this instance's: longer than
// the slowest sender's timeout.
func (w *Worker) lease() time.Duration {
	var lease time.Duration
	for _, s := range w.c.Senders {
		lease = max(lease, s.Timeout())
	}
	return lease + leaseMargin
}

// send hands m to its sender and records the outcome. With more, it
// takes the stream's next message along and returns it, to be sent next
// by the same goroutine.
func (w *Worker) send(ctx context.Context, m *store.Message, more bool) *store.Message {
	s, ok := w.c.Senders[m.Kind]
	if !ok {
		return w.finish(ctx, m, nil, store.Outcome{State: store.StateFailed, Attempted: true, Error: "no sender for messages of kind " + m.Kind}, more)
	}
	sctx, cancel := context.WithTimeout(ctx, s.Timeout())
	res := s.Send(sctx, m)
	cancel()
	now := w.now()
	o := store.Outcome{Status: res.Status, Took: res.Took}
	var with []store.Settled
	switch {
	case res.Drop:
		o.State, o.Attempted = store.StateDropped, false
		with = res.With
	case !res.Wait.IsZero():
		o.NextAt = res.Wait
	case res.Err == nil:
		o.State, o.Attempted = store.StateSent, true
		with = res.With
		w.recovered(m.Kind)
	default:
		o.Attempted, o.Error = true, res.Err.Error()
		if res.Detail != "" {
			o.Error += ": " + res.Detail
		}
		// Mail servers' errors quote the address they refused: the log
		// gets the error without it (the delivery log keeps it whole).
		logErr := redact.Emails(res.Err.Error())
		switch {
		case res.Permanent || !now.Before(m.Deadline):
			o.State = store.StateFailed
			w.log.Warn("outbox message given up", slog.Int64("id", m.ID), slog.String("kind", m.Kind), slog.String("site", m.SiteID),
				slog.Int("attempts", m.Attempts+1), slog.String("err", logErr))
		default:
			o.NextAt = now.Add(Backoff(m.Attempts+1, w.c.RetryMin, w.c.RetryMax))
			if res.Transport {
				o.NextAt = w.pause(m.Kind, now)
			}
			w.log.Debug("outbox message will be tried again", slog.Int64("id", m.ID), slog.String("kind", m.Kind),
				slog.Time("at", o.NextAt), slog.String("err", logErr))
		}
	}
	if _, paused := w.pausedUntil(m.Kind, now); paused {
		more = false
	}
	return w.finish(ctx, m, with, o, more)
}

// pause stops sending messages of kind for a backoff that grows with
// each transport failure in a row, and returns when it ends.
func (w *Worker) pause(kind string, now time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if until, ok := w.paused[kind]; ok && now.Before(until) {
		return until
	}
	w.fails[kind]++
	until := now.Add(Backoff(w.fails[kind], w.c.RetryMin, w.c.RetryMax))
	w.paused[kind] = until
	w.log.Warn("outbox paused: the transport is failing", slog.String("kind", kind), slog.Int("failures", w.fails[kind]), slog.Time("until", until))
	return until
}

// recovered ends a kind's run of transport failures.
func (w *Worker) recovered(kind string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fails[kind] > 0 {
		w.log.Info("outbox transport works again", slog.String("kind", kind))
	}
	delete(w.fails, kind)
	delete(w.paused, kind)
}

// finish records an outcome and, with more, leases the stream's next
// message and returns it. A failure to record the outcome leaves the
// lease to run out, and the message is taken up again then.
func (w *Worker) finish(ctx context.Context, m *store.Message, with []store.Settled, o store.Outcome, more bool) *store.Message {
	now := w.now()
	var until time.Time
	if more {
		until = now.Add(w.lease())
	}
	next, err := w.c.Store.FinishNext(ctx, w.owner, m.ID, with, o, now, until)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("could not record an outbox message's outcome", slog.Int64("id", m.ID), slog.String("err", err.Error()))
		}
		return nil
	}
	return next
}

// prune deletes settled messages older than Keep.
func (w *Worker) prune(ctx context.Context) {
	if w.c.Keep < 0 {
		return
	}
	n, err := w.c.Store.PruneOutbox(ctx, w.now().Add(-w.c.Keep))
	if err != nil && ctx.Err() == nil {
		w.log.Warn("could not prune the outbox", slog.String("err", err.Error()))
	} else if n > 0 {
		w.log.Debug("outbox pruned", slog.Int("messages", n))
	}
	if w.c.Prune != nil {
		if err := w.c.Prune(ctx, w.now()); err != nil && ctx.Err() == nil {
			w.log.Warn("could not prune", slog.String("err", err.Error()))
		}
	}
}
