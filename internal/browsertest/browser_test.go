package browsertest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"parley/internal/i18n"
)

// retype replaces the text of a field as a reader does: select all, type.
// (chromedp.Clear only resets the value attribute, not what was typed.)
func retype[S chromedp.Selectable](sel S, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Focus(sel),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.KeyEvent(kb.Backspace),
		chromedp.SendKeys(sel, text),
	)
}

// box is an element's bounding rectangle in CSS pixels.
type box struct{ Left, Right, Top, Bottom float64 }

// rect returns the bounding box of the element the expression gives.
func rect(b *browser, elem string) box {
	b.tb.Helper()
	return eval[box](b, `(e => { const r = e.getBoundingClientRect(); return {Left: r.left, Right: r.right, Top: r.top, Bottom: r.bottom} })(`+elem+`)`)
}

// commentIDs returns the ids (without "comment-") of the rendered
// comments whose author is name, in document order.
func commentIDs(b *browser, root, name string) []string {
	b.tb.Helper()
	return eval[[]string](b, `[...`+root+`.querySelectorAll('li[id^="comment-"]')].filter(li => li.querySelector(':scope > article .parley-author').textContent.trim() == `+js(name)+`).map(li => li.id.slice(8))`)
}

func TestBrowser_WidgetPostAndReply(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	b := newBrowser(t, 60*time.Second)
	const key = "bus-line"
	b.openWidget(s.articleURL(key))
	if got := eval[string](b, widgetJS(".parley-count")+".textContent"); got != "No comments yet" {
		t.Errorf("heading of an empty thread = %q", got)
	}

	// A guest types their comment and details, key by key.
	b.do(
		chromedp.SendKeys(inWidget("textarea[name=body]"), "The new line saves me twenty minutes a day."),
		chromedp.SendKeys(inWidget("input[name=email]"), "amara@example.org"),
		chromedp.SendKeys(inWidget("input[name=name]"), "Amara Okafor"),
		chromedp.SendKeys(inWidget("input[name=website]"), "amara.example"),
	)
	b.click(widgetJS(".parley-submit"))
	b.waitFor("the posted comment", `[...`+shadowRoot+`.querySelectorAll('li[id^="comment-"] .parley-author')].some(a => a.textContent == "Amara Okafor")`)
	ids := commentIDs(b, shadowRoot, "Amara Okafor")
	if len(ids) != 1 {
		t.Fatalf("comments by Amara Okafor = %v, want one", ids)
	}
	parent := ids[0]
	pSel := "#comment-" + parent
	if got := eval[string](b, widgetJS(pSel+" .parley-body")+".textContent.trim()"); got != "The new line saves me twenty minutes a day." {
		t.Errorf("posted body = %q", got)
	}
	if href := eval[string](b, widgetJS(pSel+" a.parley-author")+".href"); href != "https://amara.example/" {
		t.Errorf("author link = %q, want the website", href)
	}
	if rel := eval[string](b, widgetJS(pSel+" a.parley-author")+".rel"); !strings.Contains(rel, "nofollow") || !strings.Contains(rel, "ugc") {
		t.Errorf("author link rel = %q, want nofollow ugc", rel)
	}
	if got := eval[string](b, widgetJS(".parley-count")+".textContent"); got != "1 comment" {
		t.Errorf("heading after posting = %q, want 1 comment", got)
	}
	if got := eval[string](b, widgetJS("textarea[name=body]")+".value"); got != "" {
		t.Errorf("comment box after posting = %q, want it emptied", got)
	}

	// Reply in place: the form moves under the comment.
	b.click(widgetJS(pSel + " .parley-reply"))
	b.waitFor("the form under the comment", widgetJS(pSel)+`.contains(`+widgetJS("#respond")+`)`)
	if got := eval[string](b, widgetJS("#parley-reply-title")+".textContent"); got != "Reply to Amara Okafor" {
		t.Errorf("form heading = %q, want Reply to Amara Okafor", got)
	}
	if eval[bool](b, widgetJS(".parley-cancel")+".hidden") {
		t.Error("no Cancel reply while replying")
	}
	if got := eval[string](b, shadowRoot+".activeElement && "+shadowRoot+".activeElement.name"); got != "body" {
		t.Errorf("focus after Reply is on %q, want the comment box", got)
	}
	b.do(
		chromedp.SendKeys(inWidget("textarea[name=body]"), "Agreed, and it has been on time all week."),
		retype(inWidget("input[name=name]"), "Bo Lindqvist"),
		retype(inWidget("input[name=email]"), "bo@example.org"),
		retype(inWidget("input[name=website]"), ""),
	)
	b.click(widgetJS(".parley-submit"))
	b.waitFor("the reply under its parent", widgetJS(pSel+` > .parley-replies > li[id^="comment-"]`))
	ids = commentIDs(b, shadowRoot, "Bo Lindqvist")
	if len(ids) != 1 {
		t.Fatalf("comments by Bo Lindqvist = %v, want one", ids)
	}
	reply := ids[0]
	if eval[bool](b, widgetJS(pSel)+`.contains(`+widgetJS("#respond")+`)`) {
		t.Error("the form stayed under the comment after the reply was posted")
	}

	// After a reload both come from the server, the reply nested in its parent.
	b.do(chromedp.Reload())
	b.waitFor("the widget to load again", widgetReady)
	if !eval[bool](b, `!!`+widgetJS(pSel+" > .parley-replies > li#comment-"+reply)) {
		t.Fatalf("after reload, the reply is not nested in its parent: %s", eval[string](b, widgetJS(".parley-list")+".outerHTML"))
	}
	if got := eval[string](b, widgetJS(".parley-count")+".textContent"); got != "2 comments" {
		t.Errorf("heading after reload = %q, want 2 comments", got)
	}
	if got := eval[string](b, widgetJS("#comment-"+reply+" .parley-body")+".textContent.trim()"); got != "Agreed, and it has been on time all week." {
		t.Errorf("reply body after reload = %q", got)
	}
	// Left to right, a reply is indented from the left.
	pb, rb := rect(b, widgetJS(pSel+" > article")), rect(b, widgetJS("#comment-"+reply+" > article"))
	if !(rb.Left > pb.Left+10 && rb.Right <= pb.Right+1) {
		t.Errorf("reply box %+v is not indented from the left of its parent %+v", rb, pb)
	}
	b.screenshot("widget-light.png")

	// And both are in the database.
	ctx := context.Background()
	pc, err := s.st.Comment(ctx, parent)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.st.Comment(ctx, reply)
	if err != nil {
		t.Fatal(err)
	}
	if pc.ParentID != "" || pc.Author.Name != "Amara Okafor" || pc.Author.Email != "amara@example.org" || pc.Author.Website != "https://amara.example" {
		t.Errorf("stored comment = %+v", pc)
	}
	if rc.ParentID != parent || rc.Author.Name != "Bo Lindqvist" || rc.Markdown != "Agreed, and it has been on time all week." {
		t.Errorf("stored reply = %+v, want parent %s", rc, parent)
	}
	if n := len(s.stored(t, key)); n != 2 {
		t.Errorf("stored comments = %d, want 2", n)
	}
	if dialogs, _, _ := b.seen(); len(dialogs) > 0 {
		t.Errorf("dialogs opened: %q", dialogs)
	}
}

func TestBrowser_NoJavaScript(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	b := newBrowser(t, 60*time.Second)
	const key = "bus-line-nojs"
	b.withoutJavaScript()
	b.do(chromedp.Navigate(s.includeURL(key)), chromedp.WaitVisible(inWidget("textarea[name=body]")))
	if eval[bool](b, `document.documentElement.dataset.js == 'on'`) {
		t.Fatal("the page ran its script; JavaScript is not disabled")
	}

	// The plain form: type, forget the name, submit. The browser itself
	// refuses (the field is required) and puts focus on the name field.
	b.do(
		chromedp.SendKeys(inWidget("textarea[name=body]"), "Will the line run on Sundays?"),
		chromedp.SendKeys(inWidget("input[name=email]"), "chidi@example.org"),
		chromedp.Click(inWidget(".parley-submit")),
		chromedp.Sleep(200*time.Millisecond),
	)
	if got := eval[string](b, `location.href + ' ' + `+shadowRoot+`.activeElement.name + ' ' + `+shadowRoot+`.activeElement.validity.valueMissing`); got != s.includeURL(key)+" name true" {
		t.Errorf("after submitting without a name: %q, want the page unchanged and focus on the empty name", got)
	}
	// Parley checks what the browser cannot: a website that is no web
	// address. It answers with the form again, the text kept and the
	// problem next to its field.
	b.do(
		chromedp.SendKeys(inWidget("input[name=name]"), "Chidi Eze"),
		chromedp.SendKeys(inWidget("input[name=website]"), "htp:/riverton"),
		chromedp.Click(inWidget(".parley-submit")),
	)
	b.waitLocation("the form with its error", func(l string) bool { return strings.HasPrefix(l, s.parley.URL) })
	b.do(chromedp.WaitVisible(chromedp.CSS("#parley-website-err")))
	if got := eval[string](b, `document.querySelector('#parley-website-err').textContent.trim()`); !strings.HasPrefix(got, "That website address doesn't look right.") {
		t.Errorf("website error without JavaScript = %q", got)
	}
	if got := eval[string](b, `document.activeElement.id + ' ' + document.querySelector('#parley-website').getAttribute('aria-invalid') + ' ' + document.querySelector('#parley-website').getAttribute('aria-describedby')`); got != "parley-website true parley-website-err" {
		t.Errorf("focus, aria-invalid and aria-describedby after the error = %q", got)
	}
	if got := eval[string](b, `['body', 'email', 'name'].map(n => document.querySelector('[name=' + n + ']').value.trim()).join(' | ')`); got != "Will the line run on Sundays? | chidi@example.org | Chidi Eze" {
		t.Errorf("the form lost what was typed: %q", got)
	}
	// Clearing the website and submitting lands on the article at the comment.
	b.do(
		retype(chromedp.CSS("input[name=website]"), ""),
		chromedp.Click(chromedp.CSS(".parley-submit")),
	)
	loc := b.waitLocation("the redirect to the new comment", func(l string) bool { return strings.Contains(l, "#comment-") })
	base, frag, _ := strings.Cut(loc, "#")
	if base != s.includeURL(key) {
		t.Errorf("landed on %s, want the article page %s", loc, s.includeURL(key))
	}
	parent := strings.TrimPrefix(frag, "comment-")
	pSel := "li#comment-" + parent
	if got := eval[string](b, widgetJS(pSel+" .parley-body")+`.textContent.trim()`); got != "Will the line run on Sundays?" {
		t.Errorf("comment on the page = %q", got)
	}
	if got := eval[string](b, widgetJS(pSel+" .parley-author")+`.textContent.trim()`); got != "Chidi Eze" {
		t.Errorf("author on the page = %q", got)
	}
	// The browser finds #comment-ID in the page, not in the shadow root:
	// the comment's anchor is there, shown (slotted) over the comment.
	if !eval[bool](b, `document.getElementById('comment-`+parent+`').matches(':target')`) {
		t.Error("the new comment's anchor is not the page's :target")
	}
	if r, h := rect(b, widgetJS(pSel)), eval[float64](b, `innerHeight`); r.Top < 0 || r.Top >= h {
		t.Errorf("the new comment is not in view: top %v of a %v px window", r.Top, h)
	}
	if a, c := rect(b, `document.getElementById('comment-`+parent+`')`), rect(b, widgetJS(pSel+" > article")); a != c {
		t.Errorf("the comment's anchor is at %+v, its comment at %+v", a, c)
	}
	// Highlighted as the target (--parley-highlight's default).
	if got := eval[string](b, `getComputedStyle(document.getElementById('comment-`+parent+`')).backgroundColor`); got != "rgb(255, 244, 206)" {
		t.Errorf("the linked comment's highlight is %q", got)
	}
	b.screenshot("nojs-target.png")

	// The no-JS Reply link reloads the page with ?replytocom=ID#respond.
	b.do(chromedp.Click(inWidget(pSel + " .parley-reply")))
	loc = b.waitLocation("the reply form", func(l string) bool { return strings.Contains(l, "replytocom="+parent) })
	if !strings.HasSuffix(loc, "#respond") {
		t.Errorf("reply link went to %s, want #respond", loc)
	}
	b.waitFor("the reply form", `!!`+widgetJS("#parley-reply-title"))
	if got := eval[string](b, widgetJS("#parley-reply-title")+`.textContent.trim()`); got != "Reply to Chidi Eze" {
		t.Errorf("form heading = %q, want Reply to Chidi Eze", got)
	}
	// #respond scrolled the form into view (its anchor, in the page).
	if r, h := rect(b, widgetJS("#respond")), eval[float64](b, `innerHeight`); r.Top < 0 || r.Top >= h || !eval[bool](b, `document.getElementById('respond').matches(':target')`) {
		t.Errorf("the form is not in view: top %v of a %v px window", r.Top, h)
	}
	if got := eval[string](b, widgetJS("input[name=parent]")+`.value`); got != parent {
		t.Errorf("parent field = %q, want %s", got, parent)
	}
	b.do(
		chromedp.SendKeys(inWidget("textarea[name=body]"), "Yes, every hour from 8."),
		chromedp.SendKeys(inWidget("input[name=email]"), "dana@example.org"),
		chromedp.SendKeys(inWidget("input[name=name]"), "Dana Whitfield"),
		chromedp.Click(inWidget(".parley-submit")),
	)
	loc = b.waitLocation("the redirect to the reply", func(l string) bool {
		return strings.Contains(l, "#comment-") && !strings.Contains(l, "#comment-"+parent)
	})
	if strings.Contains(loc, "replytocom") {
		t.Errorf("after replying the page still has replytocom: %s", loc)
	}
	_, frag, _ = strings.Cut(loc, "#")
	reply := strings.TrimPrefix(frag, "comment-")
	if !eval[bool](b, `!!`+widgetJS(pSel+" > ol.parley-replies > li#comment-"+reply)) {
		t.Fatalf("the reply is not nested in its parent: %s", eval[string](b, shadowRoot+`.innerHTML`))
	}
	if got := eval[string](b, widgetJS("#parley-reply-title")+`.textContent.trim()`); got != "Leave a Reply" {
		t.Errorf("form heading after replying = %q, want Leave a Reply", got)
	}
	rc, err := s.st.Comment(context.Background(), reply)
	if err != nil {
		t.Fatal(err)
	}
	if rc.ParentID != parent || rc.Author.Name != "Dana Whitfield" {
		t.Errorf("stored reply = %+v, want parent %s", rc, parent)
	}
	if eval[bool](b, `document.documentElement.dataset.js == 'on'`) {
		t.Error("scripts ran during the no-JavaScript test")
	}
}

// twoComments is a stack whose page key has two comments, and a browser.
func twoComments(t *testing.T, key string) (*stack, *browser) {
	needChromium(t)
	s := newStack(t)
	s.post(t, key, "", "Noor", "One.")
	s.post(t, key, "", "Sam", "Two.")
	return s, newBrowser(t, 60*time.Second)
}

// TestBrowser_Languages: a section in each language with a table shows
// its words and plural forms (fetched beside the script), and posts.
func TestBrowser_Languages(t *testing.T) {
	const key = "bus-line-langs"
	s, b := twoComments(t, key)
	for _, lang := range i18n.Languages() {
		tb := i18n.Get(lang)
		b.openWidget(s.articleURL(key) + "?lang=" + lang)
		if got, want := eval[string](b, widgetJS(".parley-count")+".textContent"), tb.N("count", 2); got != want {
			t.Errorf("%s heading = %q, want %q", lang, got, want)
		}
		if got, want := eval[string](b, widgetJS(".parley-submit")+".textContent"), tb.T("form.submit"); got != want {
			t.Errorf("%s submit = %q, want %q", lang, got, want)
		}
	}
}

// TestBrowser_LanguageTableUnavailable: when a language's words cannot be
// fetched, the section is shown wholly in English (words, direction and
// dates) rather than as a mix, and still works.
func TestBrowser_LanguageTableUnavailable(t *testing.T) {
	const key = "bus-line-no-table"
	s, b := twoComments(t, key)
	chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			go chromedp.Call(b.ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: e.RequestID, ErrorReason: network.ErrorReasonConnectionRefused})
		}
	})
	if _, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/widget/*.json"}}}); err != nil {
		t.Fatal(err)
	}
	b.openWidget(s.articleURL(key) + "?lang=ar")
	en := i18n.Get("en")
	if got, want := eval[string](b, widgetJS(".parley-count")+".textContent"), en.N("count", 2); got != want {
		t.Errorf("heading = %q, want %q", got, want)
	}
	if got := eval[string](b, `getComputedStyle(`+widgetJS(".parley")+`).direction + ' ' + `+widgetJS(".parley")+`.lang`); got != "ltr en" {
		t.Errorf("section direction and language = %q, want ltr en", got)
	}
	_, requests, _ := b.seen()
	if !slices.ContainsFunc(requests, func(u string) bool { return strings.HasSuffix(u, "/ar.json") }) {
		t.Errorf("the Arabic table was never asked for: %v", requests)
	}
}

func TestBrowser_Arabic(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	const key = "bus-line-ar"
	p := s.post(t, key, "", "نور الهدى", "خط الحافلات الجديد ممتاز.")
	r := s.post(t, key, p.ID, "Sam Carter", "I agree — الخدمة سريعة.")
	b := newBrowser(t, 60*time.Second)
	b.openWidget(s.articleURL(key) + "?lang=ar")

	if got := eval[string](b, `getComputedStyle(`+widgetJS(".parley")+`).direction`); got != "rtl" {
		t.Errorf("section direction = %q, want rtl", got)
	}
	ar := i18n.Get("ar")
	if got, want := eval[string](b, widgetJS(".parley-count")+".textContent"), ar.N("count", 2); got != want {
		t.Errorf("heading = %q, want %q", got, want)
	}
	if got, want := eval[string](b, widgetJS("#parley-reply-title")+".textContent"), ar.T("respond"); got != want {
		t.Errorf("form heading = %q, want %q", got, want)
	}
	// Replies are indented from the right: the reply's right edge is left of
	// its parent's, and their left edges line up.
	pb, rb := rect(b, widgetJS("#comment-"+p.ID+" > article")), rect(b, widgetJS("#comment-"+r.ID+" > article"))
	if !(rb.Right < pb.Right-10) || rb.Left < pb.Left-1 || rb.Left > pb.Left+1 {
		t.Errorf("reply box %+v is not indented from the right of its parent %+v", rb, pb)
	}
	b.screenshot("widget-arabic.png")
	// The Arabic words came from Parley once, beside the script, which
	// holds only English.
	_, requests, _ := b.seen()
	tables := 0
	for _, u := range requests {
		if strings.HasPrefix(u, s.parley.URL+"/widget/") && strings.HasSuffix(u, "/ar.json") {
			tables++
		}
	}
	if tables != 1 {
		t.Errorf("the Arabic table was fetched %d times; requests: %v", tables, requests)
	}

	// The server-rendered thread is mirrored the same way.
	b.do(chromedp.Navigate(s.includeURL(key) + "?lang=ar"))
	if got := eval[string](b, `getComputedStyle(`+widgetJS(".parley")+`).direction`); got != "rtl" {
		t.Errorf("server-rendered section direction = %q, want rtl", got)
	}
	if got, want := eval[string](b, widgetJS(".parley-count")+`.textContent`), ar.N("count", 2); got != want {
		t.Errorf("server-rendered heading = %q, want %q", got, want)
	}
	pb = rect(b, widgetJS(`#comment-`+p.ID+` > article`))
	rb = rect(b, widgetJS(`#comment-`+r.ID+` > article`))
	if !(rb.Right < pb.Right-10) || rb.Left < pb.Left-1 || rb.Left > pb.Left+1 {
		t.Errorf("server-rendered reply box %+v is not indented from the right of its parent %+v", rb, pb)
	}
}

func TestBrowser_KeyboardAndErrors(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	const key = "bus-line-keys"
	b := newBrowser(t, 60*time.Second)
	b.openWidget(s.articleURL(key))

	active := shadowRoot + `.activeElement`
	// tabTo presses Tab until the focused element inside the widget matches css.
	tabTo := func(css string, max int) {
		t.Helper()
		for i := 0; i < max; i++ {
			b.do(chromedp.KeyEvent(kb.Tab))
			if eval[bool](b, `!!`+active+` && `+active+`.matches(`+js(css)+`)`) {
				return
			}
		}
		t.Fatalf("%d presses of Tab did not reach %s; focus is on %s", max, css,
			eval[string](b, `(document.activeElement.shadowRoot && document.activeElement.shadowRoot.activeElement || document.activeElement).outerHTML.slice(0, 200)`))
	}
	tabTo("textarea[name=body]", 20)
	b.do(chromedp.KeyEvent("Typed with the keyboard only."))
	tabTo("input[name=email]", 1)
	b.do(chromedp.KeyEvent("kim@example.org"))
	tabTo(".parley-submit", 4) // past the empty name, the website and "Save my name"
	b.do(chromedp.KeyEvent(kb.Enter))

	b.waitFor("the name error", `!`+widgetJS("#parley-name-err")+`.hidden`)
	if got := eval[string](b, widgetJS("#parley-name-err")+".textContent"); got != "Please enter your name." {
		t.Errorf("name error = %q", got)
	}
	if got := eval[string](b, active+` && `+active+`.id`); got != "parley-name" {
		t.Errorf("focus after the error is on %q, want the name field", got)
	}
	if got := eval[string](b, widgetJS("#parley-name")+`.getAttribute('aria-invalid')`); got != "true" {
		t.Errorf("name aria-invalid = %q, want true", got)
	}
	// The message is tied to the field and announced.
	described := eval[[]string](b, `(widget => (widget.getAttribute('aria-describedby') || '').split(/\s+/).map(id => `+shadowRoot+`.getElementById(id)).filter(Boolean).map(e => e.textContent))(`+widgetJS("#parley-name")+`)`)
	if !slices.Contains(described, "Please enter your name.") {
		t.Errorf("the name field's aria-describedby gives %q, not the error", described)
	}
	if !eval[bool](b, widgetJS("#parley-name")+`.parentElement.contains(`+widgetJS("#parley-name-err")+`)`) {
		t.Error("the error is not next to the name field")
	}
	b.waitFor("the error in the live region", `[...`+shadowRoot+`.querySelectorAll('[aria-live]')].some(e => e.textContent.includes("Please enter your name."))`)
	if got := eval[string](b, widgetJS("textarea[name=body]")+".value"); got != "Typed with the keyboard only." {
		t.Errorf("the comment box lost its text: %q", got)
	}
	// Every field has a real label.
	unlabelled := eval[[]string](b, `[...`+shadowRoot+`.querySelectorAll('form input:not([type=hidden]), form textarea')].filter(e => !e.labels || !e.labels.length || !e.labels[0].textContent.trim()).map(e => e.name)`)
	if len(unlabelled) > 0 {
		t.Errorf("fields without a label: %q", unlabelled)
	}

	// Typing the name and pressing Enter posts the comment.
	b.do(chromedp.KeyEvent("Kim Tran"), chromedp.KeyEvent(kb.Enter))
	b.waitFor("the posted comment", `[...`+shadowRoot+`.querySelectorAll('li[id^="comment-"] .parley-author')].some(a => a.textContent == "Kim Tran")`)
	if eval[bool](b, widgetJS("#parley-name")+`.hasAttribute('aria-invalid')`) || !eval[bool](b, widgetJS("#parley-name-err")+".hidden") {
		t.Error("the name error stayed after a successful post")
	}
	if n := len(s.stored(t, key)); n != 1 {
		t.Errorf("stored comments = %d, want 1", n)
	}
}

func TestBrowser_Likes(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	const key = "bus-line-likes"
	c := s.post(t, key, "", "Lena Novak", "Finally a bus to the hospital.")
	s.post(t, key, "", "Omar Haddad", "And the old line 3?")
	b := newBrowser(t, 60*time.Second)
	b.openWidget(s.articleURL(key))

	like := "#comment-" + c.ID + " > article .parley-like"
	state := func() (pressed, count string) {
		t.Helper()
		return eval[string](b, widgetJS(like)+`.getAttribute('aria-pressed')`), eval[string](b, widgetJS(like+" .parley-n")+`.textContent`)
	}
	if p, n := state(); p != "false" || n != "" {
		t.Fatalf("before liking: aria-pressed=%s count=%q", p, n)
	}
	b.click(widgetJS(like))
	b.waitFor("the like", widgetJS(like)+`.getAttribute('aria-pressed') == 'true'`)
	if p, n := state(); p != "true" || n != "1" {
		t.Errorf("after liking: aria-pressed=%s count=%q, want true 1", p, n)
	}
	if stored, err := s.st.Comment(context.Background(), c.ID); err != nil || stored.Likes != 1 {
		t.Errorf("stored likes after liking = %v, %v; want 1", stored.Likes, err)
	}

	b.do(chromedp.Reload())
	b.waitFor("the widget to load again", widgetReady)
	if p, n := state(); p != "true" || n != "1" {
		t.Errorf("after reload: aria-pressed=%s count=%q, want true 1", p, n)
	}
	other := eval[string](b, `[...`+shadowRoot+`.querySelectorAll('.parley-like')].filter(l => l.getAttribute('aria-pressed') == 'true').length + ''`)
	if other != "1" {
		t.Errorf("%s like buttons pressed, want only the one liked", other)
	}

	b.click(widgetJS(like))
	b.waitFor("the unlike", widgetJS(like)+`.getAttribute('aria-pressed') == 'false'`)
	if p, n := state(); p != "false" || n != "" {
		t.Errorf("after unliking: aria-pressed=%s count=%q, want false and no number", p, n)
	}
	stored, err := s.st.Comment(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Likes != 0 {
		t.Errorf("stored likes after unliking = %d, want 0", stored.Likes)
	}
}
