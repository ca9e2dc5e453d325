package httpapi

import (
	"sync"
	"time"
	"unsafe"

	"parley/internal/comment"
	"parley/internal/gzjoin"
	"parley/internal/service"
	"parley/internal/widget"
)

// htmlCache keeps the server-rendered threads of recently read pages,
// rendered once for all their readers (widget.Cached), one entry per
// thread, order, base URL, language, page address and title. Like
// jsonCache, an entry is valid for exactly one *service.Thread and one
// *comment.Site, which the service replaces on every change.
//
// The page address and title come from the request, so the cache is
// bounded by bytes as well as entries: an entry is as large as its thread.
type htmlCache struct {
	mu       sync.Mutex
	max      int // entries
	maxBytes int
	bytes    int
	entries  map[htmlKey]*htmlEntry
}

type htmlKey struct {
	site, key, sort, base, lang, pageURL, title string
}

type htmlEntry struct {
	cache *htmlCache
	key   htmlKey
	t     *service.Thread
	site  *comment.Site
	once  sync.Once // the first reader renders; the others wait for it
	size  int       // counted in htmlCache.bytes once rendered
	page  *widget.Cached
	// names are the comments' authors by id, for ?replytocom.
	names map[string]string
	err   error

	// gz are the page's shared parts compressed, each once (gzipParts).
	gzMu sync.Mutex
	gz   map[partKey]*gzPart
}

// partKey names a part of a cached page by where its bytes are: a
// widget.Cached's shared parts keep theirs for as long as it lives.
type partKey struct {
	at *byte
	n  int
}

// gzPart is a shared part compressed once.
type gzPart struct {
	once sync.Once
	part gzjoin.Part
}

// maxGzipParts bounds htmlEntry.gz: the parts of a page are a few dozen,
// but each held comment shown on it (and the two sides of top around it)
// adds three; past it the map starts again.
const maxGzipParts = 256

// gzipParts returns the page for reader as gzip parts (gzjoin): the
// shared parts compressed the first time they are asked for and kept,
// the reader's own always stored as they are. A token is random, so
// compressing it would gain nothing; and compressing a reader's secrets
// (the token, a guest's saved address) in one run with what the request
// chose (the title, the page address) would let another site that sends
// the reader here with chosen values guess them from the length (BREACH).
// The few logged-in readers' forms, rendered for them, go stored too.
func (e *htmlEntry) gzipParts(reader widget.Reader, isolated bool) ([]gzjoin.Part, error) {
	parts := make([]gzjoin.Part, 0, 16)
	err := e.page.Parts(reader, isolated, func(b []byte, shared bool) {
		switch {
		case len(b) == 0:
		case !shared || len(b) < 64: // a few bytes gain less than a compressed part's framing
			parts = append(parts, gzjoin.Stored(b))
		default:
			parts = append(parts, e.gzipShared(b))
		}
	})
	return parts, err
}

// gzipShared returns a shared part compressed, compressing it the first
// time; readers asking meanwhile wait for it rather than compress it too
// (a new comment sends every open page's reader to a new version).
func (e *htmlEntry) gzipShared(b []byte) gzjoin.Part {
	k := partKey{unsafe.SliceData(b), len(b)}
	e.gzMu.Lock()
	p, ok := e.gz[k]
	if !ok {
		if e.gz == nil || len(e.gz) >= maxGzipParts {
			e.gz = map[partKey]*gzPart{}
		}
		p = &gzPart{}
		e.gz[k] = p
	}
	e.gzMu.Unlock()
	p.once.Do(func() {
		p.part = gzjoin.Compress(b, gzipLevel)
		e.cache.grew(e, p.part.Size())
	})
	return p.part
}

func newHTMLCache(max, maxBytes int) *htmlCache {
	return &htmlCache{max: max, maxBytes: maxBytes, entries: map[htmlKey]*htmlEntry{}}
}

// get returns the page of k rendered from t and site, rendering it with
// build unless a reader already has.
func (c *htmlCache) get(k htmlKey, t *service.Thread, site *comment.Site, build func() (*widget.Cached, map[string]string, error)) (*htmlEntry, error) {
	c.mu.Lock()
	e, ok := c.entries[k]
	if !ok || e.t != t || e.site != site {
		if ok {
			c.bytes -= e.size
		}
		e = &htmlEntry{cache: c, key: k, t: t, site: site}
		c.entries[k] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		e.page, e.names, e.err = build()
		if e.err != nil {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.entries[k] != e {
			return // replaced meanwhile
		}
		e.size = e.page.Size()
		c.bytes += e.size
		// Evict arbitrary other entries until both bounds hold.
		for ek, old := range c.entries {
			if len(c.entries) <= c.max && c.bytes <= c.maxBytes {
				break
			}
			if old != e {
				c.bytes -= old.size
				delete(c.entries, ek)
			}
		}
	})
	if e.err != nil {
		c.mu.Lock()
		c.bytes -= e.size
		if c.entries[k] == e {
			delete(c.entries, k) // try again next time
		}
		c.mu.Unlock()
		return nil, e.err
	}
	return e, nil
}

// grew counts n more bytes kept by e (its compressed parts), if e is
// still c's and rendered; the next page rendered evicts to make room.
func (c *htmlCache) grew(e *htmlEntry, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[e.key] == e && e.size > 0 {
		e.size += n
		c.bytes += n
	}
}

// heldCache remembers for a moment the held comments readers come back to
// see (?parley_held), so that an author reloading the page, or a page
// that includes the thread for them, does not read the comment from the
// database every time. A moment is short enough that a moderator's
// decision reaches the author's view at once, as far as anyone can tell;
// an approved comment is in the next version of the thread anyway.
type heldCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	entries map[heldKey]heldEntry
}

type heldKey struct{ site, base, token string }

type heldEntry struct {
	c     *widget.CommentView // shared: read only
	until time.Time
}

func newHeldCache(ttl time.Duration, max int) *heldCache {
	return &heldCache{ttl: ttl, max: max, entries: map[heldKey]heldEntry{}}
}

// get returns the held comment k names, looking it up with find unless it
// was found less than ttl ago. Only comments found are remembered.
func (c *heldCache) get(k heldKey, find func() (*widget.CommentView, bool)) (*widget.CommentView, bool) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.c, true
	}
	cv, ok := find()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok {
		delete(c.entries, k)
		return nil, false
	}
	if len(c.entries) >= c.max {
		for ek, old := range c.entries {
			if now.After(old.until) || len(c.entries) >= c.max {
				delete(c.entries, ek)
			}
		}
	}
	c.entries[k] = heldEntry{c: cv, until: now.Add(c.ttl)}
	return cv, true
}
