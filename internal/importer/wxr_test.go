package importer

import (
	"errors"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
)

// parse reads a whole export from a string.
func parse(tb testing.TB, format, input string) ([]*Record, error) {
	tb.Helper()
	return readAll(tb, format, strings.NewReader(input))
}

// mustParse reads a whole export and fails on any error.
func mustParse(tb testing.TB, format, input string) []*Record {
	tb.Helper()
	recs, err := parse(tb, format, input)
	if err != nil {
		tb.Fatalf("unexpected error: %v", err)
	}
	return recs
}

func onlyComments(recs []*Record) []*Record {
	var out []*Record
	for _, r := range recs {
		if r.Kind == KindComment {
			out = append(out, r)
		}
	}
	return out
}

func onlyPages(recs []*Record) []*Record {
	var out []*Record
	for _, r := range recs {
		if r.Kind == KindPage {
			out = append(out, r)
		}
	}
	return out
}

// wxr wraps items in a minimal WXR 1.2 document.
func wxr(items string) string {
	return `<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
<title>Test</title>
` + items + `
</channel>
</rss>
`
}

// wxrComment wraps comment fields in an item with post id 7.
func wxrComment(fields string) string {
	return wxr(`<item><title>Post</title><link>https://old.example/p/7</link><wp:post_id>7</wp:post_id>
<wp:comment>
<wp:comment_id>1</wp:comment_id>
` + fields + `
</wp:comment>
</item>`)
}

func oneComment(tb testing.TB, format, input string) *Record {
	tb.Helper()
	cs := onlyComments(mustParse(tb, format, input))
	if len(cs) != 1 {
		tb.Fatalf("got %d comments, want 1", len(cs))
	}
	return cs[0]
}

func hasWarning(r *Record, substr string) bool {
	for _, w := range r.Warnings {
		if strings.Contains(w, substr) {
			return true
		}
	}
	return false
}

func TestWXR_Dates(t *testing.T) {
	tests := []struct {
		name   string
		fields string
		want   time.Time
		warn   string // substring of a warning, or "" for none
	}{
		{"gmt date used", `<wp:comment_date>2014-01-14 19:32:12</wp:comment_date><wp:comment_date_gmt>2014-01-14 17:32:12</wp:comment_date_gmt>`,
			time.Date(2014, 1, 14, 17, 32, 12, 0, time.UTC), ""},
		{"gmt zero falls back to local", `<wp:comment_date>2009-10-20 16:13:20</wp:comment_date><wp:comment_date_gmt>0000-00-00 00:00:00</wp:comment_date_gmt>`,
			time.Date(2009, 10, 20, 16, 13, 20, 0, time.UTC), "taken as UTC"},
		{"gmt missing falls back to local", `<wp:comment_date>2009-10-20 16:13:20</wp:comment_date>`,
			time.Date(2009, 10, 20, 16, 13, 20, 0, time.UTC), "taken as UTC"},
		{"only gmt", `<wp:comment_date_gmt>2014-04-29 15:21:35</wp:comment_date_gmt>`,
			time.Date(2014, 4, 29, 15, 21, 35, 0, time.UTC), ""},
		{"in CDATA", `<wp:comment_date_gmt><![CDATA[2020-01-05 12:50:15]]></wp:comment_date_gmt>`,
			time.Date(2020, 1, 5, 12, 50, 15, 0, time.UTC), ""},
		{"no date at all", ``, time.Time{}, "no date"},
		{"garbage", `<wp:comment_date>yesterday</wp:comment_date>`, time.Time{}, "cannot be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := oneComment(t, "wxr", wxrComment(tt.fields+`<wp:comment_approved>1</wp:comment_approved>`))
			if !c.Created.Equal(tt.want) {
				t.Errorf("Created = %v, want %v", c.Created, tt.want)
			}
			if tt.warn == "" && len(c.Warnings) > 0 {
				t.Errorf("unexpected warnings %q", c.Warnings)
			}
			if tt.warn != "" && !hasWarning(c, tt.warn) {
				t.Errorf("warnings %q lack %q", c.Warnings, tt.warn)
			}
		})
	}
}

func TestWXR_Approved(t *testing.T) {
	tests := []struct {
		in   string
		want comment.Status
		warn bool
	}{
		{"<wp:comment_approved>1</wp:comment_approved>", comment.StatusApproved, false},
		{"<wp:comment_approved><![CDATA[1]]></wp:comment_approved>", comment.StatusApproved, false},
		{"<wp:comment_approved>0</wp:comment_approved>", comment.StatusPending, false},
		{"<wp:comment_approved>spam</wp:comment_approved>", comment.StatusSpam, false},
		{"<wp:comment_approved>trash</wp:comment_approved>", comment.StatusDeleted, false},
		{"<wp:comment_approved>post-trashed</wp:comment_approved>", comment.StatusDeleted, false},
		{"", comment.StatusPending, true},
		{"<wp:comment_approved>2</wp:comment_approved>", comment.StatusPending, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c := oneComment(t, "wxr", wxrComment(tt.in+`<wp:comment_date_gmt>2020-01-05 12:50:15</wp:comment_date_gmt>`))
			if c.Status != tt.want {
				t.Errorf("Status = %q, want %q", c.Status, tt.want)
			}
			if got := len(c.Warnings) > 0; got != tt.warn {
				t.Errorf("warnings %q, want some: %v", c.Warnings, tt.warn)
			}
		})
	}
}

func TestWXR_Types(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "comment"},
		{"<wp:comment_type></wp:comment_type>", "comment"},
		{"<wp:comment_type/>", "comment"},
		{"<wp:comment_type><![CDATA[comment]]></wp:comment_type>", "comment"},
		{"<wp:comment_type>pingback</wp:comment_type>", "pingback"},
		{"<wp:comment_type>trackback</wp:comment_type>", "trackback"},
		{"<wp:comment_type><![CDATA[note]]></wp:comment_type>", "note"},
		{"<wp:comment_type>order_note</wp:comment_type>", "order_note"},
		{"<wp:comment_type>review</wp:comment_type>", "review"},
	}
	for _, tt := range tests {
		t.Run(tt.want+" "+tt.in, func(t *testing.T) {
			c := oneComment(t, "wxr", wxrComment(tt.in))
			if c.Type != tt.want {
				t.Errorf("Type = %q, want %q", c.Type, tt.want)
			}
		})
	}
}

func TestWXR_Fields(t *testing.T) {
	c := oneComment(t, "wxr", wxrComment(`
		<wp:comment_author>
			<![CDATA[Ping 1 &laquo; What&#8217;s &amp; more]]></wp:comment_author>
		<wp:comment_author_email>test@example.org
		</wp:comment_author_email>
		<wp:comment_author_url>http://</wp:comment_author_url>
		<wp:comment_author_IP>::ffff:82.119.20.0</wp:comment_author_IP>
		<wp:comment_parent>0</wp:comment_parent>
		<wp:comment_user_id>24783058</wp:comment_user_id>
		<wp:commentmeta><wp:meta_key>akismet_result</wp:meta_key><wp:meta_value><![CDATA[false]]></wp:meta_value></wp:commentmeta>`))
	want := comment.Author{Name: "Ping 1 « What’s & more", Email: "test@example.org", Identity: "wordpress:24783058"}
	if c.Author != want {
		t.Errorf("Author = %+v, want %+v", c.Author, want)
	}
	if c.IP != "::ffff:82.119.20.0" || c.ParentID != "" || c.PageID != "7" || c.ID != "1" {
		t.Errorf("IP %q ParentID %q PageID %q ID %q", c.IP, c.ParentID, c.PageID, c.ID)
	}

	c = oneComment(t, "wxr", wxrComment(`<wp:comment_parent>5</wp:comment_parent><wp:comment_user_id>0</wp:comment_user_id>`))
	if c.ParentID != "5" || c.Author.Identity != "" {
		t.Errorf("ParentID %q Identity %q", c.ParentID, c.Author.Identity)
	}
}

func TestWXR_Bodies(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"slashes survive", `<![CDATA[\o/ ¯\_(ツ)_/¯ aren\'t \"cool\"]]>`, `\o/ ¯\_(ツ)_/¯ aren\'t \"cool\"`},
		{"cdata end split as WordPress writes it", `<![CDATA[a ]]]]><![CDATA[> b]]>`, `a ]]> b`},
		{"pretty-printed cdata trimmed", "\n                    <![CDATA[Comment Depth 06]]>", "Comment Depth 06"},
		{"inner whitespace kept", "<![CDATA[line one\n\n\tline two]]>", "line one\n\n\tline two"},
		{"escaped html without cdata", `Hi &lt;b&gt;there&lt;/b&gt; &amp;amp; you`, `Hi <b>there</b> &amp; you`},
		{"entities in cdata kept", `<![CDATA[the post&#039;s comments]]>`, `the post&#039;s comments`},
		{"unknown entity kept as written", `caf&eacute; &nbsp;`, `caf&eacute; &nbsp;`},
		{"raw html elements rebuilt", `Hello <b class="x">bold</b> &amp; <br/>done`, `Hello <b class="x">bold</b> &amp; <br></br>done`},
		{"crlf becomes lf", "<![CDATA[a\r\nb]]>", "a\nb"},
		{"empty", ``, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := oneComment(t, "wxr", wxrComment(`<wp:comment_content>`+tt.in+`</wp:comment_content>`))
			if c.Body != tt.want {
				t.Errorf("Body = %q, want %q", c.Body, tt.want)
			}
			if c.BodyFormat != FormatHTML {
				t.Errorf("BodyFormat = %q", c.BodyFormat)
			}
		})
	}
}

func TestWXR_Pages(t *testing.T) {
	recs := mustParse(t, "wxr", wxr(`
<item>
	<title>A &amp; B</title>
	<link>http://localhost/?p=1</link>
	<guid isPermaLink="false">http://localhost/?p=1</guid>
	<wp:post_id>1</wp:post_id>
	<wp:post_date>2010-10-20 16:08:20</wp:post_date>
	<wp:post_date_gmt>2010-10-20 14:08:20</wp:post_date_gmt>
	<wp:comment_status>closed</wp:comment_status>
	<wp:status>trash</wp:status>
	<wp:post_type>page</wp:post_type>
	<wp:post_password>secret</wp:post_password>
	<wp:comment><wp:comment_id>11</wp:comment_id></wp:comment>
	<wp:comment><wp:comment_id>12</wp:comment_id><wp:comment_parent>11</wp:comment_parent></wp:comment>
</item>
<item>
	<title>No id</title>
	<link>http://example.tld/?p=4</link>
	<wp:comment><wp:comment_id>11</wp:comment_id></wp:comment>
</item>
<item><title>Nothing</title><wp:post_id>9</wp:post_id><wp:post_type>nav_menu_item</wp:post_type></item>
<item><title>Not even a link</title></item>
`))
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Kind)+":"+r.PageID+":"+r.ID)
	}
	want := []string{"page:1:", "comment:1:11", "comment:1:12", "page:http://example.tld/?p=4:", "comment:http://example.tld/?p=4:11", "page:9:", "page:item-line-26:"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("records\n got %q\nwant %q", got, want)
	}
	p := recs[0]
	if p.Title != "A & B" || !p.Closed || !p.Deleted || p.Type != "page" || p.URL != "http://localhost/?p=1" ||
		!p.Created.Equal(time.Date(2010, 10, 20, 14, 8, 20, 0, time.UTC)) || !hasWarning(p, "password") {
		t.Errorf("page = %+v", p)
	}
	if !hasWarning(recs[3], "no <wp:post_id>") {
		t.Errorf("no warning for missing post id: %q", recs[3].Warnings)
	}
}

func TestWXR_OldNamespacesAndNoVersion(t *testing.T) {
	for _, ns := range []string{"http://wordpress.org/export/1.0/", "http://wordpress.org/export/1.1/", "https://wordpress.org/export/1.2/"} {
		in := `<?xml version="1.0"?><rss xmlns:wp="` + ns + `"><channel><item><wp:post_id>3</wp:post_id>` +
			`<wp:comment><wp:comment_id>4</wp:comment_id><wp:comment_approved>1</wp:comment_approved></wp:comment></item></channel></rss>`
		c := oneComment(t, "wxr", in)
		if c.ID != "4" || c.PageID != "3" || c.Status != comment.StatusApproved {
			t.Errorf("%s: %+v", ns, c)
		}
	}
}

func TestWXR_MissingCommentID(t *testing.T) {
	in := wxr(`<item><wp:post_id>7</wp:post_id><wp:comment><wp:comment_author>A</wp:comment_author><wp:comment_content>x</wp:comment_content></wp:comment></item>`)
	a := oneComment(t, "wxr", in)
	b := oneComment(t, "wxr", in)
	if a.ID == "" || a.ID != b.ID || !hasWarning(a, "no <wp:comment_id>") {
		t.Errorf("synthetic ids %q %q, warnings %q", a.ID, b.ID, a.Warnings)
	}
}

func TestWXR_Encodings(t *testing.T) {
	t.Run("latin-1", func(t *testing.T) {
		in := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<rss><channel><item><wp:post_id>1</wp:post_id><wp:comment><wp:comment_id>1</wp:comment_id>" +
			"<wp:comment_author>Dr\xf6lfter</wp:comment_author><wp:comment_content>caf\xe9</wp:comment_content></wp:comment></item></channel></rss>"
		c := oneComment(t, "wxr", in)
		if c.Author.Name != "Drölfter" || c.Body != "café" {
			t.Errorf("Name %q Body %q", c.Author.Name, c.Body)
		}
	})
	t.Run("windows-1252", func(t *testing.T) {
		in := "<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n<rss><channel><item><wp:post_id>1</wp:post_id><wp:comment><wp:comment_id>1</wp:comment_id>" +
			"<wp:comment_content>\x93quoted\x94 \x80</wp:comment_content></wp:comment></item></channel></rss>"
		if c := oneComment(t, "wxr", in); c.Body != "“quoted” €" {
			t.Errorf("Body %q", c.Body)
		}
	})
	t.Run("invalid UTF-8 and control characters replaced", func(t *testing.T) {
		in := wxrComment("<wp:comment_content><![CDATA[bad \xff byte and \x0b tab]]></wp:comment_content>")
		c := oneComment(t, "wxr", in)
		if c.Body != "bad \uFFFD byte and \uFFFD tab" || !hasWarning(c, "U+FFFD") {
			t.Errorf("Body %q warnings %q", c.Body, c.Warnings)
		}
	})
	t.Run("unsupported encoding", func(t *testing.T) {
		_, err := parse(t, "wxr", "<?xml version=\"1.0\" encoding=\"EUC-JP\"?>\n<rss></rss>")
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(se.Msg, "EUC-JP") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestWXR_Tolerated(t *testing.T) {
	// A PHP notice printed before the export, and a byte-order mark.
	in := "\ufeffNotice: Undefined index in export.php on line 12\n" + wxrComment("<wp:comment_approved>1</wp:comment_approved>")
	if c := oneComment(t, "wxr", in); c.ID != "1" {
		t.Errorf("ID %q", c.ID)
	}
}

func TestWXR_Malformed(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"comment not closed", "<rss><channel>\n<item>\n<wp:comment>\n<wp:comment_id>1</wp:comment_id>\n</item>\n</channel></rss>",
			5, "<wp:comment> opened on line 3 is not closed (found </item>)"},
		{"cut short", "<rss><channel>\n<item>\n<wp:comment>\n<wp:comment_id>1</wp:comment_id>\n",
			5, "unexpected end of file: <wp:comment> opened on line 3 is not closed"},
		{"cut inside cdata", "<rss><channel>\n<item>\n<wp:comment>\n<wp:comment_content><![CDATA[abc",
			4, "unexpected end of file inside a CDATA section in <wp:comment_content> opened on line 4"},
		{"cut inside a tag", "<rss><channel>\n<item>\n<wp:comm",
			3, "unexpected end of file in the middle of a tag"},
		{"not an export", "<html><body>Error 500</body></html>", 1, "the file starts with <html>, not <rss>: this is not a WordPress export"},
		{"empty", "", 1, "no <rss> element found"},
		{"json", `{"version":1}`, 1, "no <rss> element found"},
		{"two exports joined", "<rss><channel></channel></rss>\n<rss>", 2, "after the end of <rss>"},
		{"stray end tag", "<rss><channel>\n</item></channel></rss>", 2, "<channel> opened on line 1 is not closed (found </item>)"},
		{"bad syntax", "<rss><channel>\n<item <<>\n</channel></rss>", 2, "not well-formed XML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, "wxr", tt.in)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v (%T), want *SyntaxError", err, err)
			}
			if se.Line != tt.line || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("got %q, want line %d and %q", se.Error(), tt.line, tt.msg)
			}
		})
	}
}

func TestWXR_OneCommentItemStreams(t *testing.T) {
	// The page record comes before the first comment, and nothing waits
	// for </item>: reading stops at the first comment of an unfinished
	// item without error.
	in := "<rss><channel><item><wp:post_id>1</wp:post_id><wp:comment><wp:comment_id>1</wp:comment_id></wp:comment><wp:comment>"
	rd, err := NewReader("wxr", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	p, err := rd.Next()
	if err != nil || p.Kind != KindPage {
		t.Fatalf("first = %+v, %v", p, err)
	}
	c, err := rd.Next()
	if err != nil || c.Kind != KindComment || c.ID != "1" {
		t.Fatalf("second = %+v, %v", c, err)
	}
	if _, err := rd.Next(); err == nil {
		t.Fatal("truncated file read without error")
	}
}
