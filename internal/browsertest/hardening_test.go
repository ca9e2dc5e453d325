package browsertest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/internal/comment"
	"parley/internal/service"
)

// TestBrowser_EditHeldAgain: on a site that holds comments, an author's
// edit of a published comment is held again. The author keeps seeing it,
// with the new text and "awaiting moderation", also after a reload;
// another reader no longer sees it at all until a moderator approves it,
// and then sees the new text.
func TestBrowser_EditHeldAgain(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	ctx := context.Background()
	const key = "bus-line-held-edit"
	a := newBrowser(t, 120*time.Second)
	a.openWidget(s.articleURL(key))
	id := a.postInWidget("Amara Okafor", "amara@example.org", "The 7 was late twice this week.")
	o := newBrowser(t, 120*time.Second)
	o.openWidget(s.articleURL(key))
	if !eval[bool](o, has("#comment-"+id)) {
		t.Fatal("the other reader does not see the published comment")
	}

	site, err := s.svc.Site(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	held := *site
	held.Moderation = comment.ModerateAll
	if err := s.svc.UpdateSite(ctx, service.OperatorActor(), &held); err != nil {
		t.Fatal(err)
	}
	const edited = "The 7 was late twice this week. Also: buy cheap watches."
	a.click(widgetJS(own(id, ".parley-edit")))
	a.waitFor("the edit box", has(own(id, ".parley-edit-box")))
	a.do(retype(inWidget(own(id, ".parley-edit-box")), edited))
	a.click(widgetJS(own(id, ".parley-save")))
	isHeld := widgetJS("#comment-"+id) + `.classList.contains('parley-pending') && ` + has(own(id, ".parley-notice"))
	a.waitFor("the edited comment shown as held", isHeld)
	if got := text(a, own(id, ".parley-body")); got != edited {
		t.Errorf("the author sees %q, want the edited text", got)
	}
	if got := text(a, own(id, ".parley-notice")); got != "Your comment is awaiting moderation." {
		t.Errorf("notice = %q", got)
	}
	o.waitWithin(liveWait, "the held edit to leave the other reader's page", `!`+widgetJS("#comment-"+id))
	a.screenshot("widget-edit-held.png")
	stored, _ := s.st.Comment(ctx, id)
	if stored.Status != comment.StatusPending || stored.Markdown != edited {
		t.Fatalf("stored: %s %q", stored.Status, stored.Markdown)
	}

	// The author still sees it after a reload; the other reader does not.
	a.do(chromedp.Reload())
	a.waitFor("the widget to load again", widgetReady)
	a.waitFor("the held comment after the reload", isHeld)
	if eval[bool](o, has("#comment-"+id)) {
		t.Error("the other reader sees the held edit")
	}

	// Approved, it is back for everyone, with the new text.
	if _, err := s.svc.Decide(ctx, service.OperatorActor(), "news", []string{id}, service.Approve); err != nil {
		t.Fatal(err)
	}
	o.waitWithin(liveWait, "the approved edit in the other reader's page", has(own(id, ".parley-body"))+` && `+widgetJS(own(id, ".parley-body"))+`.textContent.trim() == `+js(edited))
}

// cutProxy forwards TCP connections to a server until cut: then it drops
// every connection and refuses new ones, until resumed. It stands for a
// reader's network going away for a while.
type cutProxy struct {
	ln       net.Listener
	target   string
	mu       sync.Mutex
	conns    map[net.Conn]bool
	refusing bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.refusing {
				p.mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *cutProxy) resume() {
	p.mu.Lock()
	p.refusing = false
	p.mu.Unlock()
}

// TestBrowser_FarBehindReloads: a reader's connection drops while more
// than 500 changes happen on the thread (a laptop asleep on a busy
// page). When it is back, the server tells the widget to reload instead
// of sending 500 changes and leaving it silently behind: the widget
// reloads the thread once, shows every comment, and follows the thread
// live again.
func TestBrowser_FarBehindReloads(t *testing.T) {
	needChromium(t)
	s := newStack(t)
	ctx := context.Background()
	const key = "bus-line-busy"
	proxy := newCutProxy(t, s.parley.Listener.Addr().String())
	// An article page that loads Parley through the proxy.
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		hostPage.Execute(w, hostView{Guard: guardJS, Key: key, Script: proxy.url() + "/embed.js"})
	}))
	t.Cleanup(host.Close)
	site, _ := s.svc.Site(ctx, "news")
	w := *site
	w.Origins = append(append([]string(nil), site.Origins...), host.URL)
	if err := s.svc.UpdateSite(ctx, service.OperatorActor(), &w); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, 120*time.Second)
	b.openWidget(host.URL + "/")
	first := s.post(t, key, "", "Lena Novak", "First!")
	b.waitWithin(liveWait, "the first comment, live", has("#comment-"+first.ID))

	proxy.cut()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 64 {
				d := comment.Draft{SiteID: "news", Page: key, PageURL: s.articleURL(key), Name: "Busy Reader", Email: "busy@example.org", Body: fmt.Sprintf("Comment %d of reader %d while the laptop slept.", i, g)}
				if _, err := s.svc.Post(ctx, d, service.Meta{}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	proxy.resume()
	b.waitWithin(30*time.Second, "the widget to reload the thread", widgetJS(".parley-count")+`.textContent.trim() == "513 comments"`)
	if n := threadReads(b); n != 2 {
		t.Errorf("the widget read the thread %d times, want twice (the page load and the reset)", n)
	}
	last := s.post(t, key, "", "Omar Haddad", "Back to normal.")
	b.waitWithin(liveWait, "a new comment, live again", widgetJS(".parley-count")+`.textContent.trim() == "514 comments"`)
	b.screenshot("widget-after-reset.png")
	if !eval[bool](b, has("#comment-"+first.ID)) {
		t.Error("the first comment is gone after the reload")
	}
	_ = last
}
