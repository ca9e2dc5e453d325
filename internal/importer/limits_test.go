package importer

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

// hugeExports are a small export of every format with one comment whose
// text is BODY, on line 3 of the file.
var hugeExports = map[string][2]string{
	"wxr": {`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><title>P</title><link>https://blog.example/p/</link><wp:post_id>1</wp:post_id><wp:post_type>post</wp:post_type>
<wp:comment><wp:comment_id>1</wp:comment_id><wp:comment_author>A</wp:comment_author><wp:comment_date_gmt>2016-03-14 14:09:26</wp:comment_date_gmt><wp:comment_content><![CDATA[`,
		`]]></wp:comment_content><wp:comment_approved>1</wp:comment_approved></wp:comment></item></channel></rss>
`},
	"disqus": {`<?xml version="1.0" encoding="utf-8"?>
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals"><thread dsq:id="1"><link>https://blog.example/p</link><title>P</title></thread>
<post dsq:id="2"><message><![CDATA[`,
		`]]></message><createdAt>2015-01-27T14:56:57Z</createdAt><author><name>A</name></author><thread dsq:id="1"/></post></disqus>
`},
	"remark42": {`{"version":1,"posts":[{"url":"https://blog.example/p"}]}

{"id":"c1","pid":"","text":"`, `","user":{"name":"A","id":"a"},"locator":{"site":"s","url":"https://blog.example/p"},"time":"2019-01-01T00:00:00Z"}
`},
	"isso": {`[{"id": "/p", "title": "P", "comments": [
	{"id": 2, "author": "B", "text": "before", "created": "2019-01-01 00:00:00", "mode": 1},
	{"id": 1, "author": "A", "created": "2019-01-01 00:00:00", "mode": 1, "text": "`, `"}]}]
`},
	"commento": {`{"version": 1, "commenters": [],
"comments": [
{"commentHex": "c1", "url": "blog.example/p", "commenterHex": "anonymous", "parentHex": "root", "state": "approved", "creationDate": "2019-01-01T00:00:00Z", "markdown": "`,
		`", "html": ""}]}
`},
}

// gzipExport compresses an export whose comment text is size bytes of
// one letter, without holding the text in memory.
func gzipExport(tb testing.TB, format string, size int) []byte {
	tb.Helper()
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	io.WriteString(zw, hugeExports[format][0])
	chunk := strings.Repeat("a", 64<<10)
	for n := 0; n < size; n += len(chunk) {
		io.WriteString(zw, chunk[:min(len(chunk), size-n)])
	}
	io.WriteString(zw, hugeExports[format][1])
	zw.Close()
	return b.Bytes()
}

// TestImport_FieldCap: a small gzip-compressed export holding one huge
// comment (64 MB of text, under 100 kB compressed) is refused in every
// format with the comment's line and the documented limit, in constant
// memory; the same export with a short text reads.
func TestImport_FieldCap(t *testing.T) {
	for format := range hugeExports {
		t.Run(format, func(t *testing.T) {
			small := gzipExport(t, format, 1000)
			r, err := NewReader(format, bytes.NewReader(small))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for {
				rec, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("the small export: %v", err)
				}
				found = found || rec.Kind == KindComment && len(rec.Body) == 1000
			}
			if !found {
				t.Fatal("the small export has no 1000-letter comment: the template is wrong")
			}

			// Over the field limit, under the limit of what is read at once.
			r, _ = NewReader(format, bytes.NewReader(gzipExport(t, format, 2<<20)))
			for err = nil; err == nil; {
				_, err = r.Next()
			}
			if se, ok := err.(*SyntaxError); !ok || se.Line != 3 || !strings.Contains(se.Msg, "1 MB") {
				t.Fatalf("a 2 MB comment = %v; want a *SyntaxError on line 3 naming the 1 MB limit", err)
			}

			huge := gzipExport(t, format, 64<<20)
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r, _ = NewReader(format, bytes.NewReader(huge))
			for err = nil; err == nil; {
				_, err = r.Next()
			}
			runtime.ReadMemStats(&after)
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line != 3 || !strings.Contains(se.Msg, "1 MB") {
				t.Fatalf("the huge export (%d kB compressed) = %v; want a *SyntaxError on line 3 naming the 1 MB limit", len(huge)>>10, err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 40<<20 {
				t.Fatalf("reading it allocated %d MB; a 64 MB field must be refused without being held", alloc>>20)
			}
			t.Logf("%d kB compressed: %v (%d MB allocated)", len(huge)>>10, err, (after.TotalAlloc-before.TotalAlloc)>>20)
		})
	}
}
