package notify

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"parley/internal/i18n"
	"parley/internal/outbox"
	"parley/internal/store"
)

// A reader's link to their data: asked for with an address on a site's
// privacy page, sent through the outbox like every email, good once and
// for PrivacyTTL. The address travels in the message's payload, never in
// the link: the link names the message (its nonce) and the address's
// key, and the page opening it reads the address back from the outbox.

// PrivacyTTL is how long a link to a reader's data stays good.
const PrivacyTTL = 15 * time.Minute

// PrivacyThrottle: at most one link a minute to one address about one
// site, whatever the form is made to send.
const PrivacyThrottle = time.Minute

// PurposePrivacy is the purpose of a link to a reader's data;
// PurposePrivacyGrant that of the token the page opening it hands the
// reader's browser for the download and the erasure.
const (
	PurposePrivacy      = "privacy"
	PurposePrivacyGrant = "privacy-grant"
)

// PrivacyPath is the page a link to a reader's data opens.
const PrivacyPath = "/privacy/data"

// mailPrivacy is the email type of a link to a reader's data.
const mailPrivacy = "privacy"

// PrivacyStream is the stream of links to one address's data on a site.
func PrivacyStream(siteID, emailKey string) string { return "p:" + siteID + ":" + emailKey }

// PrivacyMessage returns the email that carries a link to the data of
// the reader with address email (lower-case, checked) on every site.
func (n *Notifier) PrivacyMessage(siteID, email, lang string, now time.Time) *store.Message {
	key := n.c.Links.EmailKey(email)
	b, _ := json.Marshal(emailPayload{Type: mailPrivacy, EmailKey: key, Email: email, Lang: lang})
	slot := now.Unix() / int64(PrivacyThrottle/time.Second)
	return &store.Message{
		Key: "privacy:" + siteID + ":" + key + ":" + strconv.FormatInt(slot, 10), Kind: store.KindEmail,
		Stream: PrivacyStream(siteID, key), SiteID: siteID, Target: key, Payload: string(b),
		Created: now.UTC(), Deadline: now.Add(PrivacyTTL).UTC(),
	}
}

// PrivacyAddress returns the address a link to a reader's data was sent
// to: the payload of the message it names, if that message's address
// has the link's key.
func PrivacyAddress(m *store.Message, emailKey string) (string, bool) {
	var p emailPayload
	if m.Kind != store.KindEmail || json.Unmarshal([]byte(m.Payload), &p) != nil || p.Type != mailPrivacy || p.Email == "" || p.EmailKey != emailKey {
		return "", false
	}
	return p.Email, true
}

// sendPrivacy emails the link. It expires PrivacyTTL after it was asked
// for, not after it was sent: a link held up in the outbox arrives
// expired rather than lives longer.
func (n *Notifier) sendPrivacy(ctx context.Context, head *store.Message, p emailPayload) outbox.Result {
	if !n.now().Before(head.Created.Add(PrivacyTTL)) {
		return outbox.Result{Drop: true}
	}
	site, err := n.c.Store.Site(ctx, head.SiteID)
	if err != nil {
		return outbox.Result{Err: err}
	}
	t := i18n.Get(p.Lang)
	link := n.c.Links.URL(PrivacyPath, PurposePrivacy, Token{Site: site.ID, EmailKey: p.EmailKey, Lang: t.Lang(),
		Nonce: strconv.FormatInt(head.ID, 10), Expires: head.Created.Add(PrivacyTTL).Unix()})
	v := &emailView{Lang: t.Lang(), Dir: t.Dir(), Site: site.Name,
		Subject: t.T("mail.privacy_subject", "site", site.Name),
		Intro:   t.T("mail.privacy_intro", "email", p.Email, "site", site.Name)}
	v.Button = &emailLink{t.T("mail.privacy_button"), link}
	v.Note = t.T("mail.privacy_ignore")
	msg, err := render(v, p.Email, messageID(head), nil)
	if err != nil {
		return outbox.Result{Err: err, Permanent: true}
	}
	return n.deliver(ctx, msg, nil)
}
