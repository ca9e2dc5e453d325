package importer

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"
)

// xmlScanner walks an XML export token by token for the WXR and Disqus
// readers. It uses the decoder's raw tokens in non-strict mode and checks
// nesting itself, which gives it three things the strict decoder does not:
//
//   - unquoted attribute values (dsq:id=247937687, seen in a real Disqus
//     export) are accepted, since their meaning is not in doubt;
//   - text before the root element (a stray byte, a PHP notice printed
//     ahead of the export) is ignored;
//   - a missing or mismatched end tag is reported by the element's name and
//     the line it was opened on, which is what a site owner needs to find
//     the damage. Truncation is always an error, never a short read.
type xmlScanner struct {
	d        *xml.Decoder
	clean    *xmlCleaner
	limit    *valueLimit
	line     int // where the token being read begins
	stack    []xmlOpen
	root     string // expected root element, e.g. "rss"
	what     string // "a WordPress export", for messages
	rootSeen bool
	err      error // set before decoding starts (unsupported encoding)
}

type xmlOpen struct {
	name xml.Name // as written: Space is the prefix ("wp"), not the namespace
	line int
}

func newXMLScanner(r io.Reader, root, what string) *xmlScanner {
	s := &xmlScanner{root: root, what: what}
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	src, err := decodeCharset(br)
	if err != nil {
		s.err = err
		src = strings.NewReader("")
	}
	s.clean = &xmlCleaner{r: src}
	s.limit = &valueLimit{r: s.clean, max: maxValue, what: "XML token", line: func() int { return s.line }}
	s.d = xml.NewDecoder(s.limit)
	s.d.Strict = false
	// decodeCharset has already turned the input into UTF-8; the decoder
	// still sees the declaration and asks for a converter.
	s.d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	return s
}

var xmlEncodingRE = regexp.MustCompile(`<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']`)

// decodeCharset reads the encoding named in the XML declaration and
// returns a reader of UTF-8. WordPress exports in the blog's charset,
// which on old blogs is ISO-8859-1 or windows-1252.
func decodeCharset(br *bufio.Reader) (io.Reader, error) {
	head, _ := br.Peek(1024)
	if bytes.HasPrefix(head, []byte{0xff, 0xfe}) || bytes.HasPrefix(head, []byte{0xfe, 0xff}) {
		return nil, &SyntaxError{Line: 1, Msg: "the file is in UTF-16; convert it to UTF-8 first (for example with iconv -f UTF-16 -t UTF-8)"}
	}
	m := xmlEncodingRE.FindSubmatch(head)
	if m == nil {
		return br, nil
	}
	enc := strings.ToLower(string(m[1]))
	switch enc {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return br, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso_8859-1":
		return &singleByteReader{r: br}, nil
	case "windows-1252", "cp1252", "x-cp1252":
		return &singleByteReader{r: br, cp1252: true}, nil
	}
	return nil, &SyntaxError{Line: 1, Msg: fmt.Sprintf("the file declares the character encoding %q, which cannot be read; convert it to UTF-8 first (for example with iconv -f %s -t UTF-8) and change the declaration", string(m[1]), string(m[1]))}
}

// next returns the next start element, end element or character data and
// the line it starts on. It skips comments, processing instructions and
// text outside the root, and returns io.EOF once the root has closed.
func (s *xmlScanner) next() (xml.Token, int, error) {
	if s.err != nil {
		return nil, 0, s.err
	}
	for {
		line, _ := s.d.InputPos()
		s.line = line
		tok, err := s.d.RawToken()
		s.limit.mark = s.d.InputOffset()
		if err != nil {
			if err == io.EOF {
				err = s.atEOF()
			} else {
				err = s.convert(err)
			}
			s.err = err
			return nil, 0, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(s.stack) == 0 {
				if s.rootSeen {
					return nil, 0, s.fail(line, fmt.Sprintf("<%s> after the end of <%s>; the file may be two exports joined together", qname(t.Name), s.root))
				}
				if t.Name.Local != s.root {
					return nil, 0, s.fail(line, fmt.Sprintf("the file starts with <%s>, not <%s>: this is not %s", qname(t.Name), s.root, s.what))
				}
				s.rootSeen = true
			}
			s.stack = append(s.stack, xmlOpen{name: t.Name, line: line})
			return t, line, nil
		case xml.EndElement:
			if len(s.stack) == 0 {
				return nil, 0, s.fail(line, fmt.Sprintf("</%s> closes an element that was never opened", qname(t.Name)))
			}
			top := s.stack[len(s.stack)-1]
			if top.name != t.Name {
				return nil, 0, s.fail(line, fmt.Sprintf("<%s> opened on line %d is not closed (found </%s>)", qname(top.name), top.line, qname(t.Name)))
			}
			s.stack = s.stack[:len(s.stack)-1]
			return t, line, nil
		case xml.CharData:
			if len(s.stack) == 0 {
				continue
			}
			return t, line, nil
		}
	}
}

func (s *xmlScanner) fail(line int, msg string) error {
	s.err = &SyntaxError{Line: line, Msg: msg}
	return s.err
}

func (s *xmlScanner) atEOF() error {
	line, _ := s.d.InputPos()
	if len(s.stack) > 0 {
		top := s.stack[len(s.stack)-1]
		return &SyntaxError{Line: line, Msg: fmt.Sprintf("unexpected end of file: <%s> opened on line %d is not closed; the file seems to be cut short", qname(top.name), top.line)}
	}
	if !s.rootSeen {
		return &SyntaxError{Line: line, Msg: fmt.Sprintf("no <%s> element found: this is not %s", s.root, s.what)}
	}
	return io.EOF
}

// convert turns the decoder's errors into a *SyntaxError; errors from the
// underlying reader pass through unchanged.
func (s *xmlScanner) convert(err error) error {
	var re *readError
	if errors.As(err, &re) {
		return re.err
	}
	var se *SyntaxError
	if errors.As(err, &se) {
		return se
	}
	line, _ := s.d.InputPos()
	msg := strings.TrimPrefix(err.Error(), "xml: ")
	var xe *xml.SyntaxError
	if errors.As(err, &xe) {
		line, msg = xe.Line, xe.Msg
	}
	if strings.HasPrefix(msg, "unexpected EOF") {
		where := ""
		if len(s.stack) > 0 {
			top := s.stack[len(s.stack)-1]
			where = fmt.Sprintf(" in <%s> opened on line %d", qname(top.name), top.line)
		}
		what := "in the middle of a tag"
		if strings.Contains(msg, "CDATA") {
			what = "inside a CDATA section"
		}
		return &SyntaxError{Line: line, Msg: fmt.Sprintf("unexpected end of file %s%s; the file seems to be cut short", what, where)}
	}
	return &SyntaxError{Line: line, Msg: "not well-formed XML: " + msg}
}

// skip consumes the rest of the element most recently opened.
func (s *xmlScanner) skip() error {
	depth := len(s.stack)
	for len(s.stack) >= depth {
		if _, _, err := s.next(); err != nil {
			return err
		}
	}
	return nil
}

// text consumes the rest of the element most recently opened and returns
// its character data. If markup is true and the element holds child
// elements (HTML written into the XML without CDATA or escaping), they are
// written back as markup, so an HTML body survives.
func (s *xmlScanner) text(markup bool) (string, error) {
	depth := len(s.stack)
	open := s.stack[depth-1]
	var plain, rebuilt strings.Builder
	nested := false
	for {
		tok, _, err := s.next()
		if err != nil {
			return "", err
		}
		if plain.Len() > MaxField || rebuilt.Len() > MaxField {
			return "", s.fail(open.line, fmt.Sprintf("<%s> is longer than the %d MB Parley takes in one field (the file may be damaged)", qname(open.name), MaxField>>20))
		}
		switch t := tok.(type) {
		case xml.CharData:
			if nested {
				xml.EscapeText(&rebuilt, t)
			} else {
				plain.Write(t)
			}
		case xml.StartElement:
			if !markup {
				continue
			}
			if !nested {
				nested = true
				xml.EscapeText(&rebuilt, []byte(plain.String()))
			}
			rebuilt.WriteString("<" + qname(t.Name))
			for _, a := range t.Attr {
				rebuilt.WriteString(" " + qname(a.Name) + `="`)
				xml.EscapeText(&rebuilt, []byte(a.Value))
				rebuilt.WriteString(`"`)
			}
			rebuilt.WriteString(">")
		case xml.EndElement:
			if len(s.stack) < depth {
				if nested {
					return rebuilt.String(), nil
				}
				return plain.String(), nil
			}
			if nested {
				rebuilt.WriteString("</" + qname(t.Name) + ">")
			}
		}
	}
}

// trimmed is text with surrounding whitespace removed: pretty-printed
// exports put a newline and indentation around values.
func (s *xmlScanner) trimmed() (string, error) {
	t, err := s.text(false)
	return strings.TrimSpace(t), err
}

// children calls fn for each child element of the element most recently
// opened, until that element closes. Children fn does not consume are
// skipped.
func (s *xmlScanner) children(fn func(se xml.StartElement, line int) error) error {
	depth := len(s.stack)
	for {
		tok, line, err := s.next()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := fn(t, line); err != nil {
				return err
			}
			if len(s.stack) > depth {
				if err := s.skip(); err != nil {
					return err
				}
			}
		case xml.EndElement:
			if len(s.stack) < depth {
				return nil
			}
		}
	}
}

// parent is the local name of the element enclosing the one most recently
// opened, or "".
func (s *xmlScanner) parent() string {
	if len(s.stack) < 2 {
		return ""
	}
	return s.stack[len(s.stack)-2].name.Local
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// attr returns the value of the attribute with the given local name,
// preferring one with the given prefix (raw tokens keep prefixes).
func attr(se xml.StartElement, prefix, local string) string {
	v := ""
	for _, a := range se.Attr {
		if a.Name.Local != local {
			continue
		}
		if a.Name.Space == prefix {
			return a.Value
		}
		if v == "" {
			v = a.Value
		}
	}
	return v
}

// xmlCleaner replaces what encoding/xml refuses outright, invalid UTF-8 and
// the control characters XML 1.0 forbids, with U+FFFD. Old WordPress
// databases hold both (text pasted from word processors, latin-1 bytes in a
// UTF-8 table); refusing the whole export over one stray byte would leave
// the owner editing a large file by hand. Line breaks are untouched, so
// line numbers stay right. Records with U+FFFD get a warning.
type xmlCleaner struct {
	r        io.Reader
	raw      [32 << 10]byte
	carry    int    // bytes of an incomplete rune kept at the front of raw
	out      []byte // cleaned bytes not yet returned
	fixed    []byte
	replaced int
	err      error
}

func (c *xmlCleaner) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		n, err := c.r.Read(c.raw[c.carry:])
		data := c.raw[:c.carry+n]
		if err != nil {
			c.err = err
		}
		c.out, c.carry = c.cleanChunk(data, err != nil)
		if c.carry > 0 {
			copy(c.raw[:], data[len(data)-c.carry:])
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// cleanChunk returns the cleaned bytes of data and how many trailing bytes
// (an incomplete rune) to keep for the next read.
func (c *xmlCleaner) cleanChunk(data []byte, final bool) ([]byte, int) {
	fixed := c.fixed[:0]
	last := 0 // start of the run of good bytes not yet copied to fixed
	dirty := false
	i := 0
	for i < len(data) {
		b := data[i]
		if b >= 0x20 && b < 0x80 || b == '\n' || b == '\r' || b == '\t' {
			i++
			continue
		}
		size := 1
		if b >= 0x80 {
			if !final && !utf8.FullRune(data[i:]) {
				break
			}
			var r rune
			r, size = utf8.DecodeRune(data[i:])
			if !(r == utf8.RuneError && size == 1) && r != 0xFFFE && r != 0xFFFF {
				i += size
				continue
			}
		}
		dirty = true
		fixed = append(fixed, data[last:i]...)
		fixed = append(fixed, "\uFFFD"...)
		c.replaced++
		i += size
		last = i
	}
	carry := len(data) - i
	if !dirty {
		return data[:i], carry
	}
	fixed = append(fixed, data[last:i]...)
	c.fixed = fixed
	return fixed, carry
}

// singleByteReader converts ISO-8859-1 (or windows-1252) to UTF-8.
type singleByteReader struct {
	r      io.Reader
	cp1252 bool
	buf    []byte
}

// cp1252 maps 0x80–0x9F, where windows-1252 differs from ISO-8859-1.
var cp1252 = [32]rune{
	'€', 0x81, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0x8D, 'Ž', 0x8F,
	0x90, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0x9D, 'ž', 'Ÿ',
}

func (s *singleByteReader) Read(p []byte) (int, error) {
	if len(p) < utf8.UTFMax {
		return 0, io.ErrShortBuffer
	}
	if cap(s.buf) < len(p)/utf8.UTFMax {
		s.buf = make([]byte, len(p)/utf8.UTFMax)
	}
	n, err := s.r.Read(s.buf[:len(p)/utf8.UTFMax])
	out := p[:0]
	for _, b := range s.buf[:n] {
		r := rune(b)
		if s.cp1252 && b >= 0x80 && b < 0xA0 {
			r = cp1252[b-0x80]
		}
		out = utf8.AppendRune(out, r)
	}
	return len(out), err
}

// readError marks an error from the caller's io.Reader, so the parsers
// pass it through instead of calling the file malformed.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

type markReader struct{ r io.Reader }

func (m markReader) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if err != nil && err != io.EOF {
		err = &readError{err}
	}
	return n, err
}

// containsFFFD reports whether a record holds the replacement character.
func containsFFFD(r *Record) bool {
	for _, s := range []string{r.Body, r.Title, r.Author.Name, r.Author.Email, r.Author.Website, r.URL} {
		if strings.ContainsRune(s, utf8.RuneError) {
			return true
		}
	}
	return false
}
