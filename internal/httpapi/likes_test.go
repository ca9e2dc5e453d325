package httpapi

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/service"
	"parley/internal/store"
)

// TestLikes_Limited: one reader, or one client minting reader after
// reader, cannot like and unlike without end: past the limits they get
// 429 too_many_likes with a Retry-After, and nothing is written.
func TestLikes_Limited(t *testing.T) {
	ts := newTestServer(t)
	_, body := ts.do(t, "POST", "/api/v1/sites/news/comments", post(nil), nil)
	like := "/api/v1/sites/news/comments/" + decode[apiComment](t, body).ID + "/like"
	refused := func(resp *http.Response, body []byte) bool {
		if resp.StatusCode == http.StatusOK {
			return false
		}
		if resp.StatusCode != http.StatusTooManyRequests || decode[apiErr](t, body).Error.Code != "too_many_likes" || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("like = %d %s (Retry-After %q)", resp.StatusCode, body, resp.Header.Get("Retry-After"))
		}
		return true
	}
	// One reader toggling.
	reader := ts.svc.NewReader()
	ok := 0
	for i := range 30 {
		method := map[bool]string{true: "POST", false: "DELETE"}[i%2 == 0]
		if refused(ts.do(t, method, like, map[string]string{"reader": reader}, nil)) {
			break
		}
		ok++
	}
	if burst := service.DefaultLikeLimits.PerReader.Burst; ok < burst || ok > burst+2 {
		t.Fatalf("one reader liked %d times before being stopped, want about %d", ok, burst)
	}
	// One client with a fresh reader token for every like.
	ok = 0
	for range 100 {
		if refused(ts.do(t, "POST", like, map[string]string{"reader": ts.svc.NewReader()}, nil)) {
			break
		}
		ok++
	}
	if burst := service.DefaultLikeLimits.PerIP.Burst - service.DefaultLikeLimits.PerReader.Burst; ok < burst || ok > burst+5 {
		t.Fatalf("one client liked %d more times before being stopped, want about %d", ok, burst)
	}
}

// TestLikes_Coalesced: a burst of likes on one comment reaches an open
// page as at most one update per second, the last carrying the count.
func TestLikes_Coalesced(t *testing.T) {
	ts := newTestServer(t)
	page := origin + "/liked"
	events, _ := openStream(t, ts.URL, page, nil)
	_, body := ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"page": page}), nil)
	c := decode[apiComment](t, body)
	if _, ev := nextEvent(t, events); ev.Kind != "new" {
		t.Fatalf("first event = %+v", ev)
	}
	const likes = 30
	start := time.Now()
	for range likes {
		if resp, body := ts.do(t, "POST", "/api/v1/sites/news/comments/"+c.ID+"/like", map[string]string{"reader": ts.svc.NewReader()}, nil); resp.StatusCode != 200 {
			t.Fatalf("like = %d %s", resp.StatusCode, body)
		}
	}
	took := time.Since(start)
	updates := 0
	for {
		_, ev := nextEvent(t, events)
		if ev.Kind != "update" || ev.ID != c.ID {
			t.Fatalf("event = %+v", ev)
		}
		updates++
		if ev.Comment.Likes == likes {
			break
		}
	}
	// The first like goes out at once, then one update per second.
	if most := 2 + int(took/service.LikeInterval); updates > most {
		t.Fatalf("%d likes in %v made %d updates, want at most %d", likes, took.Round(time.Millisecond), updates, most)
	}
	t.Logf("%d likes in %v reached the page as %d updates", likes, took.Round(time.Millisecond), updates)
}

// countingStore counts reads of single comments.
type countingStore struct {
	store.Store
	reads atomic.Int64
}

func (s *countingStore) Comment(ctx context.Context, id string) (*comment.Comment, error) {
	s.reads.Add(1)
	return s.Store.Comment(ctx, id)
}

// TestLive_FanOutReadsOnce: a new comment reaches 40 open pages with one
// read of it from the store, not one per page.
func TestLive_FanOutReadsOnce(t *testing.T) {
	cs := &countingStore{Store: openSQLite(t)}
	ts := newTestServerOn(t, cs, service.Options{}, Config{})
	page := origin + "/crowded"
	const pages = 40
	streams := make([]<-chan sseEvent, pages)
	for i := range streams {
		streams[i], _ = openStream(t, ts.URL, page, nil)
	}
	before := cs.reads.Load()
	_, body := ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{"page": page, "body": "Read once, sent forty times."}), nil)
	c := decode[apiComment](t, body)
	var wg sync.WaitGroup
	for _, events := range streams {
		wg.Go(func() {
			if _, ev := nextEvent(t, events); ev.Kind != "new" || ev.Comment == nil || ev.Comment.ID != c.ID {
				t.Errorf("event = %+v", ev)
			}
		})
	}
	wg.Wait()
	if reads := cs.reads.Load() - before; reads != 1 {
		t.Fatalf("sending one comment to %d pages read it %d times, want once", pages, reads)
	}
}
