package importer

import (
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"strings"
	"time"

	"parley/internal/comment"
)

// wxrReader reads WordPress eXtended RSS (WXR 1.0, 1.1 and 1.2): every
// <item> under <channel> is a page, whatever its post type, and each
// <wp:comment> inside it a comment. The page record is returned when the
// item's first comment starts, or when the item ends if it has none, so
// fields WordPress writes after the comments (it writes none that matter)
// are not seen. An item's content and meta are skipped without being kept.
type wxrReader struct {
	s *xmlScanner
	sticky
	queue []*Record

	item      *Record // the page being read; nil outside <item>
	itemDepth int
	pageOut   bool // the item's page record has been returned
	guid      string
	postDate  string
	postGMT   string
	password  bool
}

func newWXR(r io.Reader) Reader {
	return &wxrReader{s: newXMLScanner(r, "rss", "a WordPress export (WXR)")}
}

const wxrTimeLayout = "2006-01-02 15:04:05"

// Next implements Reader.
func (r *wxrReader) Next() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	if len(r.queue) > 0 {
		rec := r.queue[0]
		r.queue = r.queue[1:]
		return rec, nil
	}
	for {
		tok, line, err := r.s.next()
		if err != nil {
			return r.fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if r.item == nil {
				if t.Name.Local == "item" && r.s.parent() == "channel" {
					r.startItem(line)
				}
				continue
			}
			// Every child of <item> is consumed or skipped below, so a
			// start element here is always a direct child.
			if t.Name.Local == "comment" {
				c, err := r.comment(line)
				if err != nil {
					return r.fail(err)
				}
				if !r.pageOut {
					r.queue = append(r.queue, c)
					return r.page(), nil
				}
				return c, nil
			}
			if err := r.itemField(t); err != nil {
				return r.fail(err)
			}
		case xml.EndElement:
			if r.item != nil && len(r.s.stack) < r.itemDepth {
				var p *Record
				if !r.pageOut {
					p = r.page()
				}
				r.item = nil
				if p != nil {
					return p, nil
				}
			}
		}
	}
}

func (r *wxrReader) startItem(line int) {
	r.item = &Record{Kind: KindPage, Line: line}
	r.itemDepth = len(r.s.stack)
	r.pageOut = false
	r.guid, r.postDate, r.postGMT = "", "", ""
	r.password = false
}

func (r *wxrReader) itemField(se xml.StartElement) error {
	p := r.item
	var v string
	var err error
	switch se.Name.Local {
	case "post_id":
		p.PageID, err = r.s.trimmed()
	case "title":
		v, err = r.s.trimmed()
		p.Title = html.UnescapeString(v)
	case "link":
		p.URL, err = r.s.trimmed()
	case "guid":
		r.guid, err = r.s.trimmed()
	case "comment_status":
		v, err = r.s.trimmed()
		p.Closed = v == "closed"
	case "post_type":
		p.Type, err = r.s.trimmed()
	case "status":
		v, err = r.s.trimmed()
		p.Deleted = v == "trash"
	case "post_date":
		r.postDate, err = r.s.trimmed()
	case "post_date_gmt":
		r.postGMT, err = r.s.trimmed()
	case "post_password":
		v, err = r.s.trimmed()
		r.password = v != ""
	default:
		err = r.s.skip()
	}
	return err
}

// pageID is the current item's id: its post id, or failing that something
// else stable that names it.
func (r *wxrReader) pageID() string {
	p := r.item
	switch {
	case p.PageID != "":
		return p.PageID
	case p.URL != "":
		return p.URL
	case r.guid != "":
		return r.guid
	}
	return fmt.Sprintf("item-line-%d", p.Line)
}

// page finishes the current item's page record; it is returned once.
func (r *wxrReader) page() *Record {
	p := r.item
	r.pageOut = true
	if p.PageID == "" {
		p.PageID = r.pageID()
		p.warn("the item has no <wp:post_id>; %q is used as its id", p.PageID)
	}
	if t, ok := parseWXRTime(r.postGMT); ok {
		p.Created = t
	} else if t, ok := parseWXRTime(r.postDate); ok {
		p.Created = t // local time; close enough for a page
	}
	if r.password {
		p.warn("the page is password-protected in WordPress; its comments were only visible to readers who knew the password")
	}
	if r.s.clean.replaced > 0 && containsFFFD(p) {
		p.warn("characters that were not valid UTF-8, or not allowed in XML, were replaced with U+FFFD")
	}
	return p
}

func parseWXRTime(s string) (time.Time, bool) {
	if s == "" || strings.HasPrefix(s, "0000-00-00") {
		return time.Time{}, false
	}
	t, err := time.Parse(wxrTimeLayout, s)
	return t, err == nil
}

// comment reads one <wp:comment>.
func (r *wxrReader) comment(line int) (*Record, error) {
	c := &Record{Kind: KindComment, Line: line, BodyFormat: FormatHTML, PageID: r.pageID()}
	var date, dateGMT, approved, typ, userID, parent string
	haveApproved := false
	err := r.s.children(func(se xml.StartElement, _ int) error {
		var v string
		var err error
		switch se.Name.Local {
		case "comment_id":
			c.ID, err = r.s.trimmed()
		case "comment_author":
			v, err = r.s.trimmed()
			// WordPress stores author names HTML-escaped
			// ("Ping 1 &laquo; What&#8217;s a tellyworth?").
			c.Author.Name = html.UnescapeString(v)
		case "comment_author_email":
			c.Author.Email, err = r.s.trimmed()
		case "comment_author_url":
			v, err = r.s.trimmed()
			if v != "http://" && v != "https://" {
				c.Author.Website = v
			}
		case "comment_author_IP":
			c.IP, err = r.s.trimmed()
		case "comment_date":
			date, err = r.s.trimmed()
		case "comment_date_gmt":
			dateGMT, err = r.s.trimmed()
		case "comment_content":
			v, err = r.s.text(true)
			c.Body = strings.TrimSpace(v)
		case "comment_approved":
			approved, err = r.s.trimmed()
			haveApproved = true
		case "comment_type":
			typ, err = r.s.trimmed()
		case "comment_parent":
			parent, err = r.s.trimmed()
		case "comment_user_id":
			userID, err = r.s.trimmed()
		}
		return err
	})
	if err != nil {
		return nil, err
	}

	switch {
	case parseDateInto(c, dateGMT):
	case parseDateInto(c, date):
		if dateGMT == "" {
			c.warn("no <wp:comment_date_gmt>; the local time %s is taken as UTC", date)
		} else {
			c.warn("<wp:comment_date_gmt> is %q; the local time %s is taken as UTC", dateGMT, date)
		}
	case date == "" && dateGMT == "":
		c.warn("the comment has no date")
	default:
		c.warn("the comment's date (%q, GMT %q) cannot be read", date, dateGMT)
	}

	switch approved {
	case "1", "approve", "approved":
		c.Status = comment.StatusApproved
	case "0", "hold":
		c.Status = comment.StatusPending
	case "spam":
		c.Status = comment.StatusSpam
	case "trash", "post-trashed":
		c.Status = comment.StatusDeleted
	default:
		c.Status = comment.StatusPending
		if haveApproved {
			c.warn("unknown <wp:comment_approved> %q; held as pending", approved)
		} else {
			c.warn("no <wp:comment_approved>; held as pending")
		}
	}

	switch t := strings.ToLower(typ); t {
	case "", "comment":
		c.Type = "comment"
	default:
		c.Type = t
	}

	if userID != "" && userID != "0" {
		c.Author.Identity = "wordpress:" + userID
	}
	if parent != "0" {
		c.ParentID = parent
	}
	if c.ID == "" {
		c.ID = syntheticID(c.PageID, date, dateGMT, c.Author.Name, c.Body)
		c.warn("the comment has no <wp:comment_id>; it was given the id %s made from its content", c.ID)
	}
	if c.ParentID == c.ID {
		c.ParentID = ""
		c.warn("the comment names itself as its parent; it is taken as top level")
	}
	if r.s.clean.replaced > 0 && containsFFFD(c) {
		c.warn("characters that were not valid UTF-8, or not allowed in XML, were replaced with U+FFFD")
	}
	return c, nil
}

// parseDateInto sets c.Created from a WordPress "YYYY-MM-DD HH:MM:SS" and
// reports whether it could.
func parseDateInto(c *Record, s string) bool {
	t, ok := parseWXRTime(s)
	if ok {
		c.Created = t
	}
	return ok
}
