package notify

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"parley/internal/comment"
	"parley/internal/store"
)

// Expand turns outbox events into the messages they cause, in the
// events' order:
//
//   - every webhook of the site subscribed to the event gets a delivery;
//   - when a comment is published (created approved, or approved later),
//     every confirmed subscription it concerns gets an email — readers of
//     the whole thread, and the author of the comment it answers — but
//     never its own author, and never twice for one comment (the key);
//   - when a comment is held (created pending), every staff member of the
//     site who asked for alerts gets one;
//   - when a staff member decides on a held comment, its author may be
//     told (community.go), as a surge alert goes to the staff who asked
//     for alerts.
//
// Spam and comments held by their status never reach readers. Each
// message's key makes expanding one event twice harmless.
func (n *Notifier) Expand(ctx context.Context, events []*store.Message) ([]*store.Message, error) {
	type ev struct {
		m *store.Message
		p event
	}
	list := make([]ev, 0, len(events))
	var ids, heldIDs []string
	var alertIDs []int64
	for _, m := range events {
		var p event
		if err := json.Unmarshal([]byte(m.Payload), &p); err != nil || p.Comment == "" && p.Alert == 0 {
			n.log.Warn("outbox event not understood; skipped", slog.Int64("id", m.ID))
			continue
		}
		list = append(list, ev{m, p})
		switch {
		case p.Alert != 0:
			alertIDs = append(alertIDs, p.Alert)
		case p.Held:
			heldIDs = append(heldIDs, p.Comment)
			fallthrough
		default:
			ids = append(ids, p.Comment)
		}
	}
	comments, err := n.c.Store.CommentsByID(ctx, slices.Compact(slices.Sorted(slices.Values(ids))))
	if err != nil {
		return nil, err
	}
	alerts, err := n.c.Store.AlertsByID(ctx, alertIDs)
	if err != nil {
		return nil, err
	}
	var threadIDs, parentIDs []string
	for _, a := range alerts {
		threadIDs = append(threadIDs, a.ThreadID)
	}
	for _, c := range comments {
		threadIDs = append(threadIDs, c.ThreadID)
		if c.ParentID != "" {
			parentIDs = append(parentIDs, c.ParentID)
		}
	}
	threads, err := n.c.Store.ThreadsByID(ctx, slices.Compact(slices.Sorted(slices.Values(threadIDs))))
	if err != nil {
		return nil, err
	}
	parents, err := n.c.Store.CommentsByID(ctx, slices.Compact(slices.Sorted(slices.Values(parentIDs))))
	if err != nil {
		return nil, err
	}
	var langs map[string]string
	if len(heldIDs) > 0 && n.c.Mailer != nil {
		if langs, err = n.c.Store.HeldLangs(ctx, heldIDs); err != nil {
			return nil, err
		}
	}
	sites := map[string]*siteData{}
	var out []*store.Message
	for _, e := range list {
		if e.p.Alert != 0 {
			a := alerts[e.p.Alert]
			if a == nil || threads[a.ThreadID] == nil {
				continue
			}
			sd, err := n.siteData(ctx, sites, a.SiteID)
			if err != nil {
				return nil, err
			}
			msgs, err := n.surgeMessages(e.m, a, threads[a.ThreadID], sd)
			if err != nil {
				return nil, err
			}
			out = append(out, msgs...)
			continue
		}
		c := comments[e.p.Comment]
		if c == nil {
			continue
		}
		t := threads[c.ThreadID]
		sd, err := n.siteData(ctx, sites, c.SiteID)
		if err != nil {
			return nil, err
		}
		at := e.m.Created
		deadline := at.Add(n.c.GiveUp)
		for _, h := range sd.hooks {
			if !slices.Contains(h.Events, e.p.Event) {
				continue
			}
			key := "webhook:" + h.ID + ":" + strconv.FormatInt(e.m.ID, 10)
			body, err := json.Marshal(hookBody(e.p.Event, at, sd.site, t, c, e.p.Status, h.WithEmail))
			if err != nil {
				return nil, err
			}
			out = append(out, n.hookMessage(key, h, c.SiteID, body, at))
		}
		if n.c.Mailer == nil || t == nil {
			continue
		}
		published := e.p.Status == comment.StatusApproved && (e.p.Event == store.EventCreated || e.p.Event == store.EventApproved)
		if published && c.Type == "" {
			parentEmail := ""
			if p := parents[c.ParentID]; p != nil {
				parentEmail = p.Author.Email
			}
			subs, err := n.c.Store.Subscribers(ctx, c.ThreadID, parentEmail, c.Author.Email)
			if err != nil {
				return nil, err
			}
			payload, _ := json.Marshal(emailPayload{Type: mailReply, Comment: c.ID})
			for _, sub := range subs {
				out = append(out, &store.Message{Key: "reply:" + c.ID + ":" + sub.ID, Kind: store.KindEmail,
					Stream: ReplyStream(sub.SiteID, sub.EmailKey), SiteID: c.SiteID, Target: sub.ID,
					Payload: string(payload), Created: at, Deadline: deadline})
			}
		}
		if e.p.Event == store.EventCreated && e.p.Status == comment.StatusPending {
			payload, _ := json.Marshal(emailPayload{Type: mailHeld, Comment: c.ID})
			for _, a := range sd.alerts {
				out = append(out, &store.Message{Key: "held:" + c.ID + ":" + a.AccountID, Kind: store.KindEmail,
					Stream: AlertStream(c.SiteID, a.AccountID), SiteID: c.SiteID, Target: a.AccountID,
					Payload: string(payload), Created: at, Deadline: deadline})
			}
		}
		if e.p.Held {
			m, err := n.decisionMessage(ctx, e.m, e.p, c, sd, langs[c.ID])
			if err != nil {
				return nil, err
			}
			if m != nil {
				out = append(out, m)
			}
		}
	}
	return out, nil
}

// siteData is what the fan-out reads once per site and batch.
type siteData struct {
	site   *comment.Site
	hooks  []*store.Webhook
	alerts []*store.EmailAlert // staff members' email alerts
	// community is the site's settings, read when first needed.
	community *comment.Community
}

// siteData returns a site's data from cache, reading it the first time.
func (n *Notifier) siteData(ctx context.Context, cache map[string]*siteData, siteID string) (*siteData, error) {
	if sd, ok := cache[siteID]; ok {
		return sd, nil
	}
	sd := &siteData{}
	var err error
	if sd.site, err = n.c.Store.Site(ctx, siteID); err != nil {
		return nil, err
	}
	if n.c.Hooks != nil {
		if sd.hooks, err = n.c.Store.Webhooks(ctx, siteID); err != nil {
			return nil, err
		}
	}
	if n.c.Mailer != nil {
		if sd.alerts, err = n.c.Store.EmailAlerts(ctx, siteID, ""); err != nil {
			return nil, err
		}
	}
	cache[siteID] = sd
	return sd, nil
}

// hookMessage is a delivery of body to webhook h.
func (n *Notifier) hookMessage(key string, h *store.Webhook, siteID string, body []byte, at time.Time) *store.Message {
	payload, _ := json.Marshal(hookPayload{ID: webhookID(key), Body: body})
	return &store.Message{Key: key, Kind: store.KindWebhook, Stream: HookStream(h.ID), SiteID: siteID, Target: h.ID,
		Payload: string(payload), Created: at, Deadline: at.Add(n.c.GiveUp)}
}

// hookBody is a webhook's JSON, as the Standard Webhooks specification
// suggests: type, timestamp and data.
func hookBody(ev string, at time.Time, site *comment.Site, t *comment.Thread, c *comment.Comment, st comment.Status, withEmail bool) any {
	type author struct {
		Name     string `json:"name"`
		Website  string `json:"website,omitempty"`
		Identity string `json:"login,omitempty"`
		Email    string `json:"email,omitempty"`
	}
	type page struct {
		Key   string `json:"key"`
		URL   string `json:"url"`
		Title string `json:"title"`
	}
	type data struct {
		Site    string  `json:"site"`
		ID      string  `json:"id"`
		Parent  *string `json:"parent"`
		Status  string  `json:"status"`
		Page    *page   `json:"page,omitempty"`
		URL     string  `json:"url,omitempty"`
		Author  author  `json:"author"`
		Text    string  `json:"text"`
		HTML    string  `json:"html"`
		Created string  `json:"created"`
		Edited  string  `json:"edited,omitempty"`
		Staff   bool    `json:"staff"`
	}
	d := data{Site: site.ID, ID: c.ID, Status: string(st), Text: c.Markdown, HTML: c.HTML,
		Created: c.Created.UTC().Format(time.RFC3339Nano), Staff: c.Staff,
		Author: author{Name: c.Author.Name, Website: c.Author.Website}}
	if c.ParentID != "" {
		d.Parent = &c.ParentID
	}
	if !c.Edited.IsZero() {
		d.Edited = c.Edited.UTC().Format(time.RFC3339Nano)
	}
	if t != nil {
		d.Page = &page{Key: t.Key, URL: t.URL, Title: t.Title}
		if u := commentURL(t, c.ID); u != "" {
			d.URL = u
		}
	}
	if withEmail {
		// The site opted in; otherwise no address ever leaves.
		d.Author.Email = c.Author.Email
		d.Author.Identity = c.Author.Identity
	}
	return struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      data   `json:"data"`
	}{ev, at.UTC().Format(time.RFC3339Nano), d}
}

// commentURL is the address of a comment on its article, "" when the
// thread's address is not a web page.
func commentURL(t *comment.Thread, id string) string {
	u := t.URL
	if u == "" {
		u = t.Key
	}
	if len(u) < 8 || (u[:7] != "http://" && u[:8] != "https://") {
		return ""
	}
	return u + "#comment-" + id
}
