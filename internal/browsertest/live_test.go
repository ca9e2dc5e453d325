package browsertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/internal/comment"
	"parley/internal/service"
)

// liveWait is how soon a change must reach another open page.
const liveWait = 5 * time.Second

// postInWidget fills in the widget's form as a reader does, sends it and
// returns the new comment's id once the widget shows it.
func (b *browser) postInWidget(name, email, body string) string {
	b.tb.Helper()
	before := js(strings.Join(eval[[]string](b, `[...`+shadowRoot+`.querySelectorAll('li[id^="comment-"]')].map(li => li.id)`), " "))
	b.do(
		retype(inWidget("textarea[name=body]"), body),
		retype(inWidget("input[name=email]"), email),
		retype(inWidget("input[name=name]"), name),
	)
	b.click(widgetJS(".parley-submit"))
	added := `[...` + shadowRoot + `.querySelectorAll('li[id^="comment-"]')].find(li => !` + before + `.split(' ').includes(li.id) && li.querySelector(':scope > article .parley-author').textContent == ` + js(name) + `)`
	b.waitFor("the posted comment", `!!`+added)
	return eval[string](b, added+`.id.slice(8)`)
}

// own selects css inside a comment's own box, not its replies.
func own(id, css string) string { return "#comment-" + id + " > article " + css }

// has is a JavaScript expression that is true when the widget has an
// element matching css.
func has(css string) string { return `!!` + widgetJS(css) }

// text returns the trimmed text of the widget's first element matching css.
func text(b *browser, css string) string {
	b.tb.Helper()
	return eval[string](b, `(e => e ? e.textContent.trim() : '<none>')(`+widgetJS(css)+`)`)
}

// announced is true when the widget's live region says s.
func announced(s string) string { return widgetJS(".parley-sr") + `.textContent == ` + js(s) }

// threadReads counts the thread reads (page loads and reloads of the
// widget) a browser has made.
func threadReads(b *browser) int {
	_, reqs, _ := b.seen()
	n := 0
	for _, r := range reqs {
		if strings.Contains(r, "/api/v1/sites/news/comments?") {
			n++
		}
	}
	return n
}

func TestBrowser_LiveUpdates(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	const key = "bus-line-live"
	ctx := context.Background()
	// Two readers, each in their own browser, read the same article.
	a := newBrowser(t, 90*time.Second)
	b := newBrowser(t, 90*time.Second)
	a.openWidget(s.articleURL(key))
	b.openWidget(s.articleURL(key))
	if got := text(b, ".parley-count"); got != "No comments yet" {
		t.Fatalf("heading of the empty thread = %q", got)
	}

	// A comment posted through the widget in A shows up in B.
	const body = "Does the 7 stop at the library?"
	mine := a.postInWidget("Amara Okafor", "amara@example.org", body)
	b.waitWithin(liveWait, "A's comment in B", has("#comment-"+mine))
	if got := text(b, own(mine, ".parley-body")); got != body {
		t.Errorf("A's comment in B reads %q", got)
	}
	if got := text(b, own(mine, ".parley-author")); got != "Amara Okafor" {
		t.Errorf("A's comment in B is by %q", got)
	}
	if got := text(b, ".parley-count"); got != "1 comment" {
		t.Errorf("B's heading after A posted = %q, want 1 comment", got)
	}
	b.waitWithin(liveWait, "the announcement in B", announced("New comment by Amara Okafor"))
	// In A, the comment is there once, however its own answer and the
	// live event raced, with A's Edit button.
	if n := eval[int](a, `[...`+shadowRoot+`.querySelectorAll('#comment-`+mine+`')].length`); n != 1 {
		t.Errorf("A shows its comment %d times", n)
	}
	if got := text(a, ".parley-count"); got != "1 comment" {
		t.Errorf("A's heading after posting = %q, want 1 comment", got)
	}
	if !eval[bool](a, has(own(mine, ".parley-edit"))) {
		t.Error("A has no Edit button on its own comment")
	}
	if got := eval[string](a, `getComputedStyle(`+widgetJS("#comment-"+mine+".parley-target > article")+`).animationName`); got != "parley-flash" {
		t.Errorf("A's new comment is not highlighted (animation %q)", got)
	}
	if eval[bool](b, has(own(mine, ".parley-edit"))) || eval[bool](b, has(own(mine, ".parley-delete"))) {
		t.Error("B may edit or delete A's comment")
	}

	// A comment posted on the server (another reader, the HTML form, the
	// API) shows up in both, and a reply lands under its parent.
	lena := s.post(t, key, "", "Lena Novak", "It does, at the north entrance.")
	for _, br := range []*browser{a, b} {
		br.waitWithin(liveWait, "the server-side comment", has("#comment-"+lena.ID))
		if got := text(br, own(lena.ID, ".parley-body")); got != "It does, at the north entrance." {
			t.Errorf("server-side comment reads %q", got)
		}
		if got := text(br, ".parley-count"); got != "2 comments" {
			t.Errorf("heading after the server-side comment = %q, want 2 comments", got)
		}
		br.waitWithin(liveWait, "the announcement", announced("New comment by Lena Novak"))
	}
	reply := s.post(t, key, lena.ID, "Omar Haddad", "And at the school on weekdays.")
	b.waitWithin(liveWait, "the reply nested under its parent in B", has("#comment-"+lena.ID+" > .parley-replies > li#comment-"+reply.ID))
	a.waitWithin(liveWait, "the reply nested under its parent in A", has("#comment-"+lena.ID+" > .parley-replies > li#comment-"+reply.ID))
	if got := text(b, ".parley-count"); got != "3 comments" {
		t.Errorf("B's heading after the reply = %q, want 3 comments", got)
	}

	// A likes Lena's comment; B sees the count, but not as its own like.
	like := own(lena.ID, ".parley-like")
	// Mark A's button, to see when the live update has redrawn it.
	eval[bool](a, `(`+widgetJS(like)+`.old = true)`)
	a.click(widgetJS(like))
	b.waitWithin(liveWait, "the like count in B", widgetJS(like+" .parley-n")+`.textContent == "1"`)
	if got := eval[string](b, widgetJS(like)+`.getAttribute('aria-pressed')`); got != "false" {
		t.Errorf("B's like button aria-pressed = %s after A liked", got)
	}
	a.waitWithin(liveWait, "A's like button redrawn by the live update", `!`+widgetJS(like)+`.old`)
	// The live update and the answer to the like race; either way the
	// button ends up pressed, with the count.
	a.waitWithin(liveWait, "A's like button pressed, with the count", widgetJS(like)+`.getAttribute('aria-pressed') == 'true' && `+widgetJS(like+" .parley-n")+`.textContent == "1"`)
	if !eval[bool](a, shadowRoot+`.activeElement == `+widgetJS(like)) {
		t.Errorf("focus left A's like button when the live update redrew it; it is on %s",
			eval[string](a, `(e => e ? e.outerHTML.slice(0, 80) : 'nothing')(`+shadowRoot+`.activeElement)`))
	}

	// B starts a reply to Lena's comment, which the live update redrew.
	b.click(widgetJS(own(lena.ID, ".parley-reply")))
	b.waitFor("B's form under Lena's comment", widgetJS("#comment-"+lena.ID)+`.contains(`+widgetJS("#respond")+`)`)

	// A moderator marks Lena's comment as spam: it leaves both pages, and
	// the reply to it stays, as the server shows it. B's form goes back
	// to its place.
	if _, err := s.svc.Decide(ctx, service.OperatorActor(), "news", []string{lena.ID}, service.Spam); err != nil {
		t.Fatal(err)
	}
	for _, br := range []*browser{b, a} {
		br.waitWithin(liveWait, "the spam to go", `!`+widgetJS("#comment-"+lena.ID))
		if got := text(br, ".parley-count"); got != "2 comments" {
			t.Errorf("heading after the spam went = %q, want 2 comments", got)
		}
		if !eval[bool](br, has("#comment-"+mine)) || !eval[bool](br, has("#comment-"+reply.ID)) {
			t.Error("other comments went with the spam")
		}
	}
	if !eval[bool](b, widgetJS("#respond")+`.isConnected`) || text(b, "#parley-reply-title") != "Leave a Reply" || !eval[bool](b, widgetJS(".parley-cancel")+`.hidden`) {
		t.Errorf("B's reply form after the comment it replied to went: connected %v, heading %q",
			eval[bool](b, widgetJS("#respond")+`.isConnected`), text(b, "#parley-reply-title"))
	}

	// A comment the site holds for moderation shows only in A, as held;
	// once approved it shows in both, in A in place of the held copy.
	site, err := s.svc.Site(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	holdAll := *site
	holdAll.Moderation = comment.ModerateAll
	if err := s.svc.UpdateSite(ctx, service.OperatorActor(), &holdAll); err != nil {
		t.Fatal(err)
	}
	held := a.postInWidget("Amara Okafor", "amara@example.org", "Held for a moderator, for now.")
	if !eval[bool](a, widgetJS("#comment-"+held)+`.classList.contains('parley-pending')`) {
		t.Fatalf("the held comment is not shown as held: %s", eval[string](a, widgetJS("#comment-"+held)+`.outerHTML`))
	}
	if eval[bool](b, has("#comment-"+held)) {
		t.Error("B shows a comment that is held for moderation")
	}
	if _, err := s.svc.Decide(ctx, service.OperatorActor(), "news", []string{held}, service.Approve); err != nil {
		t.Fatal(err)
	}
	b.waitWithin(liveWait, "the approved comment in B", has("#comment-"+held))
	a.waitWithin(liveWait, "the held copy in A to become the approved comment", has("#comment-"+held)+` && !`+widgetJS("#comment-"+held)+`.classList.contains('parley-pending')`)
	for _, br := range []*browser{a, b} {
		if n := eval[int](br, `[...`+shadowRoot+`.querySelectorAll('#comment-`+held+`')].length`); n != 1 {
			t.Errorf("the approved comment is shown %d times", n)
		}
		if got := text(br, ".parley-count"); got != "3 comments" {
			t.Errorf("heading after the approval = %q, want 3 comments", got)
		}
	}
	if !eval[bool](a, has(own(held, ".parley-edit"))) {
		t.Error("A has no Edit button on its approved comment")
	}

	// None of it took a reload.
	for name, br := range map[string]*browser{"A": a, "B": b} {
		if n := threadReads(br); n != 1 {
			t.Errorf("%s read the thread %d times, want once", name, n)
		}
		dialogs, _, navs := br.seen()
		if len(navs) != 1 || len(dialogs) > 0 {
			t.Errorf("%s: navigations %q, dialogs %q", name, navs, dialogs)
		}
		if eval[bool](br, `window.__xss`) {
			t.Errorf("%s: a dialog function was called: %q", name, eval[[]string](br, `window.__xssCalls`))
		}
	}
	// And B shows what a reload shows.
	ids := `[...` + shadowRoot + `.querySelectorAll('li[id^="comment-"]')].map(li => li.id).sort().join(' ')`
	live := eval[string](b, ids)
	b.do(chromedp.Reload())
	b.waitFor("the widget to load again", widgetReady)
	if got := eval[string](b, ids); got != live {
		t.Errorf("B after a reload shows %s, live it showed %s", got, live)
	}
}

func TestBrowser_EditAndDelete(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	ctx := context.Background()
	const key = "bus-line-edit"
	a := newBrowser(t, 120*time.Second)
	a.openWidget(s.articleURL(key))
	if got := eval[int](a, `JSON.parse(localStorage.getItem('parley:mine:news') || '[]').length`); got != 0 {
		t.Fatalf("a fresh profile remembers %d comments", got)
	}

	// Posted through the widget: the author may edit and delete it.
	const typed = "The 7 was *late* twice this week."
	id := a.postInWidget("Amara Okafor", "amara@example.org", typed)
	if got := text(a, own(id, ".parley-body")); got != "The 7 was late twice this week." {
		t.Fatalf("posted body = %q", got)
	}
	if !eval[bool](a, has(own(id, ".parley-edit"))) || !eval[bool](a, has(own(id, ".parley-delete"))) {
		t.Fatalf("no Edit and Delete on the reader's own comment: %s", eval[string](a, widgetJS(own(id, ".parley-actions"))+`.outerHTML`))
	}
	if got := eval[string](a, `JSON.parse(localStorage.getItem('parley:mine:news')).map(m => m.id + ' ' + m.md).join('|')`); got != id+" "+typed {
		t.Errorf("remembered comments = %q, want %q", got, id+" "+typed)
	}

	// Another reader, in a fresh profile, sees the comment without them.
	o := newBrowser(t, 120*time.Second)
	o.openWidget(s.articleURL(key))
	if !eval[bool](o, has(own(id, ".parley-reply"))) || !eval[bool](o, has(own(id, ".parley-like"))) {
		t.Fatal("the other reader has no Reply and Like on the comment")
	}
	if eval[bool](o, has(".parley-edit")) || eval[bool](o, has(".parley-delete")) {
		t.Error("another reader may edit or delete the comment")
	}

	a.screenshot("widget-own-comment.png")

	// Edit: the text as typed, in a box that has the focus.
	a.click(widgetJS(own(id, ".parley-edit")))
	a.waitFor("the edit box", has(own(id, ".parley-edit-box")))
	if got := eval[string](a, widgetJS(own(id, ".parley-edit-box"))+`.value`); got != typed {
		t.Errorf("edit box holds %q, want the text as typed %q", got, typed)
	}
	if !eval[bool](a, shadowRoot+`.activeElement == `+widgetJS(own(id, ".parley-edit-box"))) {
		t.Error("the edit box does not have the focus")
	}
	if eval[bool](a, has(own(id, ".parley-body"))) {
		t.Error("the comment's text is still shown next to the edit box")
	}
	// Saving an empty text fails, in words next to the box.
	a.do(retype(inWidget(own(id, ".parley-edit-box")), ""))
	a.click(widgetJS(own(id, ".parley-save")))
	a.waitFor("the error", has(own(id, ".parley-editing .parley-err")))
	if got := text(a, own(id, ".parley-editing .parley-err")); got != "Please write a comment." {
		t.Errorf("error after saving an empty text = %q", got)
	}
	a.waitFor("the error in the live region", announced("Please write a comment."))
	const edited = "The 7 was **on time** all week."
	a.do(retype(inWidget(own(id, ".parley-edit-box")), edited))
	// The other reader likes it meanwhile; the live update in A keeps the
	// box, what is typed in it and the focus.
	o.click(widgetJS(own(id, ".parley-like")))
	a.waitWithin(liveWait, "the other reader's like in A", widgetJS(own(id, ".parley-like .parley-n"))+`.textContent == "1"`)
	if got := eval[string](a, `(e => e ? e.value : '<no edit box>')(`+widgetJS(own(id, ".parley-edit-box"))+`)`); got != edited {
		t.Errorf("after a live update the edit box holds %q, want %q", got, edited)
	}
	if !eval[bool](a, shadowRoot+`.activeElement == `+widgetJS(own(id, ".parley-edit-box"))) {
		t.Error("a live update took the focus from the edit box")
	}
	// The comment is still highlighted from posting, but does not flash again.
	if got := eval[string](a, `getComputedStyle(`+widgetJS("#comment-"+id+".parley-target > article")+`).animationName`); got != "none" {
		t.Errorf("the live update made the highlighted comment flash again (animation %q)", got)
	}
	a.screenshot("widget-edit.png")
	a.click(widgetJS(own(id, ".parley-save")))
	a.waitFor("the edited text", has(own(id, ".parley-body"))+` && `+widgetJS(own(id, ".parley-body"))+`.textContent.trim() == "The 7 was on time all week."`)
	if !eval[bool](a, has(own(id, ".parley-body strong"))) {
		t.Errorf("edited body is not rendered from Markdown: %s", eval[string](a, widgetJS(own(id, ".parley-body"))+`.innerHTML`))
	}
	if eval[bool](a, has(".parley-edit-box")) {
		t.Error("the edit box stayed after Save")
	}
	if got := text(a, own(id, ".parley-edited")); got != "Edited" {
		t.Errorf("edited mark after Save = %q, want Edited", got)
	}
	if !eval[bool](a, has(own(id, ".parley-edit"))) {
		t.Error("no Edit button after Save")
	}
	stored, err := s.st.Comment(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Markdown != edited || stored.Edited.IsZero() {
		t.Errorf("stored after the edit: markdown %q, edited %v", stored.Markdown, stored.Edited)
	}

	// The other reader sees the edit live, still without Edit.
	o.waitWithin(liveWait, "the edit in the other browser", has(own(id, ".parley-edited"))+` && `+widgetJS(own(id, ".parley-body"))+`.textContent.trim() == "The 7 was on time all week."`)
	if eval[bool](o, has(".parley-edit")) {
		t.Error("the other reader got an Edit button with the live update")
	}
	// By now A has had the live update of its own edit too; focus stays
	// on the saved comment.
	time.Sleep(300 * time.Millisecond)
	if !eval[bool](a, widgetJS("#comment-"+id+" > article")+`.contains(`+shadowRoot+`.activeElement)`) {
		t.Errorf("after Save, focus is on %s, not the comment", eval[string](a, `(e => e ? e.outerHTML.slice(0, 80) : 'nothing')(`+shadowRoot+`.activeElement)`))
	}

	// After a reload: the new text, Edited, and Edit holds the new text.
	a.do(chromedp.Reload())
	a.waitFor("the widget to load again", widgetReady)
	if got := text(a, own(id, ".parley-body")); got != "The 7 was on time all week." {
		t.Errorf("body after reload = %q", got)
	}
	if got := text(a, own(id, ".parley-edited")); got != "Edited" {
		t.Errorf("edited mark after reload = %q, want Edited", got)
	}
	a.click(widgetJS(own(id, ".parley-edit")))
	a.waitFor("the edit box", has(own(id, ".parley-edit-box")))
	if got := eval[string](a, widgetJS(own(id, ".parley-edit-box"))+`.value`); got != edited {
		t.Errorf("edit box after reload holds %q, want %q", got, edited)
	}
	// Cancel puts the text back unchanged.
	a.click(`[...` + widgetJS(own(id, ".parley-editing")) + `.querySelectorAll('button')].find(b => b.textContent == 'Cancel')`)
	a.waitFor("the text back", has(own(id, ".parley-body")))
	if eval[bool](a, has(".parley-edit-box")) || text(a, own(id, ".parley-body")) != "The 7 was on time all week." {
		t.Errorf("after Cancel: %s", eval[string](a, widgetJS("#comment-"+id+" > article")+`.outerHTML`))
	}

	// Delete asks first; saying no keeps the comment.
	eval[bool](a, `window.confirm = m => { window.__confirmed = m; return window.__answer }, true`)
	a.click(widgetJS(own(id, ".parley-delete")))
	a.waitFor("the question", `window.__confirmed == "Delete your comment? This cannot be undone."`)
	time.Sleep(300 * time.Millisecond)
	if !eval[bool](a, has("#comment-"+id)) {
		t.Fatal("the comment went although the reader said no")
	}
	if c, err := s.st.Comment(ctx, id); err != nil || c.Status != comment.StatusApproved {
		t.Fatalf("after saying no, stored = %v, %v", c, err)
	}
	// Saying yes deletes it, here and for the other reader, live.
	eval[bool](a, `window.__answer = true`)
	a.click(widgetJS(own(id, ".parley-delete")))
	a.waitFor("the comment to go", `!`+widgetJS("#comment-"+id))
	if got := text(a, ".parley-count"); got != "No comments yet" {
		t.Errorf("heading after deleting = %q", got)
	}
	a.waitFor("the announcement", announced("Comment deleted."))
	o.waitWithin(liveWait, "the comment to go from the other browser", `!`+widgetJS("#comment-"+id))
	if got := text(o, ".parley-count"); got != "No comments yet" {
		t.Errorf("other reader's heading after the delete = %q", got)
	}
	if c, err := s.st.Comment(ctx, id); err != nil || c.Status != comment.StatusDeleted {
		t.Errorf("stored after the delete = %v, %v; want deleted", c, err)
	}
	a.do(chromedp.Reload())
	a.waitFor("the widget to load again", widgetReady)
	if eval[bool](a, has("#comment-"+id)) {
		t.Error("the deleted comment is back after a reload")
	}
	if got := text(a, ".parley-count"); got != "No comments yet" {
		t.Errorf("heading after reload = %q", got)
	}

	// A site that allows no editing shows no Edit, then or after a reload.
	// (On a page not read before: the server keeps answering for a thread
	// it has cached with the edit window it had, until the thread changes.)
	site, err := s.svc.Site(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	noEdit := *site
	noEdit.EditWindow = 0
	if err := s.svc.UpdateSite(ctx, service.OperatorActor(), &noEdit); err != nil {
		t.Fatal(err)
	}
	a.openWidget(s.articleURL(key + "-final"))
	final := a.postInWidget("Amara Okafor", "amara@example.org", "No take-backs on this one.")
	for i := 0; i < 2; i++ {
		if !eval[bool](a, has(own(final, ".parley-reply"))) {
			t.Fatalf("no actions on the comment: %s", eval[string](a, widgetJS("#comment-"+final)+`.outerHTML`))
		}
		if eval[bool](a, has(".parley-edit")) || eval[bool](a, has(".parley-delete")) {
			t.Errorf("Edit or Delete shown with an edit window of 0 (load %d)", i)
		}
		if i == 0 {
			a.do(chromedp.Reload())
			a.waitFor("the widget to load again", widgetReady)
		}
	}

	for name, br := range map[string]*browser{"author": a, "other reader": o} {
		if dialogs, _, _ := br.seen(); len(dialogs) > 0 {
			t.Errorf("%s: dialogs opened: %q", name, dialogs)
		}
		if eval[bool](br, `window.__xss`) {
			t.Errorf("%s: a dialog function was called: %q", name, eval[[]string](br, `window.__xssCalls`))
		}
	}
}
