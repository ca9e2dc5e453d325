// Package login puts reader log-in together over Parley's store: the
// providers of the configuration, the browser flow, sessions, emailed
// log-in links, site SSO, and provider pictures that Parley serves itself.
// The pieces are in package auth; HTTP routes are in package httpapi.
package login

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"parley/internal/auth"
	"parley/internal/auth/provider"
	"parley/internal/comment"
	"parley/internal/mail"
	"parley/internal/ratelimit"
	"parley/internal/service"
	"parley/internal/spam"
	"parley/internal/store"
)

// Config configures log-in.
type Config struct {
	// Providers are the outside log-in providers, in the order readers see
	// them.
	Providers []provider.Config
	// SMTP, if set, turns on log-in by emailed link, and is the mail
	// server of every email Parley sends (package mail).
	SMTP *mail.Config
	// SessionTTL is how long a log-in lasts; auth.DefaultSessionTTL if 0.
	SessionTTL time.Duration

	// The fields below are set by the program, not the configuration file.

	// PublicURL is Parley's address. Email links need it; with https the
	// session cookie is SameSite=None (the comment form posts to Parley
	// from the article's site) and Secure.
	PublicURL string
	// Buckets keeps the email-link rate limits (shared by instances);
	// in memory if nil.
	Buckets ratelimit.Store
	// HTTPClient talks to providers; provider.DefaultClient if nil.
	HTTPClient *http.Client
	// Avatars fetches provider pictures; public addresses only if nil.
	Avatars *auth.AvatarFetcher
	// Mailer sends the log-in links: the server's one mailer over SMTP
	// (cmd/parley makes it with mail.NewSMTP), or a stand-in in tests. A
	// Mailer is made from SMTP when nil.
	Mailer mail.Mailer
	Logger *slog.Logger
	Now    func() time.Time
}

// Email-link limits: a reader asking again is fine, a script mailing
// strangers is not. Each is a bucket of Burst links that gains one back
// every Every: at most 3 links to an address and 10 from a client address
// at once, then one more of each every 10 minutes.
var (
	LinkLimitPerEmail = ratelimit.Limit{Burst: 3, Every: 10 * time.Minute}
	LinkLimitPerIP    = ratelimit.Limit{Burst: 10, Every: 10 * time.Minute}
)

// Login is reader log-in for one Parley server.
type Login struct {
	svc      *service.Service
	store    store.Store
	flow     *auth.Flow // nil without providers
	sessions *auth.Sessions
	links    *auth.EmailLinks // nil without email
	verified *auth.VerifiedEmails
	// perMail and perIP limit email links (LinkLimitPerEmail, LinkLimitPerIP).
	perMail, perIP *spam.RateLimiter
	avatars        *auth.AvatarFetcher
	log            *slog.Logger
	now            func() time.Time
	secure         bool
	ttl            time.Duration
	public         string // PublicURL without a trailing slash; "" if not set

	iconMu sync.Mutex
	icons  map[string]icon // generic providers' icons, fetched once
}

type icon struct {
	data []byte
	typ  string
	err  error     // the last fetch failed...
	till time.Time // ...and is not tried again before this
}

// iconRetry is how long a provider icon that could not be fetched is not
// tried again (every page view would try otherwise).
const iconRetry = 10 * time.Minute

// Secret returns the server secret log-in keys are derived from, creating
// it on first use; every instance sharing the store gets the same one.
func Secret(ctx context.Context, st store.Store) ([]byte, error) {
	return st.Secret(ctx, "login", func() []byte {
		b, _ := randomKey()
		return b
	})
}

// NewVerified returns the record of email addresses readers confirmed
// through log-in links. The service asks it whether a guest is new.
func NewVerified(ctx context.Context, st store.Store) (*auth.VerifiedEmails, error) {
	key, err := Secret(ctx, st)
	if err != nil {
		return nil, err
	}
	return auth.NewVerifiedEmails(key, st)
}

// New builds log-in from c, keeping readers' sessions, single-use keys
// and pictures in st (the store the service runs on). OpenID Connect
// providers are discovered now.
func New(ctx context.Context, svc *service.Service, st store.Store, c Config) (*Login, error) {
	key, err := Secret(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("log-in secret: %w", err)
	}
	l := &Login{svc: svc, store: st, avatars: c.Avatars, log: c.Logger, now: c.Now, ttl: c.SessionTTL,
		secure: strings.HasPrefix(c.PublicURL, "https://"), public: strings.TrimSuffix(c.PublicURL, "/"), icons: map[string]icon{}}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.ttl <= 0 {
		l.ttl = auth.DefaultSessionTTL
	}
	if l.avatars == nil {
		l.avatars = &auth.AvatarFetcher{}
	}
	if l.verified, err = auth.NewVerifiedEmails(key, st); err != nil {
		return nil, err
	}
	sameSite := http.SameSiteLaxMode
	if l.secure {
		// The no-JavaScript comment form sits on the article's site and
		// posts to Parley: only a SameSite=None cookie goes with it. The
		// form handler checks the Origin against the site's (CSRF).
		sameSite = http.SameSiteNoneMode
	}
	if l.sessions, err = auth.NewSessions(auth.SessionConfig{Secret: key, Store: st, Once: st, TTL: c.SessionTTL,
		CookieSameSite: sameSite, Now: c.Now}); err != nil {
		return nil, err
	}
	if len(c.Providers) > 0 {
		ps, err := provider.New(ctx, c.Providers, c.HTTPClient)
		if err != nil {
			return nil, err
		}
		if l.flow, err = auth.NewFlow(auth.FlowConfig{Secret: key, Providers: ps, Once: st, ReturnOK: l.ReturnOK, Now: c.Now}); err != nil {
			return nil, err
		}
	}
	mailer := c.Mailer
	if mailer == nil && c.SMTP != nil {
		if mailer, err = mail.NewSMTP(*c.SMTP); err != nil {
			return nil, err
		}
	}
	if mailer != nil {
		if c.PublicURL == "" {
			return nil, errors.New("log-in by email needs Parley's public address (--public-url) for its links")
		}
		if l.links, err = auth.NewEmailLinks(auth.EmailLinkConfig{Secret: key, Mailer: mailer, Once: st,
			ReturnOK: l.ReturnOK, LinkURL: strings.TrimSuffix(c.PublicURL, "/") + "/auth/email",
			Verified: l.verified, SiteName: l.siteName, Now: c.Now}); err != nil {
			return nil, err
		}
		buckets := c.Buckets
		if buckets == nil {
			buckets = ratelimit.NewMemory(10_000)
		}
		// Two limiters over the same buckets, so SendLink decides the order.
		l.perMail = spam.NewRateLimiter(buckets, append([]byte("email-link:"), key...))
		l.perMail.PerMail, l.perMail.PerIP = LinkLimitPerEmail, ratelimit.Limit{}
		l.perIP = spam.NewRateLimiter(buckets, append([]byte("email-link:"), key...))
		l.perIP.PerMail, l.perIP.PerIP = ratelimit.Limit{}, LinkLimitPerIP
	}
	return l, nil
}

func randomKey() ([]byte, error) {
	b := make([]byte, 32)
	_, err := rand.Read(b)
	return b, err
}

// Verified is the record of confirmed email addresses.
func (l *Login) Verified() *auth.VerifiedEmails { return l.verified }

// ReturnOK allows a log-in to send the reader back only to a page of the
// site's own origins, or to Parley's own reply page (ReplyURL) about one
// of them: Parley never redirects anywhere else.
func (l *Login) ReturnOK(siteID, u string) bool {
	if siteID == "" {
		// A staff log-in: only the desk itself.
		return l.public != "" && u == l.public+DeskPath
	}
	site, err := l.svc.Site(context.Background(), siteID)
	if err != nil {
		return false
	}
	if service.OnSite(site, u) {
		return true
	}
	if l.public == "" {
		return false
	}
	q, ok := strings.CutPrefix(u, l.public+ReplyPath(siteID)+"?")
	if !ok || strings.ContainsAny(q, "#?") {
		return false
	}
	v, err := url.ParseQuery(q)
	return err == nil && service.OnSite(site, v.Get("url"))
}

// ReplyPath is the path, under Parley's public address, of the page where
// a reader without JavaScript writes a comment once logged in: the
// article's own page cannot show them as logged in, since it was rendered
// by the site's server, not in their browser.
func ReplyPath(siteID string) string { return "/sites/" + url.PathEscape(siteID) + "/reply" }

// ReplyURL is Parley's reply page for a site's page: its thread key, its
// address and its title ("" for none). It is "" when Parley has no public
// address, which the page needs to be a return address for log-ins.
func (l *Login) ReplyURL(siteID, key, pageURL, title string) string {
	if l.public == "" {
		return ""
	}
	q := url.Values{"page": {key}, "url": {pageURL}}
	if title != "" {
		q.Set("title", title)
	}
	return l.public + ReplyPath(siteID) + "?" + q.Encode()
}

func (l *Login) siteName(siteID string) string {
	site, err := l.svc.Site(context.Background(), siteID)
	if err != nil {
		return siteID
	}
	return site.Name
}

// Choice is one log-in a site offers.
type Choice struct {
	ID, Name string
	// IconURL is the operator's icon of a generic provider ("" for the
	// built-in ones and email).
	IconURL string
}

// Choices returns the log-ins a site offers, in order: the site's own
// list when it has one (provider ids and "email"), else every provider
// followed by email.
func (l *Login) Choices(site *comment.Site) []Choice {
	var all []Choice
	if l.flow != nil {
		for _, p := range l.flow.Providers() {
			all = append(all, Choice{ID: p.ID(), Name: p.Name(), IconURL: p.IconURL()})
		}
	}
	if l.links != nil {
		all = append(all, Choice{ID: auth.EmailProvider, Name: "email"})
	}
	if site.Providers == nil {
		return all
	}
	var out []Choice
	for _, id := range site.Providers {
		if i := slices.IndexFunc(all, func(c Choice) bool { return c.ID == id }); i >= 0 {
			out = append(out, all[i])
		}
	}
	return out
}

// Offers reports whether a site offers the log-in with this id.
func (l *Login) Offers(site *comment.Site, id string) bool {
	return slices.ContainsFunc(l.Choices(site), func(c Choice) bool { return c.ID == id })
}

// ErrNotOffered means the site does not offer that log-in.
var ErrNotOffered = errors.New("this site does not offer that log-in")

// Begin starts a provider log-in for a site (see auth.Flow.Begin).
func (l *Login) Begin(w http.ResponseWriter, site *comment.Site, r auth.BeginRequest) (string, error) {
	if l.flow == nil || r.Provider == auth.EmailProvider || !l.Offers(site, r.Provider) {
		return "", ErrNotOffered
	}
	r.SiteID = site.ID
	return l.flow.Begin(w, r)
}

// Started is a finished log-in: the reader's new session and its token.
type Started struct {
	Result  *auth.Result
	Token   string
	Session *auth.Session
}

// Finish completes a provider log-in on its callback and starts a
// session. The Result is returned with errors too, when known, so the
// handler can answer in the right mode.
func (l *Login) Finish(w http.ResponseWriter, r *http.Request) (*Started, error) {
	if l.flow == nil {
		return nil, auth.ErrNoFlow
	}
	res, err := l.flow.Finish(w, r)
	if err != nil || res.Mode == auth.ModeStaff {
		// A staff log-in is the desk's to finish: no reader session.
		return &Started{Result: res}, err
	}
	return l.start(r.Context(), res)
}

// StaffProviders lists the providers staff may log in to the desk with:
// the outside ones (not email links), when Parley knows its public
// address (the desk is where the log-in comes back to).
func (l *Login) StaffProviders() []Choice {
	if l.flow == nil || l.public == "" {
		return nil
	}
	var out []Choice
	for _, p := range l.flow.Providers() {
		out = append(out, Choice{ID: p.ID(), Name: p.Name(), IconURL: p.IconURL()})
	}
	return out
}

// DeskPath is where a staff log-in with a provider comes back to.
const DeskPath = "/admin/"

// BeginStaff starts a provider log-in for the moderation desk, coming
// back to the desk (see auth.ModeStaff); lang is the desk's language.
func (l *Login) BeginStaff(w http.ResponseWriter, providerID, lang string) (string, error) {
	if l.flow == nil || l.public == "" || providerID == auth.EmailProvider {
		return "", ErrNotOffered
	}
	return l.flow.Begin(w, auth.BeginRequest{Provider: providerID, ReturnTo: l.public + DeskPath, Mode: auth.ModeStaff,
		CallbackURL: l.public + "/auth/" + url.PathEscape(providerID) + "/callback", Lang: lang})
}

func (l *Login) start(ctx context.Context, res *auth.Result) (*Started, error) {
	l.cacheAvatar(ctx, res.Identity)
	tok, sess, err := l.sessions.Create(ctx, res.Identity, res.SiteID)
	if err != nil {
		return &Started{Result: res}, err
	}
	l.log.Info("reader logged in", slog.Any("session", sess))
	return &Started{Result: res, Token: tok, Session: sess}, nil
}

// Handoff wraps a session token in a short-lived single-use code for a
// URL fragment or a message to the widget.
// It is bound to bind, the browser key of the widget that asked.
func (l *Login) Handoff(token, bind string) (string, error) { return l.sessions.Handoff(token, bind) }

// Redeem trades a hand-off code for its session token, once, in the
// browser whose key it was made for.
func (l *Login) Redeem(ctx context.Context, code, bind string) (string, *auth.Session, error) {
	tok, err := l.sessions.Redeem(ctx, code, bind)
	if err != nil {
		return "", nil, err
	}
	sess, err := l.sessions.Get(ctx, tok)
	if err != nil {
		return "", nil, err
	}
	return tok, sess, nil
}

// Session returns the session of a request (bearer token, else cookie)
// and its token; auth.ErrNoSession if there is none.
func (l *Login) Session(r *http.Request) (*auth.Session, string, error) {
	tok := auth.BearerToken(r)
	if tok == "" {
		if c, err := r.Cookie(auth.DefaultSessionCookie); err == nil {
			tok = c.Value
		}
	}
	if tok == "" {
		return nil, "", auth.ErrNoSession
	}
	sess, err := l.sessions.Get(r.Context(), tok)
	return sess, tok, err
}

// SessionFor returns the request's session for a site: one started on
// that site, whose log-in the site still offers (a provider the server
// still has and the site lists, or the site's SSO while it has a secret).
// Any other session is auth.ErrNoSession here: a session from one site
// does not get past another's guest policy or moderation.
func (l *Login) SessionFor(r *http.Request, site *comment.Site) (*auth.Session, string, error) {
	sess, tok, err := l.Session(r)
	if err != nil {
		return nil, "", err
	}
	if !l.valid(site, sess) {
		return nil, "", auth.ErrNoSession
	}
	return sess, tok, nil
}

func (l *Login) valid(site *comment.Site, sess *auth.Session) bool {
	if sess.SiteID != site.ID {
		return false
	}
	p := sess.Identity.Provider
	if strings.HasPrefix(p, auth.SSOProvider+"-") {
		return p == auth.SSOProviderFor(site.ID) && site.SSOSecret != ""
	}
	return l.Offers(site, p)
}

// Logout ends one session.
func (l *Login) Logout(ctx context.Context, token string) error {
	return l.sessions.Revoke(ctx, token)
}

// LogoutAll ends every session of the reader's identity.
func (l *Login) LogoutAll(ctx context.Context, sess *auth.Session) (int, error) {
	return l.sessions.RevokeAll(ctx, sess.Identity.Key())
}

// Cookie and ClearCookie are the session cookie of the pages Parley
// renders itself and of the flow without JavaScript.
func (l *Login) Cookie(token string, sess *auth.Session) *http.Cookie {
	return l.sessions.Cookie(token, sess, l.secure)
}

// ClearCookie removes the session cookie.
func (l *Login) ClearCookie() *http.Cookie { return l.sessions.ClearCookie(l.secure) }

// SessionTTL is how long a log-in lasts.
func (l *Login) SessionTTL() time.Duration { return l.ttl }

// Email reports whether log-in by email link is configured at all.
func (l *Login) Email() bool { return l.links != nil }

// SendLink mails a log-in link for site (r.SiteID is set from it),
// within the per-address and per-client (ip) limits: a
// *spam.RateLimitError when over. A request refused for a bad address,
// page or key is refused before it counts; one refused by the address's
// limit (a reader asking again and again for their own) does not use the
// client address's allowance.
func (l *Login) SendLink(ctx context.Context, site *comment.Site, r auth.LinkRequest, ip string) error {
	if l.links == nil || !l.Offers(site, auth.EmailProvider) {
		return ErrNotOffered
	}
	addr, err := auth.NormalizeEmail(r.Email)
	if err != nil {
		return err
	}
	r.Email, r.SiteID = addr, site.ID
	if err := l.links.Check(r); err != nil {
		return err
	}
	if err := l.perMail.Allow(ctx, &spam.Input{Email: addr}, l.now()); err != nil {
		return err
	}
	if err := l.perIP.Allow(ctx, &spam.Input{IP: ip}, l.now()); err != nil {
		return err
	}
	return l.links.SendLink(ctx, r)
}

// LinkFormCookie names the cookie that binds the email link page's form
// to the browser it was shown in (see LinkForm).
const LinkFormCookie = "parley_link_form"

// LinkForm returns what the email link page needs so that its post is
// known for its own when the browser hides where it came from (Origin:
// null): a cookie with a random nonce, sent back only by Parley's own
// pages (SameSite=Strict, on /auth/email), and the check the form carries.
func (l *Login) LinkForm(token string) (*http.Cookie, string) {
	if l.links == nil {
		return nil, ""
	}
	b := make([]byte, 16)
	rand.Read(b)
	nonce := base64.RawURLEncoding.EncodeToString(b)
	c := &http.Cookie{Name: LinkFormCookie, Value: nonce, Path: "/auth/email", MaxAge: int(auth.LinkMaxAge / time.Second),
		HttpOnly: true, Secure: l.secure, SameSite: http.SameSiteStrictMode}
	return c, l.links.FormCheck(nonce, token)
}

// LinkFormOK reports whether a post of the email link page's form came
// from the page Parley showed this browser (LinkForm).
func (l *Login) LinkFormOK(r *http.Request, token, check string) bool {
	c, err := r.Cookie(LinkFormCookie)
	return err == nil && l.links != nil && l.links.FormCheckOK(c.Value, token, check)
}

// ConsumeLink accepts an emailed link once and starts a session.
func (l *Login) ConsumeLink(ctx context.Context, token string) (*Started, error) {
	if l.links == nil {
		return nil, auth.ErrBadLink
	}
	res, err := l.links.ConsumeLink(ctx, token)
	if err != nil {
		return &Started{Result: res}, err
	}
	return l.start(ctx, res)
}

// SSO trades a site's signed token for a session of the reader it names.
func (l *Login) SSO(ctx context.Context, site *comment.Site, token string) (*Started, error) {
	if site.SSOSecret == "" {
		return nil, ErrNotOffered
	}
	// Once only: a copy of the token (from a cached page, a log, a
	// shared link) must not log anyone else in as this reader.
	id, err := auth.VerifySSOOnce(ctx, l.store, "site:"+site.ID, token, []byte(site.SSOSecret), l.now())
	if err != nil {
		return nil, err
	}
	// Ids are the site's own, so they are scoped to it.
	id.Provider = auth.SSOProviderFor(site.ID)
	return l.start(ctx, &auth.Result{Pending: auth.Pending{Provider: id.Provider, SiteID: site.ID, Mode: auth.ModePopup, Started: l.now()}, Identity: *id})
}

// Account names what a reader logged in with, for "You are commenting
// using your NAME account": the provider's name, the site's name for its
// own accounts, or the email address for an emailed link.
func (l *Login) Account(ctx context.Context, sess *auth.Session) string {
	p := sess.Identity.Provider
	switch {
	case p == auth.EmailProvider:
		return sess.Identity.Email
	case strings.HasPrefix(p, auth.SSOProvider+"-"):
		return l.siteName(strings.TrimPrefix(p, auth.SSOProvider+"-"))
	}
	if l.flow != nil {
		if pr, ok := l.flow.Provider(p); ok {
			return pr.Name()
		}
	}
	return p
}

// Author is the comment author a session stands for.
func Author(sess *auth.Session) comment.Author {
	id := sess.Identity
	// An emailed link vouches for an address, not a name: that reader's
	// name is the one they type (Name is "").
	return comment.Author{Name: id.Name, Email: id.Email, Website: id.ProfileURL, Identity: id.Key()}
}

// AvatarRefresh is how old a cached provider picture may get before a new
// log-in fetches it again.
const AvatarRefresh = 24 * time.Hour

// cacheAvatar fetches the reader's picture from the provider and keeps it,
// so Parley can serve it. A failure only costs the picture: the reader
// gets an identicon.
func (l *Login) cacheAvatar(ctx context.Context, id auth.Identity) {
	key := l.svc.AvatarKey(comment.Author{Identity: id.Key()})
	if id.AvatarURL == "" {
		// No picture from the log-in (an email link, say): one found for a
		// confirmed address at a Gravatar-compatible service, if Parley
		// looks there.
		if id.EmailVerified {
			l.svc.WantPicture(key, id.Email)
		}
		return
	}
	if a, err := l.store.Avatar(ctx, key); err == nil && l.now().Sub(a.Updated) < AvatarRefresh {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	data, typ, err := l.avatars.Fetch(ctx, id.AvatarURL)
	if err != nil {
		l.log.Warn("could not fetch a reader's picture", slog.Any("identity", id), slog.String("err", err.Error()))
		return
	}
	if err := l.store.SaveAvatar(ctx, &store.Avatar{Key: key, ContentType: typ, Data: data, Updated: l.now().UTC()}); err != nil {
		l.log.Warn("could not keep a reader's picture", slog.String("err", err.Error()))
	}
}

// Icon returns a generic provider's configured icon, fetched once and
// kept in memory, so readers' browsers load it from Parley.
func (l *Login) Icon(ctx context.Context, id string) ([]byte, string, error) {
	if l.flow == nil {
		return nil, "", comment.ErrNotFound
	}
	p, ok := l.flow.Provider(id)
	if !ok || p.IconURL() == "" {
		return nil, "", comment.ErrNotFound
	}
	l.iconMu.Lock()
	ic, ok := l.icons[id]
	l.iconMu.Unlock()
	if ok && (ic.err == nil || l.now().Before(ic.till)) {
		return ic.data, ic.typ, ic.err
	}
	data, typ, err := l.avatars.Fetch(ctx, p.IconURL())
	ic = icon{data: data, typ: typ, err: err, till: l.now().Add(iconRetry)}
	l.iconMu.Lock()
	l.icons[id] = ic
	l.iconMu.Unlock()
	return data, typ, err
}

// Prune deletes expired sessions and single-use records.
func (l *Login) Prune(ctx context.Context) (int, error) {
	return l.store.PruneAuth(ctx, l.now())
}
