package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/service"
)

// Feeds of a thread's latest comments (?page=KEY) and of a site's, as
// Atom 1.0 (RFC 4287) and RSS 2.0: published comments only, their HTML as
// it is stored (sanitised when written), newest first. Like the thread,
// they send an ETag and answer If-None-Match with 304.

func (s *Server) handleAtom(w http.ResponseWriter, r *http.Request) { s.handleFeed(w, r, "atom") }
func (s *Server) handleRSS(w http.ResponseWriter, r *http.Request)  { s.handleFeed(w, r, "rss") }

func (s *Server) handleFeed(w http.ResponseWriter, r *http.Request, format string) {
	q := r.URL.Query()
	key, lang := q.Get("page"), q.Get("lang")
	// The feed's own address, from the parameters that make it (so that a
	// cache-busting parameter neither changes the feed nor the cache key).
	self := s.baseURL(r) + r.URL.Path
	if canon := (url.Values{"page": nonEmpty(key), "lang": nonEmpty(lang)}).Encode(); canon != "" {
		self += "?" + canon
	}
	site := r.PathValue("site")
	body, err := s.feeds.get(feedKey{site: site, format: format, self: self}, time.Now(), func() ([]byte, error) {
		f, err := s.svc.LatestComments(r.Context(), site, key)
		if err != nil {
			return nil, err
		}
		t := i18n.Get(lang)
		var b bytes.Buffer
		b.WriteString(xml.Header)
		enc := xml.NewEncoder(&b)
		enc.Indent("", " ")
		if format == "atom" {
			err = enc.Encode(atomFeed(f, t, self))
		} else {
			err = enc.Encode(rssFeed(f, t, self))
		}
		return b.Bytes(), err
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctype := "application/rss+xml; charset=utf-8"
	if format == "atom" {
		ctype = "application/atom+xml; charset=utf-8"
	}
	body.serve(w, r, ctype, "public, max-age=60")
}

func nonEmpty(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

// feedFresh is how long a feed, once built, is served as it is. Feeds are
// fetched on timers by readers' apps and crawlers, often many at once, and
// building one reads the site's latest comments and their pages: about
// 4 ms of CPU, which at a few hundred fetches a second halved the rate at
// which the same server served threads (BenchmarkLoadFeeds). Five seconds
// of lag is nothing to a feed, which tells its readers max-age=60 anyway.
const (
	feedFresh    = 5 * time.Second
	feedCacheMax = 1024
)

// feedCache keeps built feeds, with their compressed forms made once.
type feedCache struct {
	mu      sync.Mutex
	entries map[feedKey]*feedEntry
}

type feedKey struct{ site, format, self string }

type feedEntry struct {
	*encoded
	made time.Time
}

func newFeedCache() *feedCache { return &feedCache{entries: map[feedKey]*feedEntry{}} }

// get returns the feed of k, building it when it is missing or older than
// feedFresh. Errors are not kept: an unknown site is asked again.
func (c *feedCache) get(k feedKey, now time.Time, build func() ([]byte, error)) (*encoded, error) {
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if ok && now.Sub(e.made) < feedFresh && !now.Before(e.made) {
		return e.encoded, nil
	}
	plain, err := build()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(plain)
	e = &feedEntry{encoded: &encoded{plain: plain, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}, made: now}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= feedCacheMax {
		for ek := range c.entries { // evict one arbitrary entry
			delete(c.entries, ek)
			break
		}
	}
	c.entries[k] = e
	return e.encoded, nil
}

// feedTitle and feedLink say what a feed is of and where it is read.
func feedTitle(f *service.Feed, t *i18n.Table) string {
	if f.Thread != nil {
		title := f.Thread.Title
		if title == "" {
			title = f.Thread.Key
		}
		return t.T("page.feed.thread", "title", title)
	}
	return t.T("page.feed.site", "site", f.Site.Name)
}

func feedLink(f *service.Feed) string {
	if f.Thread != nil && f.Thread.URL != "" {
		return f.Thread.URL
	}
	if len(f.Site.Origins) > 0 {
		return f.Site.Origins[0] + "/"
	}
	return ""
}

// permalink is where a comment is read: its page, at the comment.
func permalink(f *service.Feed, c *comment.Comment) string {
	th := f.Threads[c.ThreadID]
	if th == nil || th.URL == "" {
		return feedLink(f)
	}
	u, err := url.Parse(th.URL)
	if err != nil {
		return th.URL
	}
	u.Fragment = "comment-" + c.ID
	return u.String()
}

// entryTitle is "NAME on TITLE" (a site's feed) or "NAME" (a thread's).
func entryTitle(f *service.Feed, t *i18n.Table, c *comment.Comment) string {
	name := c.Author.Name
	if name == "" {
		name = t.T("anonymous")
	}
	if f.Thread != nil {
		return t.T("page.feed.entry", "name", name)
	}
	title := ""
	if th := f.Threads[c.ThreadID]; th != nil {
		title = th.Title
		if title == "" {
			title = th.URL
		}
	}
	return t.T("page.feed.entry_on", "name", name, "title", title)
}

// updated is when a comment last changed.
func updated(c *comment.Comment) time.Time {
	if c.Edited.After(c.Created) {
		return c.Edited
	}
	return c.Created
}

// tagURI is a comment's permanent id in the feed (RFC 4151): it does not
// change when the page moves.
func tagURI(f *service.Feed, c *comment.Comment) string {
	host := "parley.invalid"
	if len(f.Site.Origins) > 0 {
		if u, err := url.Parse(f.Site.Origins[0]); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
	}
	return fmt.Sprintf("tag:%s,%s:parley/%s/comment/%s", host, f.Site.Created.UTC().Format("2006-01-02"), f.Site.ID, c.ID)
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomText struct {
	Type string `xml:"type,attr,omitempty"`
	Body string `xml:",chardata"`
}

type atomEntry struct {
	Title     string     `xml:"title"`
	ID        string     `xml:"id"`
	Link      atomLink   `xml:"link"`
	Published string     `xml:"published"`
	Updated   string     `xml:"updated"`
	Author    atomAuthor `xml:"author"`
	Content   atomText   `xml:"content"`
}

type atomAuthor struct {
	Name string `xml:"name"`
	URI  string `xml:"uri,omitempty"`
}

type atom struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string      `xml:"xml:lang,attr"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

func atomFeed(f *service.Feed, t *i18n.Table, self string) *atom {
	a := &atom{Lang: t.Lang(), Title: feedTitle(f, t), ID: self, Author: atomAuthor{Name: f.Site.Name},
		Links: []atomLink{{Rel: "self", Type: "application/atom+xml", Href: self}}}
	if l := feedLink(f); l != "" {
		a.Links = append(a.Links, atomLink{Rel: "alternate", Type: "text/html", Href: l})
	}
	last := f.Site.Created
	if f.Thread != nil {
		last = f.Thread.Created
	}
	for _, c := range f.Comments {
		if u := updated(c); u.After(last) {
			last = u
		}
		e := atomEntry{Title: entryTitle(f, t, c), ID: tagURI(f, c), Link: atomLink{Rel: "alternate", Type: "text/html", Href: permalink(f, c)},
			Published: c.Created.UTC().Format(time.RFC3339), Updated: updated(c).UTC().Format(time.RFC3339),
			Author: atomAuthor{Name: c.Author.Name, URI: c.Author.Website}, Content: atomText{Type: "html", Body: c.HTML}}
		if e.Author.Name == "" {
			e.Author.Name = t.T("anonymous")
		}
		if !strings.HasPrefix(e.Author.URI, "http://") && !strings.HasPrefix(e.Author.URI, "https://") {
			e.Author.URI = ""
		}
		a.Entries = append(a.Entries, e)
	}
	a.Updated = last.UTC().Format(time.RFC3339)
	return a
}

type rssItem struct {
	Title       string  `xml:"title"`
	Link        string  `xml:"link"`
	GUID        rssGUID `xml:"guid"`
	PubDate     string  `xml:"pubDate"`
	Creator     string  `xml:"http://purl.org/dc/elements/1.1/ creator"`
	Description string  `xml:"description"`
}

type rssGUID struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

type rssChannel struct {
	Title       string    `xml:"title"`
	Link        string    `xml:"link"`
	Description string    `xml:"description"`
	Language    string    `xml:"language"`
	AtomLink    atomLink  `xml:"http://www.w3.org/2005/Atom link"`
	Items       []rssItem `xml:"item"`
}

type rss struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Channel rssChannel `xml:"channel"`
}

func rssFeed(f *service.Feed, t *i18n.Table, self string) *rss {
	ch := rssChannel{Title: feedTitle(f, t), Link: feedLink(f), Description: feedTitle(f, t), Language: t.Lang(),
		AtomLink: atomLink{Rel: "self", Type: "application/rss+xml", Href: self}}
	if ch.Link == "" {
		ch.Link = self
	}
	for _, c := range f.Comments {
		name := c.Author.Name
		if name == "" {
			name = t.T("anonymous")
		}
		ch.Items = append(ch.Items, rssItem{Title: entryTitle(f, t, c), Link: permalink(f, c), GUID: rssGUID{IsPermaLink: "false", Value: tagURI(f, c)},
			PubDate: c.Created.UTC().Format(time.RFC1123Z), Creator: name, Description: c.HTML})
	}
	return &rss{Version: "2.0", Channel: ch}
}
