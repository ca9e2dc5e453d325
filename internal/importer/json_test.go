package importer

import (
	"bytes"
	"compress/gzip"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
)

func gz(tb testing.TB, s string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func summary(recs []*Record) string {
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Kind)+":"+r.PageID+":"+r.ID)
	}
	return strings.Join(out, " ")
}

func wantSyntaxError(tb testing.TB, err error, line int, msg string) {
	tb.Helper()
	var se *SyntaxError
	if !errors.As(err, &se) {
		tb.Fatalf("err = %v (%T), want *SyntaxError", err, err)
	}
	if se.Line != line || !strings.Contains(se.Msg, msg) {
		tb.Errorf("got %q, want line %d and %q", se.Error(), line, msg)
	}
}

func TestRemark42_Comments(t *testing.T) {
	in := `{"version":1,"users":[],"posts":[{"url":"https://radio-t.com","read_only":true}]}
{"id":"1","pid":"","text":"<p>hi</p>","orig":"hi","user":{"name":"Jane","id":"github_abc","profile":"https://github.com/jane","ip":"293ec5b0"},"locator":{"site":"radio-t","url":"https://radio-t.com"},"score":3,"time":"2017-12-20T15:18:22.123-06:00","title":"Home"}
{"id":"2","pid":"1","text":"","user":{"name":"deleted","id":"anonymous_xyz"},"locator":{"site":"radio-t","url":"https://radio-t.com/2"},"time":"2017-12-20T15:18:23Z","delete":true,"title":"Two"}
`
	recs := mustParse(t, "remark42", in)
	if got, want := summary(recs), "page:https://radio-t.com: comment:https://radio-t.com:1 page:https://radio-t.com/2: comment:https://radio-t.com/2:2"; got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if !recs[0].Closed || recs[2].Title != "Two" {
		t.Errorf("pages %+v %+v", recs[0], recs[2])
	}
	c := recs[1]
	want := comment.Author{Name: "Jane", Website: "https://github.com/jane", Identity: "remark42:github_abc"}
	if c.Author != want || c.Body != "<p>hi</p>" || c.BodyFormat != FormatHTML || c.Markdown != "hi" || c.Likes != 3 ||
		c.IP != "" || c.Status != comment.StatusApproved || c.Line != 2 ||
		!c.Created.Equal(time.Date(2017, 12, 20, 21, 18, 22, 123e6, time.UTC)) {
		t.Errorf("comment %+v", c)
	}
	d := recs[3]
	if d.Status != comment.StatusDeleted || d.Author.Identity != "" || d.ParentID != "1" {
		t.Errorf("deleted comment %+v", d)
	}
}

func TestRemark42_Shapes(t *testing.T) {
	comment1 := `{"id":"1","text":"a","user":{"id":"u"},"locator":{"url":"/a"},"time":"2020-01-01T00:00:00Z"}`
	t.Run("no metadata line", func(t *testing.T) {
		if got := summary(mustParse(t, "remark42", comment1+"\n")); got != "page:/a: comment:/a:1" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("pretty-printed, no trailing newline", func(t *testing.T) {
		in := "{\n  \"version\": 1\n}\n\n{\n  \"id\": \"7\",\n  \"locator\": {\"url\": \"/a\"}\n}"
		recs := mustParse(t, "remark42", in)
		if got := summary(recs); got != "page:/a: comment:/a:7" || recs[1].Line != 5 {
			t.Errorf("got %q, line %d", got, recs[1].Line)
		}
	})
	t.Run("two backups joined", func(t *testing.T) {
		in := `{"version":1,"posts":[{"url":"/a"}]}` + "\n" + comment1 + "\n" + `{"version":1,"posts":[{"url":"/b","read_only":true}]}` + "\n"
		if got := summary(mustParse(t, "remark42", in)); got != "page:/a: comment:/a:1 page:/b:" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("gzip", func(t *testing.T) {
		recs, err := readAll(t, "remark42", bytes.NewReader(gz(t, comment1)))
		if err != nil || summary(recs) != "page:/a: comment:/a:1" {
			t.Errorf("got %q, %v", summary(recs), err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		if recs := mustParse(t, "remark42", ""); len(recs) != 0 {
			t.Errorf("got %d records", len(recs))
		}
	})
}

func TestRemark42_Malformed(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"version 2", `{"version":2,"users":[],"posts":[]}`, 1, "version 2; only version 1"},
		{"not json", "{\"version\":1}\n\tnot json", 2, "not valid JSON: invalid character 'o'"},
		{"cut short", "{\"version\":1}\n{\"id\":\"1\",\"text\":\"abc", 2, "unexpected end of file"},
		{"array", "{\"version\":1}\n[1,2]", 2, "expected a comment object, found a list"},
		{"wrong type", "{\"version\":1}\n{\"id\":\"1\",\n\"score\":\"many\"}", 3, `"score" is a string; expected a whole number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, "remark42", tt.in)
			wantSyntaxError(t, err, tt.line, tt.msg)
		})
	}
}

func TestIsso_Shapes(t *testing.T) {
	t.Run("numeric ids, sqlite fields", func(t *testing.T) {
		in := `[{"id": "/a", "title": "A", "comments": [
			{"id": 1, "author": null, "created": 1543425863.5, "text": "*hi*", "mode": 1, "likes": 2},
			{"id": 2, "parent": 1, "created": "2018-11-28 17:58:03", "text": "re", "mode": 2},
			{"id": 3, "parent": null, "created": "2018-11-28 17:58:03.250", "text": "", "mode": 4},
			{"id": 4, "created": "2018-11-28T17:58:03Z", "text": "x", "mode": 8}
		]}]`
		recs := mustParse(t, "isso", in)
		if got := summary(recs); got != "page:/a: comment:/a:1 comment:/a:2 comment:/a:3 comment:/a:4" {
			t.Fatalf("got %q", got)
		}
		c := recs[1]
		if c.BodyFormat != FormatMarkdown || c.Likes != 2 || c.Status != comment.StatusApproved ||
			!c.Created.Equal(time.Date(2018, 11, 28, 17, 24, 23, 5e8, time.UTC)) || c.Line != 2 {
			t.Errorf("%+v", c)
		}
		if recs[2].ParentID != "1" || recs[2].Status != comment.StatusPending {
			t.Errorf("%+v", recs[2])
		}
		if recs[3].Status != comment.StatusDeleted || !recs[3].Created.Equal(time.Date(2018, 11, 28, 17, 58, 3, 25e7, time.UTC)) {
			t.Errorf("%+v", recs[3])
		}
		if recs[4].Status != comment.StatusPending || !hasWarning(recs[4], "unknown mode 8") {
			t.Errorf("%+v", recs[4])
		}
	})
	t.Run("comments before id and title", func(t *testing.T) {
		in := `[{"comments": [{"id": "1", "text": "a", "created": "2018-11-28 17:24:23"}], "id": "/b", "title": "B", "extra": {"x": [1]}},
		        {"id": "/c", "comments": []}]`
		recs := mustParse(t, "isso", in)
		if got := summary(recs); got != "page:/b: comment:/b:1 page:/c:" {
			t.Fatalf("got %q", got)
		}
		if recs[0].Title != "B" || recs[0].URL != "/b" {
			t.Errorf("%+v", recs[0])
		}
	})
	t.Run("missing id", func(t *testing.T) {
		recs := mustParse(t, "isso", `[{"title": "T", "comments": [{"text": "a"}]}]`)
		if len(recs) != 2 || !hasWarning(recs[0], "no id") || !hasWarning(recs[1], "no id") || recs[1].ID == "" || recs[1].PageID != recs[0].PageID {
			t.Errorf("%+v %+v", recs[0], recs[1])
		}
	})
}

func TestIsso_Malformed(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"object", `{"id": "/a"}`, 1, "expected a list of threads"},
		{"empty", ``, 1, "the file is empty"},
		{"cut short", "[{\"id\": \"/a\", \"comments\": [\n{\"id\": 1}", 2, "unexpected end of file"},
		{"trailing data", "[]\n[]", 2, "unexpected data after the list of threads"},
		{"bad json", "[{\"id\": \"/a\",\n\"comments\": [}]", 2, "not valid JSON: invalid character '}'"},
		{"comment not an object", "[{\"id\": \"/a\", \"comments\": [\n\"text\"]}]", 2, "expected a comment object, found a string"},
		{"thread not an object", "[\n1]", 2, "expected a thread object, found the number 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, "isso", tt.in)
			wantSyntaxError(t, err, tt.line, tt.msg)
		})
	}
}

const commentoSampleComments = `"comments": [
	{"commentHex": "c1", "domain": "example.com", "url": "/p/1", "commenterHex": "u1", "markdown": "**hi**", "html": "<b>hi</b>", "parentHex": "root", "score": 2, "state": "approved", "creationDate": "2021-03-12T11:21:56Z", "deleted": false},
	{"commentHex": "c2", "domain": "example.com", "url": "/p/1", "commenterHex": "anonymous", "markdown": "", "html": "<p>only html</p>", "parentHex": "c1", "score": 0, "state": "unapproved", "creationDate": "2021-03-12T11:21:57.5Z"},
	{"commentHex": "c3", "domain": "example.com", "url": "/p/2", "commenterHex": "u9", "markdown": "[deleted]", "parentHex": "root", "state": "flagged", "creationDate": "2021-03-12T11:21:58Z", "deleted": true},
	{"commentHex": "c4", "domain": "example.com", "url": "/p/2", "commenterHex": "u1", "markdown": "x", "parentHex": "root", "state": "weird", "creationDate": "2021-03-12T11:21:59Z"}
]`

const commentoSampleCommenters = `"commenters": [
	{"commenterHex": "u1", "email": "a@b.c", "name": "Ann", "link": "undefined", "photo": "", "provider": "commento", "joinDate": "2021-03-19T19:27:25Z", "isModerator": false},
	{"commenterHex": "u1", "email": "a@b.c", "name": "Ann", "link": "undefined", "photo": "", "provider": "commento", "joinDate": "2021-03-19T19:27:25Z", "isModerator": false}
]`

func TestCommento_Records(t *testing.T) {
	check := func(t *testing.T, recs []*Record) {
		t.Helper()
		if got := summary(recs); got != "page:example.com/p/1: comment:example.com/p/1:c1 comment:example.com/p/1:c2 page:example.com/p/2: comment:example.com/p/2:c3 comment:example.com/p/2:c4" {
			t.Fatalf("got %q", got)
		}
		if recs[0].URL != "https://example.com/p/1" {
			t.Errorf("URL %q", recs[0].URL)
		}
		c1, c2, c3, c4 := recs[1], recs[2], recs[4], recs[5]
		ann := comment.Author{Name: "Ann", Email: "a@b.c", Identity: "commento:u1"}
		if c1.Author != ann || c1.Body != "**hi**" || c1.BodyFormat != FormatMarkdown || c1.Likes != 2 || c1.ParentID != "" || c1.Status != comment.StatusApproved || c1.Line != 3 {
			t.Errorf("c1 %+v", c1)
		}
		if c2.Author != (comment.Author{}) || c2.Body != "<p>only html</p>" || c2.BodyFormat != FormatHTML || c2.ParentID != "c1" || c2.Status != comment.StatusPending || len(c2.Warnings) > 0 {
			t.Errorf("c2 %+v", c2)
		}
		if c3.Status != comment.StatusDeleted || !hasWarning(c3, "not in the export's list of commenters") {
			t.Errorf("c3 %+v", c3)
		}
		if c4.Status != comment.StatusPending || !hasWarning(c4, `unknown state "weird"`) {
			t.Errorf("c4 %+v", c4)
		}
	}
	t.Run("commenters after comments", func(t *testing.T) {
		check(t, mustParse(t, "commento", "{\"version\": 1,\n"+commentoSampleComments+",\n"+commentoSampleCommenters+"}"))
	})
	t.Run("commenters first", func(t *testing.T) {
		// Comments start on line 3 here too: the commenters list is
		// written on one line.
		one := strings.ReplaceAll(commentoSampleCommenters, "\n", "")
		recs := mustParse(t, "commento", "{\"version\": 1, "+one+",\n"+commentoSampleComments+"}")
		check(t, recs)
	})
	t.Run("spooled to a temporary file", func(t *testing.T) {
		old := spoolMemory
		spoolMemory = 100
		defer func() { spoolMemory = old }()
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		check(t, mustParse(t, "commento", "{\"version\": 1,\n"+commentoSampleComments+",\n"+commentoSampleCommenters+"}"))
		if left, _ := filepath.Glob(filepath.Join(tmp, "parley-commento-*")); len(left) != 0 {
			t.Errorf("temporary files left behind: %v", left)
		}
	})
	t.Run("closed early", func(t *testing.T) {
		old := spoolMemory
		spoolMemory = 100
		defer func() { spoolMemory = old }()
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		rd, err := NewReader("commento", strings.NewReader("{\"version\": 1,\n"+commentoSampleComments+",\n"+commentoSampleCommenters+"}"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rd.Next(); err != nil {
			t.Fatal(err)
		}
		if left, _ := filepath.Glob(filepath.Join(tmp, "parley-commento-*")); len(left) != 1 {
			t.Fatalf("spool files: %v", left)
		}
		rd.(interface{ Close() error }).Close()
		if left, _ := filepath.Glob(filepath.Join(tmp, "parley-commento-*")); len(left) != 0 {
			t.Errorf("temporary files left behind: %v", left)
		}
	})
	t.Run("gzip", func(t *testing.T) {
		recs, err := readAll(t, "commento", bytes.NewReader(gz(t, "{\"version\": 1,\n"+commentoSampleComments+",\n"+commentoSampleCommenters+"}")))
		if err != nil {
			t.Fatal(err)
		}
		check(t, recs)
	})
	t.Run("no commenters list", func(t *testing.T) {
		recs := mustParse(t, "commento", `{"version": 1, "comments": [{"commentHex": "c1", "url": "/p", "commenterHex": "u1"}]}`)
		if len(recs) != 2 || !hasWarning(recs[1], "not in the export") || recs[0].URL != "/p" {
			t.Errorf("%+v", recs)
		}
	})
}

func TestCommento_Malformed(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"version 2", "{\n\"version\": 2}", 2, "version 2; only version 1"},
		{"a list", "[]", 1, "expected a Commento export"},
		{"cut short", "{\"version\": 1,\n\"comments\": [\n{\"commentHex\": \"c1\"},\n", 4, "unexpected end of file"},
		{"cut short in commenters", "{\"version\": 1, \"comments\": [],\n\"commenters\": [{", 2, "unexpected end of file"},
		{"wrong type", "{\"version\": 1, \"commenters\": [],\n\"comments\": [\n{\"commentHex\": \"c1\",\n\"score\": \"x\"}]}", 4, `"score" is a string`},
		{"wrong type, spooled", "{\"version\": 1, \"comments\": [\n{\"commentHex\": \"c1\",\n\"score\": \"x\"}], \"commenters\": []}", 3, `"score" is a string`},
		{"trailing", "{\"version\": 1}\n{}", 2, "unexpected data after the end of the export"},
		{"gzip damaged", string(gz(t, `{"version": 1}`)[:12]), 0, "gzip-compressed file ends too early"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, "commento", tt.in)
			wantSyntaxError(t, err, tt.line, tt.msg)
		})
	}
}

func TestNewReader_UnknownFormat(t *testing.T) {
	_, err := NewReader("blogger", strings.NewReader(""))
	if err == nil || !strings.Contains(err.Error(), "wxr, disqus, remark42, isso, commento") {
		t.Errorf("err = %v", err)
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestNewReader_ReadErrorsPassThrough(t *testing.T) {
	boom := errors.New("disk on fire")
	for _, format := range Formats() {
		_, err := readAll(t, format, failingReader{boom})
		if !errors.Is(err, boom) {
			t.Errorf("%s: err = %v (%T), want the reader's error", format, err, err)
		}
		var se *SyntaxError
		if errors.As(err, &se) {
			t.Errorf("%s: a read error became a SyntaxError", format)
		}
	}
}
