package importer

import (
	"errors"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
)

func disqus(body string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
` + body + `
</disqus>
`
}

func disqusPost(fields string) string {
	return disqus(`<post dsq:id="10"><thread dsq:id="1"/>` + fields + `</post>`)
}

func TestDisqus_Statuses(t *testing.T) {
	tests := []struct {
		deleted, spam string
		want          comment.Status
		warn          bool
	}{
		{"false", "false", comment.StatusApproved, false},
		{"true", "false", comment.StatusDeleted, false},
		{"false", "true", comment.StatusSpam, false},
		{"true", "true", comment.StatusDeleted, false},
		{"", "", comment.StatusApproved, false}, // elements missing
		{"false", "123", comment.StatusPending, true},
		{"maybe", "false", comment.StatusPending, true},
	}
	for _, tt := range tests {
		t.Run(tt.deleted+"/"+tt.spam, func(t *testing.T) {
			fields := ""
			if tt.deleted != "" {
				fields += "<isDeleted>" + tt.deleted + "</isDeleted>"
			}
			if tt.spam != "" {
				fields += "<isSpam>" + tt.spam + "</isSpam>"
			}
			c := oneComment(t, "disqus", disqusPost(fields+"<createdAt>2013-10-10T19:20:29Z</createdAt>"))
			if c.Status != tt.want {
				t.Errorf("Status = %q, want %q", c.Status, tt.want)
			}
			if got := len(c.Warnings) > 0; got != tt.warn {
				t.Errorf("warnings %q", c.Warnings)
			}
		})
	}
}

func TestDisqus_Authors(t *testing.T) {
	tests := []struct {
		name, author string
		want         comment.Author
	}{
		{"registered", `<email>a@b.c</email><name>Jane</name><isAnonymous>false</isAnonymous><username>jane</username>`,
			comment.Author{Name: "Jane", Email: "a@b.c", Identity: "disqus:jane"}},
		{"anonymous", `<email>a@b.c</email><name>peter</name><isAnonymous>true</isAnonymous>`,
			comment.Author{Name: "peter", Email: "a@b.c"}},
		{"anonymous with a username", `<name>Noname</name><isAnonymous>true</isAnonymous><username>google-2c5d</username>`,
			comment.Author{Name: "Noname"}},
		{"empty email, no username", `<email/><name>No Username</name><isAnonymous>false</isAnonymous>`,
			comment.Author{Name: "No Username"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := oneComment(t, "disqus", disqusPost("<author>"+tt.author+"</author>"))
			if c.Author != tt.want {
				t.Errorf("Author = %+v, want %+v", c.Author, tt.want)
			}
		})
	}
}

func TestDisqus_Fields(t *testing.T) {
	c := oneComment(t, "disqus", disqusPost(`
		<id />
		<message>
			<![CDATA[<p>Hey, wow!</p><p>// Amazing post.</p>]]>
		</message>
		<createdAt>2014-11-01T16:59:29+02:00</createdAt>
		<ipAddress>127.0.0.1</ipAddress>
		<parent dsq:id="9" />`))
	if c.Body != "<p>Hey, wow!</p><p>// Amazing post.</p>" || c.BodyFormat != FormatHTML {
		t.Errorf("Body %q", c.Body)
	}
	if !c.Created.Equal(time.Date(2014, 11, 1, 14, 59, 29, 0, time.UTC)) || c.Created.Location() != time.UTC {
		t.Errorf("Created %v", c.Created)
	}
	if c.ID != "10" || c.PageID != "1" || c.ParentID != "9" || c.IP != "127.0.0.1" || c.Type != "comment" {
		t.Errorf("%+v", c)
	}
}

func TestDisqus_IDs(t *testing.T) {
	c := oneComment(t, "disqus", disqus(`<post><id>12345</id><thread dsq:id="1"/></post>`))
	if c.ID != "12345" || !hasWarning(c, "no dsq:id") {
		t.Errorf("ID %q warnings %q", c.ID, c.Warnings)
	}
	c = oneComment(t, "disqus", disqus(`<post><id/><message>x</message><thread dsq:id="1"/></post>`))
	if !strings.HasPrefix(c.ID, "sha256:") || !hasWarning(c, "no dsq:id") {
		t.Errorf("ID %q warnings %q", c.ID, c.Warnings)
	}
	c = oneComment(t, "disqus", disqus(`<post dsq:id="5"><message>x</message></post>`))
	if c.PageID != "" || !hasWarning(c, "does not name its thread") {
		t.Errorf("PageID %q warnings %q", c.PageID, c.Warnings)
	}
}

func TestDisqus_Order(t *testing.T) {
	// A post before its thread, a post whose thread is missing, and a
	// deleted thread whose posts are still returned.
	recs := mustParse(t, "disqus", disqus(`
<post dsq:id="20"><thread dsq:id="2"/><parent dsq:id="21"/></post>
<post dsq:id="21"><thread dsq:id="2"/></post>
<thread dsq:id="2"><id>page-2</id><link>http://localhost:4000/p/2</link><title>Two</title><isClosed>true</isClosed><isDeleted>true</isDeleted></thread>
<post dsq:id="22"><thread dsq:id="1337"/></post>
<category dsq:id="1"><forum>f</forum><title>General</title></category>
`))
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Kind)+":"+r.PageID+":"+r.ID+":"+r.ParentID)
	}
	want := "comment:2:20:21 comment:2:21: page:2:: comment:1337:22:"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %q, want %q", strings.Join(got, " "), want)
	}
	p := recs[2]
	if p.PageKey != "page-2" || p.URL != "http://localhost:4000/p/2" || p.Title != "Two" || !p.Closed || !p.Deleted {
		t.Errorf("page %+v", p)
	}
}

func TestDisqus_Tolerated(t *testing.T) {
	// From remark42's test data: a stray backtick before the declaration
	// and an unquoted attribute value.
	in := "`" + disqus(`<thread dsq:id=7><link>http://x/</link></thread><post dsq:id=8><thread dsq:id=7/></post>`)
	recs := mustParse(t, "disqus", in)
	if len(recs) != 2 || recs[0].PageID != "7" || recs[1].ID != "8" || recs[1].PageID != "7" {
		t.Errorf("records %+v", recs)
	}
}

func TestDisqus_Malformed(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"post not closed", "<disqus>\n<post dsq:id=\"1\">\n<message>x</message>\n<thread dsq:id=\"1\"/>\n</disqus>", 5, "<post> opened on line 2 is not closed (found </disqus>)"},
		{"cut short", "<disqus>\n<post dsq:id=\"1\">\n<message><![CDATA[<p>x</p>", 3, "unexpected end of file inside a CDATA section in <message> opened on line 3"},
		{"wrong root", "<?xml version=\"1.0\"?>\n<rss><channel/></rss>", 2, "not <disqus>: this is not a Disqus export"},
		{"nothing", "   ", 1, "no <disqus> element found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, "disqus", tt.in)
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
