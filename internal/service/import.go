package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/importer"
	"parley/internal/markup"
	"parley/internal/store"
)

// ImportOptions say how an export is brought in.
type ImportOptions struct {
	// KeepDeleted keeps comments the source trashed or deleted, as
	// deleted comments; by default they are skipped.
	KeepDeleted bool
	// MapURL turns a page address of the old site into the new one
	// ("" keeps it). Applied before the page becomes a thread key.
	MapURL func(string) string
	// ByPageID makes the source's own page identifier (Disqus's
	// disqus_identifier, WordPress's post id) the thread key instead of
	// the page URL, for sites that embed Parley with data-page-id.
	ByPageID bool
	// Progress, when set, is called every 10,000 comments read.
	Progress func(comments int)
	// FileDate is when the export was made (its file's modification
	// time), the date of comments and pages the source gives none and
	// whose page has none either; zero for the time of the import.
	FileDate time.Time
}

// ImportSummary says what an import did, for the site owner.
type ImportSummary struct {
	Pages    int            `json:"pages"`    // threads created
	Comments int            `json:"comments"` // comments added
	Existing int            `json:"existing"` // comments imported before (importing twice adds nothing)
	Skipped  int            `json:"skipped"`  // comments not imported
	Reasons  map[string]int `json:"skipped_reasons"`
	Orphans  int            `json:"orphans"` // replies made top-level because their parent is missing
	// Erased counts the comments left out because their author had their
	// data erased: by the erased comment's id (store.ImportCounts.Erased)
	// or, under another id from another source, by its author's address
	// or log-in written before the erasure (store.ErasedAuthor).
	Erased int `json:"erased"`
	// Odd lists what looked wrong, with how often, so the owner can map
	// old addresses or check the source: pages on hosts that are not the
	// site's, warnings from the parser.
	Odd []OddThing `json:"odd"`
	// Took is how long the import ran.
	Took time.Duration `json:"-"`
}

// OddThing is one kind of oddity and how many records had it.
type OddThing struct {
	What  string `json:"what"`
	Count int    `json:"count"`
}

type importPage struct {
	key, url, title string
	closed          bool
	created         time.Time
	sent            bool
}

// Import brings a whole export of another comment system into a site, in
// one transaction: a malformed file changes nothing. Comments get ids
// derived from the site, the format, and the source's page and comment ids,
// so importing the same file again adds nothing. Bodies are sanitised as
// new comments are; e-mail addresses stay private and IP addresses are
// hashed. Pingbacks and trackbacks are kept as their own, hidden, kind.
func (s *Service) Import(ctx context.Context, siteID, format string, r io.Reader, opt ImportOptions) (*ImportSummary, error) {
	start := time.Now()
	site, err := s.Site(ctx, siteID)
	if err != nil {
		return nil, err
	}
	rd, err := importer.NewReader(format, r)
	if err != nil {
		return nil, err
	}
	if c, ok := rd.(io.Closer); ok {
		defer c.Close()
	}
	// Readers who had their data erased: their comments stay out, under
	// whatever id this source gives them.
	erased, err := s.store.ErasedAuthors(ctx, site.ID)
	if err != nil {
		return nil, err
	}
	sum := &ImportSummary{Reasons: map[string]int{}}
	odd := map[string]int{}
	pages := map[string]*importPage{}
	// Comments whose page record has not been read yet wait here; sources
	// write pages first, so this stays small.
	var waiting []*importer.Record
	var queue []*store.Row
	read := 0

	skip := func(reason string) { sum.Skipped++; sum.Reasons[reason]++ }
	// Records without a date take the best date there is (never the zero
	// time), and the summary says which.
	fallback, fallbackWhat := opt.FileDate.UTC(), "the file's date"
	if fallback.IsZero() {
		fallback, fallbackWhat = s.now().UTC(), "the time of the import"
	}
	fallbackWhat += " (" + fallback.Format("2006-01-02 15:04 UTC") + ")"
	pageFor := func(rec *importer.Record) *importPage {
		u := rec.URL
		if opt.MapURL != nil {
			if m := opt.MapURL(u); m != "" {
				u = m
			}
		}
		key := PageKey(u)
		if opt.ByPageID {
			key = rec.PageKey
			if key == "" {
				key = rec.PageID
			}
		}
		if key == "" {
			key = "imported:" + format + ":" + rec.PageID
			odd["a page has no address; kept under its source id ("+format+")"]++
		}
		if o := OriginOf(u); o == "" {
			odd[fmt.Sprintf("page address %q is not a web address", shorten(u))]++
		} else if !Allowed(site, o) {
			host := hostOf(u)
			odd[fmt.Sprintf("pages on %s, which is not among the site's origins (map it with --url-map or --rewrite)", host)]++
		}
		return &importPage{key: key, url: u, title: rec.Title, closed: rec.Closed, created: rec.Created}
	}
	// dated gives a record without a date its page's, else the fallback,
	// and says which for the summary.
	dated := func(rec *importer.Record, p *importPage) string {
		switch {
		case !rec.Created.IsZero():
			return ""
		case !p.created.IsZero():
			rec.Created = p.created
			return "comments without a date, given their page's date"
		}
		rec.Created = fallback
		return "comments without a date on a page without one, given " + fallbackWhat
	}
	convert := func(rec *importer.Record, p *importPage) {
		if !p.sent {
			p.sent = true
			created := p.created
			if created.IsZero() {
				created = fallback
			}
			queue = append(queue, &store.Row{Thread: &comment.Thread{ID: comment.NewID(created), Key: p.key, URL: p.url, Title: p.title, Closed: p.closed, Created: created}})
		}
		// When the source wrote it, if it says: a date given for want of
		// one cannot tell whether an erased reader wrote it before.
		var written time.Time
		if !rec.Created.IsZero() {
			written = rec.Created.UTC()
		}
		undated := dated(rec, p)
		c, reason := s.importedComment(site.ID, format, rec, p, opt)
		if reason != "" {
			skip(reason)
			return
		}
		if s.erasedAuthor(erased, c.Author, written) {
			sum.Erased++
			return
		}
		if undated != "" {
			odd[undated]++
		}
		queue = append(queue, &store.Row{Comment: c})
	}
	next := func() (*store.Row, error) {
		for len(queue) == 0 {
			rec, err := rd.Next()
			if errors.Is(err, io.EOF) {
				if len(waiting) == 0 {
					return nil, io.EOF
				}
				// The file is over: these comments' pages never came.
				for _, w := range waiting {
					if p, ok := pages[w.PageID]; ok {
						convert(w, p)
					} else {
						skip("its page is not in the file")
					}
				}
				waiting = nil
				continue
			}
			if err != nil {
				return nil, err
			}
			for _, w := range rec.Warnings {
				odd[w]++
			}
			switch rec.Kind {
			case importer.KindPage:
				if _, ok := pages[rec.PageID]; !ok {
					pages[rec.PageID] = pageFor(rec)
				}
			case importer.KindComment:
				read++
				if opt.Progress != nil && read%10_000 == 0 {
					opt.Progress(read)
				}
				if p, ok := pages[rec.PageID]; ok {
					convert(rec, p)
				} else {
					waiting = append(waiting, rec)
				}
			}
		}
		r := queue[0]
		queue = queue[1:]
		return r, nil
	}
	n, err := s.store.Import(ctx, site.ID, next)
	if err != nil {
		var se *importer.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("the file is not a valid %s export, so nothing was imported: %w", format, se)
		}
		return nil, err
	}
	// Threads just imported may be cached empty; rebuild them all.
	s.threads.reset()
	sum.Pages, sum.Comments, sum.Existing, sum.Orphans = n.Threads, n.Comments, n.Existing, n.Orphans
	sum.Erased += n.Erased
	for what, count := range odd {
		sum.Odd = append(sum.Odd, OddThing{what, count})
	}
	sort.Slice(sum.Odd, func(i, j int) bool {
		return sum.Odd[i].Count > sum.Odd[j].Count || sum.Odd[i].Count == sum.Odd[j].Count && sum.Odd[i].What < sum.Odd[j].What
	})
	sum.Took = time.Since(start)
	return sum, nil
}

// importedComment turns a source record into a comment, or says why not.
func (s *Service) importedComment(siteID, format string, rec *importer.Record, p *importPage, opt ImportOptions) (*comment.Comment, string) {
	typ := ""
	switch rec.Type {
	case "", "comment":
	case "pingback", "trackback":
		typ = rec.Type
	default:
		return nil, fmt.Sprintf("a %q, not a comment", rec.Type)
	}
	st := rec.Status
	if !st.Valid() {
		st = comment.StatusPending
	}
	if st == comment.StatusDeleted && !opt.KeepDeleted {
		return nil, "deleted in the source (keep such comments with --keep-deleted)"
	}
	body := strings.TrimSpace(rec.Body)
	md := rec.Markdown
	var html string
	switch {
	case body == "" && md == "":
		return nil, "empty body"
	case rec.BodyFormat == importer.FormatMarkdown:
		md, html = body, markup.Render(body)
	case md != "":
		html = markup.Render(md)
	default:
		md, html = body, markup.SanitizeHTML(body)
	}
	if strings.TrimSpace(html) == "" {
		return nil, "nothing left of the body once made safe"
	}
	a := rec.Author
	a.Name = strings.Join(strings.Fields(a.Name), " ")
	if a.Name == "" {
		a.Name = "Anonymous"
	}
	a.Email = strings.ToLower(strings.TrimSpace(a.Email))
	if w, err := normalizeImportedWebsite(a.Website); err == nil {
		a.Website = w
	} else {
		a.Website = ""
	}
	c := &comment.Comment{
		ID:       importedID(siteID, format, rec.PageID, rec.ID),
		ThreadID: p.key, // resolved to the thread's id by the store
		Author:   a,
		Markdown: md,
		HTML:     html,
		Status:   st,
		Created:  rec.Created.UTC(),
		Likes:    max(rec.Likes, 0),
		Type:     typ,
		Verdict:  comment.Verdict{Layer: "import", Reason: "imported from " + format},
	}
	if rec.ParentID != "" {
		c.ParentID = importedID(siteID, format, rec.PageID, rec.ParentID)
	}
	c.IPHash, c.IPNet = s.ipHashes(rec.IP)
	return c, ""
}

// importedID derives a stable comment id from where it came from, so a
// second import of the same file finds the comments already there.
func importedID(siteID, format, pageID, id string) string {
	return comment.DerivedID(siteID, format, pageID, id)
}

func normalizeImportedWebsite(w string) (string, error) {
	w = strings.TrimSpace(w)
	if w == "" {
		return "", errors.New("empty")
	}
	d := comment.Draft{Website: w, Body: "x", Name: "x", Email: "x@x.x", Page: "x"}
	if err := d.Normalize(); err != nil {
		return "", err
	}
	return d.Website, nil
}

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return shorten(u)
	}
	h := p.Hostname()
	if ip := net.ParseIP(h); ip != nil {
		return "the bare address " + p.Host
	}
	return p.Host
}

func shorten(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:59]) + "…"
	}
	return s
}

// RestoreSummary says what a restore of a Parley export wrote.
type RestoreSummary struct {
	Site     string `json:"site"`
	Pages    int    `json:"pages"`
	Comments int    `json:"comments"`
	Likes    int    `json:"likes"`
	// Cleaned counts comments whose HTML or website were not what Parley
	// writes, and were made safe.
	Cleaned int `json:"cleaned"`
}

// Restore writes a Parley export (store.Dump's rows, until next returns
// io.EOF) into the store, all or nothing. An export is a file like any
// other import: each comment's HTML goes through the sanitiser again and
// its author's website through the rules of new comments, so an edited
// file cannot put script into every page that embeds the site. What
// Parley wrote comes back byte for byte (markup.Resanitize), so an honest
// export restores identically.
func (s *Service) Restore(ctx context.Context, next func() (*store.Row, error)) (*RestoreSummary, error) {
	sum := &RestoreSummary{}
	err := s.store.Restore(ctx, func() (*store.Row, error) {
		r, err := next()
		if r == nil || err != nil {
			return r, err
		}
		switch {
		case r.Site != nil:
			sum.Site = r.Site.ID
		case r.Thread != nil:
			sum.Pages++
		case r.Comment != nil:
			sum.Comments++
			if cleanRestored(r.Comment) {
				sum.Cleaned++
			}
		case r.Like != nil:
			sum.Likes++
		case r.NotifyRows != (store.NotifyRows{}):
			if err := s.checkRestoredNotify(&r.NotifyRows); err != nil { // notify.go
				return nil, err
			}
		case r.Erased != nil, r.ErasedAuthor != nil:
			// A tombstone or an erased reader: kept, so the comment is
			// never imported again.
		default:
			if err := checkRestoredCommunity(&r.CommunityRows); err != nil { // community.go
				return nil, err
			}
		}
		return r, nil
	})
	if err != nil {
		return nil, err
	}
	s.threads.reset()
	s.forgetCommunity()
	return sum, nil
}

// cleanRestored makes a restored comment's HTML and website safe, and
// reports whether that changed anything.
func cleanRestored(c *comment.Comment) bool {
	html := markup.Resanitize(c.HTML)
	website := c.Author.Website
	if website != "" {
		if w, err := normalizeImportedWebsite(website); err == nil {
			website = w
		} else {
			website = ""
		}
	}
	changed := html != c.HTML || website != c.Author.Website
	c.HTML, c.Author.Website = html, website
	return changed
}
