package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// jsonStream wraps a json.Decoder with what the JSON readers share: line
// numbers for records and errors, and errors a site owner can read.
type jsonStream struct {
	dec   *json.Decoder
	lines *lineCounter
}

func newJSONStream(r io.Reader) *jsonStream {
	lc := &lineCounter{start: -1}
	j := &jsonStream{lines: lc}
	lc.r = &valueLimit{r: r, max: maxValue, what: "JSON value", line: func() int { return lc.lineOf(lc.valueStart()) }}
	lc.limit = lc.r.(*valueLimit)
	j.dec = json.NewDecoder(lc)
	return j
}

// mark tells the limit on value size that a value ended where the
// decoder stands.
func (j *jsonStream) mark() { j.lines.limit.mark = j.dec.InputOffset() }

// value decodes the next JSON value without interpreting it and returns
// it with the line it starts on. At the top level (inside == "") it
// returns io.EOF when the input ends between values.
func (j *jsonStream) value(inside string) (json.RawMessage, int, error) {
	var m json.RawMessage
	err := j.dec.Decode(&m)
	j.mark()
	if err != nil {
		if err == io.EOF && inside == "" {
			return nil, 0, io.EOF
		}
		return nil, 0, j.convert(err, inside)
	}
	// A raw message holds the value without the whitespace before it, so
	// it ends where the decoder stands.
	start := j.dec.InputOffset() - int64(len(m))
	return m, j.lines.lineAt(start), nil
}

// token reads the next delimiter, key or scalar.
func (j *jsonStream) token(inside string) (json.Token, error) {
	t, err := j.dec.Token()
	j.mark()
	if err != nil {
		return nil, j.convert(err, inside)
	}
	return t, nil
}

// expect reads a delimiter and fails unless it is want.
func (j *jsonStream) expect(want json.Delim, what, inside string) error {
	line := j.line()
	t, err := j.token(inside)
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return &SyntaxError{Line: line, Msg: fmt.Sprintf("expected %s, found %s", what, describeToken(t))}
	}
	return nil
}

// line is the line of the next token.
func (j *jsonStream) line() int {
	j.dec.More() // skips whitespace
	return j.lines.lineAt(j.dec.InputOffset())
}

// emptyFile turns the error from the first token of a file that holds
// nothing into a plain message.
func emptyFile(err error, j *jsonStream) error {
	var se *SyntaxError
	if errors.As(err, &se) && !j.lines.content {
		return &SyntaxError{Line: 1, Msg: "the file is empty"}
	}
	return err
}

// atEnd reports whether only whitespace is left.
func (j *jsonStream) atEnd() (bool, error) {
	_, err := j.dec.Token()
	if err == io.EOF {
		return true, nil
	}
	if err != nil {
		return false, j.convert(err, "")
	}
	return false, nil
}

func describeToken(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "a list"
		}
		return fmt.Sprintf("%q", string(v))
	case string:
		return fmt.Sprintf("the string %q", truncate(v, 40))
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprintf("the number %v", t)
}

func describeRaw(m json.RawMessage) string {
	if len(m) == 0 {
		return "nothing"
	}
	switch m[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "true or false"
	case 'n':
		return "null"
	}
	return "a number"
}

// truncate shortens s to about n bytes for a message, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// convert turns decoder errors into a *SyntaxError with a line; errors
// from the underlying reader pass through.
func (j *jsonStream) convert(err error, inside string) error {
	var re *readError
	if errors.As(err, &re) {
		return re.err
	}
	var se *SyntaxError
	if errors.As(err, &se) {
		return se
	}
	if inside != "" {
		inside = " inside " + inside
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return &SyntaxError{Line: j.lines.lineAt(j.lines.pos), Msg: "unexpected end of file" + inside + "; the file seems to be cut short"}
	}
	var jse *json.SyntaxError
	if errors.As(err, &jse) {
		return &SyntaxError{Line: j.errorLine(), Msg: "not valid JSON: " + jse.Error()}
	}
	return &SyntaxError{Line: j.lines.lineAt(j.dec.InputOffset()), Msg: "not valid JSON: " + err.Error()}
}

// errorLine finds the line of a syntax error. The decoder reports its
// offset inconsistently when mixing Token and Decode, so scan what it
// still holds, from the start of the value it failed on, with a fresh
// decoder.
func (j *jsonStream) errorLine() int {
	line := j.lines.lineAt(j.dec.InputOffset())
	rest, _ := io.ReadAll(j.dec.Buffered())
	value := bytes.TrimLeft(rest, ",: \t\r\n")
	line += bytes.Count(rest[:len(rest)-len(value)], []byte("\n"))
	var m json.RawMessage
	err := json.NewDecoder(bytes.NewReader(value)).Decode(&m)
	var jse *json.SyntaxError
	if errors.As(err, &jse) && jse.Offset > 0 && int(jse.Offset) <= len(value) {
		line += bytes.Count(value[:jse.Offset-1], []byte("\n"))
	}
	return line
}

// unmarshal decodes a value read by value into v, turning type mismatches
// into a *SyntaxError at the right line.
func unmarshal(m json.RawMessage, line int, v any) error {
	err := json.Unmarshal(m, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		l := line
		if te.Offset > 0 && int(te.Offset) <= len(m) {
			l += bytes.Count(m[:te.Offset], []byte("\n"))
		}
		field := te.Field
		if field == "" {
			return &SyntaxError{Line: l, Msg: fmt.Sprintf("expected %s, found %s", kindName(te.Type), jsonKind(te.Value))}
		}
		return &SyntaxError{Line: l, Msg: fmt.Sprintf("%q is %s; expected %s", field, jsonKind(te.Value), kindName(te.Type))}
	}
	var se *SyntaxError
	if errors.As(err, &se) {
		if se.Line == 0 {
			se.Line = line
		}
		return se
	}
	return &SyntaxError{Line: line, Msg: "not valid JSON: " + err.Error()}
}

func jsonKind(v string) string {
	switch v {
	case "object":
		return "an object"
	case "array":
		return "a list"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	}
	if strings.HasPrefix(v, "number") {
		return "a number (" + v + ")"
	}
	return v
}

func kindName(t reflect.Type) string {
	if t == nil {
		return "something else"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Float64, reflect.Float32:
		return "a number"
	}
	return t.String()
}

// flexString accepts a string, a number or null: ids in hand-made exports
// are either ("id": "1" in Isso's own example, an integer in its code).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case b[0] == '-' || b[0] >= '0' && b[0] <= '9':
		*f = flexString(b)
	default:
		return &json.UnmarshalTypeError{Value: describeRawKind(b), Type: reflect.TypeFor[string]()}
	}
	return nil
}

func describeRawKind(b []byte) string {
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	}
	return "value"
}

// parseLooseTime reads the date formats exports use: RFC 3339 with or
// without fractions, "YYYY-MM-DD HH:MM:SS[.ffffff]" or RFC 3339 without a
// zone, taken as UTC, or Unix seconds. The result is in UTC.
func parseLooseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 1e11 {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC().Round(time.Microsecond), true
	}
	return time.Time{}, false
}

// lineCounter counts the lines that pass through it, so that a byte offset
// reported by the decoder can be turned into a line. Offsets are asked for
// in increasing order; it keeps only the newlines not yet passed.
type lineCounter struct {
	r     io.Reader
	limit *valueLimit // r, bounding each value
	// start is the offset of the first byte of the value after the last
	// mark (whitespace, commas and colons skipped), -1 until seen.
	start, startMark int64
	pos              int64   // bytes read so far
	nl               []int64 // offsets of newlines at or after the last offset asked for
	passed           int     // newlines before nl[0]
	// content is set once anything but whitespace has been read.
	content bool
}

func (l *lineCounter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	b := p[:n]
	if l.startMark != l.limit.mark {
		l.start, l.startMark = -1, l.limit.mark
	}
	if l.start < 0 {
		for i := max(0, l.startMark-l.pos); i < int64(n); i++ {
			if !strings.ContainsRune(",: \t\r\n", rune(b[i])) {
				l.start = l.pos + i
				break
			}
		}
	}
	if !l.content && len(bytes.TrimSpace(b)) > 0 {
		l.content = true
	}
	base := l.pos
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		l.nl = append(l.nl, base+int64(i))
		base += int64(i) + 1
		b = b[i+1:]
	}
	l.pos += int64(n)
	return n, err
}

// valueStart is where the value being read begins, as far as is known.
func (l *lineCounter) valueStart() int64 {
	if l.startMark == l.limit.mark && l.start >= 0 {
		return l.start
	}
	return l.limit.mark
}

// lineOf returns the 1-based line of byte offset off, at or after the
// last offset asked for, without moving on.
func (l *lineCounter) lineOf(off int64) int {
	n := l.passed + 1
	for _, nl := range l.nl {
		if nl < off {
			n++
		}
	}
	return n
}

// lineAt returns the 1-based line of byte offset off.
func (l *lineCounter) lineAt(off int64) int {
	i := 0
	for i < len(l.nl) && l.nl[i] < off {
		i++
	}
	if i > 0 {
		l.passed += i
		l.nl = append(l.nl[:0], l.nl[i:]...)
	}
	return l.passed + 1
}
