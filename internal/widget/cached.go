package widget

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html/template"
	"sync"

	"parley/internal/i18n"
)

// Cached is a thread rendered once for all its readers: one version of
// the thread in one language, for one page address and title. What
// differs between readers — the form's token, the comment they reply to,
// their own comment awaiting moderation, who is logged in — is filled in
// per request (Render), which copies a few small pieces instead of running
// the template over every comment again: the template costs tens of
// microseconds a comment, the copies a few microseconds a page.
//
// Render's output is byte for byte what RenderThread writes for the same
// view with the reader's parts set.
type Cached struct {
	v ThreadView // shared by every reader: no token, reply target, held comment or user
	t *i18n.Table
	// top is the page up to the respond section; tail is what follows it.
	top, tail []byte
	// replies says where in top a reply to each comment goes.
	replies map[string]replyAt
	// first and last are where a top-level comment goes in the list (first
	// when the newest come first); empty is where the list itself goes when
	// there are no comments; -1 when they do not apply.
	first, last, empty int
	// respond is the respond section without a reply target ([0]) and with
	// one ([1]), with holes for what differs between readers.
	respond [2]holed
	// anchors are the page-side anchors of the thread's comments and form
	// (RenderIsolated).
	anchors []byte

	// held keeps the held comments rendered for this page: their authors
	// reload it until a moderator decides.
	heldMu sync.Mutex
	held   map[heldKey]heldAt
}

// heldKey is everything of a held comment that its HTML shows.
type heldKey struct {
	id, parentID, name, website, avatar, inReplyTo string
	html                                           template.HTML
	created                                        int64
	edited                                         bool
	likes                                          int
}

type heldAt struct {
	at   int
	html []byte
}

// maxHeld bounds Cached.held; past it the map starts again.
const maxHeld = 64

type replyAt struct {
	at         int
	hasReplies bool // else a reply opens the comment's list of replies
}

// holed is text with holes: text[0], hole[0], text[1], ..., text[n].
type holed struct {
	text  [][]byte
	holes []hole
}

// hole is a value Render fills in, escaped as the template escapes it
// where it stands.
type hole int

const (
	holeToken      hole = iota // the form's hidden token, an attribute value
	holeParentID               // the hidden parent field, an attribute value
	holeParentName             // the name in "Reply to NAME", text in <bdi>
	holePostKey                // the form's idempotency key, an attribute value
	numHoles
)

// Reader is what differs between the readers of a Cached thread.
type Reader struct {
	Token                string       // the form's hidden token
	PostKey              string       // the form's idempotency key, fresh for each reader
	ParentID, ParentName string       // the comment replied to without JavaScript (?replytocom), if any
	Held                 *CommentView // the reader's own comment awaiting moderation, if any
	User                 *UserView    // the logged-in reader; nil for a guest
	// Saved are a guest's name, email and website kept in Parley's
	// cookie because they ticked "Save my name…" (keys name, email,
	// website); nil when they did not.
	Saved map[string]string
}

// holeMarks are the stand-ins Cache renders in place of each hole's value:
// letters and digits, which every escaper leaves alone, with a random part
// so that no text from a request (a title, a page address) can pose as one.
var holeMarks = func() [numHoles][]byte {
	b := make([]byte, 12)
	rand.Read(b)
	nonce := hex.EncodeToString(b)
	var m [numHoles][]byte
	for h := range numHoles {
		m[h] = fmt.Appendf(nil, "parleyhole%s%d", nonce, h)
	}
	return m
}()

// Cache renders v once for all its readers. v's reader parts (Token,
// PostKey, ParentID, ParentName, Held, User, Errors, Values, Saved) are ignored: they are
// Render's. v is copied; its comments must not change afterwards.
func Cache(v *ThreadView) (*Cached, error) {
	if v == nil {
		return nil, fmt.Errorf("cache thread: nil view")
	}
	shared := *v
	shared.Token, shared.PostKey, shared.ParentID, shared.ParentName = "", "", "", ""
	shared.Held, shared.User, shared.Errors, shared.Values = nil, nil, nil, nil
	c := &Cached{v: shared, t: i18n.Get(shared.Lang)}

	var buf bytes.Buffer
	page := shared
	page.Token, page.PostKey = string(holeMarks[holeToken]), string(holeMarks[holePostKey])
	vw := newView(&page)
	rec := &recorder{buf: &buf, names: map[string]int{}, replies: map[string]replyAt{}}
	vw.rec = rec
	if err := threadTmpl.ExecuteTemplate(&buf, "thread", vw); err != nil {
		return nil, fmt.Errorf("cache thread: %w", err)
	}
	out := buf.Bytes()
	at := func(name string) int {
		if i, ok := rec.names[name]; ok {
			return i
		}
		return -1
	}
	respond, tail := at("respond"), at("tail")
	if respond < 0 || tail < respond {
		return nil, fmt.Errorf("cache thread: the template does not mark its respond section")
	}
	c.top, c.tail = out[:respond], out[tail:]
	c.respond[0] = split(out[respond:tail])
	c.replies, c.first, c.last, c.empty = rec.replies, at("first"), at("last"), at("empty")

	replying := page
	replying.ParentID, replying.ParentName = string(holeMarks[holeParentID]), string(holeMarks[holeParentName])
	var rb bytes.Buffer
	if err := threadTmpl.ExecuteTemplate(&rb, "respond", newView(&replying)); err != nil {
		return nil, fmt.Errorf("cache thread: %w", err)
	}
	c.respond[1] = split(rb.Bytes())
	c.anchors = pageAnchors(&shared, nil)
	return c, nil
}

// Size is about how many bytes c keeps.
func (c *Cached) Size() int {
	n := len(c.top) + len(c.tail) + len(c.anchors) + 64*len(c.replies)
	for _, r := range c.respond {
		for _, t := range r.text {
			n += len(t)
		}
	}
	return n
}

// Render returns the page for one reader as pieces to be written in
// order. The large pieces are shared with other readers: callers must not
// modify them.
func (c *Cached) Render(r Reader) ([][]byte, error) { return c.render(r, false) }

// RenderIsolated is Render's page in a declarative shadow root, followed
// by its anchors (see shadowOpen): what IsolatedThread writes for the
// same view with the reader's parts set.
func (c *Cached) RenderIsolated(r Reader) ([][]byte, error) { return c.render(r, true) }

// render gathers Parts: the large shared parts as they are, the others
// copied together, so that a page is a handful of writes.
func (c *Cached) render(r Reader, isolated bool) ([][]byte, error) {
	pieces := make([][]byte, 0, 6)
	var small []byte
	err := c.Parts(r, isolated, func(p []byte, shared bool) {
		if shared && len(p) >= 4096 {
			if len(small) > 0 {
				pieces, small = append(pieces, small), nil
			}
			pieces = append(pieces, p)
			return
		}
		if small == nil {
			small = make([]byte, 0, c.respond[1].size()+len(c.tail)+512)
		}
		small = append(small, p...)
	})
	if len(small) > 0 {
		pieces = append(pieces, small)
	}
	return pieces, err
}

// Parts calls part with the page for one reader (RenderIsolated's when
// isolated), in order, a part at a time: each either shared — bytes c
// keeps and hands out again at the same address (a held comment's, to
// its author's next reads), never changed, so a caller may keep what it
// derives from one (compressed, say) beside c, keyed by that address —
// or this reader's own, valid only during the call.
func (c *Cached) Parts(r Reader, isolated bool, part func(b []byte, shared bool)) error {
	if isolated {
		part(shadowOpen, true)
	}
	top := c.top
	if r.Held != nil && !c.v.Closed {
		h, err := c.heldHTML(r.Held)
		if err != nil {
			return err
		}
		part(top[:h.at], true)
		part(h.html, true)
		top = top[h.at:]
	}
	part(top, true)

	var own bytes.Buffer
	if r.User != nil || r.Saved != nil {
		// Logged-in readers, and guests whose details the form refills,
		// are few: their form is rendered for them.
		full := c.v
		full.Token, full.PostKey, full.ParentID, full.ParentName, full.User = r.Token, r.PostKey, r.ParentID, r.ParentName, r.User
		if r.User == nil {
			full.Values = map[string]string{"name": r.Saved["name"], "email": r.Saved["email"], "website": r.Saved["website"], "remember": "1"}
		}
		if err := threadTmpl.ExecuteTemplate(&own, "respond", newView(&full)); err != nil {
			return fmt.Errorf("render thread: %w", err)
		}
		part(own.Bytes(), false)
	} else {
		h := &c.respond[0]
		if r.ParentID != "" {
			h = &c.respond[1]
		}
		own.Grow(len(r.Token) + len(r.PostKey) + 2*len(r.ParentID) + 2*len(r.ParentName))
		for i, t := range h.text {
			part(t, true)
			if i == len(h.holes) {
				break
			}
			own.Reset()
			switch h.holes[i] {
			case holeToken:
				appendAttr(&own, r.Token)
			case holePostKey:
				appendAttr(&own, r.PostKey)
			case holeParentID:
				appendAttr(&own, r.ParentID)
			case holeParentName:
				own.WriteString(template.HTMLEscapeString(r.ParentName))
			}
			part(own.Bytes(), false)
		}
	}
	part(c.tail, true)
	if isolated {
		part(shadowClose, true)
		if r.Held != nil && !c.v.Closed {
			own.Reset()
			anchors(&own, []*CommentView{r.Held}, map[string]bool{})
			part(own.Bytes(), false)
		}
		part(c.anchors, true)
	}
	return nil
}

// heldHTML returns where the reader's held comment goes in top, and its
// HTML, rendered once for each version of the comment.
func (c *Cached) heldHTML(h *CommentView) (heldAt, error) {
	k := heldKey{id: h.ID, parentID: h.ParentID, name: h.AuthorName, website: h.AuthorWebsite, avatar: h.Avatar, inReplyTo: h.InReplyTo,
		html: h.HTML, created: h.Created.UnixNano(), edited: h.Edited, likes: h.Likes}
	c.heldMu.Lock()
	out, ok := c.held[k]
	c.heldMu.Unlock()
	if ok {
		return out, nil
	}
	at, b, err := c.renderHeld(h)
	if err != nil {
		return heldAt{}, err
	}
	out = heldAt{at: at, html: b}
	c.heldMu.Lock()
	defer c.heldMu.Unlock()
	if c.held == nil || len(c.held) >= maxHeld {
		c.held = map[heldKey]heldAt{}
	}
	c.held[k] = out
	return out, nil
}

// renderHeld returns where the reader's held comment goes in top, and
// its HTML, placed as RenderThread places it: under its parent, or else
// first or last at the top level.
func (c *Cached) renderHeld(h *CommentView) (int, []byte, error) {
	var open, close string
	at := c.last
	if p, ok := c.replies[h.ParentID]; ok && h.ParentID != "" {
		at = p.at
		if !p.hasReplies {
			open, close = "\n<ol class=\"parley-replies\">", "\n</ol>"
		}
	} else if c.empty >= 0 {
		at, open, close = c.empty, "\n<ol class=\"parley-list\">", "\n</ol>"
	} else if c.v.Sort == "newest" {
		at = c.first
	}
	if at < 0 {
		return 0, nil, fmt.Errorf("render thread: no place for the held comment")
	}
	var b bytes.Buffer
	b.WriteString(open)
	vw := &view{ThreadView: &c.v, T: c.t, held: h}
	if err := threadTmpl.ExecuteTemplate(&b, "comment", &item{V: vw, C: h}); err != nil {
		return 0, nil, fmt.Errorf("render thread: %w", err)
	}
	b.WriteString(close)
	return at, b.Bytes(), nil
}

// recorder notes where the template was in its output when it reached a
// mark (view.Mark, item.Mark): the template writes straight to buf, so its
// length is the position.
type recorder struct {
	buf     *bytes.Buffer
	names   map[string]int
	replies map[string]replyAt
}

func (r *recorder) mark(name string) { r.names[name] = r.buf.Len() }

func (r *recorder) reply(id string, hasReplies bool) {
	r.replies[id] = replyAt{at: r.buf.Len(), hasReplies: hasReplies}
}

// split cuts rendered text at each hole mark.
func split(b []byte) holed {
	var h holed
	for {
		i, which := -1, hole(0)
		for k := range numHoles {
			if j := bytes.Index(b, holeMarks[k]); j >= 0 && (i < 0 || j < i) {
				i, which = j, k
			}
		}
		if i < 0 {
			h.text = append(h.text, b)
			return h
		}
		h.text = append(h.text, b[:i])
		h.holes = append(h.holes, which)
		b = b[i+len(holeMarks[which]):]
	}
}

func (h *holed) size() int {
	n := 0
	for _, t := range h.text {
		n += len(t)
	}
	return n
}

// appendAttr writes s escaped as html/template escapes a quoted attribute
// value (its htmlReplacementTable): the same bytes the template would
// have written.
func appendAttr(b *bytes.Buffer, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var r string
		switch s[i] {
		case 0:
			r = "\uFFFD"
		case '"':
			r = "&#34;"
		case '&':
			r = "&amp;"
		case '\'':
			r = "&#39;"
		case '+':
			r = "&#43;"
		case '<':
			r = "&lt;"
		case '>':
			r = "&gt;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(r)
		last = i + 1
	}
	b.WriteString(s[last:])
}
