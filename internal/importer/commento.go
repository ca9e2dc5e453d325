package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"parley/internal/comment"
)

// commentoReader reads a Commento or Commento++ export (commentoExportV1 in
// api/domain_export.go): {"version": 1, "comments": […], "commenters": […]}.
// Comments name their author by commenterHex, and the exporter marshals
// that struct in field order, so in every real export all the commenters
// come after all the comments. A comment cannot be finished before its
// author is known, so comments read before the commenters list are
// spooled (compacted, one per line) to memory and, past spoolMemory bytes,
// to a temporary file, then replayed once the commenters are in. The
// commenters are kept in a map (one entry per commenter, however often the
// export repeats them). If the commenters come first, comments stream
// straight through.
//
// There are no page records in the format: a page is returned the first
// time a comment names it (domain + path). Commento does not record the
// scheme, so URLs are given https.
type commentoReader struct {
	j *jsonStream
	sticky
	queue []*Record
	state int

	commenters     map[string]comment.Author
	commentersDone bool
	spool          *spool
	seen           map[string]bool
}

const (
	commentoStart = iota
	commentoKeys
	commentoComments
	commentoReplay
)

// spoolMemory is how much spooled comment JSON is kept in memory before
// moving to a temporary file.
var spoolMemory = 8 << 20

func newCommento(r io.Reader) Reader {
	c := &commentoReader{
		j:          newJSONStream(r),
		commenters: map[string]comment.Author{},
		seen:       map[string]bool{},
	}
	c.closer = func() { c.spool.close() }
	return c
}

// Close removes the temporary file, if any.
func (r *commentoReader) Close() error {
	r.spool.close()
	return nil
}

type commentoComment struct {
	CommentHex   string `json:"commentHex"`
	Domain       string `json:"domain"`
	URL          string `json:"url"`
	CommenterHex string `json:"commenterHex"`
	Markdown     string `json:"markdown"`
	HTML         string `json:"html"`
	ParentHex    string `json:"parentHex"`
	Score        int    `json:"score"`
	State        string `json:"state"`
	CreationDate string `json:"creationDate"`
	Deleted      bool   `json:"deleted"`
}

type commentoCommenter struct {
	CommenterHex string `json:"commenterHex"`
	Email        string `json:"email"`
	Name         string `json:"name"`
	Link         string `json:"link"`
}

// Next implements Reader.
func (r *commentoReader) Next() (*Record, error) {
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

func (r *commentoReader) step() error {
	j := r.j
	switch r.state {
	case commentoStart:
		line := j.line()
		t, err := j.token("")
		if err != nil {
			return emptyFile(err, j)
		}
		if d, ok := t.(json.Delim); !ok || d != '{' {
			return &SyntaxError{Line: line, Msg: fmt.Sprintf(`expected a Commento export ({"version": 1, "comments": […], "commenters": […]}), found %s`, describeToken(t))}
		}
		r.state = commentoKeys

	case commentoKeys:
		if !j.dec.More() {
			if err := j.expect('}', "the end of the export", "the export"); err != nil {
				return err
			}
			line := j.line()
			if end, err := j.atEnd(); err != nil {
				return err
			} else if !end {
				return &SyntaxError{Line: line, Msg: "unexpected data after the end of the export"}
			}
			r.commentersDone = true
			if r.spool == nil {
				return io.EOF
			}
			if err := r.spool.rewind(); err != nil {
				return err
			}
			r.state = commentoReplay
			return nil
		}
		t, err := j.token("the export")
		if err != nil {
			return err
		}
		switch key, _ := t.(string); key {
		case "version":
			m, line, err := j.value("the export")
			if err != nil {
				return err
			}
			if v := string(m); v != "1" {
				return &SyntaxError{Line: line, Msg: fmt.Sprintf("this is a Commento export of version %s; only version 1 can be read", v)}
			}
		case "comments":
			if err := j.expect('[', `a list of comments after "comments"`, "the export"); err != nil {
				return err
			}
			r.state = commentoComments
		case "commenters":
			return r.readCommenters()
		default:
			if _, _, err := j.value("the export"); err != nil {
				return err
			}
		}

	case commentoComments:
		if !j.dec.More() {
			if err := j.expect(']', "the end of the list of comments", "the list of comments"); err != nil {
				return err
			}
			r.state = commentoKeys
			return nil
		}
		m, line, err := j.value("the list of comments")
		if err != nil {
			return err
		}
		if m[0] != '{' {
			return &SyntaxError{Line: line, Msg: fmt.Sprintf("expected a comment object, found %s", describeRaw(m))}
		}
		if r.commentersDone {
			return r.comment(m, line)
		}
		if r.spool == nil {
			r.spool = &spool{}
		}
		return r.spool.write(line, m)

	case commentoReplay:
		line, m, err := r.spool.read()
		if err != nil {
			return err
		}
		return r.comment(m, line)
	}
	return nil
}

// readCommenters reads the whole commenters list into the map.
func (r *commentoReader) readCommenters() error {
	j := r.j
	if err := j.expect('[', `a list of commenters after "commenters"`, "the export"); err != nil {
		return err
	}
	for j.dec.More() {
		m, line, err := j.value("the list of commenters")
		if err != nil {
			return err
		}
		var v commentoCommenter
		if err := unmarshal(m, line, &v); err != nil {
			return err
		}
		a := comment.Author{Name: v.Name, Email: v.Email, Website: v.Link}
		// Commento stores "undefined" when a commenter gave no link.
		if a.Website == "undefined" {
			a.Website = ""
		}
		if v.CommenterHex != "" && v.CommenterHex != "anonymous" {
			a.Identity = "commento:" + v.CommenterHex
		}
		r.commenters[v.CommenterHex] = a
	}
	if err := j.expect(']', "the end of the list of commenters", "the list of commenters"); err != nil {
		return err
	}
	r.commentersDone = true
	return nil
}

func (r *commentoReader) comment(m json.RawMessage, line int) error {
	var v commentoComment
	if err := unmarshal(m, line, &v); err != nil {
		return err
	}
	c := &Record{
		Kind:       KindComment,
		Line:       line,
		ID:         v.CommentHex,
		Body:       v.Markdown,
		BodyFormat: FormatMarkdown,
		Likes:      v.Score,
		Type:       "comment",
	}
	if c.Body == "" && v.HTML != "" {
		c.Body, c.BodyFormat = v.HTML, FormatHTML
	}
	if v.ParentHex != "root" {
		c.ParentID = v.ParentHex
	}

	c.PageID = v.Domain + v.URL
	url := v.URL
	if v.Domain != "" && !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		url = "https://" + v.Domain + url
	}

	switch v.CommenterHex {
	case "anonymous", "":
		// A guest: Commento keeps no name.
	default:
		a, ok := r.commenters[v.CommenterHex]
		if !ok {
			c.warn("commenter %s is not in the export's list of commenters; the author is unknown", truncate(v.CommenterHex, 16))
		}
		c.Author = a
	}

	switch v.State {
	case "approved", "":
		c.Status = comment.StatusApproved
	case "unapproved":
		c.Status = comment.StatusPending
	case "flagged":
		c.Status = comment.StatusSpam
	default:
		c.Status = comment.StatusPending
		c.warn("unknown state %q; held as pending", v.State)
	}
	if v.Deleted {
		c.Status = comment.StatusDeleted
	}

	if t, ok := parseLooseTime(v.CreationDate); ok {
		c.Created = t
	} else if v.CreationDate == "" {
		c.warn("the comment has no creationDate")
	} else {
		c.warn("the comment's creationDate %q cannot be read", v.CreationDate)
	}
	if c.PageID == "" {
		c.warn("the comment names no page")
	}
	if c.ID == "" {
		c.ID = syntheticID("commento", c.PageID, v.CreationDate, v.CommenterHex, c.Body)
		c.warn("the comment has no commentHex; it was given the id %s made from its content", c.ID)
	}
	if c.ParentID == c.ID {
		c.ParentID = ""
		c.warn("the comment names itself as its parent; it is taken as top level")
	}

	if c.PageID != "" && !r.seen[c.PageID] {
		r.seen[c.PageID] = true
		r.queue = append(r.queue, &Record{Kind: KindPage, PageID: c.PageID, URL: url, Line: line})
	}
	r.queue = append(r.queue, c)
	return nil
}

// spool holds comments until they can be finished: in memory up to
// spoolMemory bytes, then in a temporary file that is removed when the
// reader ends or is closed. Each comment is "LINE LENGTH\n" and the JSON
// exactly as read, so errors found later point at the right line.
type spool struct {
	mem     bytes.Buffer
	f       *os.File
	w       *bufio.Writer
	r       *bufio.Reader
	scratch bytes.Buffer
}

func (s *spool) write(line int, m json.RawMessage) error {
	s.scratch.Reset()
	fmt.Fprintf(&s.scratch, "%d %d\n", line, len(m))
	s.scratch.Write(m)
	if s.f == nil && s.mem.Len()+s.scratch.Len() > spoolMemory {
		f, err := os.CreateTemp("", "parley-commento-*.spool")
		if err != nil {
			return fmt.Errorf("spool commento comments: %w", err)
		}
		s.f = f
		s.w = bufio.NewWriterSize(f, 64<<10)
		if _, err := s.w.Write(s.mem.Bytes()); err != nil {
			return fmt.Errorf("spool commento comments: %w", err)
		}
		s.mem = bytes.Buffer{}
	}
	if s.f != nil {
		if _, err := s.w.Write(s.scratch.Bytes()); err != nil {
			return fmt.Errorf("spool commento comments: %w", err)
		}
		return nil
	}
	s.mem.Write(s.scratch.Bytes())
	return nil
}

func (s *spool) rewind() error {
	if s.f == nil {
		s.r = bufio.NewReader(&s.mem)
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("spool commento comments: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spool commento comments: %w", err)
	}
	s.r = bufio.NewReaderSize(s.f, 64<<10)
	return nil
}

// read returns the next spooled comment, or io.EOF.
func (s *spool) read() (int, json.RawMessage, error) {
	var line, n int
	if _, err := fmt.Fscanf(s.r, "%d %d\n", &line, &n); err != nil {
		if err == io.EOF {
			return 0, nil, io.EOF
		}
		return 0, nil, fmt.Errorf("read spooled commento comments: %w", err)
	}
	m := make(json.RawMessage, n)
	if _, err := io.ReadFull(s.r, m); err != nil {
		return 0, nil, fmt.Errorf("read spooled commento comments: %w", err)
	}
	return line, m, nil
}

func (s *spool) close() {
	if s == nil || s.f == nil {
		return
	}
	s.f.Close()
	os.Remove(s.f.Name())
	s.f = nil
}
