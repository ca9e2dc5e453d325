// Package widget is Parley's comment section as readers see it: the
// embeddable JavaScript widget and its stylesheet (embedded in the binary
// and served under content-hash paths), and the server-rendered HTML
// thread and form for readers without JavaScript and for server-side
// includes. Both renderers share one stylesheet, one set of class names and
// the translation tables of package i18n.
package widget

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"parley/internal/i18n"
)

// files are the sources: thread.html is parsed here, the others are built
// into dist/ by go generate (package build) and kept for the tests.
//
//go:embed parley.js parley.css thread.html icons/*.svg
var files embed.FS

var threadTmpl = template.Must(template.New("thread.html").Funcs(template.FuncMap{
	"item": func(v *view, c *CommentView) *item { return &item{V: v, C: c} },
}).ParseFS(files, "thread.html"))

// ThreadView is everything RenderThread needs to draw one page's thread
// and its comment form.
type ThreadView struct {
	Lang       string // "en", "ar", "ar-EG"...; unknown languages get English
	SiteID     string
	SiteName   string
	Page       string // page key (canonical URL or page id)
	PageURL    string
	Title      string
	Total      int    // approved comments in the thread
	Sort       string // oldest|newest|top
	Closed     bool
	Comments   []*CommentView // top-level comments in display order, each with Replies nested
	BaseURL    string         // Parley server origin, e.g. "http://127.0.0.1:8080"
	FormAction string         // absolute URL of POST /sites/{site}/comments
	Token      string         // hidden field "token" (CSRF and time-to-submit)
	PostKey    string         // hidden field "key": the post's idempotency key, fresh with each form
	// ParentID pre-selects the parent when replying without JavaScript
	// (?replytocom=ID); the form heading becomes "Reply to ParentName" with
	// a "Cancel reply" link back to PageURL.
	ParentID   string
	ParentName string
	// Held is the reader's own just-posted comment that awaits moderation.
	// It is shown under its parent (or at the end of the thread) with the
	// notice "Your comment is awaiting moderation."
	Held *CommentView
	// Errors maps a form field (body, email, name, website) to a message
	// after a failed post without JavaScript; other keys (e.g. "" or
	// "token") are shown above the form. Values refills the fields.
	Errors     map[string]string
	Values     map[string]string
	PrivacyURL string
	StyleURL   string // absolute URL of the stylesheet; "" leaves the <link> out
	// Theme is the thread's colours: light (the default), dark, or auto
	// (the reader's system setting).
	Theme string
	// Feeds are the thread's feeds, announced with <link rel="alternate">.
	Feeds []FeedLink
	// ReplyURL gives a comment's no-JS "Reply" link (page URL +
	// ?replytocom=ID#respond). Nil leaves the links out.
	ReplyURL func(id string) string
	// SortURL gives the no-JS link for a sort order (oldest, newest, top).
	// Nil leaves the sort choice out, since a host page that includes the
	// fragment may not pass the parameter on.
	SortURL func(sort string) string
	// Login is the log-in choice shown above the guest fields; nil shows none.
	Login *LoginView
	// User is the logged-in reader (the request carried Parley's session
	// cookie); nil for a guest.
	User *UserView
	// Message is the article's (or the site's) message to commenters,
	// sanitised HTML shown above the form; "" for none.
	Message template.HTML
	// Pinned is the id of the comment that opens the thread, or "".
	Pinned string
	// Featured counts the featured comments: with any, the sort choice
	// offers the Featured tab.
	Featured int
	// ReportURL gives a comment's no-JS "Report" link (Parley's report
	// page). Nil leaves the links out.
	ReportURL func(id string) string
	// Notify offers "Notify me of follow-up comments by email" (the
	// server can send email); Values["notify"] refills its choice.
	Notify bool
}

// FeedLink is one feed of the thread: its media type, title and address.
type FeedLink struct{ Type, Title, URL string }

// LoginView is how readers may log in on a site, as the form without
// JavaScript offers it.
type LoginView struct {
	Guests    string         // "name_email" | "anonymous" | "login"; "" is "name_email"
	Providers []ProviderLink // in order
	// EmailURL is Parley's log-in page for readers without JavaScript (it
	// offers the email link too); "" if none.
	EmailURL string
}

// ProviderLink is one log-in provider: its id ("google", ...), the name
// shown to readers, its icon's absolute URL, and URL, the redirect-mode
// start of its log-in, ready to use.
type ProviderLink struct{ ID, Name, Icon, URL string }

// UserView is the logged-in reader. Provider "email" says "You are
// commenting as EMAIL."; any other says "... using your ACCOUNT account."
type UserView struct {
	Name, Avatar, Account, Email string
	Provider                     string
	// LogoutAction is the absolute URL the Log out form posts to, with a
	// hidden field "return" carrying PageURL.
	LogoutAction string
	// ChangeURL is Parley's page of log-in choices, to log in another way.
	ChangeURL string
}

// CommentView is one comment as the thread shows it.
type CommentView struct {
	ID, ParentID  string
	AuthorName    string
	AuthorWebsite string        // "" if none; otherwise the name links to it with rel="nofollow ugc noopener"
	Avatar        string        // absolute URL served by Parley
	HTML          template.HTML // sanitised server-side; inserted as is
	Created       time.Time
	Edited        bool
	Likes         int
	Pending       bool   // shows "Your comment is awaiting moderation."
	InReplyTo     string // parent's author when the reply is shown flattened past the maximum depth
	Replies       []*CommentView
	Featured      bool // the editors picked it: a "Featured" badge
	// Erased: its author had their data erased while replies hung on
	// it: "Deleted comment", without author or text.
	Erased bool
}

// A site's page that includes the server-rendered thread puts it in an
// element of its own (<div id="parley">); IsolatedThread and
// Cached.RenderIsolated wrap the thread in a declarative shadow root of
// that element (<template shadowrootmode="open">, which the browser turns
// into a shadow root as it parses the page, JavaScript or not), so that
// the page's styles cannot reach inside and the thread's cannot leak out.
// The widget takes that root over when it runs.
//
// A browser looks for a link's #fragment in the document, never inside a
// shadow root, so links to a comment (#comment-ID) and to the form
// (#respond) would not scroll. Each has an empty anchor with that id
// after the shadow root, in the page itself, which the shadow tree shows
// through a <slot> at the comment's (the form's) place: the browser
// scrolls to it and it matches :target. shadowStyle lays each anchor over
// its comment, behind the text, and draws the linked comment's highlight
// with it; its rules are !important, which inside a shadow tree beats
// even the page's !important rules, so the page's rules about links
// cannot restyle the anchors. Only the server-rendered thread has
// anchors, so these rules come with it rather than in parley.css, which
// the widget downloads too. (A page whose Content-Security-Policy forbids
// inline styles drops them: its links still scroll to the comment,
// without the highlight.)
const shadowStyle = `<style>.parley-c,.parley-respond{position:relative;z-index:0}
::slotted(*){all:initial!important;position:absolute!important;inset:0!important;z-index:-1!important;border-radius:var(--_r)!important;scroll-margin:4em!important}
::slotted(*)::before,::slotted(*)::after{content:none!important}
[name^=comment]::slotted(:target){background:var(--_hl)!important}</style>
`

var (
	shadowOpen  = []byte(`<template shadowrootmode="open">` + shadowStyle)
	shadowClose = []byte("</template>\n")
)

// anchors writes the page-side anchor for each of comments, with their
// replies, except those in seen (which it fills), and for the form when
// there is one.
func anchors(b *bytes.Buffer, comments []*CommentView, seen map[string]bool) {
	for _, c := range comments {
		if !seen[c.ID] {
			seen[c.ID] = true
			id := template.HTMLEscapeString("comment-" + c.ID)
			fmt.Fprintf(b, `<a id="%s" slot="%s"></a>`, id, id)
		}
		anchors(b, c.Replies, seen)
	}
}

// pageAnchors is every anchor the thread of v needs, with the reader's
// held comment, if shown, and the form's, if open.
func pageAnchors(v *ThreadView, held *CommentView) []byte {
	var b bytes.Buffer
	seen := map[string]bool{}
	if held != nil && !v.Closed {
		anchors(&b, []*CommentView{held}, seen)
	}
	anchors(&b, v.Comments, seen)
	if !v.Closed {
		b.WriteString(`<a id="respond" slot="respond"></a>`)
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// IsolatedThread writes RenderThread's thread in a declarative shadow
// root, followed by its anchors (see shadowOpen): what a site's page
// includes in its <div id="parley">.
func IsolatedThread(w io.Writer, v *ThreadView) error {
	var b bytes.Buffer
	b.Write(shadowOpen)
	if err := RenderThread(&b, v); err != nil {
		return err
	}
	b.Write(shadowClose)
	b.Write(pageAnchors(v, v.Held))
	_, err := w.Write(b.Bytes())
	return err
}

// RenderThread writes the server-rendered thread and comment form as an
// HTML fragment that needs no JavaScript. Everything from v is escaped
// except CommentView.HTML. Nothing is written if rendering fails.
func RenderThread(w io.Writer, v *ThreadView) error {
	if v == nil {
		return fmt.Errorf("render thread: nil view")
	}
	var buf bytes.Buffer
	if err := threadTmpl.ExecuteTemplate(&buf, "thread", newView(v)); err != nil {
		return fmt.Errorf("render thread: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// view is the template's data: the ThreadView plus what the template
// cannot work out by itself.
type view struct {
	*ThreadView
	T         *i18n.Table
	List      []*CommentView
	Sorts     []sortLink
	Fields    []field
	FormError string
	held      *CommentView
	// Choices are the log-in links for a guest (providers, then email).
	Choices []choice
	// LoginOnly: a guest on a site where only logged-in readers may
	// comment, so there is no form, only the choices.
	LoginOnly bool
	// rec, while Cache renders, notes where the parts that differ
	// between readers go; nil otherwise.
	rec *recorder
}

// Mark notes the output's current length under name while Cache renders
// (see recorder); it writes nothing.
func (v *view) Mark(name string) string {
	if v.rec != nil {
		v.rec.mark(name)
	}
	return ""
}

type choice struct{ ID, URL, Icon, Label string }

type sortLink struct {
	URL     string
	Label   string
	Current bool
}

type field struct {
	Name, Label, Req, Hint  string
	Type, Dir, Autocomplete string
	InputMode               string
	Max                     int
	Required, Autofocus     bool
	Value, Error            string
}

// Describe is the field's aria-describedby: its hint and its error.
func (f field) Describe() string {
	d := "parley-" + f.Name + "-err"
	if f.Hint != "" {
		d = "parley-" + f.Name + "-hint " + d
	}
	return d
}

// formFields lists the form's fields in the order UX.md gives.
var formFields = []field{
	{Name: "body", Max: 20000, Required: true, Dir: "auto"},
	{Name: "email", Type: "email", Max: 254, Required: true, Dir: "ltr", Autocomplete: "email"},
	{Name: "name", Type: "text", Max: 100, Required: true, Dir: "auto", Autocomplete: "name"},
	{Name: "website", Type: "text", Max: 500, Dir: "ltr", Autocomplete: "url", InputMode: "url"},
}

func newView(v *ThreadView) *view {
	t := i18n.Get(v.Lang)
	vw := &view{ThreadView: v, T: t, List: v.Comments, held: v.Held}
	if v.Held != nil && !v.Closed {
		vw.List = placeHeld(v.Comments, v.Held, v.Sort == "newest")
	}
	if v.SortURL != nil {
		sorts := []string{"oldest", "newest", "top"}
		if v.Featured > 0 || v.Sort == "featured" {
			sorts = append(sorts, "featured")
		}
		for _, s := range sorts {
			cur := s == v.Sort || (v.Sort == "" && s == "oldest")
			vw.Sorts = append(vw.Sorts, sortLink{URL: v.SortURL(s), Label: t.T("sort." + s), Current: cur})
		}
	}
	if l := v.Login; l != nil && v.User == nil {
		for _, p := range l.Providers {
			vw.Choices = append(vw.Choices, choice{ID: p.ID, URL: p.URL, Icon: p.Icon, Label: t.T("login.with", "name", p.Name)})
		}
		if l.EmailURL != "" {
			icon, _ := IconPath("email")
			vw.Choices = append(vw.Choices, choice{ID: "email", URL: l.EmailURL, Icon: v.BaseURL + icon, Label: t.T("login.email")})
		}
		vw.LoginOnly = l.Guests == "login"
	}
	focused := false
	for _, f := range formFields {
		if f.Name != "body" && (v.User != nil || vw.LoginOnly) && !(v.User != nil && v.User.Provider == "email" && f.Name != "email") {
			// The session says who is writing; an emailed link vouches
			// for an address, not a name, so that reader gives one.
			continue
		}
		if v.Login != nil && v.Login.Guests == "anonymous" {
			f.Required = f.Name == "body"
		}
		f.Label = t.T("form." + f.Name)
		f.Req = t.T("form.optional")
		if f.Required {
			f.Req = t.T("form.required")
		}
		if f.Name == "email" {
			f.Hint = t.T("form.email.hint")
		}
		f.Value = v.Values[f.Name]
		f.Error = v.Errors[f.Name]
		if f.Error != "" && !focused {
			f.Autofocus, focused = true, true
		}
		vw.Fields = append(vw.Fields, f)
	}
	for k, msg := range v.Errors {
		if !isField(k) && msg != "" {
			vw.FormError = msg
		}
	}
	return vw
}

func isField(name string) bool {
	for _, f := range formFields {
		if f.Name == name {
			return true
		}
	}
	return false
}

// placeHeld returns the thread with the held comment added under its
// parent, or as a top-level comment (first when the newest come first).
// The caller's slices are not modified.
func placeHeld(list []*CommentView, held *CommentView, newestFirst bool) []*CommentView {
	if held.ParentID != "" {
		if out, ok := addReply(list, held); ok {
			return out
		}
	}
	out := make([]*CommentView, 0, len(list)+1)
	if newestFirst {
		return append(append(out, held), list...)
	}
	return append(append(out, list...), held)
}

func addReply(list []*CommentView, held *CommentView) ([]*CommentView, bool) {
	for i, c := range list {
		var replies []*CommentView
		if c.ID == held.ParentID {
			replies = append(append(make([]*CommentView, 0, len(c.Replies)+1), c.Replies...), held)
		} else if r, ok := addReply(c.Replies, held); ok {
			replies = r
		} else {
			continue
		}
		cc := *c
		cc.Replies = replies
		out := append([]*CommentView(nil), list...)
		out[i] = &cc
		return out, true
	}
	return list, false
}

// Bidi returns the text for key with each placeholder value isolated in
// <bdi>, so that a name in another script keeps the sentence readable.
// args are name, value pairs as in i18n.Table.T.
func (v *view) Bidi(key string, args ...string) template.HTML {
	return i18n.HTML(v.T.T(key), func(name string) (template.HTML, bool) {
		for i := 0; i+1 < len(args); i += 2 {
			if args[i] == name {
				return "<bdi>" + template.HTML(template.HTMLEscapeString(args[i+1])) + "</bdi>", true
			}
		}
		return "", false
	})
}

// UserSentence says who the logged-in reader is commenting as.
func (v *view) UserSentence() template.HTML {
	if v.User.Provider == "email" {
		return v.Bidi("login.as_email", "email", v.User.Email)
	}
	return v.Bidi("login.as", "account", v.User.Account)
}

// UserAvatar is the logged-in reader's avatar URL, or "" unless it is
// http(s) or server-relative.
func (v *view) UserAvatar() string {
	if isHTTP(v.User.Avatar) {
		return v.User.Avatar
	}
	return ""
}

// Privacy returns the privacy line with its link to PrivacyURL.
func (v *view) Privacy() template.HTML {
	return i18n.HTML(v.T.T("privacy"), func(name string) (template.HTML, bool) {
		if name != "link" {
			return "", false
		}
		text := template.HTMLEscapeString(v.T.T("privacy.link"))
		if v.PrivacyURL == "" || !isHTTP(v.PrivacyURL) {
			return template.HTML(text), true
		}
		return template.HTML(`<a href="` + template.HTMLEscapeString(v.PrivacyURL) + `">` + text + `</a>`), true
	})
}

func isHTTP(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "/")
}

// item is one comment with what its template needs from the view.
type item struct {
	V *view
	C *CommentView
}

// Mark notes, while Cache renders, where a reply to this comment would
// go: after its last reply, or after the comment itself if it has none.
func (it *item) Mark() string {
	if r := it.V.rec; r != nil {
		r.reply(it.C.ID, len(it.C.Replies) > 0)
	}
	return ""
}

func (it *item) Pending() bool { return it.C.Pending || it.C == it.V.held }

func (it *item) Name() string {
	if strings.TrimSpace(it.C.AuthorName) == "" {
		return it.V.T.T("anonymous")
	}
	return it.C.AuthorName
}

// Website is the author's link, or "" unless it is an http(s) URL.
func (it *item) Website() string {
	if w := it.C.AuthorWebsite; isHTTP(w) && !strings.HasPrefix(w, "/") {
		return w
	}
	return ""
}

// Avatar is the avatar URL, or "" unless it is http(s) or server-relative.
func (it *item) Avatar() string {
	if isHTTP(it.C.Avatar) {
		return it.C.Avatar
	}
	return ""
}

func (it *item) Date() string     { return it.V.T.Date(it.C.Created) }
func (it *item) Datetime() string { return it.C.Created.Format(time.RFC3339) }

// Pinned reports whether the comment opens the thread.
func (it *item) Pinned() bool { return it.V.Pinned != "" && it.V.Pinned == it.C.ID }

// ReportURL is the no-JS report link, or "" where there is none (a held
// comment, which only its author sees).
func (it *item) ReportURL() string {
	if it.V.ReportURL == nil || it.Pending() {
		return ""
	}
	return it.V.ReportURL(it.C.ID)
}

// ReplyURL is the no-JS reply link, or "" where readers cannot reply.
func (it *item) ReplyURL() string {
	if it.V.ReplyURL == nil || it.V.Closed || it.Pending() {
		return ""
	}
	return it.V.ReplyURL(it.C.ID)
}
