package notify

import (
	"context"
	"encoding/json"
	"errors"
	htmltemplate "html/template"
	"net/url"
	"slices"
	"strconv"
	"time"

	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/mail"
	"parley/internal/outbox"
	"parley/internal/staff"
	"parley/internal/store"
)

// The community controls' messages: a surge alert, emailed to the staff
// who asked for the site's alerts and posted to the webhooks subscribed
// to page.surge; and, on sites that ask for it, the email that tells the
// author of a held comment whether it was published, with the reason the
// moderator chose.

// HeldLangKeep is how long a held comment's language is kept once the
// comment is decided on (the fan-out put it in the email's message by
// then; an undo within it keeps it for the next decision).
const HeldLangKeep = 24 * time.Hour

// surgeMessages are what a surge alert causes: a webhook delivery per
// webhook of the site subscribed to page.surge, and an email to every
// staff member who asked for the site's alerts. Surge alerts go at once,
// whatever digest interval the member chose for held comments: there is
// one per surge, and it is news only while the surge lasts.
func (n *Notifier) surgeMessages(ev *store.Message, a *comment.Alert, t *comment.Thread, sd *siteData) ([]*store.Message, error) {
	at := ev.Created
	var out []*store.Message
	for _, h := range sd.hooks {
		if !slices.Contains(h.Events, store.EventSurge) {
			continue
		}
		body, err := json.Marshal(surgeHookBody(at, sd.site, t, a))
		if err != nil {
			return nil, err
		}
		out = append(out, n.hookMessage("webhook:"+h.ID+":"+strconv.FormatInt(ev.ID, 10), h, a.SiteID, body, at))
	}
	if n.c.Mailer == nil {
		return out, nil
	}
	payload, _ := json.Marshal(emailPayload{Type: mailSurge, Alert: a.ID})
	for _, al := range sd.alerts {
		out = append(out, &store.Message{Key: "surge:" + strconv.FormatInt(a.ID, 10) + ":" + al.AccountID, Kind: store.KindEmail,
			Stream: SurgeStream(a.SiteID, al.AccountID), SiteID: a.SiteID, Target: al.AccountID,
			Payload: string(payload), Created: at, Deadline: at.Add(n.c.GiveUp)})
	}
	return out, nil
}

// htmlParagraph is plain text as one HTML paragraph.
func htmlParagraph(text string) htmltemplate.HTML {
	return htmltemplate.HTML("<p>" + htmltemplate.HTMLEscapeString(text) + "</p>")
}

// surgeHookBody is a page.surge webhook's JSON: the article as comment
// events name it, and the alert.
func surgeHookBody(at time.Time, site *comment.Site, t *comment.Thread, a *comment.Alert) any {
	type page struct {
		Key   string `json:"key"`
		URL   string `json:"url"`
		Title string `json:"title"`
	}
	type data struct {
		Site      string `json:"site"`
		Alert     int64  `json:"alert"`
		Page      page   `json:"page"`
		Rate      int    `json:"rate"`
		Threshold int    `json:"threshold"`
		Action    string `json:"action"`
		Until     string `json:"until"`
		Created   string `json:"created"`
	}
	return struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      data   `json:"data"`
	}{store.EventSurge, at.UTC().Format(time.RFC3339Nano), data{Site: site.ID, Alert: a.ID,
		Page: page{Key: t.Key, URL: t.URL, Title: t.Title}, Rate: a.Rate, Threshold: a.Threshold, Action: a.Action,
		Until: a.Until.UTC().Format(time.RFC3339Nano), Created: a.Created.UTC().Format(time.RFC3339Nano)}}
}

// decisionMessage is the email telling a held comment's author that a
// moderator published it (approved) or not (deleted, with the reason
// chosen), or nil when none is due: the site must ask for these emails,
// the comment be an ordinary one by a reader who gave an address, held
// by moderation (not hidden by readers' reports), and the address
// confirmed — by a confirmed subscription on the site or an emailed
// log-in link — and not stopped. A comment marked spam is never
// mentioned: a spammer must not make Parley mail anyone.
func (n *Notifier) decisionMessage(ctx context.Context, ev *store.Message, p event, c *comment.Comment, sd *siteData, lang string) (*store.Message, error) {
	approved := p.Event == store.EventApproved
	if !approved && p.Event != store.EventDeleted || c.Type != "" || c.Staff || c.Author.Email == "" || c.Verdict.Layer == "reports" {
		return nil, nil
	}
	if sd.community == nil {
		cm, _, err := n.c.Store.Community(ctx, c.SiteID)
		if err != nil {
			return nil, err
		}
		sd.community = cm
	}
	if !sd.community.EmailDecisions {
		return nil, nil
	}
	addr, err := mail.NormalizeAddress(c.Author.Email)
	if err != nil {
		return nil, nil
	}
	key := n.c.Links.EmailKey(addr)
	if stopped, err := n.c.Store.DecisionMailStopped(ctx, c.SiteID, key); err != nil || stopped {
		return nil, err
	}
	ok, subLang, err := n.confirmed(ctx, c.SiteID, addr, key)
	if err != nil || !ok {
		return nil, err
	}
	if lang == "" {
		lang = subLang
	}
	pl := emailPayload{Type: mailDecided, Comment: c.ID, EmailKey: key, Lang: lang, Approved: approved}
	if !approved {
		pl.Reason = p.Reason
	}
	payload, _ := json.Marshal(pl)
	at := ev.Created
	return &store.Message{Key: "decided:" + c.ID + ":" + string(p.Status), Kind: store.KindEmail,
		Stream: DecisionStream(c.SiteID, key), SiteID: c.SiteID, Target: c.ID,
		Payload: string(payload), Created: at, Deadline: at.Add(n.c.GiveUp)}, nil
}

// confirmed reports whether an address is known to be its owner's, as
// reply notifications decide: it confirmed a subscription on the site
// (or subscribed while logged in with a verified address), or it was
// proved through an emailed log-in link. It also returns the language of
// its latest confirmed subscription there, if any.
func (n *Notifier) confirmed(ctx context.Context, siteID, addr, key string) (bool, string, error) {
	subs, err := n.c.Store.SubscriptionsByKey(ctx, key, siteID)
	if err != nil {
		return false, "", err
	}
	for _, sub := range subs { // newest first
		if !sub.Confirmed.IsZero() {
			return true, sub.Lang, nil
		}
	}
	if n.c.Verified == nil {
		return false, "", nil
	}
	ok, err := n.c.Verified(ctx, addr)
	return ok, "", err
}

// sendSurge emails a staff member the surge alerts of a site waiting for
// them (one, or several that piled up), each with links to the article
// in the desk and to its held comments. An alert dismissed meanwhile is
// not sent: someone has dealt with it.
func (n *Notifier) sendSurge(ctx context.Context, head *store.Message) outbox.Result {
	m, err := n.c.Store.Account(ctx, head.Target)
	if errors.Is(err, comment.ErrNotFound) {
		return outbox.Result{Drop: true}
	}
	if err != nil {
		return outbox.Result{Err: err}
	}
	if m.Account.Disabled || !m.RoleOn(head.SiteID).AtLeast(staff.RoleModerator) {
		return outbox.Result{Drop: true}
	}
	prefs, err := n.c.Store.EmailAlerts(ctx, head.SiteID, m.Account.ID)
	if err != nil {
		return outbox.Result{Err: err}
	}
	if len(prefs) == 0 {
		return outbox.Result{Drop: true} // alerts turned off since
	}
	msgs, err := n.companions(ctx, head, mailSurge)
	if err != nil {
		return outbox.Result{Err: err}
	}
	ids := make([]int64, len(msgs))
	for i, msg := range msgs {
		var p emailPayload
		json.Unmarshal([]byte(msg.Payload), &p)
		ids[i] = p.Alert
	}
	alerts, err := n.c.Store.AlertsByID(ctx, ids)
	if err != nil {
		return outbox.Result{Err: err}
	}
	var threadIDs []string
	for _, a := range alerts {
		threadIDs = append(threadIDs, a.ThreadID)
	}
	threads, err := n.c.Store.ThreadsByID(ctx, threadIDs)
	if err != nil {
		return outbox.Result{Err: err}
	}
	site, err := n.c.Store.Site(ctx, head.SiteID)
	if err != nil {
		return outbox.Result{Err: err}
	}
	t := i18n.Desk(prefs[0].Lang)
	v := &emailView{Lang: t.Lang(), Dir: t.Dir(), Site: site.Name}
	desk := n.c.Links.Public() + "/admin/sites/" + url.PathEscape(site.ID)
	var with []store.Settled
	var first string
	for i, msg := range msgs {
		a := alerts[ids[i]]
		th := (*comment.Thread)(nil)
		if a != nil {
			th = threads[a.ThreadID]
		}
		if a == nil || !a.Dismissed.IsZero() || th == nil {
			if i == 0 {
				return outbox.Result{Drop: true}
			}
			with = append(with, store.Settled{ID: msg.ID, State: store.StateDropped})
			continue
		}
		if i > 0 {
			with = append(with, store.Settled{ID: msg.ID, State: store.StateSent})
		}
		name := title(th)
		if first == "" {
			first = name
		}
		action := a.Action
		if action != comment.SurgeClose {
			action = comment.SurgeHold
		}
		text := t.T("alert.surge."+action, "title", name, "rate", t.Number(a.Rate), "threshold", t.Number(a.Threshold),
			"until", t.Date(a.Until.UTC())+" UTC")
		actions := []emailLink{{t.T("surge.desk"), desk + "/articles/" + url.PathEscape(th.ID)}}
		if action == comment.SurgeHold {
			actions = append(actions, emailLink{t.T("surge.held"), desk + "/?" + url.Values{"status": {"pending"}, "page": {th.Key}}.Encode()})
		}
		v.Groups = append(v.Groups, emailGroup{Title: name, URL: th.URL, Items: []emailItem{{
			Heading: t.T("surge.heading"), When: t.Date(a.Created.UTC()) + " UTC", Text: text,
			HTML: htmlParagraph(text), Actions: actions,
		}}})
	}
	if len(v.Groups) == 1 {
		v.Subject = t.T("surge.subject", "title", first)
	} else {
		v.Subject = t.N("surge.subject_many", len(v.Groups), "site", site.Name)
	}
	v.Intro = t.T("surge.intro", "site", site.Name)
	v.Footer = []string{t.T("surge.why", "site", site.Name)}
	off := n.c.Links.URL(AlertsOffPath, PurposeAlertsOff, Token{Site: site.ID, Account: m.Account.ID, Lang: t.Lang()})
	v.Links = []emailLink{{t.T("alert.stop"), off}}
	msg, err := render(v, m.Account.Email, messageID(head), unsubscribeHeaders(off, n.c.Links.Public(), site.ID))
	if err != nil {
		return outbox.Result{Err: err, Permanent: true}
	}
	return n.deliver(ctx, msg, with)
}

// sendDecided tells the author of held comments what became of them, in
// their language: one email, or one for the decisions that waited
// together (at most one email per digest interval, as readers' other
// emails). A decision undone since, or an address that stopped these
// emails, is not sent.
func (n *Notifier) sendDecided(ctx context.Context, head *store.Message, hp emailPayload) outbox.Result {
	if stopped, err := n.c.Store.DecisionMailStopped(ctx, head.SiteID, hp.EmailKey); err != nil {
		return outbox.Result{Err: err}
	} else if stopped {
		return outbox.Result{Drop: true}
	}
	if at, err := n.wait(ctx, head.Stream, n.c.DigestEvery, n.now()); err != nil {
		return outbox.Result{Err: err}
	} else if !at.IsZero() {
		return outbox.Result{Wait: at}
	}
	msgs, err := n.companions(ctx, head, mailDecided)
	if err != nil {
		return outbox.Result{Err: err}
	}
	payloads := make([]emailPayload, len(msgs))
	var ids []string
	for i, msg := range msgs {
		json.Unmarshal([]byte(msg.Payload), &payloads[i])
		ids = append(ids, payloads[i].Comment)
	}
	comments, threads, site, err := n.digestContext(ctx, head.SiteID, ids)
	if err != nil {
		return outbox.Result{Err: err}
	}
	t := i18n.Get(hp.Lang)
	v := &emailView{Lang: t.Lang(), Dir: t.Dir(), Site: site.Name}
	byThread := map[string]int{}
	var with []store.Settled
	var addr string
	var last emailPayload
	count := 0
	for i, msg := range msgs {
		p := payloads[i]
		c := comments[p.Comment]
		want := comment.StatusDeleted
		if p.Approved {
			want = comment.StatusApproved
		}
		var th *comment.Thread
		if c != nil {
			th = threads[c.ThreadID]
		}
		if c == nil || c.Status != want || th == nil {
			if i == 0 {
				return outbox.Result{Drop: true}
			}
			with = append(with, store.Settled{ID: msg.ID, State: store.StateDropped})
			continue
		}
		if i == 0 {
			if addr, err = mail.NormalizeAddress(c.Author.Email); err != nil {
				return outbox.Result{Err: err, Permanent: true}
			}
		} else {
			with = append(with, store.Settled{ID: msg.ID, State: store.StateSent})
		}
		count++
		last = p
		gi, ok := byThread[th.ID]
		if !ok {
			gi = len(v.Groups)
			byThread[th.ID] = gi
			v.Groups = append(v.Groups, emailGroup{Title: title(th), URL: th.URL})
		}
		heading := t.T("mail.decided_published")
		var actions []emailLink
		switch {
		case p.Approved:
			if u := commentURL(th, c.ID); u != "" {
				actions = append(actions, emailLink{t.T("mail.decided_read"), u})
			}
		case p.Reason != "":
			heading = t.T("mail.decided_reason", "reason", p.Reason)
		default:
			heading = t.T("mail.decided_not_published")
		}
		text, html := quote(c)
		v.Groups[gi].Items = append(v.Groups[gi].Items, emailItem{Heading: heading, When: t.Date(c.Created.UTC()) + " UTC", Text: text, HTML: html, Actions: actions})
	}
	switch {
	case count > 1:
		v.Subject = t.N("mail.decided_subject_many", count, "site", site.Name)
		v.Intro = t.N("mail.decided_intro_many", count, "site", site.Name)
	case last.Approved:
		v.Subject = t.T("mail.decided_approved_subject", "title", v.Groups[0].Title)
		v.Intro = t.T("mail.decided_approved_intro", "title", v.Groups[0].Title)
	default:
		v.Subject = t.T("mail.decided_rejected_subject", "title", v.Groups[0].Title)
		v.Intro = t.T("mail.decided_rejected_intro", "title", v.Groups[0].Title)
	}
	v.Footer = []string{t.T("mail.why_decided", "site", site.Name)}
	stop := n.c.Links.URL(DecisionsPath, PurposeDecisions, Token{Site: site.ID, EmailKey: hp.EmailKey, Lang: t.Lang()})
	v.Links = []emailLink{{t.T("mail.decided_stop"), stop}}
	msg, err := render(v, addr, messageID(head), unsubscribeHeaders(stop, n.c.Links.Public(), site.ID))
	if err != nil {
		return outbox.Result{Err: err, Permanent: true}
	}
	return n.deliver(ctx, msg, with)
}
