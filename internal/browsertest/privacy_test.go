package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"parley/internal/notify"
	"parley/internal/service"
	"parley/internal/staff"
)

// TestBrowser_ReaderData is a reader's right of access and to erasure,
// from the site's privacy page: they ask for a link, open it from the
// email the SMTP server received, download their data, erase it, and find
// the article's thread with their comment kept anonymous (the site's
// choice) and the reply to it in its place.
func TestBrowser_ReaderData(t *testing.T) {
	s := newNotifyStack(t)
	ctx := context.Background()
	cm, _, err := s.svc.CommunitySettings(ctx, service.OperatorActor(), "news")
	if err != nil {
		t.Fatal(err)
	}
	cm.Anonymise = true
	if err := s.svc.SetCommunitySettings(ctx, service.OperatorActor(), "news", *cm); err != nil {
		t.Fatal(err)
	}
	mine := s.post(t, "bridge", "", "Nadia Okafor", "The new bridge should have a cycle lane on both sides.")
	s.post(t, "bridge", mine.ID, "Rita Rider", "Agreed, the east side is dangerous at rush hour.")

	b := newBrowser(t, 3*time.Minute)
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatal(err)
	}
	b.openWidget(s.articleURL("bridge"))
	b.waitFor("Nadia's comment", widgetJS("#comment-"+mine.ID)+`.textContent.includes('Nadia Okafor')`)

	// The privacy page's "your data" link, the form, the same answer for all.
	b.do(chromedp.Navigate(s.parley.URL + "/sites/news/privacy?lang=en"))
	b.waitFor("the privacy page", `!!document.querySelector('#parley-data-link')`)
	b.do(chromedp.Click(`#parley-data-link`))
	b.waitFor("the data form", `!!document.querySelector('#parley-data-email')`)
	b.screenshot("data-1-form.png")
	b.do(retype(`#parley-data-email`, "Nadia.Okafor@example.org"), chromedp.Click(`#parley-data-ask button`))
	b.waitFor("the answer", `!!document.querySelector('#parley-data-done')`)
	b.screenshot("data-2-sent.png")

	m := s.smtp.WaitMail(t, 20*time.Second)
	if m.To[0] != "nadia.okafor@example.org" || !strings.Contains(m.Subject(), "Your data on The Riverton Ledger") {
		t.Fatalf("email to %v: %q", m.To, m.Subject())
	}
	b.do(chromedp.Navigate(linkIn(t, m, notify.PrivacyPath)))
	b.waitFor("the link's page", `!!document.querySelector('#parley-data-continue')`)
	b.screenshot("data-3-link.png")
	b.do(chromedp.Click(`#parley-data-continue`))
	b.waitFor("the choices", `!!document.querySelector('#parley-data-download')`)
	b.screenshot("data-4-choices.png")

	// The download: a JSON file with the comment and its page.
	b.do(chromedp.Click(`#parley-data-download`))
	file, raw := downloaded(t, downloads)
	var ex struct {
		Email    string `json:"email"`
		Comments []struct {
			ID, Name, Markdown string
			PageURL            string `json:"page_url"`
		} `json:"comments"`
	}
	if err := json.Unmarshal(raw, &ex); err != nil || ex.Email != "nadia.okafor@example.org" || len(ex.Comments) != 1 ||
		ex.Comments[0].ID != mine.ID || ex.Comments[0].PageURL != s.articleURL("bridge") {
		t.Fatalf("downloaded %s: %s (%v)", filepath.Base(file), raw, err)
	}

	// The erasure, after a confirmation.
	b.do(chromedp.Click(`#parley-data-erase`))
	b.waitFor("the confirmation", `!!document.querySelector('#parley-data-erase-yes')`)
	b.screenshot("data-5-confirm.png")
	b.do(chromedp.Click(`#parley-data-erase-yes`))
	b.waitFor("erased", `!!document.querySelector('#parley-data-done')`)
	b.screenshot("data-6-erased.png")

	// The thread: her words stay, anonymous; the reply stays under them.
	b.openWidget(s.articleURL("bridge"))
	li := widgetJS("#comment-" + mine.ID)
	b.waitFor("the anonymised comment", li+` && `+li+`.textContent.includes('Anonymous') && !`+li+`.textContent.includes('Nadia')`)
	if !eval[bool](b, li+`.textContent.includes('cycle lane') && `+li+`.querySelector('.parley-replies').textContent.includes('Rita Rider')`) {
		t.Error("the anonymised comment lost its text or its reply")
	}
	b.screenshot("data-7-thread.png")
	if c, err := s.svc.Comment(ctx, "news", mine.ID); err != nil || c.Author.Email != "" || c.Author.Name != "" {
		t.Errorf("stored comment after erasure: %+v %v", c, err)
	}
}

// TestBrowser_DeskPrivacy is an owner answering a reader's request by
// email: the desk's privacy page, the erasure's confirmation, the result.
func TestBrowser_DeskPrivacy(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	if _, err := s.svc.AddMember(ctx, service.OperatorActor(), service.NewMember{Email: "mod@example.org", Name: "Olu Owner", Password: "correct horse battery", Role: staff.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	mine := s.post(t, "bridge", "", "Nadia Okafor", "The new bridge should have a cycle lane on both sides.")
	b := newBrowser(t, 2*time.Minute)
	b.logIn(s.parley.URL, "/admin/")
	b.do(chromedp.Click(`#privacy-link`))
	b.waitFor("the privacy page", `!!document.querySelector('#privacy-form')`)
	b.do(chromedp.SendKeys(`#p-email`, "nadia.okafor@example.org"))
	b.screenshot("desk-privacy-1-form.png")
	b.do(chromedp.Click(`#privacy-erase`))
	b.waitFor("the confirmation", `!!document.querySelector('#privacy-erase-go')`)
	b.screenshot("desk-privacy-2-confirm.png")
	if _, err := s.svc.Comment(ctx, "news", mine.ID); err != nil {
		t.Fatal("erased before the confirmation")
	}
	b.do(chromedp.Click(`#privacy-erase-go`))
	b.waitFor("the result", `!!document.querySelector('#privacy-done') && document.querySelector('#privacy-done').textContent.includes('Comments deleted: 1;')`)
	b.screenshot("desk-privacy-3-done.png")
	if _, err := s.svc.Comment(ctx, "news", mine.ID); err == nil {
		t.Error("the comment is still there")
	}
}

// TestBrowser_ErasedPlaceholder: a deleted comment that a reply hangs on
// keeps its place in the widget as "Comment deleted.", without its
// author's name, picture or words.
func TestBrowser_ErasedPlaceholder(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	mine := s.post(t, "ferry", "", "Nadia Okafor", "The ferry timetable is wrong on Sundays.")
	s.post(t, "ferry", mine.ID, "Rita Rider", "It was fixed last week.")
	if _, err := s.svc.EraseReader(ctx, service.OperatorActor(), service.PrivacyRequest{Email: "nadia.okafor@example.org"}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, time.Minute)
	b.openWidget(s.articleURL("ferry"))
	li := widgetJS("#comment-" + mine.ID)
	b.waitFor("the placeholder", li+` && `+li+`.querySelector('.parley-author').textContent == 'Comment deleted.'`)
	if eval[bool](b, li+`.textContent.includes('Nadia') || `+li+`.textContent.includes('ferry timetable') || !!`+li+`.querySelector(':scope > article img')`) {
		t.Error("the placeholder shows the erased author or words")
	}
	if !eval[bool](b, li+`.querySelector('.parley-replies').textContent.includes('It was fixed last week.')`) {
		t.Error("the reply lost its place")
	}
	b.screenshot("data-8-placeholder.png")
}

// TestBrowser_LoggedInReaderData: a reader logged in (with Demo ID, on the
// demo article) follows the widget's privacy link, which opens the privacy
// page with a grant to their data; its "Download or erase your data" goes
// straight to the choices, with no email, and the download is theirs.
func TestBrowser_LoggedInReaderData(t *testing.T) {
	needChromium(t)
	s := newDemoServer(t)
	b := newBrowser(t, 2*time.Minute)
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatal(err)
	}
	b.openWidget(s.url + "/")
	icon := `[data-provider="demo-id"]`
	b.waitFor("the Demo ID icon", has(icon))
	pctx, cancel := b.popup(t, func() { b.click(widgetJS(icon)) })
	if err := chromedp.Do(pctx, chromedp.Click(`button[data-reader="amira"]`)); err != nil {
		t.Fatal(err)
	}
	b.waitFor("logged in", has(".parley-user")+` && !`+widgetJS(".parley-user")+`.hidden`)
	cancel()
	b.do(chromedp.SendKeys(inWidget("textarea[name=body]"), "My words, which I may take back."))
	b.click(widgetJS(".parley-submit"))
	b.waitFor("the posted comment", `(`+shadowRoot+`.textContent || '').includes('My words, which I may take back.')`)

	b.click(widgetJS(".parley-privacy a"))
	b.waitLocation("the privacy page", func(u string) bool { return strings.Contains(u, "/sites/demo/privacy?") && strings.Contains(u, "g=") })
	b.waitFor("the link to the reader's data", `document.querySelector('#parley-data-link') && document.querySelector('#parley-data-link').textContent == 'Download or erase your data'`)
	b.screenshot("data-logged-in-1-privacy.png")
	b.do(chromedp.Click(`#parley-data-link`))
	b.waitFor("the choices", `!!document.querySelector('#parley-data-download')`)
	b.screenshot("data-logged-in-2-choices.png")
	if sent := s.box.Letters(); len(sent) != 0 {
		t.Errorf("%d emails were sent; a logged-in reader needs none", len(sent))
	}
	b.do(chromedp.Click(`#parley-data-download`))
	file, raw := downloaded(t, downloads)
	var ex struct {
		Identity string                      `json:"identity"`
		Comments []struct{ Markdown string } `json:"comments"`
	}
	if err := json.Unmarshal(raw, &ex); err != nil || !strings.HasPrefix(ex.Identity, "demo-id:") || len(ex.Comments) != 1 || ex.Comments[0].Markdown != "My words, which I may take back." {
		t.Fatalf("downloaded %s: %s (%v)", filepath.Base(file), raw, err)
	}
}

// downloaded waits for the one JSON file the browser downloads into dir
// and returns its path and contents.
func downloaded(t *testing.T, dir string) (string, []byte) {
	t.Helper()
	var file string
	for deadline := time.Now().Add(20 * time.Second); file == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if names, _ := filepath.Glob(filepath.Join(dir, "*.json")); len(names) == 1 {
			file = names[0]
		}
	}
	if file == "" {
		t.Fatal("no file was downloaded")
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return file, raw
}
