package importer

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// checkProperties holds for any input: records are well formed, and the
// reader ends with io.EOF or a *SyntaxError whose line is inside the input.
func checkProperties(tb testing.TB, data []byte, recs []*Record, err error) {
	tb.Helper()
	for i, r := range recs {
		switch r.Kind {
		case KindPage:
			if r.PageID == "" {
				tb.Errorf("record %d: page without PageID: %+v", i, r)
			}
		case KindComment:
			if r.ID == "" {
				tb.Errorf("record %d: comment without ID: %+v", i, r)
			}
			if !r.Status.Valid() {
				tb.Errorf("record %d: comment with status %q", i, r.Status)
			}
		default:
			tb.Errorf("record %d: Kind %q", i, r.Kind)
		}
		if r.Line < 1 {
			tb.Errorf("record %d: Line %d", i, r.Line)
		}
	}
	if err == nil {
		return
	}
	var se *SyntaxError
	if !errors.As(err, &se) {
		tb.Fatalf("error %v (%T) is not a *SyntaxError", err, err)
	}
	lines := bytes.Count(data, []byte("\n")) + 1
	if se.Line < 0 || se.Line > lines {
		tb.Errorf("error %q names line %d of %d", se.Error(), se.Line, lines)
	}
	if se.Msg == "" {
		tb.Errorf("error without a message")
	}
}

// endOfData is the offset after which cutting a complete export loses
// nothing: past the root element's end tag, or the closing bracket.
func endOfData(format string, data []byte) int {
	switch format {
	case "wxr":
		return bytes.LastIndex(data, []byte("</rss>")) + len("</rss>")
	case "disqus":
		return bytes.LastIndex(data, []byte("</disqus>")) + len("</disqus>")
	case "isso":
		return bytes.LastIndexByte(data, ']') + 1
	case "commento":
		return bytes.LastIndexByte(data, '}') + 1
	}
	return -1 // remark42: a stream can end after any value
}

// TestDamaged_Truncated cuts every shared export short at many points: the
// result is a *SyntaxError (never a quiet partial read), and the records
// returned before it are exactly the first records of the whole file.
func TestDamaged_Truncated(t *testing.T) {
	for _, format := range Formats() {
		for _, path := range sharedFiles(t, format) {
			t.Run(format+"/"+filepath.Base(path), func(t *testing.T) {
				t.Parallel()
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				full, ferr := readAll(t, format, bytes.NewReader(data))
				if ferr != nil {
					t.Fatalf("whole file: %v", ferr)
				}
				want := render(t, full, nil)
				end := endOfData(format, data)

				// Every byte of a small file; for larger ones every
				// line end and a spread of other points, so the test
				// stays fast.
				var cuts []int
				rng := rand.New(rand.NewPCG(1, uint64(len(data))))
				switch {
				case len(data) <= 6<<10:
					for i := range len(data) {
						cuts = append(cuts, i)
					}
				case len(data) <= 64<<10:
					for i, b := range data {
						if b == '\n' || rng.IntN(8) == 0 {
							cuts = append(cuts, i)
						}
					}
				default:
					for range 100 {
						cuts = append(cuts, rng.IntN(len(data)))
					}
				}
				for _, cut := range cuts {
					part := data[:cut]
					recs, err := readAll(t, format, bytes.NewReader(part))
					checkProperties(t, part, recs, err)
					if got := render(t, recs, nil); !bytes.HasPrefix(want, got) {
						t.Fatalf("cut at %d: records are not a prefix of the whole file's:\n%s", cut, got)
					}
					if err != nil {
						continue
					}
					if format == "remark42" {
						continue // cut between two values: a shorter stream
					}
					if cut < end && len(bytes.TrimSpace(part)) > 0 {
						t.Fatalf("cut at %d of %d read without error (%d of %d records)", cut, len(data), len(recs), len(full))
					}
				}
			})
		}
	}
}

// TestDamaged_Corrupted mutates every shared export at random: no panic,
// and any error is a *SyntaxError with a line inside the file.
func TestDamaged_Corrupted(t *testing.T) {
	junk := []string{"<", ">", "&", `"`, "'", "{", "}", "[", "]", ",", ":", "/", "\x00", "\xff", "]]>", "<![CDATA[", "</item>", "<wp:comment>", "</post>", "\n"}
	for _, format := range Formats() {
		for _, path := range sharedFiles(t, format) {
			t.Run(format+"/"+filepath.Base(path), func(t *testing.T) {
				t.Parallel()
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(2, uint64(len(data))))
				n := 300
				if len(data) > 64<<10 {
					n = 40
				}
				for range n {
					d := bytes.Clone(data)
					for range 1 + rng.IntN(3) {
						at := rng.IntN(len(d))
						switch rng.IntN(3) {
						case 0: // delete a range
							d = append(d[:at], d[min(len(d), at+1+rng.IntN(20)):]...)
						case 1: // insert junk
							d = append(d[:at], append([]byte(junk[rng.IntN(len(junk))]), d[at:]...)...)
						default: // overwrite a byte
							d[at] = byte(rng.IntN(256))
						}
						if len(d) == 0 {
							break
						}
					}
					recs, err := readAll(t, format, bytes.NewReader(d))
					checkProperties(t, d, recs, err)
				}
			})
		}
	}
}

// TestDamaged_UnclosedElement removes the end tag of the first comment in
// each shared XML export and expects the error to name that comment's
// start line.
func TestDamaged_UnclosedElement(t *testing.T) {
	for _, tc := range []struct{ format, elem string }{{"wxr", "wp:comment"}, {"disqus", "post"}} {
		for _, path := range sharedFiles(t, tc.format) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			start := regexp.MustCompile(`<` + tc.elem + `[ >]`).FindIndex(data)
			endTag := []byte("</" + tc.elem + ">")
			if start == nil {
				continue
			}
			end := bytes.Index(data[start[0]:], endTag)
			if end < 0 {
				continue
			}
			end += start[0]
			line := bytes.Count(data[:start[0]], []byte("\n")) + 1
			d := append(bytes.Clone(data[:end]), data[end+len(endTag):]...)
			_, err = readAll(t, tc.format, bytes.NewReader(d))
			var se *SyntaxError
			want := fmt.Sprintf("<%s> opened on line %d is not closed", tc.elem, line)
			if !errors.As(err, &se) || !strings.Contains(se.Msg, want) {
				t.Errorf("%s: err = %v, want %q", filepath.Base(path), err, want)
			}
		}
	}
}
