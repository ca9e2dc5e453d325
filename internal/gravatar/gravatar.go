// Package gravatar finds guests' pictures at a Gravatar-compatible service
// (Gravatar itself, or Libravatar and its self-hosted mirrors) from
// Parley's server, and keeps them in the store, so that a reader's browser
// loads every avatar from Parley and the service never learns who reads
// what. A guest without a picture there keeps their identicon.
//
// The service is asked for
//
//	BASE + hex(SHA-256(lower-case, trimmed address)) + "?s=80&d=404"
//
// as https://docs.gravatar.com/api/avatars/images/ describes: d=404 makes
// it answer 404 for an address without a picture, rather than send a
// default image.
package gravatar

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"parley/internal/auth"
	"parley/internal/comment"
	"parley/internal/safehttp"
	"parley/internal/store"
)

// Refresh is how long a found picture, or the service's answer that there
// is none, is kept before the service is asked again.
const Refresh = 7 * 24 * time.Hour

// Size is the edge in pixels of the pictures Parley asks for: twice the
// 40-pixel avatar of the comment section, for sharp high-density screens.
const Size = 80

// Store keeps the pictures: store.Store does.
type Store interface {
	Avatar(ctx context.Context, key string) (*store.Avatar, error)
	SaveAvatar(ctx context.Context, a *store.Avatar) error
}

// Config configures a Finder. URL and Store are required.
type Config struct {
	// URL is the service's avatar address, to which the hash is added,
	// e.g. "https://gravatar.com/avatar/" or
	// "https://seccdn.libravatar.org/avatar/".
	URL   string
	Store Store
	// Fetcher fetches the pictures; it checks what comes back is an
	// image. By default it connects to public addresses only, unless the
	// service itself is on a private network (a self-hosted Libravatar),
	// which the operator chose; a public service's redirects can then
	// never lead into that network.
	Fetcher *auth.AvatarFetcher
	Logger  *slog.Logger
	Now     func() time.Time
	// Queue is how many lookups may wait (1,000 if zero); more are
	// dropped, and asked for again the next time that guest comments.
	Queue int
}

// Finder looks up pictures, one at a time in the background (Want and
// Run) or at once (Find).
type Finder struct {
	base    string
	store   Store
	fetcher *auth.AvatarFetcher
	log     *slog.Logger
	now     func() time.Time
	queue   chan job

	mu      sync.Mutex
	waiting map[string]bool // keys queued, so a busy thread queues each once
}

type job struct{ key, email string }

// New checks c and returns a Finder.
func New(c Config) (*Finder, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("gravatar: the service URL must be an absolute http(s) URL without query, such as https://gravatar.com/avatar/ (got %q)", c.URL)
	}
	if c.Store == nil {
		return nil, errors.New("gravatar: a store is required")
	}
	f := &Finder{base: c.URL, store: c.Store, fetcher: c.Fetcher, log: c.Logger, now: c.Now, waiting: map[string]bool{}}
	if !strings.HasSuffix(f.base, "/") {
		f.base += "/"
	}
	if f.fetcher == nil {
		f.fetcher = &auth.AvatarFetcher{AllowPrivate: privateHost(u.Hostname())}
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.now == nil {
		f.now = time.Now
	}
	n := c.Queue
	if n <= 0 {
		n = 1000
	}
	f.queue = make(chan job, n)
	return f, nil
}

// URL returns the address the service is asked for email's picture at.
func (f *Finder) URL(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return f.base + hex.EncodeToString(sum[:]) + fmt.Sprintf("?s=%d&d=404", Size)
}

// Want asks for email's picture to be kept under key, in the background.
// It never blocks: when the queue is full the wish is dropped.
func (f *Finder) Want(key, email string) {
	if email == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.waiting[key] {
		return
	}
	select {
	case f.queue <- job{key, email}:
		f.waiting[key] = true
	default:
		f.log.Debug("avatar lookups are backed up; one dropped")
	}
}

// Run looks up the wanted pictures until ctx ends.
func (f *Finder) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-f.queue:
			if _, err := f.Find(ctx, j.key, j.email); err != nil && ctx.Err() == nil {
				f.log.Warn("could not look up a guest's picture", "service", f.base, "err", err)
			}
			f.mu.Lock()
			delete(f.waiting, j.key)
			f.mu.Unlock()
		}
	}
}

// Find looks up email's picture now and keeps it under key; an answer
// kept less than Refresh ago is not asked for again. It reports whether
// there is a picture. An address without one is kept as such (an avatar
// with no data), so its identicon is served without asking each time.
func (f *Finder) Find(ctx context.Context, key, email string) (bool, error) {
	if a, err := f.store.Avatar(ctx, key); err == nil && f.now().Sub(a.Updated) < Refresh {
		return len(a.Data) > 0, nil
	} else if err != nil && !errors.Is(err, comment.ErrNotFound) {
		return false, err
	}
	data, typ, err := f.fetcher.Fetch(ctx, f.URL(email))
	switch {
	case errors.Is(err, auth.ErrNoAvatar):
		data, typ = []byte{}, ""
	case err != nil:
		return false, err
	}
	if err := f.store.SaveAvatar(ctx, &store.Avatar{Key: key, ContentType: typ, Data: data, Updated: f.now().UTC()}); err != nil {
		return false, err
	}
	return len(data) > 0, nil
}

// privateHost reports whether host is, or resolves only to, addresses
// that are not public (loopback, private, link-local…).
func privateHost(host string) bool {
	if a, err := netip.ParseAddr(host); err == nil {
		return !safehttp.PublicAddr(a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return false
	}
	for _, a := range addrs {
		if safehttp.PublicAddr(a) {
			return false
		}
	}
	return true
}
