package spam

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// DataError is a problem in a labelled data file, with where it is.
type DataError struct {
	File string
	Line int // 1-based; 0 when the problem is the whole file
	Msg  string
}

func (e *DataError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// maxDataLine bounds one line of a TSV file or one CSV record.
const maxDataLine = 1 << 20

// ReadExamples reads labelled comments from r, which is named name in
// errors and in each Example's Group. A gzip-compressed stream is
// decompressed first. Three formats are recognised by their first line:
//
//   - CSV (RFC 4180) with a header row holding CONTENT and CLASS columns,
//     CLASS 1 for spam and 0 for legitimate, as in the YouTube Spam
//     Collection; optional AUTHOR and WEBSITE (or URL) columns are read
//     too, other columns are ignored;
//   - JSON Lines, one object a line: {"text": "...", "spam": true,
//     "author": "...", "website": "...", "group": "..."}, where text and
//     spam are required; group, when present, replaces name as the
//     Example's Group;
//   - tab-separated lines of "ham" or "spam", a tab, and the text, as in
//     the SMS Spam Collection.
//
// Errors are *DataError values naming the line.
func ReadExamples(r io.Reader, name string) ([]Example, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &DataError{File: name, Msg: "gzip: " + err.Error()}
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	first, err := br.Peek(4096)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, &DataError{File: name, Msg: err.Error()}
	}
	first = bytes.TrimPrefix(first, []byte("\xef\xbb\xbf"))
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	first = bytes.TrimSuffix(first, []byte("\r"))
	if len(bytes.TrimSpace(first)) == 0 {
		return nil, &DataError{File: name, Line: 1, Msg: "empty first line: want a CSV header with CONTENT and CLASS columns, JSON Lines, or ham|spam<TAB>text lines"}
	}
	if first[0] == '{' {
		return readJSONL(br, name)
	}
	if tab := bytes.IndexByte(first, '\t'); tab >= 0 {
		if label := strings.ToLower(string(first[:tab])); label == "ham" || label == "spam" {
			return readTSV(br, name)
		}
	}
	return readCSV(br, name)
}

// jsonExample is one line of the JSON Lines format.
type jsonExample struct {
	Text    *string `json:"text"`
	Spam    *bool   `json:"spam"`
	Author  string  `json:"author"`
	Website string  `json:"website"`
	Group   string  `json:"group"`
}

func readJSONL(r *bufio.Reader, name string) ([]Example, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxDataLine)
	var out []Example
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var j jsonExample
		if err := json.Unmarshal(b, &j); err != nil {
			return nil, &DataError{File: name, Line: line, Msg: "not a JSON object: " + err.Error()}
		}
		if j.Text == nil || j.Spam == nil {
			return nil, &DataError{File: name, Line: line, Msg: `want "text" and "spam" fields`}
		}
		e := Example{Text: *j.Text, Spam: *j.Spam, Author: j.Author, Website: j.Website, Group: name}
		if j.Group != "" {
			e.Group = j.Group
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &DataError{File: name, Line: line + 1, Msg: "line longer than 1 MB"}
		}
		return nil, &DataError{File: name, Line: line + 1, Msg: err.Error()}
	}
	return out, nil
}

func readTSV(r *bufio.Reader, name string) ([]Example, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxDataLine)
	var out []Example
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if line == 1 {
			s = strings.TrimPrefix(s, "\ufeff")
		}
		s = strings.TrimSuffix(s, "\r")
		if strings.TrimSpace(s) == "" {
			continue
		}
		label, text, ok := strings.Cut(s, "\t")
		if !ok {
			return nil, &DataError{File: name, Line: line, Msg: "no tab: want ham|spam<TAB>text"}
		}
		var spam bool
		switch strings.ToLower(label) {
		case "spam":
			spam = true
		case "ham":
		default:
			return nil, &DataError{File: name, Line: line, Msg: fmt.Sprintf("label %q is neither ham nor spam", clip(label))}
		}
		out = append(out, Example{Text: text, Spam: spam, Group: name})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &DataError{File: name, Line: line + 1, Msg: "line longer than 1 MB"}
		}
		return nil, &DataError{File: name, Line: line + 1, Msg: err.Error()}
	}
	return out, nil
}

func readCSV(r io.Reader, name string) ([]Example, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, csvError(name, err, 1)
	}
	content, class, author, website := -1, -1, -1, -1
	for i, h := range head {
		switch strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) {
		case "CONTENT":
			content = i
		case "CLASS":
			class = i
		case "AUTHOR":
			author = i
		case "WEBSITE", "URL":
			website = i
		}
	}
	if content < 0 || class < 0 {
		return nil, &DataError{File: name, Line: 1, Msg: "unknown format: want a CSV header with CONTENT and CLASS columns, JSON Lines, or ham|spam<TAB>text lines"}
	}
	var out []Example
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, csvError(name, err, 0)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) <= max(content, class) {
			if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
				continue
			}
			return nil, &DataError{File: name, Line: line, Msg: fmt.Sprintf("%d fields, want at least %d", len(rec), max(content, class)+1)}
		}
		var spam bool
		switch strings.TrimSpace(rec[class]) {
		case "1":
			spam = true
		case "0":
		default:
			return nil, &DataError{File: name, Line: line, Msg: fmt.Sprintf("CLASS %q is neither 0 nor 1", clip(rec[class]))}
		}
		if len(rec[content]) > maxDataLine {
			return nil, &DataError{File: name, Line: line, Msg: "CONTENT longer than 1 MB"}
		}
		e := Example{Text: strings.Clone(rec[content]), Spam: spam, Group: name}
		if author >= 0 && author < len(rec) {
			e.Author = strings.TrimSpace(rec[author])
		}
		if website >= 0 && website < len(rec) {
			e.Website = strings.TrimSpace(rec[website])
		}
		out = append(out, e)
	}
}

func csvError(name string, err error, line int) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &DataError{File: name, Line: pe.Line, Msg: pe.Err.Error()}
	}
	if err == io.EOF {
		return &DataError{File: name, Line: 1, Msg: "empty file"}
	}
	return &DataError{File: name, Line: line, Msg: err.Error()}
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
