package auth

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/i18n"
	"parley/internal/keys"
	"parley/internal/mail"
)

// VerifiedEmailStore remembers which email addresses have been confirmed
// through a link. Keys are keyed hashes of the address (64 hex
// characters), never the address.
type VerifiedEmailStore interface {
	// MarkEmailVerified records key as verified at the given time; marking
	// it again keeps the first time.
	MarkEmailVerified(ctx context.Context, key string, at time.Time) error
	// EmailVerified reports whether key was ever marked.
	EmailVerified(ctx context.Context, key string) (bool, error)
}

// VerifiedEmails answers "has this guest confirmed their email before?",
// so their comments can skip first-time moderation.
type VerifiedEmails struct {
	keys  *keys.Keys
	store VerifiedEmailStore
	now   func() time.Time
}

// NewVerifiedEmails returns VerifiedEmails over store.
func NewVerifiedEmails(secret []byte, store VerifiedEmailStore) (*VerifiedEmails, error) {
	k, err := newKeys(secret)
	if err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("auth: verified emails need a store")
	}
	return &VerifiedEmails{keys: k, store: store, now: time.Now}, nil
}

// Key is the keyed hash under which an address's confirmation is kept:
// what erasing a reader's data deletes.
func (v *VerifiedEmails) Key(email string) string { return v.key(email) }

func (v *VerifiedEmails) key(email string) string {
	return v.keys.Hash("verified-email", strings.ToLower(strings.TrimSpace(email)), 32)
}

// Mark records that the reader owning email proved it.
func (v *VerifiedEmails) Mark(ctx context.Context, email string) error {
	if err := v.store.MarkEmailVerified(ctx, v.key(email), v.now().UTC()); err != nil {
		return fmt.Errorf("mark email verified: %w", err)
	}
	return nil
}

// Verified reports whether email was proved before. Case and surrounding
// spaces do not matter.
func (v *VerifiedEmails) Verified(ctx context.Context, email string) (bool, error) {
	if email == "" {
		return false, nil
	}
	ok, err := v.store.EmailVerified(ctx, v.key(email))
	if err != nil {
		return false, fmt.Errorf("check verified email: %w", err)
	}
	return ok, nil
}

// Errors of email links.
var (
	// ErrBadEmail: the address is not one Parley can send to.
	ErrBadEmail = mail.ErrBadAddress
	// ErrBadLink: the link's token is not one Parley made.
	ErrBadLink = errors.New("log-in link not valid")
)

// LinkMaxAge is how long an emailed log-in link works.
const LinkMaxAge = 15 * time.Minute

// EmailProvider is the Identity.Provider of readers who logged in by email.
const EmailProvider = "email"

// EmailLinkConfig configures EmailLinks. All fields but Verified, SiteName
// and Now are required.
type EmailLinkConfig struct {
	Secret   []byte
	Mailer   mail.Mailer
	Once     OnceStore
	ReturnOK ReturnChecker
	// LinkURL is the absolute address of Parley's link page; the token is
	// added as the "token" query parameter.
	LinkURL string
	// Verified, if set, is told about every address confirmed by a link.
	Verified *VerifiedEmails
	// SiteName names a site in the message ("... to comment on NAME");
	// the site id is used without it.
	SiteName func(siteID string) string
	Now      func() time.Time
}

// EmailLinks logs readers in without a password: SendLink mails a
// single-use link that expires after LinkMaxAge, ConsumeLink accepts it
// once.
//
// The link carries a sealed token (AES-256-GCM under the server secret)
// with the address, site, return address, expiry and a random id; only
// the id is stored, when the link is used. Mail scanners open links
// before readers do, so the link page should ask the reader to press a
// button that posts the token, and call ConsumeLink only on that post.
type EmailLinks struct {
	keys     *keys.Keys
	mailer   mail.Mailer
	once     OnceStore
	returnOK ReturnChecker
	linkURL  *url.URL
	verified *VerifiedEmails
	siteName func(string) string
	now      func() time.Time
}

// NewEmailLinks checks c and returns EmailLinks.
func NewEmailLinks(c EmailLinkConfig) (*EmailLinks, error) {
	k, err := newKeys(c.Secret)
	if err != nil {
		return nil, err
	}
	if c.Mailer == nil || c.Once == nil || c.ReturnOK == nil {
		return nil, errors.New("auth: email links need a Mailer, a OnceStore and a ReturnChecker")
	}
	u, err := url.Parse(c.LinkURL)
	if err != nil || !absoluteHTTP(c.LinkURL) {
		return nil, errors.New("auth: the email link URL must be an absolute http(s) URL")
	}
	e := &EmailLinks{keys: k, mailer: c.Mailer, once: c.Once, returnOK: c.ReturnOK, linkURL: u,
		verified: c.Verified, siteName: c.SiteName, now: c.Now}
	if e.now == nil {
		e.now = time.Now
	}
	if e.siteName == nil {
		e.siteName = func(id string) string { return id }
	}
	return e, nil
}

// emailLink is the sealed content of a link token.
type emailLink struct {
	Email   string `json:"e"`
	Site    string `json:"s"`
	Return  string `json:"r"`
	Expires int64  `json:"x"`
	ID      string `json:"j"`
	Bind    string `json:"b,omitempty"`
	Lang    string `json:"l,omitempty"`
}

const linkPurpose = "email-link"

// NormalizeEmail returns the bare, lower-case form of a single address, or
// ErrBadEmail (mail.NormalizeAddress).
func NormalizeEmail(s string) (string, error) { return mail.NormalizeAddress(s) }

// LinkRequest is a reader's wish for a log-in link.
type LinkRequest struct {
	Email  string
	SiteID string
	// ReturnTo is the page the reader goes back to once logged in; the
	// site's ReturnChecker must allow it.
	ReturnTo string
	// Bind is the asking widget's browser key ("" without JavaScript; see
	// BeginRequest.Bind).
	Bind string
	// Lang is the reader's language: the email, and Parley's pages the
	// link leads to, speak it. "" means English.
	Lang string
}

// Check returns the error SendLink would return for r before it mails
// anything (ErrBadEmail, ErrBadBind, ErrBadReturn), so a caller can refuse
// a bad request before counting it against any limit.
func (e *EmailLinks) Check(r LinkRequest) error {
	if _, err := NormalizeEmail(r.Email); err != nil {
		return err
	}
	if r.Bind != "" && !ValidBind(r.Bind) {
		return ErrBadBind
	}
	if !absoluteHTTP(r.ReturnTo) || !e.returnOK(r.SiteID, r.ReturnTo) {
		return ErrBadReturn
	}
	return nil
}

// FormCheck binds the form of the link page to the browser it was shown
// in. The page sets a cookie holding a random nonce (SameSite=Strict, so
// no other site's page sends it) and puts FormCheck(nonce, token) in its
// form; a post that carries both, matching, came from that page, even when
// the browser hides where it was posted from (Origin: null).
func (e *EmailLinks) FormCheck(nonce, token string) string {
	return b64.EncodeToString(e.keys.Sum("email-link-form", []byte(nonce), []byte(token))[:16])
}

// FormCheckOK reports whether check is FormCheck(nonce, token).
func (e *EmailLinks) FormCheckOK(nonce, token, check string) bool {
	return nonce != "" && hmac.Equal([]byte(check), []byte(e.FormCheck(nonce, token)))
}

// SendLink mails a log-in link. It returns ErrBadEmail, ErrBadBind or
// ErrBadReturn, or the mailer's error.
//
// SendLink does not limit how often it is called: the handler must (per
// address and per client), or Parley becomes a way to flood inboxes.
func (e *EmailLinks) SendLink(ctx context.Context, r LinkRequest) error {
	if err := e.Check(r); err != nil {
		return err
	}
	addr, _ := NormalizeEmail(r.Email)
	now := e.now()
	l := emailLink{Email: addr, Site: r.SiteID, Return: r.ReturnTo, Expires: now.Add(LinkMaxAge).Unix(), ID: randomString(),
		Bind: r.Bind, Lang: knownLang(r.Lang)}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	u := *e.linkURL
	q := u.Query()
	q.Set("token", e.keys.Seal(linkPurpose, b))
	if l.Lang != "" {
		q.Set("lang", l.Lang) // for the link page, before the token is opened
	}
	u.RawQuery = q.Encode()
	msg := linkMessage(i18n.Get(l.Lang), addr, oneLine(e.siteName(r.SiteID)), u.String(), now)
	if err := e.mailer.Send(ctx, msg); err != nil {
		return fmt.Errorf("send log-in link: %w", err)
	}
	return nil
}

// ConsumeLink accepts a link's token once and returns the reader's
// identity, with the site and return address SendLink was given. It
// returns ErrBadLink, ErrExpired, ErrReplay or ErrBadReturn. The address
// is marked verified if EmailLinkConfig.Verified is set.
//
// The identity's subject is a keyed hash of the address, so the address
// does not end up in identity keys; Email holds it.
func (e *EmailLinks) ConsumeLink(ctx context.Context, token string) (*Result, error) {
	b, ok := e.keys.Unseal(linkPurpose, token, 4096)
	var l emailLink
	if !ok || json.Unmarshal(b, &l) != nil || l.ID == "" || l.Email == "" {
		return nil, ErrBadLink
	}
	exp := time.Unix(l.Expires, 0)
	res := &Result{Pending: Pending{Provider: EmailProvider, SiteID: l.Site, ReturnTo: l.Return,
		Mode: ModeRedirect, Bind: l.Bind, Lang: l.Lang, Started: exp.Add(-LinkMaxAge)}}
	if !e.now().Before(exp) {
		return res, ErrExpired
	}
	if err := e.once.UseOnce(ctx, "email:"+e.keys.Hash("email-link", l.ID, 32)[:64], exp); err != nil {
		if errors.Is(err, comment.ErrConflict) {
			return res, ErrReplay
		}
		return res, fmt.Errorf("use log-in link: %w", err)
	}
	if !e.returnOK(l.Site, l.Return) {
		return res, ErrBadReturn
	}
	if e.verified != nil {
		if err := e.verified.Mark(ctx, l.Email); err != nil {
			return res, err
		}
	}
	res.Identity = Identity{
		Provider:      EmailProvider,
		Subject:       e.keys.Hash("email-subject", l.Email, 32)[:32],
		Email:         l.Email,
		EmailVerified: true,
	}
	return res, nil
}

// oneLine keeps a name fit for a subject line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 100 {
		s = string(r[:100]) // whole characters: a subject stays valid UTF-8
	}
	return s
}

var linkHTML = template.Must(template.New("link").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}" dir="{{.Dir}}"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family:sans-serif;line-height:1.5;max-width:36em">
<p>{{.Hello}}</p>
<p>{{.Asked}}</p>
<p>{{.Open}}</p>
<p><a href="{{.Link}}">{{.Subject}}</a></p>
<p>{{.Once}}</p>
<p style="color:#555">{{.Copy}}<br>{{.Link}}</p>
</body></html>
`))

// linkMessage writes the log-in email in t's language.
func linkMessage(t *i18n.Table, to, site, link string, now time.Time) mail.Message {
	w := map[string]string{
		"Lang":    t.Lang(),
		"Dir":     t.Dir(),
		"Subject": t.T("page.login_to", "site", site),
		"Hello":   t.T("mail.hello"),
		"Asked":   t.T("mail.asked", "email", to, "site", site, "when", t.Date(now.UTC())+" UTC"),
		"Open":    t.T("mail.open", "time", t.N("mail.minutes", int(LinkMaxAge/time.Minute))),
		"Once":    t.T("mail.once"),
		"Copy":    t.T("mail.copy"),
		"Link":    link,
	}
	text := w["Hello"] + "\n\n" + w["Asked"] + "\n\n" + w["Open"] + "\n\n" + link + "\n\n" + w["Once"] + "\n"
	var html strings.Builder
	linkHTML.Execute(&html, w)
	return mail.Message{To: to, Subject: w["Subject"], Text: text, HTML: html.String(), Lang: t.Lang()}
}
