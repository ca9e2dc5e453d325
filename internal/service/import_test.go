package service

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
)

const wxrHead = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel><wp:wxr_version>1.2</wp:wxr_version>
`

func wxrItem(post int, comments string) string {
	return fmt.Sprintf(`<item><title>Post %d</title><link>https://news.example/%d</link><wp:post_id>%d</wp:post_id><wp:comment_status>open</wp:comment_status>%s</item>
`, post, post, post, comments)
}

func wxrComment(id, parent int, approved, typ, body string) string {
	return fmt.Sprintf(`<wp:comment><wp:comment_id>%d</wp:comment_id><wp:comment_author><![CDATA[Reader %d]]></wp:comment_author><wp:comment_author_email>r%d@example.org</wp:comment_author_email><wp:comment_author_url>http://r%d.example</wp:comment_author_url><wp:comment_author_IP>192.0.2.%d</wp:comment_author_IP><wp:comment_date_gmt>2020-01-02 03:04:05</wp:comment_date_gmt><wp:comment_content><![CDATA[%s]]></wp:comment_content><wp:comment_approved>%s</wp:comment_approved><wp:comment_type>%s</wp:comment_type><wp:comment_parent>%d</wp:comment_parent></wp:comment>`,
		id, id, id, id, id%250, body, approved, typ, parent)
}

func TestImport_WXR(t *testing.T) {
	s := newService(t, Options{})
	file := wxrHead + wxrItem(1,
		wxrComment(1, 0, "1", "", "Hello <script>alert(1)</script><a href=\"javascript:x\">link</a>\nsecond line")+
			wxrComment(2, 1, "1", "", "A reply <b>bold</b>")+
			wxrComment(3, 0, "1", "pingback", "Pingback from elsewhere")+
			wxrComment(4, 0, "0", "", "Held in WordPress")+
			wxrComment(5, 0, "trash", "", "Trashed")+
			wxrComment(6, 0, "1", "note", "An order note")) + "</channel></rss>"
	sum, err := s.Import(ctx, "news", "wxr", strings.NewReader(file), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Pages != 1 || sum.Comments != 4 || sum.Skipped != 2 {
		t.Fatalf("summary = %+v", sum)
	}
	th, err := s.Thread(ctx, "news", "https://news.example/1", comment.SortOldest)
	if err != nil {
		t.Fatal(err)
	}
	// Shown: the comment and its reply; the pingback and the held one are not.
	if th.Total != 2 || len(th.Comments) != 1 || len(th.Comments[0].Replies) != 1 {
		t.Fatalf("thread = %d comments, %d top", th.Total, len(th.Comments))
	}
	top := th.Comments[0]
	if strings.Contains(top.HTML, "<script") || strings.Contains(top.HTML, "javascript:") || !strings.Contains(top.HTML, "<br>") {
		t.Fatalf("imported HTML not sanitised like new comments: %s", top.HTML)
	}
	if top.Author.Email != "r1@example.org" || top.IPHash == "" || strings.Contains(top.IPHash, "192.0.2") || !top.Created.Equal(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("author/ip/date = %+v %q %v", top.Author, top.IPHash, top.Created)
	}
	if got, _ := s.Counts(ctx, "news", []string{"https://news.example/1"}); got["https://news.example/1"] != 2 {
		t.Fatalf("count = %v; pingbacks must not count", got)
	}
	// Again: nothing new.
	sum, err = s.Import(ctx, "news", "wxr", strings.NewReader(file), ImportOptions{KeepDeleted: true})
	if err != nil || sum.Comments != 1 || sum.Existing != 4 {
		t.Fatalf("second import (keeping deleted) = %+v, %v; want only the trashed one added", sum, err)
	}
}

// BenchmarkImportWXR imports a generated WXR file of 1,000,000 comments
// (10 per post, every third a reply) into SQLite, streamed through a pipe,
// and reports comments/s and the peak heap.
func BenchmarkImportWXR(b *testing.B) {
	const n = 1_000_000
	for i := 0; i < b.N; i++ {
		s := newService(b, Options{})
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte(wxrHead))
			var sb strings.Builder
			for post := 0; post < n/10; post++ {
				sb.Reset()
				for j := 0; j < 10; j++ {
					id := post*10 + j + 1
					parent := 0
					if j%3 == 2 {
						parent = id - 1
					}
					sb.WriteString(wxrComment(id, parent, "1", "", "Took the new bus this morning; it was on time and the driver was friendly."))
				}
				pw.Write([]byte(wxrItem(post+1, sb.String())))
			}
			pw.Write([]byte("</channel></rss>"))
			pw.Close()
		}()
		var peak uint64
		stop := make(chan struct{})
		go func() {
			var m runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
					runtime.ReadMemStats(&m)
					peak = max(peak, m.HeapInuse)
				}
			}
		}()
		start := time.Now()
		sum, err := s.Import(ctx, "news", "wxr", pr, ImportOptions{})
		close(stop)
		if err != nil || sum.Comments != n {
			b.Fatalf("import = %+v, %v", sum, err)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "comments/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(0, "ns/op")
	}
}

// TestImport_Undated: a comment the source gives no date gets its page's
// date, else the export file's, else the time of the import (never the
// zero time, which a store keeps as the year 1754), and the summary says
// how many and which date they got.
func TestImport_Undated(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	undated := `<wp:comment><wp:comment_id>%d</wp:comment_id><wp:comment_author>Reader</wp:comment_author><wp:comment_content>No date here</wp:comment_content><wp:comment_approved>1</wp:comment_approved></wp:comment>`
	page := func(post int, date, comments string) string {
		return fmt.Sprintf(`<item><title>Post %d</title><link>https://news.example/%d</link><wp:post_id>%d</wp:post_id>%s%s</item>
`, post, post, post, date, comments)
	}
	pageDate := time.Date(2019, 5, 6, 7, 8, 9, 0, time.UTC)
	fileDate := time.Date(2021, 1, 1, 12, 0, 0, 0, time.UTC)
	file := wxrHead +
		page(1, `<wp:post_date_gmt>2019-05-06 07:08:09</wp:post_date_gmt>`, fmt.Sprintf(undated, 1)+fmt.Sprintf(undated, 2)) +
		page(2, "", fmt.Sprintf(undated, 3)) + "</channel></rss>"
	for _, c := range []struct {
		name     string
		fileDate time.Time
		want2    time.Time // the date of the comment on the undated page
		odd      string
	}{
		{"with the file's date", fileDate, fileDate, "1 × comments without a date on a page without one, given the file's date (2021-01-01 12:00 UTC)"},
		{"without it", time.Time{}, now, "1 × comments without a date on a page without one, given the time of the import (2026-03-04 05:06 UTC)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newService(t, Options{Now: func() time.Time { return now }})
			sum, err := s.Import(ctx, "news", "wxr", strings.NewReader(file), ImportOptions{FileDate: c.fileDate})
			if err != nil {
				t.Fatal(err)
			}
			for key, want := range map[string]time.Time{"https://news.example/1": pageDate, "https://news.example/2": c.want2} {
				th, err := s.Thread(ctx, "news", key, comment.SortOldest)
				if err != nil || len(th.Comments) == 0 {
					t.Fatalf("%s: %v", key, err)
				}
				for _, n := range th.Comments {
					if !n.Created.Equal(want) {
						t.Errorf("%s: comment dated %v, want %v", key, n.Created, want)
					}
				}
			}
			var odd []string
			for _, o := range sum.Odd {
				odd = append(odd, fmt.Sprintf("%d × %s", o.Count, o.What))
			}
			all := strings.Join(odd, "\n")
			if !strings.Contains(all, "2 × comments without a date, given their page's date") {
				t.Errorf("summary does not say the page's date was used:\n%s", all)
			}
			if !strings.Contains(all, c.odd) {
				t.Errorf("summary lacks %q:\n%s", c.odd, all)
			}
		})
	}
}

// TestImport_LeavesOutErasedReaders: a reader erased after one import
// stays erased when the same comments come again from another system,
// under other ids: by address on every site, by log-in on the one site
// the erasure named. What they wrote after the erasure, and what others
// wrote, is imported.
func TestImport_LeavesOutErasedReaders(t *testing.T) {
	s := newService(t, Options{})
	if err := s.CreateSite(ctx, OperatorActor(), &comment.Site{ID: "other", Name: "Other", Origins: []string{"https://news.example"}}); err != nil {
		t.Fatal(err)
	}
	file := wxrHead + wxrItem(1, wxrComment(1, 0, "1", "", "First, by reader 1")+wxrComment(2, 1, "1", "", "A reply by reader 2")) + "</channel></rss>"
	if sum, err := s.Import(ctx, "news", "wxr", strings.NewReader(file), ImportOptions{}); err != nil || sum.Comments != 2 {
		t.Fatalf("WXR import = %+v, %v", sum, err)
	}
	if _, err := s.EraseReader(ctx, OperatorActor(), PrivacyRequest{Email: "R1@example.org"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EraseReader(ctx, OperatorActor(), PrivacyRequest{SiteID: "news", Identity: "disqus:jane"}); err != nil {
		t.Fatal(err)
	}
	post := func(id int, author, created, body string) string {
		return fmt.Sprintf(`<post dsq:id="%d"><thread dsq:id="1"/><author>%s</author><createdAt>%s</createdAt><message><![CDATA[%s]]></message><isDeleted>false</isDeleted><isSpam>false</isSpam></post>`,
			id, author, created, body)
	}
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	dsq := `<?xml version="1.0" encoding="utf-8"?>
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
<thread dsq:id="1"><link>https://news.example/1</link><title>Post 1</title><createdAt>2020-01-01T00:00:00Z</createdAt></thread>
` + post(10, `<email>r1@example.org</email><name>Reader 1</name><isAnonymous>true</isAnonymous>`, "2020-01-02T03:04:05Z", "First, by reader 1") +
		post(11, `<email>r1@example.org</email><name>Reader 1</name><isAnonymous>true</isAnonymous>`, later, "Back after the erasure") +
		post(12, `<email>jane@example.org</email><name>Jane</name><isAnonymous>false</isAnonymous><username>jane</username>`, "2020-01-03T00:00:00Z", "Jane, on Disqus") +
		post(13, `<email>r2@example.org</email><name>Reader 2</name><isAnonymous>true</isAnonymous>`, "2020-01-04T00:00:00Z", "Reader 2 again") +
		// Undated, on an undated page: given the file's date, after the
		// erasure, but nothing says reader 1 wrote it then.
		`<thread dsq:id="2"><link>https://news.example/2</link><title>Post 2</title></thread>` +
		`<post dsq:id="14"><thread dsq:id="2"/><author><email>r1@example.org</email><name>Reader 1</name><isAnonymous>true</isAnonymous></author><message><![CDATA[Undated, by reader 1]]></message></post>` + `
</disqus>`
	texts := func(site string) []string {
		th, err := s.Thread(ctx, site, "https://news.example/1", comment.SortOldest)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		var walk func([]*Node)
		walk = func(cs []*Node) {
			for _, c := range cs {
				out = append(out, c.Markdown)
				walk(c.Replies)
			}
		}
		walk(th.Comments)
		return out
	}
	sum, err := s.Import(ctx, "news", "disqus", strings.NewReader(dsq), ImportOptions{FileDate: time.Now().Add(time.Minute)})
	if err != nil || sum.Erased != 3 || sum.Comments != 2 {
		t.Fatalf("Disqus import into news = %+v, %v; want reader 1's old and undated comments and Jane's left out as erased, 2 added", sum, err)
	}
	got := strings.Join(texts("news"), " | ")
	if strings.Contains(got, "First, by reader 1") || strings.Contains(got, "Jane, on Disqus") ||
		!strings.Contains(got, "Back after the erasure") || !strings.Contains(got, "Reader 2 again") {
		t.Errorf("news shows %q", got)
	}
	// Jane was erased on news alone; reader 1 everywhere.
	sum, err = s.Import(ctx, "other", "disqus", strings.NewReader(dsq), ImportOptions{FileDate: time.Now().Add(time.Minute)})
	if err != nil || sum.Erased != 2 || sum.Comments != 3 {
		t.Fatalf("Disqus import into other = %+v, %v; want reader 1's old and undated comments left out, 3 added", sum, err)
	}
	if got := strings.Join(texts("other"), " | "); !strings.Contains(got, "Jane, on Disqus") || strings.Contains(got, "First, by reader 1") {
		t.Errorf("other shows %q", got)
	}
}
