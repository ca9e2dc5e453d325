package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/internal/publicdata"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenRecord is how a Record is written to a golden file: one JSON object
// per line, empty fields left out.
type goldenRecord struct {
	Kind       Kind     `json:"kind"`
	Line       int      `json:"line"`
	PageID     string   `json:"page_id,omitempty"`
	URL        string   `json:"url,omitempty"`
	Title      string   `json:"title,omitempty"`
	PageKey    string   `json:"page_key,omitempty"`
	Closed     bool     `json:"closed,omitempty"`
	Deleted    bool     `json:"deleted,omitempty"`
	ID         string   `json:"id,omitempty"`
	ParentID   string   `json:"parent_id,omitempty"`
	Type       string   `json:"type,omitempty"`
	Status     string   `json:"status,omitempty"`
	Created    string   `json:"created,omitempty"`
	Name       string   `json:"name,omitempty"`
	Email      string   `json:"email,omitempty"`
	Website    string   `json:"website,omitempty"`
	Identity   string   `json:"identity,omitempty"`
	IP         string   `json:"ip,omitempty"`
	Likes      int      `json:"likes,omitempty"`
	BodyFormat Format   `json:"body_format,omitempty"`
	Body       string   `json:"body,omitempty"`
	Markdown   string   `json:"markdown,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
}

func toGolden(r *Record) goldenRecord {
	g := goldenRecord{
		Kind: r.Kind, Line: r.Line, PageID: r.PageID, URL: r.URL, Title: r.Title,
		PageKey: r.PageKey, Closed: r.Closed, Deleted: r.Deleted, ID: r.ID,
		ParentID: r.ParentID, Type: r.Type, Status: string(r.Status),
		Name: r.Author.Name, Email: r.Author.Email, Website: r.Author.Website,
		Identity: r.Author.Identity, IP: r.IP, Likes: r.Likes,
		BodyFormat: r.BodyFormat, Body: r.Body, Markdown: r.Markdown, Warnings: r.Warnings,
	}
	if !r.Created.IsZero() {
		g.Created = r.Created.Format(time.RFC3339Nano)
	}
	return g
}

// readAll parses an export completely and returns its records and the
// error that ended it (nil for a clean io.EOF).
func readAll(tb testing.TB, format string, src io.Reader) ([]*Record, error) {
	tb.Helper()
	rd, err := NewReader(format, src)
	if err != nil {
		tb.Fatal(err)
	}
	var recs []*Record
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return recs, err
		}
		recs = append(recs, rec)
	}
}

// render writes records (and a final error) as golden-file text.
func render(tb testing.TB, recs []*Record, err error) []byte {
	tb.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if err := enc.Encode(toGolden(r)); err != nil {
			tb.Fatal(err)
		}
	}
	if err != nil {
		if err := enc.Encode(map[string]string{"error": err.Error()}); err != nil {
			tb.Fatal(err)
		}
	}
	return buf.Bytes()
}

// sharedFiles lists the export files of one format in the shared data.
func sharedFiles(tb testing.TB, format string) []string {
	tb.Helper()
	dir := filepath.Join(publicdata.Dir(tb, "import"), format)
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() || strings.EqualFold(e.Name(), "README.md") {
			continue
		}
		out = append(out, filepath.Join(dir, e.Name()))
	}
	if len(out) == 0 {
		tb.Fatalf("no %s exports in %s", format, dir)
	}
	return out
}

// TestGolden parses every shared export file and compares the records with
// testdata/<format>/<file>.golden. Regenerate with -update.
func TestGolden(t *testing.T) {
	for _, format := range Formats() {
		for _, path := range sharedFiles(t, format) {
			name := filepath.Base(path)
			t.Run(format+"/"+name, func(t *testing.T) {
				f, err := os.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				recs, rerr := readAll(t, format, f)
				got := render(t, recs, rerr)
				golden := filepath.Join("testdata", format, name+".golden")
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -run Golden -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("records differ from %s (run with -update after checking the change):\n%s", golden, lineDiff(string(want), string(got)))
				}
			})
		}
	}
}

// lineDiff shows the first lines that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 5; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			shown++
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want " + wl + "\n  got  " + gl + "\n")
		}
	}
	return b.String()
}

// TestGolden_ErrorsAreSyntaxErrors checks that whenever a golden run ended
// in an error, it was a *SyntaxError.
func TestGolden_ErrorsAreSyntaxErrors(t *testing.T) {
	for _, format := range Formats() {
		for _, path := range sharedFiles(t, format) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			_, rerr := readAll(t, format, f)
			f.Close()
			var se *SyntaxError
			if rerr != nil && !errors.As(rerr, &se) {
				t.Errorf("%s: error %v (%T) is not a *SyntaxError", filepath.Base(path), rerr, rerr)
			}
		}
	}
}
