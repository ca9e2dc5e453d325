package importer

import (
	"fmt"
	"io"
)

// MaxField is the most Parley takes in one field of an export: a
// comment's text, an author's name, a page's address or title, an id. An
// export with a longer one is refused, with the line of the record that
// holds it; real comment systems keep far less (WordPress stores a
// comment in 64 kB), so such a field is damage or an attack. Before a
// field can be measured its record must be read whole, so the raw text of
// any one XML token or JSON value is bounded too, by maxValue, which
// keeps memory flat whatever the file holds (a gzip-compressed export of
// 1 MB can hold a gigabyte).
const MaxField = 1 << 20

// maxValue bounds the raw bytes of one XML token (a text, a CDATA
// section, a tag with its attributes) or one JSON value (a record), as
// written in the file: several fields of up to MaxField, with escaping.
const maxValue = 4 * MaxField

// valueLimit passes a parser's input through, and fails once more than
// max bytes were read since the parser last finished a token or value
// (mark, set by the caller from the parser's own offset). The error is a
// *SyntaxError at the line where the oversized value began.
type valueLimit struct {
	r    io.Reader
	read int64 // bytes read so far
	mark int64 // where the value being read began
	max  int64
	line func() int // the line of mark
	what string     // "XML token", "JSON value", for the message
}

func (v *valueLimit) Read(p []byte) (int, error) {
	over := v.read - v.mark
	if over > v.max {
		return 0, &SyntaxError{Line: v.line(), Msg: fmt.Sprintf("a single %s here is longer than %d MB, more than Parley reads at once; no field of an export may be over %d MB (the file may be damaged)",
			v.what, v.max>>20, MaxField>>20)}
	}
	// Read no further past the limit than needed to notice it.
	if room := v.max + 1 - over; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := v.r.Read(p)
	v.read += int64(n)
	return n, err
}

// capped checks every record a Reader yields for a field over MaxField.
type capped struct {
	Reader
	err error
}

func (c *capped) Next() (*Record, error) {
	if c.err != nil {
		return nil, c.err
	}
	r, err := c.Reader.Next()
	if err != nil {
		return nil, err
	}
	if err := checkFields(r); err != nil {
		c.err = err
		if cl, ok := c.Reader.(io.Closer); ok {
			cl.Close()
		}
		return nil, err
	}
	return r, nil
}

// Close closes what the reader holds (Commento's spool), if anything.
func (c *capped) Close() error {
	if cl, ok := c.Reader.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// checkFields refuses a record with a field over MaxField.
func checkFields(r *Record) error {
	for _, f := range []struct{ name, v string }{
		{"page id", r.PageID}, {"page address", r.URL}, {"page title", r.Title}, {"page key", r.PageKey},
		{"comment id", r.ID}, {"parent id", r.ParentID}, {"author name", r.Author.Name}, {"author email", r.Author.Email},
		{"author website", r.Author.Website}, {"author identity", r.Author.Identity}, {"comment text", r.Body},
		{"comment Markdown", r.Markdown}, {"IP address", r.IP}, {"type", r.Type},
	} {
		if len(f.v) > MaxField {
			return &SyntaxError{Line: r.Line, Msg: fmt.Sprintf("the %s is %.1f MB long, more than the %d MB Parley takes in one field (the file may be damaged)",
				f.name, float64(len(f.v))/(1<<20), MaxField>>20)}
		}
	}
	return nil
}
