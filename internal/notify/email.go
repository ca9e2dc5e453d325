package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	htmltemplate "html/template"
	"net/textproto"
	"net/url"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/mail"
	"parley/internal/outbox"
	"parley/internal/staff"
	"parley/internal/store"
)

//go:embed templates/*
var templateFiles embed.FS

// The emails' templates: one layout for every email, in HTML and in
// plain text, filled with words already translated.
var (
	htmlEmail = htmltemplate.Must(htmltemplate.ParseFS(templateFiles, "templates/email.html"))
	textEmail = template.Must(template.ParseFS(templateFiles, "templates/email.txt"))
)

// emailView is what the templates show.
type emailView struct {
	Lang, Dir string
	Subject   string
	Site      string
	Intro     string
	Groups    []emailGroup
	Button    *emailLink // the email's one action (confirm), if any
	Note      string     // under the button
	Footer    []string   // why the reader gets this email
	Links     []emailLink
}

// emailGroup is one article's comments.
type emailGroup struct {
	Title, URL string
	Items      []emailItem
}

// emailItem is one comment.
type emailItem struct {
	Heading string
	When    string
	Text    string            // the plain text part's
	HTML    htmltemplate.HTML // sanitised at write time (package markup)
	Actions []emailLink
}

type emailLink struct{ Text, URL string }

// MaxQuote bounds how much of a comment an email quotes (in
// characters); longer ones end with "…" and the link to the rest.
const MaxQuote = 1500

// quote returns a comment's text for an email: its sanitised HTML and its
// text, or, when too long, the start of its text in both.
func quote(c *comment.Comment) (string, htmltemplate.HTML) {
	if utf8.RuneCountInString(c.Markdown) <= MaxQuote {
		return c.Markdown, htmltemplate.HTML(c.HTML)
	}
	r := []rune(c.Markdown)
	short := strings.TrimSpace(string(r[:MaxQuote])) + "…"
	return short, htmltemplate.HTML("<p>" + strings.ReplaceAll(htmltemplate.HTMLEscapeString(short), "\n", "<br>") + "</p>")
}

// render writes v as a message to the address to.
func render(v *emailView, to, id string, headers []mail.Header) (mail.Message, error) {
	var h, t bytes.Buffer
	if err := htmlEmail.Execute(&h, v); err != nil {
		return mail.Message{}, err
	}
	if err := textEmail.Execute(&t, v); err != nil {
		return mail.Message{}, err
	}
	return mail.Message{To: to, Subject: v.Subject, Text: t.String(), HTML: h.String(), MessageID: id, Lang: v.Lang, Headers: headers}, nil
}

// messageID is the Message-ID of an outbox message: the same on every
// try, so a mail system that receives it twice can keep one.
func messageID(m *store.Message) string {
	sum := sha256.Sum256([]byte(m.Key))
	return "parley." + hex.EncodeToString(sum[:16])
}

// EmailSender returns the outbox's sender of emails.
func (n *Notifier) EmailSender() outbox.Sender { return emailSender{n} }

type emailSender struct{ n *Notifier }

func (s emailSender) Timeout() time.Duration {
	if t, ok := s.n.c.Mailer.(interface{ Timeout() time.Duration }); ok {
		return t.Timeout()
	}
	return mail.DefaultTimeout
}

func (s emailSender) Send(ctx context.Context, head *store.Message) outbox.Result {
	n := s.n
	if n.c.Mailer == nil {
		return outbox.Result{Err: errors.New("no mail server is configured"), Permanent: true}
	}
	var p emailPayload
	if err := json.Unmarshal([]byte(head.Payload), &p); err != nil {
		return outbox.Result{Err: errors.New("email payload not understood"), Permanent: true}
	}
	switch p.Type {
	case mailReply:
		return n.sendReplies(ctx, head)
	case mailConfirm:
		return n.sendConfirm(ctx, head, p)
	case mailHeld:
		return n.sendAlert(ctx, head)
	case mailSurge:
		return n.sendSurge(ctx, head)
	case mailDecided:
		return n.sendDecided(ctx, head, p)
	case mailPrivacy:
		return n.sendPrivacy(ctx, head, p) // privacy.go
	}
	return outbox.Result{Err: errors.New("unknown email type " + p.Type), Permanent: true}
}

// deliver sends m and classifies a failure: a refused address or a
// 5xx answer is permanent, a 4xx answer is retried, and anything else
// (no connection, a timeout) is the mail server's, and pauses all email.
func (n *Notifier) deliver(ctx context.Context, m mail.Message, with []store.Settled) outbox.Result {
	start := time.Now()
	err := n.c.Mailer.Send(ctx, m)
	res := outbox.Result{Took: time.Since(start), With: with}
	if err == nil {
		return res
	}
	res.Err = err
	var te *textproto.Error
	switch {
	case errors.Is(err, mail.ErrBadAddress):
		res.Permanent = true
	case errors.As(err, &te):
		res.Status = te.Code
		res.Permanent = te.Code >= 500
	default:
		res.Transport = true
	}
	return res
}

// wait returns when a stream may next be mailed, if that is later than
// now: at most one email per interval.
func (n *Notifier) wait(ctx context.Context, stream string, every time.Duration, now time.Time) (time.Time, error) {
	if every <= 0 {
		return time.Time{}, nil
	}
	last, err := n.c.Store.LastSent(ctx, stream)
	if err != nil || last.IsZero() || !now.Before(last.Add(every)) {
		return time.Time{}, err
	}
	return last.Add(every), nil
}

// digestMax bounds how many messages one digest takes along.
const digestMax = 100

// companions returns the stream's messages waiting behind head, of the
// same email type, that a digest may take along.
func (n *Notifier) companions(ctx context.Context, head *store.Message, typ string) ([]*store.Message, error) {
	more, err := n.c.Store.StreamPending(ctx, head.Stream, head.ID, digestMax-1)
	if err != nil {
		return nil, err
	}
	out := []*store.Message{head}
	for _, m := range more {
		var p emailPayload
		if json.Unmarshal([]byte(m.Payload), &p) == nil && p.Type == typ {
			out = append(out, m)
		}
	}
	return out, nil
}

func commentOf(m *store.Message) string {
	var p emailPayload
	json.Unmarshal([]byte(m.Payload), &p)
	return p.Comment
}

// sendReplies emails a reader about new comments: one, or, when several
// wait (the digest interval held them), all of them in one email. Only
// comments still published are sent, only to subscriptions still there.
func (n *Notifier) sendReplies(ctx context.Context, head *store.Message) outbox.Result {
	now := n.now()
	sub, err := n.c.Store.Subscription(ctx, head.Target)
	if errors.Is(err, comment.ErrNotFound) {
		return outbox.Result{Drop: true}
	}
	if err != nil {
		return outbox.Result{Err: err}
	}
	if at, err := n.wait(ctx, head.Stream, n.c.DigestEvery, now); err != nil {
		return outbox.Result{Err: err}
	} else if !at.IsZero() {
		return outbox.Result{Wait: at}
	}
	msgs := []*store.Message{head}
	if n.c.DigestEvery > 0 {
		if msgs, err = n.companions(ctx, head, mailReply); err != nil {
			return outbox.Result{Err: err}
		}
	}
	var ids, parentIDs, threadIDs []string
	for _, m := range msgs {
		ids = append(ids, commentOf(m))
	}
	comments, err := n.c.Store.CommentsByID(ctx, ids)
	if err != nil {
		return outbox.Result{Err: err}
	}
	for _, c := range comments {
		parentIDs = append(parentIDs, c.ParentID)
		threadIDs = append(threadIDs, c.ThreadID)
	}
	parents, err := n.c.Store.CommentsByID(ctx, parentIDs)
	if err != nil {
		return outbox.Result{Err: err}
	}
	threads, err := n.c.Store.ThreadsByID(ctx, threadIDs)
	if err != nil {
		return outbox.Result{Err: err}
	}
	subs := map[string]*store.Subscription{sub.ID: sub}
	type item struct {
		c   *comment.Comment
		sub *store.Subscription
	}
	var items []item
	var with []store.Settled
	for i, m := range msgs {
		c := comments[commentOf(m)]
		ms, ok := subs[m.Target]
		if !ok {
			if ms, err = n.c.Store.Subscription(ctx, m.Target); err != nil && !errors.Is(err, comment.ErrNotFound) {
				return outbox.Result{Err: err}
			}
			subs[m.Target] = ms
		}
		wanted := c != nil && c.Status == comment.StatusApproved && ms != nil && !ms.Confirmed.IsZero() && threads[c.ThreadID] != nil
		switch {
		case i == 0 && !wanted:
			return outbox.Result{Drop: true}
		case i == 0:
			items = append(items, item{c, ms})
		case wanted:
			items = append(items, item{c, ms})
			with = append(with, store.Settled{ID: m.ID, State: store.StateSent})
		default:
			with = append(with, store.Settled{ID: m.ID, State: store.StateDropped})
		}
	}
	site, err := n.c.Store.Site(ctx, head.SiteID)
	if err != nil {
		return outbox.Result{Err: err}
	}
	t := i18n.Get(sub.Lang)
	v := &emailView{Lang: t.Lang(), Dir: t.Dir(), Site: site.Name}
	// One group per article, in the order their first comment came.
	byThread := map[string]int{}
	oneThread := true
	for _, it := range items {
		th := threads[it.c.ThreadID]
		gi, ok := byThread[th.ID]
		if !ok {
			gi = len(v.Groups)
			byThread[th.ID] = gi
			v.Groups = append(v.Groups, emailGroup{Title: title(th), URL: th.URL})
		}
		oneThread = oneThread && th.ID == items[0].c.ThreadID
		heading := t.T("mail.commented", "name", it.c.Author.Name)
		if p := parents[it.c.ParentID]; p != nil && p.Author.Email == it.sub.Email {
			heading = t.T("mail.replied", "name", it.c.Author.Name)
		}
		text, html := quote(it.c)
		var actions []emailLink
		if u := commentURL(th, it.c.ID); u != "" {
			actions = append(actions, emailLink{t.T("mail.read_reply"), u})
		}
		v.Groups[gi].Items = append(v.Groups[gi].Items, emailItem{Heading: heading, When: t.Date(it.c.Created.UTC()) + " UTC", Text: text, HTML: html, Actions: actions})
	}
	first := items[0]
	switch {
	case len(items) == 1 && parents[first.c.ParentID] != nil && parents[first.c.ParentID].Author.Email == first.sub.Email:
		v.Subject = t.T("mail.reply_subject", "title", v.Groups[0].Title)
		v.Intro = t.T("mail.reply_intro", "name", first.c.Author.Name, "title", v.Groups[0].Title)
	case len(items) == 1:
		v.Subject = t.T("mail.comment_subject", "title", v.Groups[0].Title)
		v.Intro = t.T("mail.comment_intro", "name", first.c.Author.Name, "title", v.Groups[0].Title)
	default:
		v.Subject = t.N("mail.digest_subject", len(items), "site", site.Name)
		v.Intro = t.N("mail.digest_intro", len(items), "site", site.Name)
	}
	var unsub string
	if oneThread {
		why := "mail.why_replies"
		if first.sub.Scope == store.ScopeAll {
			why = "mail.why_all"
		}
		v.Footer = append(v.Footer, t.T(why, "site", site.Name))
		unsub = n.c.Links.URL(UnsubscribePath, PurposeUnsubscribe, Token{Site: site.ID, EmailKey: sub.EmailKey, Subscription: first.sub.ID, Lang: t.Lang()})
		v.Links = append(v.Links, emailLink{t.T("mail.unsubscribe"), unsub})
	} else {
		v.Footer = append(v.Footer, t.T("mail.why_digest", "site", site.Name))
		unsub = n.c.Links.URL(UnsubscribePath, PurposeUnsubscribe, Token{Site: site.ID, EmailKey: sub.EmailKey, Lang: t.Lang()})
		v.Links = append(v.Links, emailLink{t.T("mail.unsubscribe_all", "site", site.Name), unsub})
	}
	v.Links = append(v.Links, emailLink{t.T("mail.manage"), n.c.Links.URL(SubscriptionsPath, PurposeManage, Token{Site: site.ID, EmailKey: sub.EmailKey, Lang: t.Lang()})})
	msg, err := render(v, sub.Email, messageID(head), unsubscribeHeaders(unsub, n.c.Links.Public(), site.ID))
	if err != nil {
		return outbox.Result{Err: err, Permanent: true}
	}
	return n.deliver(ctx, msg, with)
}

// unsubscribeHeaders are RFC 8058's: mail systems show an unsubscribe
// button that posts to the link, which acts without a page.
func unsubscribeHeaders(link, public, siteID string) []mail.Header {
	host := public
	if u, err := url.Parse(public); err == nil {
		host = u.Hostname()
	}
	return []mail.Header{
		{Name: "List-Id", Value: "<" + siteID + ".comments." + host + ">"},
		{Name: "List-Unsubscribe", Value: "<" + link + ">"},
		{Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click"},
	}
}

// title is an article's title for an email, its address without one.
func title(t *comment.Thread) string {
	if s := strings.TrimSpace(t.Title); s != "" {
		return s
	}
	if t.URL != "" {
		return t.URL
	}
	return t.Key
}

// sendConfirm asks the owner of an address to confirm their waiting
// subscriptions on a site: the only email an unconfirmed address ever
// gets.
func (n *Notifier) sendConfirm(ctx context.Context, head *store.Message, p emailPayload) outbox.Result {
	subs, err := n.c.Store.SubscriptionsByKey(ctx, p.EmailKey, head.SiteID)
	if err != nil {
		return outbox.Result{Err: err}
	}
	var waiting []*store.Subscription
	for _, sub := range subs {
		if sub.Confirmed.IsZero() {
			waiting = append(waiting, sub)
		}
	}
	if len(waiting) == 0 {
		return outbox.Result{Drop: true}
	}
	site, err := n.c.Store.Site(ctx, head.SiteID)
	if err != nil {
		return outbox.Result{Err: err}
	}
	t := i18n.Get(p.Lang)
	addr := waiting[0].Email
	v := &emailView{Lang: t.Lang(), Dir: t.Dir(), Site: site.Name,
		Subject: t.T("mail.confirm_subject", "site", site.Name),
		Intro:   t.T("mail.confirm_intro", "email", addr, "site", site.Name)}
	for _, sub := range waiting {
		v.Groups = append(v.Groups, emailGroup{Title: title(sub.Thread), URL: sub.Thread.URL})
	}
	link := n.c.Links.URL(ConfirmPath, PurposeConfirm, Token{Site: site.ID, EmailKey: p.EmailKey, Lang: t.Lang(), Expires: n.now().Add(ConfirmTTL).Unix()})
	v.Button = &emailLink{t.T("mail.confirm_button"), link}
	v.Note = t.T("mail.confirm_ignore")
	msg, err := render(v, addr, messageID(head), nil)
	if err != nil {
		return outbox.Result{Err: err, Permanent: true}
	}
	return n.deliver(ctx, msg, nil)
}

// sendAlert emails a staff member the site's held comments waiting for
// them, each with one-click actions that work without logging in, once,
// for ActionTTL, for that member and that comment only.
func (n *Notifier) sendAlert(ctx context.Context, head *store.Message) outbox.Result {
	now := n.now()
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
	alerts, err := n.c.Store.EmailAlerts(ctx, head.SiteID, m.Account.ID)
	if err != nil {
		return outbox.Result{Err: err}
	}
	if len(alerts) == 0 {
		return outbox.Result{Drop: true} // turned off since
	}
	a := alerts[0]
	if at, err := n.wait(ctx, head.Stream, a.Every, now); err != nil {
		return outbox.Result{Err: err}
	} else if !at.IsZero() {
		return outbox.Result{Wait: at}
	}
	msgs, err := n.companions(ctx, head, mailHeld)
	if err != nil {
		return outbox.Result{Err: err}
	}
	var ids []string
	for _, msg := range msgs {
		ids = append(ids, commentOf(msg))
	}
	comments, threads, site, err := n.digestContext(ctx, head.SiteID, ids)
	if err != nil {
		return outbox.Result{Err: err}
	}
	t := i18n.Desk(a.Lang)
	v := &emailView{Lang: t.Lang(), Dir: t.Dir(), Site: site.Name}
	var with []store.Settled
	count := 0
	expires := now.Add(ActionTTL).Unix()
	for i, msg := range msgs {
		c := comments[commentOf(msg)]
		th := (*comment.Thread)(nil)
		if c != nil {
			th = threads[c.ThreadID]
		}
		if c == nil || c.Status != comment.StatusPending || th == nil {
			if i == 0 {
				return outbox.Result{Drop: true}
			}
			with = append(with, store.Settled{ID: msg.ID, State: store.StateDropped})
			continue
		}
		if i > 0 {
			with = append(with, store.Settled{ID: msg.ID, State: store.StateSent})
		}
		count++
		nonce := messageID(msg)[7:31]
		act := func(d string) emailLink {
			return emailLink{t.T("alert." + d), n.c.Links.URL(ActionPath, PurposeAction, Token{Site: site.ID, Account: m.Account.ID, Comment: c.ID,
				Decision: d, Nonce: nonce, Expires: expires, Lang: t.Lang()})}
		}
		text, html := quote(c)
		v.Groups = append(v.Groups, emailGroup{Title: title(th), URL: th.URL, Items: []emailItem{{
			Heading: t.T("alert.by", "name", c.Author.Name), When: t.Date(c.Created.UTC()) + " UTC", Text: text, HTML: html,
			Actions: []emailLink{act("approve"), act("spam"), act("delete"),
				{t.T("alert.open"), n.c.Links.Public() + "/admin/sites/" + url.PathEscape(site.ID) + "/comments/" + url.PathEscape(c.ID)}},
		}}})
	}
	v.Subject = t.N("alert.subject", count, "site", site.Name)
	v.Intro = t.T("alert.intro")
	v.Footer = []string{t.T("alert.why", "site", site.Name)}
	off := n.c.Links.URL(AlertsOffPath, PurposeAlertsOff, Token{Site: site.ID, Account: m.Account.ID, Lang: t.Lang()})
	v.Links = []emailLink{{t.T("alert.stop"), off}}
	msg, err := render(v, m.Account.Email, messageID(head), unsubscribeHeaders(off, n.c.Links.Public(), site.ID))
	if err != nil {
		return outbox.Result{Err: err, Permanent: true}
	}
	return n.deliver(ctx, msg, with)
}

// digestContext reads what a digest of comments shows besides them: the
// comments by id, the pages they are under, and the site.
func (n *Notifier) digestContext(ctx context.Context, siteID string, ids []string) (map[string]*comment.Comment, map[string]*comment.Thread, *comment.Site, error) {
	comments, err := n.c.Store.CommentsByID(ctx, ids)
	if err != nil {
		return nil, nil, nil, err
	}
	var threadIDs []string
	for _, c := range comments {
		threadIDs = append(threadIDs, c.ThreadID)
	}
	threads, err := n.c.Store.ThreadsByID(ctx, threadIDs)
	if err != nil {
		return nil, nil, nil, err
	}
	site, err := n.c.Store.Site(ctx, siteID)
	if err != nil {
		return nil, nil, nil, err
	}
	return comments, threads, site, nil
}
