package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
	"parley/internal/store"
)

// notifyTests cover the outbox, readers' subscriptions, webhooks and
// staff members' alerts.
var notifyTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"outbox events from changes", testOutboxEvents},
	{"outbox streams, leases and digests", testOutboxStreams},
	{"outbox claims are exclusive", testOutboxExclusive},
	{"outbox listing and pruning", testOutboxListing},
	{"outbox counts", testOutboxCounts},
	{"subscriptions", testSubscriptions},
	{"webhooks and alerts", testWebhooksAlerts},
}

// events returns the events waiting for the fan-out, as "event comment status".
func events(t *testing.T, s store.Store) ([]string, []int64) {
	t.Helper()
	evs, err := s.PendingEvents(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var ids []int64
	for _, e := range evs {
		var p struct{ Event, Comment, Status string }
		if err := json.Unmarshal([]byte(e.Payload), &p); err != nil || e.Kind != store.KindEvent {
			t.Fatalf("event %+v: %v", e, err)
		}
		out = append(out, p.Event+" "+p.Comment+" "+p.Status)
		ids = append(ids, e.ID)
	}
	return out, ids
}

func testOutboxEvents(t *testing.T, s store.Store) {
	mustSite(t, s, "a")
	c1 := mustPost(t, s, page("a", "p"), newComment("first"))
	held := newComment("held")
	held.Status = comment.StatusPending
	mustPost(t, s, page("a", "p"), held)
	if _, err := s.Moderate(ctx, "a", []string{held.ID, c1.ID}, comment.StatusApproved, entry("a", "comment.approve")); err != nil {
		t.Fatal(err)
	}
	if err := s.EditComment(ctx, c1.ID, "first!", "<p>first!</p>", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatus(ctx, c1.ID, comment.StatusSpam); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ModerateMatching(ctx, store.CommentFilter{SiteID: "a", Status: comment.StatusApproved}, comment.StatusDeleted, entry("a", "comment.delete")); err != nil {
		t.Fatal(err)
	}
	got, ids := events(t, s)
	want := []string{
		"comment.created " + c1.ID + " approved",
		"comment.created " + held.ID + " pending",
		"comment.approved " + held.ID + " approved", // c1 was approved already: no event
		"comment.edited " + c1.ID + " approved",
		"comment.spam " + c1.ID + " spam",
		"comment.deleted " + held.ID + " deleted",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events\n got %q\nwant %q", got, want)
	}
	// The fan-out adds messages once, however often it runs, and the
	// events go.
	msg := func(key string) *store.Message {
		return &store.Message{Key: key, Kind: store.KindWebhook, Stream: "w:1", SiteID: "a", Target: "1", Payload: "{}", Deadline: time.Now().Add(time.Hour)}
	}
	n, err := s.ExpandEvents(ctx, ids[:3], []*store.Message{msg("k1"), msg("k2")})
	if err != nil || n != 2 {
		t.Fatalf("ExpandEvents = %d, %v", n, err)
	}
	n, err = s.ExpandEvents(ctx, ids[3:], []*store.Message{msg("k2"), msg("k3")})
	if err != nil || n != 1 {
		t.Fatalf("ExpandEvents again = %d, %v; want only k3 added", n, err)
	}
	if left, _ := events(t, s); len(left) != 0 {
		t.Fatalf("events left: %q", left)
	}
}

func testOutboxStreams(t *testing.T, s store.Store) {
	mustSite(t, s, "a")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	add := func(key, stream string) *store.Message {
		t.Helper()
		m := &store.Message{Key: key, Kind: store.KindEmail, Stream: stream, SiteID: "a", Payload: `{}`, Created: now, Deadline: now.Add(time.Hour)}
		if ok, err := s.Enqueue(ctx, m, nil); err != nil || !ok {
			t.Fatalf("Enqueue %s = %v, %v", key, ok, err)
		}
		return m
	}
	a1, a2, a3, b1 := add("a1", "A"), add("a2", "A"), add("a3", "A"), add("b1", "B")
	if ok, err := s.Enqueue(ctx, &store.Message{Key: "a1", Kind: store.KindEmail, Stream: "A", SiteID: "a", Payload: "{}", Deadline: now}, nil); ok || err != nil {
		t.Fatalf("Enqueue of an existing key = %v, %v", ok, err)
	}
	claim := func(owner string, at time.Time) []string {
		t.Helper()
		ms, err := s.ClaimMessages(ctx, owner, at, at.Add(time.Minute), 10)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, m := range ms {
			keys = append(keys, m.Key)
		}
		return keys
	}
	if got := claim("w1", now); fmt.Sprint(got) != "[a1 b1]" {
		t.Fatalf("first claim = %v, want the heads [a1 b1]", got)
	}
	if got := claim("w2", now); len(got) != 0 {
		t.Fatalf("claim while leased = %v", got)
	}
	if err := s.Finish(ctx, "w2", a1.ID, nil, store.Outcome{State: store.StateSent}, now); !errors.Is(err, comment.ErrConflict) {
		t.Fatalf("Finish by another owner = %v", err)
	}
	if err := s.Finish(ctx, "w1", a1.ID, nil, store.Outcome{State: store.StateSent, Attempted: true, Took: 12 * time.Millisecond}, now); err != nil {
		t.Fatal(err)
	}
	if last, err := s.LastSent(ctx, "A"); err != nil || !last.Equal(now) {
		t.Fatalf("LastSent = %v, %v", last, err)
	}
	// A retry waits for its time; the stream waits with it.
	if got := claim("w1", now); fmt.Sprint(got) != "[a2]" {
		t.Fatalf("after a1: %v", got)
	}
	if err := s.Finish(ctx, "w1", a2.ID, nil, store.Outcome{NextAt: now.Add(time.Minute), Attempted: true, Error: "connection refused"}, now); err != nil {
		t.Fatal(err)
	}
	if got := claim("w1", now.Add(30*time.Second)); len(got) != 0 {
		t.Fatalf("before the retry = %v", got)
	}
	// At the retry a2 is due again, and b1's lease (of the first claim)
	// has run out: an instance that crashed mid-send is taken over.
	if got := claim("w1", now.Add(time.Minute)); fmt.Sprint(got) != "[b1 a2]" {
		t.Fatalf("at the retry = %v", got)
	}
	if got := claim("w3", now.Add(3*time.Minute)); fmt.Sprint(got) != "[b1 a2]" {
		t.Fatalf("after the leases ran out = %v", got)
	}
	m, _ := s.OutboxMessage(ctx, a2.ID)
	if m.Attempts != 1 || m.LastError != "connection refused" || m.State != store.StatePending {
		t.Fatalf("a2 = %+v", m)
	}
	// A digest takes the rest of the stream along.
	rest, err := s.StreamPending(ctx, "A", a2.ID, 10)
	if err != nil || len(rest) != 1 || rest[0].Key != "a3" {
		t.Fatalf("StreamPending = %v, %v", rest, err)
	}
	if err := s.Finish(ctx, "w3", a2.ID, []store.Settled{{ID: a3.ID, State: store.StateDropped}}, store.Outcome{State: store.StateSent, Attempted: true}, now.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.OutboxMessage(ctx, a3.ID); m.State != store.StateDropped || m.Done.IsZero() {
		t.Fatalf("a3 = %+v", m)
	}
	if err := s.Finish(ctx, "w3", b1.ID, nil, store.Outcome{State: store.StateFailed, Attempted: true, Error: "gave up"}, now.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := claim("w1", now.Add(time.Hour)); len(got) != 0 {
		t.Fatalf("nothing should be left: %v", got)
	}
	// A new message of an idle stream is its head at once.
	a4 := add("a4", "A")
	if got := claim("w1", now.Add(time.Hour)); fmt.Sprint(got) != "[a4]" {
		t.Fatalf("new head = %v (%+v)", got, a4)
	}
	// A sender may go on with the stream's next message at once.
	a5, a6 := add("a5", "A"), add("a6", "A")
	next, err := s.FinishNext(ctx, "w1", a4.ID, nil, store.Outcome{State: store.StateSent, Attempted: true}, now.Add(time.Hour), now.Add(time.Hour+time.Minute))
	if err != nil || next == nil || next.ID != a5.ID {
		t.Fatalf("FinishNext = %+v, %v; want a5", next, err)
	}
	if got := claim("w2", now.Add(time.Hour)); len(got) != 0 {
		t.Fatalf("claim while the next is leased = %v", got)
	}
	if next, err := s.FinishNext(ctx, "w1", a5.ID, nil, store.Outcome{NextAt: now.Add(2 * time.Hour), Attempted: true, Error: "busy"}, now.Add(time.Hour), now.Add(time.Hour+time.Minute)); err != nil || next != nil {
		t.Fatalf("FinishNext of a retry = %+v, %v; want nothing taken along", next, err)
	}
	if got := claim("w2", now.Add(2*time.Hour)); fmt.Sprint(got) != "[a5]" {
		t.Fatalf("after the retry = %v (a6 %d waits behind a5)", got, a6.ID)
	}
	// Locks.
	if ok, err := s.TakeLock(ctx, "fanout", "w1", now, now.Add(time.Minute)); !ok || err != nil {
		t.Fatalf("TakeLock = %v, %v", ok, err)
	}
	if ok, _ := s.TakeLock(ctx, "fanout", "w2", now.Add(30*time.Second), now.Add(2*time.Minute)); ok {
		t.Fatal("a held lock was taken")
	}
	if ok, _ := s.TakeLock(ctx, "fanout", "w1", now.Add(30*time.Second), now.Add(2*time.Minute)); !ok {
		t.Fatal("the holder could not renew")
	}
	if ok, _ := s.TakeLock(ctx, "fanout", "w2", now.Add(3*time.Minute), now.Add(4*time.Minute)); !ok {
		t.Fatal("an expired lock was not taken")
	}
}

// testOutboxExclusive claims from many goroutines at once: each message
// is leased to one of them, each stream's messages in order.
func testOutboxExclusive(t *testing.T, s store.Store) {
	mustSite(t, s, "a")
	now := time.Now().UTC()
	const streams, per = 8, 5
	for i := range per {
		for st := range streams {
			m := &store.Message{Key: fmt.Sprintf("m%d-%d", st, i), Kind: store.KindWebhook, Stream: fmt.Sprintf("w:%d", st), SiteID: "a", Payload: "{}", Deadline: now.Add(time.Hour)}
			if _, err := s.Enqueue(ctx, m, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	var mu sync.Mutex
	sent := map[string][]string{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("w%d", w)
			for idle := 0; idle < 20; {
				ms, err := s.ClaimMessages(ctx, owner, time.Now(), time.Now().Add(time.Minute), 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ms) == 0 {
					idle++
					time.Sleep(5 * time.Millisecond)
					continue
				}
				for _, m := range ms {
					mu.Lock()
					sent[m.Stream] = append(sent[m.Stream], m.Key)
					mu.Unlock()
					if err := s.Finish(ctx, owner, m.ID, nil, store.Outcome{State: store.StateSent, Attempted: true}, time.Now()); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	for st := range streams {
		var want []string
		for i := range per {
			want = append(want, fmt.Sprintf("m%d-%d", st, i))
		}
		if got := sent[fmt.Sprintf("w:%d", st)]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("stream %d sent %v, want %v (each once, in order)", st, got, want)
		}
	}
}

func testOutboxListing(t *testing.T, s store.Store) {
	mustSite(t, s, "a")
	mustSite(t, s, "b")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 5 {
		site := "a"
		if i == 4 {
			site = "b"
		}
		m := &store.Message{Key: fmt.Sprint("k", i), Kind: store.KindWebhook, Stream: "w:h1", SiteID: site, Target: "h1", Payload: "{}", Created: now, Deadline: now.Add(time.Hour)}
		if _, err := s.Enqueue(ctx, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	ms, _ := s.ClaimMessages(ctx, "w", now, now.Add(time.Minute), 10)
	s.Finish(ctx, "w", ms[0].ID, nil, store.Outcome{State: store.StateFailed, Attempted: true, Error: "status 500", Status: 500}, now)
	page1, next, err := s.Messages(ctx, store.MessageFilter{SiteID: "a", Target: "h1", Limit: 2})
	if err != nil || len(page1) != 2 || next == nil || page1[0].Key != "k3" {
		t.Fatalf("Messages = %v, %v, %v", page1, next, err)
	}
	page2, next, _ := s.Messages(ctx, store.MessageFilter{SiteID: "a", Target: "h1", Limit: 2, Cursor: next})
	if len(page2) != 2 || next != nil || page2[1].Key != "k0" || page2[1].State != store.StateFailed || page2[1].LastStatus != 500 {
		t.Fatalf("page 2 = %+v, %v", page2, next)
	}
	counts, oldest, err := s.OutboxCounts(ctx, "a")
	if err != nil || counts[store.KindWebhook][store.StatePending] != 3 || counts[store.KindWebhook][store.StateFailed] != 1 || !oldest.Equal(now) {
		t.Fatalf("OutboxCounts = %v, %v, %v", counts, oldest, err)
	}
	if n, err := s.PruneOutbox(ctx, now.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("PruneOutbox = %d, %v", n, err)
	}
	if _, err := s.OutboxMessage(ctx, ms[0].ID); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("pruned message: %v", err)
	}
}

func testSubscriptions(t *testing.T, s store.Store) {
	mustSite(t, s, "a")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	confirm := func(key string) *store.Message {
		return &store.Message{Key: key, Kind: store.KindEmail, Stream: "c:a:k1", SiteID: "a", Payload: "{}", Deadline: now.Add(time.Hour)}
	}
	c := newComment("subscribe me")
	sub := &store.Subscription{ID: "s1", Email: "amira@example.org", EmailKey: "k1", Scope: store.ScopeReplies, Lang: "ar", Created: now}
	if err := s.CreateCommentSubscribed(ctx, page("a", "p"), c, sub, confirm("confirm-1")); err != nil {
		t.Fatal(err)
	}
	if sub.ThreadID != c.ThreadID || !sub.Confirmed.IsZero() {
		t.Fatalf("sub = %+v", sub)
	}
	if got, _ := s.Comment(ctx, c.ID); got == nil {
		t.Fatal("comment not stored")
	}
	// Again on the same thread, asking for everything: the same
	// subscription, wider.
	sub2 := &store.Subscription{ID: "s2", Email: "amira@example.org", EmailKey: "k1", Scope: store.ScopeAll, Lang: "ar", Created: now}
	if err := s.CreateCommentSubscribed(ctx, page("a", "p"), newComment("again"), sub2, confirm("confirm-2")); err != nil {
		t.Fatal(err)
	}
	if sub2.ID != "s1" {
		t.Fatalf("second subscription id = %q, want s1", sub2.ID)
	}
	if got, _ := s.Subscription(ctx, "s1"); got.Scope != store.ScopeAll || got.Lang != "ar" {
		t.Fatalf("widened = %+v", got)
	}
	// Nothing is sent to an unconfirmed address but its confirmation.
	if subs, _ := s.Subscribers(ctx, c.ThreadID, "", ""); len(subs) != 0 {
		t.Fatalf("unconfirmed subscribers: %v", subs)
	}
	if n, err := s.ConfirmSubscriptions(ctx, "a", "k1", now); err != nil || n != 1 {
		t.Fatalf("ConfirmSubscriptions = %d, %v", n, err)
	}
	// Another thread: confirmed at once, the address having been.
	sub3 := &store.Subscription{ID: "s3", Email: "amira@example.org", EmailKey: "k1", Scope: store.ScopeReplies, Created: now}
	if err := s.CreateCommentSubscribed(ctx, page("a", "q"), newComment("elsewhere"), sub3, confirm("confirm-3")); err != nil {
		t.Fatal(err)
	}
	if sub3.Confirmed.IsZero() {
		t.Fatal("a confirmed address had to confirm again")
	}
	if ms, _, _ := s.Messages(ctx, store.MessageFilter{SiteID: "a", Kind: store.KindEmail}); len(ms) != 2 {
		t.Fatalf("%d confirmation messages, want 2 (none for the confirmed address)", len(ms))
	}
	// Who gets what.
	other := &store.Subscription{ID: "s4", Email: "bo@example.org", EmailKey: "k2", Scope: store.ScopeReplies, Confirmed: now, Created: now}
	bo := newComment("bo")
	bo.Author.Email = "bo@example.org"
	if err := s.CreateCommentSubscribed(ctx, page("a", "p"), bo, other, nil); err != nil {
		t.Fatal(err)
	}
	subscribers := func(parent, author string) string {
		subs, err := s.Subscribers(ctx, c.ThreadID, parent, author)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range subs {
			ids = append(ids, x.ID)
		}
		return fmt.Sprint(ids)
	}
	for _, tc := range []struct{ parent, author, want string }{
		{"", "carla@example.org", "[s1]"},                  // top-level comment: those of "all"
		{"bo@example.org", "carla@example.org", "[s1 s4]"}, // a reply to bo
		{"bo@example.org", "amira@example.org", "[s4]"},    // not one's own comment
		{"amira@example.org", "bo@example.org", "[s1]"},
	} {
		if got := subscribers(tc.parent, tc.author); got != tc.want {
			t.Errorf("Subscribers(%s, %s) = %s, want %s", tc.parent, tc.author, got, tc.want)
		}
	}
	list, err := s.SubscriptionsByKey(ctx, "k1", "")
	if err != nil || len(list) != 2 || list[0].Thread == nil || list[0].Thread.Key == "" {
		t.Fatalf("SubscriptionsByKey = %v, %v", list, err)
	}
	if n, err := s.Unsubscribe(ctx, "", "", "s3"); err != nil || n != 1 {
		t.Fatalf("Unsubscribe one = %d, %v", n, err)
	}
	if n, err := s.Unsubscribe(ctx, "k1", "a", ""); err != nil || n != 1 {
		t.Fatalf("Unsubscribe all = %d, %v", n, err)
	}
	if _, err := s.Subscription(ctx, "s1"); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("after unsubscribing: %v", err)
	}
	// Never confirmed, pruned.
	late := &store.Subscription{ID: "s5", Email: "cy@example.org", EmailKey: "k3", Scope: store.ScopeAll, Created: now}
	if err := s.CreateCommentSubscribed(ctx, page("a", "p"), newComment("cy"), late, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneSubscriptions(ctx, now.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("PruneSubscriptions = %d, %v", n, err)
	}
}

func testWebhooksAlerts(t *testing.T, s store.Store) {
	mustSite(t, s, "a")
	w := &store.Webhook{ID: "h1", SiteID: "a", URL: "https://hooks.example/in", Events: []string{store.EventCreated, store.EventApproved}, Secret: "whsec_abc", WithEmail: true}
	if err := s.CreateWebhook(ctx, w, entry("a", "webhook.add")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateWebhook(ctx, &store.Webhook{ID: "h2", SiteID: "nope", URL: "https://x.example", Secret: "s"}, nil); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("webhook of a missing site: %v", err)
	}
	got, err := s.Webhook(ctx, "h1")
	if err != nil || got.URL != w.URL || len(got.Events) != 2 || !got.WithEmail || got.Secret != "whsec_abc" {
		t.Fatalf("Webhook = %+v, %v", got, err)
	}
	if list, _ := s.Webhooks(ctx, "a"); len(list) != 1 {
		t.Fatalf("Webhooks = %v", list)
	}
	if err := s.DeleteWebhook(ctx, "b", "h1", nil); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("delete from another site: %v", err)
	}
	if err := s.DeleteWebhook(ctx, "a", "h1", entry("a", "webhook.remove")); err != nil {
		t.Fatal(err)
	}
	if list, _, _ := s.AuditEntries(ctx, store.AuditFilter{SiteID: "a", Action: "webhook."}); len(list) != 2 {
		t.Fatalf("audit entries: %d", len(list))
	}

	now := time.Now()
	if err := s.CreateAccount(ctx, &staff.Account{ID: "m1", Email: "m@example.org", Created: now}, []staff.Grant{{SiteID: "a", Role: staff.RoleModerator}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEmailAlert(ctx, &store.EmailAlert{AccountID: "m1", SiteID: "a", Every: time.Hour, Lang: "ar"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEmailAlert(ctx, &store.EmailAlert{AccountID: "m1", SiteID: "a", Every: 15 * time.Minute, Lang: "en"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEmailAlert(ctx, &store.EmailAlert{AccountID: "ghost", SiteID: "a", Every: time.Hour}, nil); !errors.Is(err, comment.ErrNotFound) {
		t.Fatalf("alert of a missing account: %v", err)
	}
	as, err := s.EmailAlerts(ctx, "a", "")
	if err != nil || len(as) != 1 || as[0].Every != 15*time.Minute || as[0].Lang != "en" {
		t.Fatalf("Alerts = %+v, %v", as, err)
	}
	if as, _ := s.EmailAlerts(ctx, "", "m1"); len(as) != 1 {
		t.Fatalf("Alerts of the account = %v", as)
	}
	if err := s.SetEmailAlert(ctx, &store.EmailAlert{AccountID: "m1", SiteID: "a", Every: -1}, nil); err != nil {
		t.Fatal(err)
	}
	if as, _ := s.EmailAlerts(ctx, "a", ""); len(as) != 0 {
		t.Fatalf("alert not removed: %v", as)
	}
}

// testOutboxCounts: the counts (the operator's metrics, the desk's
// notifications page) take in the per-post event rows and every other
// kind and state, for one site or all, and the oldest pending message of
// either sort.
func testOutboxCounts(t *testing.T, s store.Store) {
	mustSite(t, s, "a")
	mustSite(t, s, "b")
	mustPost(t, s, page("b", "https://b.example/p"), newComment("ev")) // an event row on b
	evs, err := s.PendingEvents(ctx, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("PendingEvents = %d, %v; want the post's one", len(evs), err)
	}
	eventAt := evs[0].Created
	later := eventAt.Add(time.Minute)
	for _, m := range []*store.Message{
		{Key: "e1", Kind: store.KindEmail, Stream: "r:a:1", SiteID: "a", Payload: "{}", Created: later, Deadline: later.Add(time.Hour)},
		{Key: "w1", Kind: store.KindWebhook, Stream: "w:1", SiteID: "a", Target: "1", Payload: "{}", Created: later.Add(time.Minute), Deadline: later.Add(time.Hour)},
	} {
		if ok, err := s.Enqueue(ctx, m, nil); err != nil || !ok {
			t.Fatalf("Enqueue %s = %v, %v", m.Key, ok, err)
		}
	}
	ms, err := s.ClaimMessages(ctx, "w", later.Add(time.Hour), later.Add(2*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Key == "w1" {
			if err := s.Finish(ctx, "w", m.ID, nil, store.Outcome{State: store.StateSent}, later.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		site, want string
		oldest     time.Time
	}{
		{"", "map[email:map[pending:1] event:map[pending:1] webhook:map[sent:1]]", eventAt},
		{"a", "map[email:map[pending:1] webhook:map[sent:1]]", later},
		{"b", "map[event:map[pending:1]]", eventAt},
	} {
		counts, oldest, err := s.OutboxCounts(ctx, tc.site)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(counts); got != tc.want || !oldest.Equal(tc.oldest.UTC()) {
			t.Errorf("OutboxCounts(%q) = %s, oldest %v; want %s, oldest %v", tc.site, got, oldest, tc.want, tc.oldest.UTC())
		}
	}
}
