// Package importer reads comment exports from other systems (WordPress WXR,
// Disqus XML, Remark42 backups, Isso generic JSON and Commento JSON) and
// turns them into a stream of neutral records: pages and the comments on
// them. It only parses; writing the records into a store (idempotency,
// threading, URL mapping, sanitising HTML) is the caller's job.
//
// Every reader streams: memory grows with the number of pages at most, never
// with the number of comments, with two exceptions documented on their
// readers (Commento spools comments until its commenters are read; Isso
// holds one thread's comments if they come before the thread's id). A file
// that is not well-formed is refused with a *SyntaxError naming the line and
// the reason in words a site owner understands; a file that is well-formed
// but odd (dates without a time zone, replies to missing comments, unknown
// states) is read anyway and the oddity noted in Record.Warnings.
package importer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"parley/internal/comment"
)

// Kind says what a Record describes.
type Kind string

// The kinds of record a Reader yields.
const (
	KindPage    Kind = "page"
	KindComment Kind = "comment"
)

// Format says how a comment body is written.
type Format string

// The body formats sources use.
const (
	FormatHTML     Format = "html"
	FormatMarkdown Format = "markdown"
	FormatText     Format = "text"
)

// Record is one thing read from an export: a page (thread) or a comment.
//
// Record holds the source's data as the source stored it. In particular Body
// is not sanitised: it is whatever HTML or Markdown the export holds,
// including anything hostile a spammer once posted. Email and IP are private.
type Record struct {
	Kind Kind // KindPage or KindComment

	// PageID is the source system's identifier for the page (thread),
	// stable within the file. For comments it names the page they belong
	// to; that page's record may come later in the file, or never.
	PageID string

	// Pages.

	URL   string // as in the export: may be on an old domain, localhost, a bare IP, or broken
	Title string // plain text
	// PageKey is the identifier the site's own embed code gave the page,
	// when the source keeps one beside the URL (Disqus <thread><id>, the
	// disqus_identifier). Often a URL, often empty.
	PageKey string
	Closed  bool // comments closed on the page
	Deleted bool // the source says the page was deleted or trashed

	// Comments.

	ID       string // the source's comment id; unique within its page (see NewReader)
	ParentID string // source id of the parent comment, "" for top level
	// Author.Identity is "SOURCE:ID" ("wordpress:24783058",
	// "disqus:jane") when the source says the author was a registered
	// user, else "". Author.Name is plain text.
	Author comment.Author
	// Body is the comment text exactly as the source stored it, except that
	// whitespace around it in XML exports (pretty-printing) is trimmed.
	// Not sanitised.
	Body       string
	BodyFormat Format
	// Markdown is the author's original Markdown when the source keeps it
	// beside an HTML Body (Remark42 "orig"); usually empty.
	Markdown string
	Status   comment.Status // approved, pending, spam or deleted
	IP       string         // the author's IP address as the source has it; private
	Likes    int            // the source's score or vote count

	// Both.

	// Created is when the comment (or, for a page, the page or thread) was
	// created, in UTC. Zero when the source has no usable date; a warning
	// then says why.
	Created time.Time
	// Type is, for a comment, "comment", "pingback", "trackback", or the
	// source's own name for anything else (WordPress "note",
	// "order_note", "review"...), which callers will usually skip. For a
	// page it is the source's post type where it has one (WordPress
	// "post", "page", "attachment"...).
	Type string
	Line int // line in the file where the record starts, for messages
	// Warnings lists what looked odd in this record, in words for the site
	// owner: a date taken without a time zone, an unknown state, a missing
	// id. They never quote the body, e-mail or IP.
	Warnings []string
}

func (r *Record) warn(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

// A Reader yields records one at a time, reading the export as a stream.
type Reader interface {
	// Next returns the next record, io.EOF after the last one, or a
	// *SyntaxError for a malformed file. Errors from the underlying
	// io.Reader are returned as they are. After an error, Next keeps
	// returning it.
	Next() (*Record, error)
}

// SyntaxError says why and where an export could not be read.
type SyntaxError struct {
	Line int // 0 when no line applies (a damaged gzip stream)
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line <= 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

var readers = []struct {
	name string
	open func(io.Reader) Reader
}{
	{"wxr", newWXR},
	{"disqus", newDisqus},
	{"remark42", newRemark42},
	{"isso", newIsso},
	{"commento", newCommento},
}

// Formats returns the names NewReader accepts.
func Formats() []string {
	out := make([]string, len(readers))
	for i, f := range readers {
		out[i] = f.name
	}
	return out
}

// NewReader returns a Reader for an export in the named format: "wxr",
// "disqus", "remark42", "isso" or "commento". Gzip-compressed input (as
// Remark42 backups and Commento exports come) is recognised and
// decompressed.
//
// Comment ids are unique within a page but not always across pages: a
// hand-edited WXR file can repeat one, so callers should key imported
// comments on (PageID, ID). In every format a reply and its parent are on
// the same page.
//
// A Reader may hold a temporary file (Commento); if it implements
// io.Closer, close it when done. It is closed for you once Next has
// returned an error or io.EOF.
func NewReader(format string, r io.Reader) (Reader, error) {
	for _, f := range readers {
		if f.name == format {
			return &capped{Reader: f.open(maybeGunzip(markReader{r}))}, nil
		}
	}
	return nil, fmt.Errorf("unknown import format %q; known formats: %s", format, strings.Join(Formats(), ", "))
}

// maybeGunzip decompresses r if it starts with the gzip magic number.
func maybeGunzip(r io.Reader) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(2)
	if !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		return br
	}
	return &gunzipReader{src: br}
}

// gunzipReader decompresses lazily, so that a damaged header surfaces from
// Next as a *SyntaxError rather than from NewReader, and turns gzip's errors
// into ones a site owner can act on.
type gunzipReader struct {
	src io.Reader
	zr  *gzip.Reader
	err error
}

func (g *gunzipReader) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if g.zr == nil {
		zr, err := gzip.NewReader(g.src)
		if err != nil {
			g.err = gzipError(err)
			return 0, g.err
		}
		g.zr = zr
	}
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		g.err = gzipError(err)
		return n, g.err
	}
	return n, err
}

func gzipError(err error) error {
	var re *readError
	if errors.As(err, &re) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &SyntaxError{Msg: "the gzip-compressed file ends too early; it was probably cut short while downloading"}
	}
	var se *SyntaxError
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || strings.HasPrefix(err.Error(), "flate:") || strings.HasPrefix(err.Error(), "gzip:") {
		return &SyntaxError{Msg: "the gzip-compressed file is damaged (" + err.Error() + ")"}
	}
	return err // an I/O error from the underlying reader
}

// syntheticID makes a stable id for a comment the source gave none, from
// what identifies it in the file, so a re-import finds the same id.
func syntheticID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:20]
}

// parseBool reads the booleans of XML exports: "true"/"false", "1"/"0".
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes":
		return true, true
	case "false", "0", "no", "":
		return false, true
	}
	return false, false
}

// sticky remembers the first error a reader returned, so that Next keeps
// returning it, and closes what the reader holds.
type sticky struct {
	err    error
	closer func()
}

func (s *sticky) fail(err error) (*Record, error) {
	if s.err == nil {
		s.err = err
		if s.closer != nil {
			s.closer()
			s.closer = nil
		}
	}
	return nil, s.err
}
