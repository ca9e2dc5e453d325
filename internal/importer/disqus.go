package importer

import (
	"encoding/xml"
	"io"
	"strings"

	"parley/internal/comment"
)

// disqusReader reads a Disqus "Comments Export": <thread> and <post>
// elements, siblings under <disqus>. Disqus writes all threads before the
// posts, but nothing here depends on it: each is returned as it is read,
// and a post names its thread by dsq:id, which may come later or be missing
// from the file altogether.
type disqusReader struct {
	s *xmlScanner
	sticky
}

func newDisqus(r io.Reader) Reader {
	return &disqusReader{s: newXMLScanner(r, "disqus", "a Disqus export")}
}

// Next implements Reader.
func (r *disqusReader) Next() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		tok, line, err := r.s.next()
		if err != nil {
			return r.fail(err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || len(r.s.stack) != 2 {
			continue
		}
		var rec *Record
		switch se.Name.Local {
		case "thread":
			rec, err = r.thread(se, line)
		case "post":
			rec, err = r.post(se, line)
		default: // <category>
			err = r.s.skip()
		}
		if err != nil {
			return r.fail(err)
		}
		if rec != nil {
			if r.s.clean.replaced > 0 && containsFFFD(rec) {
				rec.warn("characters that were not valid UTF-8, or not allowed in XML, were replaced with U+FFFD")
			}
			return rec, nil
		}
	}
}

func (r *disqusReader) thread(se xml.StartElement, line int) (*Record, error) {
	p := &Record{Kind: KindPage, Line: line, PageID: attr(se, "dsq", "id")}
	var created string
	err := r.s.children(func(se xml.StartElement, _ int) error {
		var v string
		var err error
		switch se.Name.Local {
		case "id":
			p.PageKey, err = r.s.trimmed()
		case "link":
			p.URL, err = r.s.trimmed()
		case "title":
			p.Title, err = r.s.trimmed()
		case "createdAt":
			created, err = r.s.trimmed()
		case "isClosed":
			v, err = r.s.trimmed()
			if b, ok := parseBool(v); ok {
				p.Closed = b
			} else {
				p.warn("<isClosed> is %q, not true or false; taken as false", v)
			}
		case "isDeleted":
			v, err = r.s.trimmed()
			if b, ok := parseBool(v); ok {
				p.Deleted = b
			} else {
				p.warn("<isDeleted> is %q, not true or false; taken as false", v)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if t, ok := parseLooseTime(created); ok {
		p.Created = t
	}
	if p.PageID == "" {
		p.PageID = syntheticID("disqus thread", p.PageKey, p.URL, p.Title)
		p.warn("the thread has no dsq:id, so no post can belong to it; it was given the id %s", p.PageID)
	}
	return p, nil
}

func (r *disqusReader) post(se xml.StartElement, line int) (*Record, error) {
	c := &Record{Kind: KindComment, Line: line, ID: attr(se, "dsq", "id"), BodyFormat: FormatHTML, Type: "comment"}
	var siteID, created, deleted, spam, username, anonymous string
	err := r.s.children(func(se xml.StartElement, _ int) error {
		var v string
		var err error
		switch se.Name.Local {
		case "id":
			siteID, err = r.s.trimmed()
		case "message":
			v, err = r.s.text(true)
			c.Body = strings.TrimSpace(v)
		case "createdAt":
			created, err = r.s.trimmed()
		case "isDeleted":
			deleted, err = r.s.trimmed()
		case "isSpam":
			spam, err = r.s.trimmed()
		case "ipAddress":
			c.IP, err = r.s.trimmed()
		case "thread":
			c.PageID = strings.TrimSpace(attr(se, "dsq", "id"))
		case "parent":
			c.ParentID = strings.TrimSpace(attr(se, "dsq", "id"))
		case "author":
			err = r.s.children(func(se xml.StartElement, _ int) error {
				var err error
				switch se.Name.Local {
				case "name":
					c.Author.Name, err = r.s.trimmed()
				case "email":
					c.Author.Email, err = r.s.trimmed()
				case "username":
					username, err = r.s.trimmed()
				case "isAnonymous":
					anonymous, err = r.s.trimmed()
				}
				return err
			})
		}
		return err
	})
	if err != nil {
		return nil, err
	}

	if created == "" {
		c.warn("the post has no <createdAt>")
	} else if t, ok := parseLooseTime(created); ok {
		c.Created = t
	} else {
		c.warn("<createdAt> %q is not a date", created)
	}

	isDeleted, okDeleted := parseBool(deleted)
	isSpam, okSpam := parseBool(spam)
	switch {
	case isDeleted:
		c.Status = comment.StatusDeleted
	case !okDeleted:
		c.Status = comment.StatusPending
		c.warn("<isDeleted> is %q, not true or false; held as pending", deleted)
	case isSpam:
		c.Status = comment.StatusSpam
	case !okSpam:
		c.Status = comment.StatusPending
		c.warn("<isSpam> is %q, not true or false; held as pending", spam)
	default:
		c.Status = comment.StatusApproved
	}

	// An anonymous post can still carry a username (seen in real
	// exports); the flag wins.
	if isAnon, _ := parseBool(anonymous); username != "" && !isAnon {
		c.Author.Identity = "disqus:" + username
	}

	if c.ID == "" {
		if siteID != "" {
			c.ID = siteID
			c.warn("the post has no dsq:id; its <id> %s is used instead", siteID)
		} else {
			c.ID = syntheticID("disqus post", c.PageID, created, c.Author.Name, c.Body)
			c.warn("the post has no dsq:id; it was given the id %s made from its content", c.ID)
		}
	}
	if c.PageID == "" {
		c.warn("the post does not name its thread")
	}
	if c.ParentID == c.ID {
		c.ParentID = ""
		c.warn("the post names itself as its parent; it is taken as top level")
	}
	return c, nil
}
