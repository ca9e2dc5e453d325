// Package exporter writes a site's comments in other systems' formats,
// so a site owner can leave Parley as easily as they came. (Parley's own
// complete backup is a plain dump of the store; see parley export.)
package exporter

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/store"
)

// Source is what WriteWXR reads.
type Source interface {
	Site(ctx context.Context, id string) (*comment.Site, error)
	Dump(ctx context.Context, siteID string, fn func(*store.Row) error) error
	ThreadComments(ctx context.Context, threadID string, statuses ...comment.Status) ([]*comment.Comment, error)
}

// WriteWXR writes a site's threads and comments as a WordPress eXtended RSS
// (WXR 1.2) file that WordPress's importer reads: one item per page, its
// comments inside with their threading, authors, dates and states. It
// reads one thread's comments at a time. Comment ids are renumbered from 1,
// as WordPress expects numbers; comment text is the sanitised HTML.
func WriteWXR(ctx context.Context, src Source, siteID string, out io.Writer) error {
	site, err := src.Site(ctx, siteID)
	if err != nil {
		return err
	}
	var threads []*comment.Thread
	if err := src.Dump(ctx, siteID, func(r *store.Row) error {
		if r.Thread != nil {
			threads = append(threads, r.Thread)
		}
		return nil
	}); err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	link := ""
	if len(site.Origins) > 0 {
		link = site.Origins[0]
	}
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<!-- Exported from Parley: a WordPress eXtended RSS file for WordPress's importer. -->
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
	<title>%s</title>
	<link>%s</link>
	<description></description>
	<language>en</language>
	<wp:wxr_version>1.2</wp:wxr_version>
	<wp:base_site_url>%s</wp:base_site_url>
	<wp:base_blog_url>%s</wp:base_blog_url>
`, esc(site.Name), esc(link), esc(link), esc(link))
	nextID := 1
	for i, t := range threads {
		cs, err := src.ThreadComments(ctx, t.ID, comment.StatusApproved, comment.StatusPending, comment.StatusSpam, comment.StatusDeleted)
		if err != nil {
			return err
		}
		status := "open"
		if t.Closed {
			status = "closed"
		}
		title := t.Title
		if title == "" {
			title = t.URL
		}
		fmt.Fprintf(w, `	<item>
		<title>%s</title>
		<link>%s</link>
		<guid isPermaLink="false">%s</guid>
		<wp:post_id>%d</wp:post_id>
		<wp:post_date_gmt>%s</wp:post_date_gmt>
		<wp:post_type>post</wp:post_type>
		<wp:status>publish</wp:status>
		<wp:comment_status>%s</wp:comment_status>
`, esc(title), esc(t.URL), esc(t.Key), i+1, wpDate(t.Created), status)
		ids := make(map[string]int, len(cs))
		for _, c := range cs {
			ids[c.ID] = nextID
			nextID++
		}
		for _, c := range cs {
			fmt.Fprintf(w, `		<wp:comment>
			<wp:comment_id>%d</wp:comment_id>
			<wp:comment_author>%s</wp:comment_author>
			<wp:comment_author_email>%s</wp:comment_author_email>
			<wp:comment_author_url>%s</wp:comment_author_url>
			<wp:comment_author_IP></wp:comment_author_IP>
			<wp:comment_date>%s</wp:comment_date>
			<wp:comment_date_gmt>%s</wp:comment_date_gmt>
			<wp:comment_content>%s</wp:comment_content>
			<wp:comment_approved>%s</wp:comment_approved>
			<wp:comment_type>comment</wp:comment_type>
			<wp:comment_parent>%d</wp:comment_parent>
			<wp:comment_user_id>0</wp:comment_user_id>
		</wp:comment>
`, ids[c.ID], cdata(c.Author.Name), esc(c.Author.Email), esc(c.Author.Website), wpDate(c.Created), wpDate(c.Created),
				cdata(strings.TrimSpace(c.HTML)), approved(c.Status), ids[c.ParentID])
		}
		fmt.Fprintf(w, "\t</item>\n")
		if err := w.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "</channel>\n</rss>\n")
	return w.Flush()
}

// approved is WordPress's comment_approved value for a state.
func approved(s comment.Status) string {
	switch s {
	case comment.StatusApproved:
		return "1"
	case comment.StatusSpam:
		return "spam"
	case comment.StatusDeleted:
		return "trash"
	}
	return "0"
}

// wpDate is WordPress's "2006-01-02 15:04:05" in UTC.
func wpDate(t time.Time) string { return t.UTC().Format(time.DateTime) }

// esc escapes text for an XML element.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r != 0xFFFE && r != 0xFFFF:
			b.WriteRune(r)
		default:
			// Characters XML 1.0 cannot hold at all.
			b.WriteString("\uFFFD")
		}
	}
	return b.String()
}

// cdata wraps text in CDATA sections, as WordPress's own exports do,
// splitting any "]]>" inside it.
func cdata(s string) string {
	s = strings.ReplaceAll(esc(s), "&lt;", "<")
	s = strings.ReplaceAll(s, "&gt;", ">")
	s = strings.ReplaceAll(s, "&quot;", `"`)
	s = strings.ReplaceAll(s, "&amp;", "&")
	return "<![CDATA[" + strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>") + "]]>"
}
