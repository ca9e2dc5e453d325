package importer

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"parley/internal/comment"
)

// issoReader reads Isso's "generic" JSON import format (isso/migrate.py,
// class Generic): a list of threads, each
//
//	{"id": URI, "title": …, "comments": [{"id", "author", "email", "website",
//	  "remote_addr", "created": "YYYY-MM-DD HH:MM:SS", "text"}, …]}
//
// Isso has no export command, so such files are written by hand or by
// scripts; the reader is lenient where they differ: ids may be strings or
// numbers, and the fields of an Isso database row ("parent", "mode",
// "likes", "created" as Unix seconds) are understood when present. The
// generic format itself has no replies. Isso stores Markdown and renders it
// when serving; "created" has no time zone and is taken as UTC.
//
// Comments stream one at a time, except when a thread's "comments" come
// before its "id" or "title" (as with Python's json.dump(sort_keys=True)):
// then that one thread's comments are held in memory until the thread
// ends, so that its page record can come first.
type issoReader struct {
	j *jsonStream
	sticky
	queue []*Record
	state int

	page     *Record // thread being read
	haveID   bool
	haveName bool
	pageOut  bool
	held     []*Record
}

const (
	issoStart = iota
	issoThreads
	issoThread
	issoComments
)

func newIsso(r io.Reader) Reader {
	return &issoReader{j: newJSONStream(r)}
}

type issoComment struct {
	ID         flexString  `json:"id"`
	Parent     flexString  `json:"parent"`
	Author     string      `json:"author"`
	Email      string      `json:"email"`
	Website    string      `json:"website"`
	RemoteAddr string      `json:"remote_addr"`
	Created    flexString  `json:"created"`
	Text       string      `json:"text"`
	Mode       json.Number `json:"mode"`
	Likes      int         `json:"likes"`
}

// Next implements Reader.
func (r *issoReader) Next() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	for len(r.queue) == 0 {
		if err := r.step(); err != nil {
			return r.fail(err)
		}
	}
	rec := r.queue[0]
	r.queue = r.queue[1:]
	return rec, nil
}

// step advances the walk by one token or value.
func (r *issoReader) step() error {
	j := r.j
	switch r.state {
	case issoStart:
		line := j.line()
		t, err := j.token("")
		if err != nil {
			return emptyFile(err, j)
		}
		if d, ok := t.(json.Delim); !ok || d != '[' {
			return &SyntaxError{Line: line, Msg: fmt.Sprintf(`expected a list of threads ([{"id": …, "title": …, "comments": […]}, …]), found %s`, describeToken(t))}
		}
		r.state = issoThreads

	case issoThreads:
		if !j.dec.More() {
			if err := j.expect(']', "the end of the list of threads", "the list of threads"); err != nil {
				return err
			}
			line := j.line()
			if end, err := j.atEnd(); err != nil {
				return err
			} else if !end {
				return &SyntaxError{Line: line, Msg: "unexpected data after the list of threads"}
			}
			return io.EOF
		}
		line := j.line()
		if err := j.expect('{', "a thread object", "the list of threads"); err != nil {
			return err
		}
		r.page = &Record{Kind: KindPage, Line: line}
		r.haveID, r.haveName, r.pageOut, r.held = false, false, false, nil
		r.state = issoThread

	case issoThread:
		if !j.dec.More() {
			if err := j.expect('}', "the end of the thread", "a thread"); err != nil {
				return err
			}
			if !r.pageOut {
				r.emitPage()
			}
			r.queue = append(r.queue, r.held...)
			r.held = nil
			r.state = issoThreads
			return nil
		}
		t, err := j.token("a thread")
		if err != nil {
			return err
		}
		switch key, _ := t.(string); key {
		case "id", "title":
			m, line, err := j.value("a thread")
			if err != nil {
				return err
			}
			var v flexString
			if err := unmarshal(m, line, &v); err != nil {
				return err
			}
			if key == "id" {
				r.page.PageID, r.haveID = string(v), true
			} else {
				r.page.Title, r.haveName = string(v), true
			}
		case "comments":
			if err := j.expect('[', `a list of comments after "comments"`, "a thread"); err != nil {
				return err
			}
			if r.haveID && r.haveName && !r.pageOut {
				r.emitPage()
			}
			r.state = issoComments
		default:
			if _, _, err := j.value("a thread"); err != nil {
				return err
			}
		}

	case issoComments:
		if !j.dec.More() {
			if err := j.expect(']', "the end of the list of comments", "a thread's comments"); err != nil {
				return err
			}
			r.state = issoThread
			return nil
		}
		m, line, err := j.value("a thread's comments")
		if err != nil {
			return err
		}
		if m[0] != '{' {
			return &SyntaxError{Line: line, Msg: fmt.Sprintf("expected a comment object, found %s", describeRaw(m))}
		}
		var v issoComment
		if err := unmarshal(m, line, &v); err != nil {
			return err
		}
		c := r.comment(&v, line)
		if r.pageOut {
			c.PageID = r.page.PageID
			r.queue = append(r.queue, c)
		} else {
			r.held = append(r.held, c)
		}
	}
	return nil
}

func (r *issoReader) emitPage() {
	p := r.page
	r.pageOut = true
	if p.PageID == "" {
		p.PageID = fmt.Sprintf("thread-line-%d", p.Line)
		p.warn("the thread has no id; it was given the id %q", p.PageID)
	}
	p.URL = p.PageID // Isso identifies a thread by its URI
	for _, c := range r.held {
		c.PageID = p.PageID
		if strings.HasPrefix(c.ID, "sha256:") {
			c.ID = syntheticID("isso", c.PageID, c.Created.String(), c.Author.Name, c.Body)
		}
	}
	r.queue = append(r.queue, p)
}

func (r *issoReader) comment(v *issoComment, line int) *Record {
	c := &Record{
		Kind:       KindComment,
		Line:       line,
		PageID:     r.page.PageID,
		ID:         string(v.ID),
		Body:       v.Text,
		BodyFormat: FormatMarkdown,
		IP:         v.RemoteAddr,
		Likes:      v.Likes,
		Type:       "comment",
		Author:     comment.Author{Name: v.Author, Email: v.Email, Website: v.Website},
	}
	if p := string(v.Parent); p != "0" {
		c.ParentID = p
	}
	switch v.Mode {
	case "", "1":
		c.Status = comment.StatusApproved
	case "2":
		c.Status = comment.StatusPending
	case "4":
		c.Status = comment.StatusDeleted
	default:
		c.Status = comment.StatusPending
		c.warn("unknown mode %s; held as pending", v.Mode)
	}
	if t, ok := parseLooseTime(string(v.Created)); ok {
		c.Created = t
	} else if v.Created == "" {
		c.warn("the comment has no date")
	} else {
		c.warn("the comment's date %s cannot be read", strconv.Quote(string(v.Created)))
	}
	if c.ID == "" {
		c.ID = syntheticID("isso", c.PageID, c.Created.String(), c.Author.Name, c.Body)
		c.warn("the comment has no id; it was given one made from its content")
	}
	if c.ParentID == c.ID {
		c.ParentID = ""
		c.warn("the comment names itself as its parent; it is taken as top level")
	}
	return c
}
