// Package retention is the background job that forgets what Parley keeps
// only for a while: comments' address hashes and user agents after each
// site's period (reduced to the network's hash, which identifies nobody
// but still serves bans), readers' expired sessions and used log-in links
// and codes, desk sessions past their limits, settled outbox messages,
// and the live-update change log beyond what reconnecting pages need.
//
// When several instances share a PostgreSQL database the job runs on one
// of them at a time: each run first takes a lease (a row in outbox_locks,
// as the outbox's fan-out does) that the instance renews while it lives
// and that another takes over when it lapses.
package retention

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"parley/internal/comment"
	"parley/internal/outbox"
	"parley/internal/staff"
)

// Store is what the job forgets things in (store.Store has it all).
type Store interface {
	Sites(ctx context.Context) ([]*comment.Site, error)
	ReduceClientData(ctx context.Context, siteID string, before time.Time, batch int) (int, error)
	PruneAuth(ctx context.Context, before time.Time) (int, error)
	PruneStaffSessions(ctx context.Context, created, seen time.Time) (int, error)
	PruneOutbox(ctx context.Context, before time.Time) (int, error)
	PruneEvents(ctx context.Context, before time.Time) error
	TakeLock(ctx context.Context, name, owner string, now, until time.Time) (bool, error)
}

// Config is the job's configuration. Zero durations take the defaults.
type Config struct {
	Store Store
	// IPRetention is how long comments keep their address hash and user
	// agent on sites without a period of their own.
	IPRetention time.Duration // comment.DefaultIPRetention
	// OutboxKeep is how long sent, failed and dropped emails and webhook
	// deliveries stay for the desk's delivery log.
	OutboxKeep time.Duration // outbox.DefaultKeep
	// EventKeep is how long the change log keeps changes for pages that
	// reconnect.
	EventKeep time.Duration // DefaultEventKeep
	// Every is how often the job runs.
	Every time.Duration // DefaultEvery
	// Batch is how many comments one transaction changes (1000 if 0).
	Batch  int
	Logger *slog.Logger
	Now    func() time.Time // time.Now if nil; tests set a fake clock
}

// Defaults of Config.
const (
	DefaultEvery     = time.Hour
	DefaultEventKeep = 24 * time.Hour
	// LockName names the job's lease in the store.
	LockName = "retention"
)

// Job forgets, on a schedule.
type Job struct {
	c     Config
	owner string
	log   *slog.Logger
}

// Report says what one run forgot.
type Report struct {
	Comments      int // comments whose address hash and user agent were reduced
	Logins        int // expired reader sessions and used single-use keys
	StaffSessions int // desk sessions past their limits
	Outbox        int // settled outbox messages
}

// New returns a job with c's settings, the defaults filled in.
func New(c Config) *Job {
	if c.IPRetention <= 0 {
		c.IPRetention = comment.DefaultIPRetention
	}
	if c.OutboxKeep <= 0 {
		c.OutboxKeep = outbox.DefaultKeep
	}
	if c.EventKeep <= 0 {
		c.EventKeep = DefaultEventKeep
	}
	if c.Every <= 0 {
		c.Every = DefaultEvery
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := make([]byte, 8)
	rand.Read(b)
	return &Job{c: c, owner: hex.EncodeToString(b), log: log}
}

// Run runs the job every Every until ctx ends, whenever this instance
// holds the lease: at once, then on each tick.
func (j *Job) Run(ctx context.Context) {
	t := time.NewTicker(j.c.Every)
	defer t.Stop()
	for {
		if r, ran, err := j.RunIfLeader(ctx); err != nil && ctx.Err() == nil {
			j.log.Warn("retention job failed", slog.String("err", err.Error()))
		} else if ran {
			j.log.Debug("retention job ran", slog.Int("comments", r.Comments), slog.Int("logins", r.Logins),
				slog.Int("staff_sessions", r.StaffSessions), slog.Int("outbox", r.Outbox))
		}
		select {
		case <-ctx.Done():
			// Hand the lease back, so that a restarted or other instance
			// runs the job at once rather than when the lease lapses.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := j.Release(rctx); err != nil {
				j.log.Warn("could not hand back the retention job's lease", slog.String("err", err.Error()))
			}
			return
		case <-t.C:
		}
	}
}

// Release hands back the lease if this instance holds it.
func (j *Job) Release(ctx context.Context) error {
	now := j.c.Now()
	_, err := j.c.Store.TakeLock(ctx, LockName, j.owner, now, now.Add(-time.Nanosecond))
	return err
}

// RunIfLeader takes or renews the lease and, if this instance holds it,
// runs the job once. The lease lasts two periods, so another instance
// takes over within about two hours of this one stopping.
func (j *Job) RunIfLeader(ctx context.Context) (Report, bool, error) {
	now := j.c.Now()
	ok, err := j.c.Store.TakeLock(ctx, LockName, j.owner, now, now.Add(2*j.c.Every))
	if err != nil || !ok {
		return Report{}, false, err
	}
	r, err := j.RunOnce(ctx)
	return r, true, err
}

// RunOnce forgets everything that is due now, whoever holds the lease;
// every part runs even when another fails, and the errors are joined.
func (j *Job) RunOnce(ctx context.Context) (Report, error) {
	var r Report
	var errs []error
	now := j.c.Now()
	sites, err := j.c.Store.Sites(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("list sites: %w", err))
	}
	for _, site := range sites {
		n, err := j.c.Store.ReduceClientData(ctx, site.ID, now.Add(-site.KeepsClientData(j.c.IPRetention)), j.c.Batch)
		r.Comments += n
		if err != nil {
			errs = append(errs, fmt.Errorf("site %s: address hashes: %w", site.ID, err))
		}
	}
	if r.Logins, err = j.c.Store.PruneAuth(ctx, now); err != nil {
		errs = append(errs, fmt.Errorf("reader sessions: %w", err))
	}
	if r.StaffSessions, err = j.c.Store.PruneStaffSessions(ctx, now.Add(-staff.AbsoluteTimeout), now.Add(-staff.IdleTimeout)); err != nil {
		errs = append(errs, fmt.Errorf("desk sessions: %w", err))
	}
	if r.Outbox, err = j.c.Store.PruneOutbox(ctx, now.Add(-j.c.OutboxKeep)); err != nil {
		errs = append(errs, fmt.Errorf("outbox: %w", err))
	}
	if err := j.c.Store.PruneEvents(ctx, now.Add(-j.c.EventKeep)); err != nil {
		errs = append(errs, fmt.Errorf("change log: %w", err))
	}
	return r, errors.Join(errs...)
}
