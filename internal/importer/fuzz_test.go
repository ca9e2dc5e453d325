package importer

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parley/internal/publicdata"
)

// fuzzSeeds returns the public exports of a format that are small enough
// to mutate quickly, and the inline samples.
func fuzzSeeds(tb testing.TB, format string, inline ...string) [][]byte {
	var seeds [][]byte
	{
		paths, _ := filepath.Glob(filepath.Join(publicdata.Dir(tb, "import"), format, "*"))
		for _, p := range paths {
			if strings.EqualFold(filepath.Base(p), "README.md") {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil || len(b) > 64<<10 {
				continue
			}
			seeds = append(seeds, b)
		}
	}
	for _, s := range inline {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// fuzzFormat reads arbitrary bytes as an export of format: no panics,
// well-formed records, and errors that are *SyntaxError or io.EOF.
func fuzzFormat(f *testing.F, format string, inline ...string) {
	for _, s := range fuzzSeeds(f, format, inline...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := NewReader(format, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		var recs []*Record
		for {
			rec, err := rd.Next()
			if err == io.EOF {
				checkProperties(t, data, recs, nil)
				// After the end, the end again.
				if _, err := rd.Next(); err != io.EOF {
					t.Fatalf("Next after io.EOF = %v", err)
				}
				return
			}
			if err != nil {
				checkProperties(t, data, recs, err)
				if _, again := rd.Next(); again != err {
					t.Fatalf("Next after error %v = %v", err, again)
				}
				return
			}
			if rec == nil {
				t.Fatal("nil record without error")
			}
			recs = append(recs, rec)
		}
	})
}

func FuzzWXR(f *testing.F) {
	fuzzFormat(f, "wxr", wxrComment(`<wp:comment_author><![CDATA[A]]></wp:comment_author>
<wp:comment_date_gmt>2014-01-14 17:32:12</wp:comment_date_gmt><wp:comment_content><![CDATA[\o/ a ]]]]><![CDATA[> b]]></wp:comment_content>
<wp:comment_approved>1</wp:comment_approved><wp:comment_type>pingback</wp:comment_type><wp:comment_parent>3</wp:comment_parent><wp:comment_user_id>2</wp:comment_user_id>`),
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss><channel><item><title>caf\xe9</title></item></channel></rss>")
}

func FuzzDisqus(f *testing.F) {
	fuzzFormat(f, "disqus", disqus(`<thread dsq:id="1"><id>x</id><link>http://a/</link><title>T</title><isClosed>true</isClosed><isDeleted>false</isDeleted></thread>
<post dsq:id="2"><message><![CDATA[<p>hi</p>]]></message><createdAt>2013-10-10T19:20:29Z</createdAt><isDeleted>false</isDeleted><isSpam>false</isSpam>
<author><email>a@b</email><name>n</name><isAnonymous>false</isAnonymous><username>u</username></author><ipAddress>127.0.0.1</ipAddress><thread dsq:id="1"/><parent dsq:id=3/></post>`))
}

func FuzzRemark42(f *testing.F) {
	fuzzFormat(f, "remark42", `{"version":1,"users":[],"posts":[{"url":"https://a/","read_only":true}]}
{"id":"1","pid":"","text":"<p>x</p>","user":{"name":"n","id":"u"},"locator":{"site":"s","url":"https://a/"},"score":1,"time":"2017-12-20T15:18:22-06:00","delete":false}
`)
}

func FuzzIsso(f *testing.F) {
	fuzzFormat(f, "isso", `[{"id": "/a", "title": "A", "comments": [{"id": 1, "author": "x", "email": "e", "website": "", "remote_addr": "127.0.0.1", "created": "2018-11-28 17:24:23", "text": "hi", "parent": null, "mode": 1}]},
{"comments": [{"id": "2", "created": 1543425863.5}], "id": "/b"}]`)
}

func FuzzCommento(f *testing.F) {
	fuzzFormat(f, "commento", "{\"version\": 1,\n"+commentoSampleComments+",\n"+commentoSampleCommenters+"}",
		"{\"version\": 1, "+commentoSampleCommenters+",\n"+commentoSampleComments+"}")
}
