package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/service"
)

// sseEvent is one Server-Sent Event as read off the wire.
type sseEvent struct {
	id, event, data string
}

// openStream connects to a page's live stream and returns its events.
func openStream(t *testing.T, base, page string, header map[string]string) (<-chan sseEvent, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/sites/news/stream?page="+url.QueryEscape(page), nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 16)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.data != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return out, resp
}

func nextEvent(t *testing.T, events <-chan sseEvent) (sseEvent, liveEvent) {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("stream ended")
		}
		var le liveEvent
		if err := json.Unmarshal([]byte(ev.data), &le); err != nil {
			t.Fatalf("event data %q: %v", ev.data, err)
		}
		return ev, le
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return sseEvent{}, liveEvent{}
}

func TestLiveUpdates(t *testing.T) {
	ts := newTestServer(t)
	page := origin + "/live"
	events, resp := openStream(t, ts.URL, page, map[string]string{"Origin": origin})
	if resp.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatal("stream lacks CORS grant")
	}
	_, body := ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"page": page, "body": "live *one*"}), nil)
	c := decode[apiComment](t, body)
	raw, ev := nextEvent(t, events)
	if raw.event != "change" || raw.id == "" || ev.Kind != "new" || ev.Comment == nil || ev.Comment.ID != c.ID || !strings.Contains(ev.Comment.HTML, "<em>one</em>") {
		t.Fatalf("event = %+v %+v", raw, ev)
	}
	if strings.Contains(raw.data, "noor@example.org") {
		t.Fatal("email in a live event")
	}
	// A like is an update with the new count.
	_, body = ts.do(t, "POST", "/api/v1/reader", nil, nil)
	reader := decode[map[string]string](t, body)["reader"]
	ts.do(t, "POST", "/api/v1/sites/news/comments/"+c.ID+"/like", map[string]string{"reader": reader}, nil)
	_, ev = nextEvent(t, events)
	if ev.Kind != "update" || ev.Comment.Likes != 1 {
		t.Fatalf("like event = %+v", ev)
	}
	firstID := raw.id

	// Resume: a reconnecting browser sends Last-Event-ID and gets what it
	// missed from the change log (like counts are live only: a reload
	// reads them with the thread).
	ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"page": page, "body": "while away"}), nil)
	resumed, _ := openStream(t, ts.URL, page, map[string]string{"Last-Event-ID": firstID})
	_, ev = nextEvent(t, resumed)
	if ev.Kind != "new" || !strings.Contains(ev.Comment.HTML, "while away") {
		t.Fatalf("first resumed event = %+v, want the comment posted while away", ev)
	}
	// The thread says where a fresh connection resumes.
	_, body = ts.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(page), nil, nil)
	var th struct {
		LastEvent int64 `json:"last_event"`
	}
	json.Unmarshal(body, &th)
	if th.LastEvent == 0 {
		t.Fatalf("thread lacks last_event: %s", body)
	}
	// Other pages' streams hear nothing of this one.
	other, _ := openStream(t, ts.URL, origin+"/quiet", nil)
	ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"page": page, "body": "elsewhere"}), nil)
	select {
	case ev := <-other:
		t.Fatalf("quiet page got %+v", ev)
	case <-time.After(300 * time.Millisecond):
	}
}

func TestLiveStream_Refused(t *testing.T) {
	ts := newTestServer(t)
	resp, _ := ts.do(t, "GET", "/api/v1/sites/news/stream?page=x", nil, map[string]string{"Origin": "https://evil.example"})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("stream from a foreign origin = %d", resp.StatusCode)
	}
	resp, _ = ts.do(t, "GET", "/api/v1/sites/news/stream", nil, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("stream without page = %d", resp.StatusCode)
	}
}

// TestLiveStream_FarBehindGetsReset: a page more than 500 changes behind
// (a laptop waking from sleep on a busy thread) is told to reload the
// thread, with the id to resume from, instead of being sent 500 changes
// and then silently missing the rest; live changes then follow.
func TestLiveStream_FarBehindGetsReset(t *testing.T) {
	ts := newTestServer(t)
	page := origin + "/busy"
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 64 {
				d := comment.Draft{SiteID: "news", Page: page, Name: "N", Email: "n@example.org", Body: fmt.Sprintf("busy %d %d", w, i)}
				if _, err := ts.svc.Post(context.Background(), d, service.Meta{}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	events, _ := openStream(t, ts.URL, page, map[string]string{"Last-Event-ID": "1"})
	raw, _ := nextEvent(t, events)
	if raw.event != "reset" || raw.id == "" {
		t.Fatalf("first event = %+v, want a reset with the id to resume from", raw)
	}
	_, body := ts.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(page), nil, nil)
	var th struct {
		LastEvent int64 `json:"last_event"`
	}
	json.Unmarshal(body, &th)
	if raw.id != fmt.Sprint(th.LastEvent) {
		t.Fatalf("reset id %s, thread's last_event %d", raw.id, th.LastEvent)
	}
	ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"page": page, "body": "after the reset"}), nil)
	if _, ev := nextEvent(t, events); ev.Kind != "new" || !strings.Contains(ev.Comment.HTML, "after the reset") {
		t.Fatalf("next event = %+v, want the new comment", ev)
	}
	// Within 500 it is the changes themselves.
	near, _ := openStream(t, ts.URL, page, map[string]string{"Last-Event-ID": fmt.Sprint(th.LastEvent - 3)})
	if raw, _ := nextEvent(t, near); raw.event != "change" {
		t.Fatalf("a page 4 changes behind got %+v", raw)
	}
}
