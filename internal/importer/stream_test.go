package importer

import (
	"bufio"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"
)

// writeWXR writes a WXR export with n comments to w, as WordPress would:
// most posts have a few comments, and one post (the first) holds a tenth
// of them all, so that a single huge <item> is exercised too. Nothing is
// kept in memory.
func writeWXR(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprint(bw, `<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
	<title>Generated</title>
	<wp:wxr_version>1.2</wp:wxr_version>
`)
	id, post := 0, 0
	for id < n {
		post++
		perPost := 20
		if post == 1 {
			perPost = n / 10
		}
		fmt.Fprintf(bw, `	<item>
		<title><![CDATA[Post number %d]]></title>
		<link>https://blog.example/%d/</link>
		<content:encoded><![CDATA[<p>Some post body that the reader skips.</p>]]></content:encoded>
		<wp:post_id>%d</wp:post_id>
		<wp:post_date_gmt><![CDATA[2015-01-27 14:56:57]]></wp:post_date_gmt>
		<wp:comment_status><![CDATA[open]]></wp:comment_status>
		<wp:status><![CDATA[publish]]></wp:status>
		<wp:post_type><![CDATA[post]]></wp:post_type>
`, post, post, post)
		first := id + 1
		for k := 0; k < perPost && id < n; k++ {
			id++
			parent := 0
			if k%3 == 2 {
				parent = id - 1
			}
			if parent < first {
				parent = 0
			}
			fmt.Fprintf(bw, `		<wp:comment>
			<wp:comment_id>%d</wp:comment_id>
			<wp:comment_author><![CDATA[Reader %d]]></wp:comment_author>
			<wp:comment_author_email><![CDATA[reader%d@example.org]]></wp:comment_author_email>
			<wp:comment_author_url>https://reader%d.example.org/</wp:comment_author_url>
			<wp:comment_author_IP><![CDATA[192.0.2.%d]]></wp:comment_author_IP>
			<wp:comment_date><![CDATA[2016-03-14 15:09:26]]></wp:comment_date>
			<wp:comment_date_gmt><![CDATA[2016-03-14 14:09:26]]></wp:comment_date_gmt>
			<wp:comment_content><![CDATA[<p>Comment %d: Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation.</p>]]></wp:comment_content>
			<wp:comment_approved><![CDATA[1]]></wp:comment_approved>
			<wp:comment_type><![CDATA[comment]]></wp:comment_type>
			<wp:comment_parent>%d</wp:comment_parent>
			<wp:comment_user_id>0</wp:comment_user_id>
		</wp:comment>
`, id, id, id, id, id%250, id, parent)
		}
		fmt.Fprint(bw, "\t</item>\n")
	}
	fmt.Fprint(bw, "</channel>\n</rss>\n")
	return bw.Flush()
}

// streamResult is what parsing a generated export measured.
type streamResult struct {
	comments, pages int
	bytes           int64
	took            time.Duration
	peakHeap        uint64 // highest HeapInuse seen while parsing
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// parseGeneratedWXR generates an export of n comments through a pipe (it
// is never written to disk) and parses it, sampling the heap every
// sampleEvery records.
func parseGeneratedWXR(tb testing.TB, n, sampleEvery int) streamResult {
	tb.Helper()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeWXR(pw, n)) }()
	defer pr.Close()
	cr := &countingReader{r: pr}

	runtime.GC()
	var res streamResult
	var ms runtime.MemStats
	start := time.Now()
	rd, err := NewReader("wxr", cr)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; ; i++ {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		if rec.Kind == KindComment {
			res.comments++
		} else {
			res.pages++
		}
		if sampleEvery > 0 && i%sampleEvery == 0 {
			runtime.ReadMemStats(&ms)
			res.peakHeap = max(res.peakHeap, ms.HeapInuse)
		}
	}
	res.took = time.Since(start)
	res.bytes = cr.n
	if res.comments != n {
		tb.Fatalf("read %d comments, want %d", res.comments, n)
	}
	return res
}

// TestWXR_BoundedMemory parses 200,000 generated comments (20,000 of them
// in one <item>) and checks the heap never grows past 64 MB.
func TestWXR_BoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("parses 200,000 comments")
	}
	const limit = 64 << 20
	res := parseGeneratedWXR(t, 200_000, 5_000)
	t.Logf("%d comments on %d pages, %.0f MB in %v: %.0f comments/s, peak HeapInuse %.1f MB",
		res.comments, res.pages, float64(res.bytes)/1e6, res.took.Round(time.Millisecond),
		float64(res.comments)/res.took.Seconds(), float64(res.peakHeap)/(1<<20))
	if res.peakHeap > limit {
		t.Errorf("peak HeapInuse %d MB, want under %d MB", res.peakHeap>>20, limit>>20)
	}
}

// BenchmarkWXR parses a generated export of 1,000,000 comments per
// iteration; run it with -benchtime=1x. It reports comments per second and
// the peak heap.
func BenchmarkWXR(b *testing.B) {
	const n = 1_000_000
	var peak uint64
	var comments int
	var took time.Duration
	for b.Loop() {
		res := parseGeneratedWXR(b, n, 20_000)
		b.SetBytes(res.bytes)
		peak = max(peak, res.peakHeap)
		comments += res.comments
		took += res.took
	}
	b.ReportMetric(float64(comments)/took.Seconds(), "comments/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}
