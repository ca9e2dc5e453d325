// Package service holds Parley's rules: who may post where, how a comment
// is checked, rendered and stored, and how a thread is assembled for
// readers. Every front end (JSON API, HTML form, CLI) goes through it, never
// straight to the store, so the rules are written once for every backend.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"parley/internal/auth"
	"parley/internal/comment"
	"parley/internal/keys"
	"parley/internal/markup"
	"parley/internal/ratelimit"
	"parley/internal/spam"
	"parley/internal/store"
)

// Checker judges a new comment before it is stored: the spam pipeline's
// layers implement it. It returns the status it wants (empty for no
// opinion) and its verdict, which is recorded with the comment. A Checker
// that fails should return an error; the comment is then held, never lost.
type Checker interface {
	Check(ctx context.Context, c *comment.Comment, m Meta) (comment.Status, comment.Verdict, error)
}

// Meta is what the server knows about the request that posted a comment.
type Meta struct {
	IP        string // client address; hashed before it is stored
	UserAgent string
	Reader    string // the reader's signed token, if any
	// Honeypot is the value of the form's hidden trap field.
	Honeypot string
	// FormAge is how long ago the form was rendered, from its signed
	// token; -1 when unknown.
	FormAge time.Duration
	// PostKey is the poster's idempotency key (the Idempotency-Key
	// header, the plain form's key field), "" for none. Post stores a
	// comment once per key and content: a retry gets the first answer.
	PostKey string
}

// MaxPostKeyLen is the longest idempotency key Post takes.
const MaxPostKeyLen = 128

// checkPostKey refuses keys that are not short printable ASCII, as the
// Idempotency-Key header is.
func checkPostKey(k string) error {
	if len(k) > MaxPostKeyLen {
		return &comment.ValidationError{Field: "idempotency_key", Code: "invalid_idempotency_key", Message: "The idempotency key is too long (at most 128 characters)."}
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return &comment.ValidationError{Field: "idempotency_key", Code: "invalid_idempotency_key", Message: "The idempotency key must be printable ASCII without spaces."}
		}
	}
	return nil
}

// postKey is what the store keeps for a post's idempotency key: a keyed
// hash of the key together with what was posted. The same key with other
// content is another post: a form that a static site baked into its page
// hands one key to every reader, and their comments must not be taken
// for retries of each other.
func (s *Service) postKey(key string, c *comment.Comment, page string) string {
	if key == "" {
		return ""
	}
	return s.sign.Hash("post-key", strings.Join([]string{key, c.SiteID, page, c.ParentID, c.Author.Name, c.Author.Email,
		c.Author.Website, c.Author.Identity, c.Markdown}, "\x00"), 16)
}

// Service is the one way into Parley's data.
type Service struct {
	store store.Store
	log   *slog.Logger
	// ipRetention is the server's period for address hashes (IPRetention).
	ipRetention time.Duration
	checkers    []Checker
	learners    []Learner
	spam        *spamFilter
	verified    func(ctx context.Context, email string) (bool, error)
	// verifiedKey is Options.VerifiedKey.
	verifiedKey func(email string) string
	pictures    Pictures
	notify      *NotifyOptions
	posted      func(status comment.Status, layer string)
	sign        *keys.Keys // the server secret: tokens, keyed hashes
	now         func() time.Time
	// listening says whether Run hears changes yet (see listenReady).
	listening atomic.Int32

	sites   sync.Map // site id -> cachedSite; sites change rarely and are read on every request
	threads *threadCache
	live    liveHub
	likes   likeCoalescer
	// likeLimits and likeBuckets bound how often one client and one
	// reader may like.
	likeLimits  LikeLimits
	likeBuckets *spam.RateLimiter
	cm          community // sanctions, rules and article state (community.go)
}

// Options configure a Service.
type Options struct {
	Logger   *slog.Logger
	Checkers []Checker
	Learners []Learner
	// Spam turns on the spam defence: bot traps, rules and the classifier.
	Spam *SpamOptions
	// Verified, if set, tells whether a guest's email address was
	// confirmed through an emailed log-in link: such a guest is no longer
	// a first-time commenter (package auth, VerifiedEmails.Verified).
	Verified func(ctx context.Context, email string) (bool, error)
	// VerifiedKey, if set, returns the key under which Verified keeps an
	// address (VerifiedEmails.Key): erasing a reader's data deletes it.
	VerifiedKey func(email string) string
	// Pictures, if set, is told the avatar key and address of every guest
	// who comments with an email address, to look for their picture
	// (package gravatar). Their avatar is then served from the store,
	// falling back to the identicon.
	Pictures Pictures
	// Notify, if set, turns on email notifications and webhooks.
	Notify *NotifyOptions
	// Likes bounds likes per client and per reader; nil means
	// DefaultLikeLimits.
	Likes *LikeLimits
	// Posted, if set, is told the outcome of every comment a reader
	// posted and the layer of the verdict that decided it ("" when none
	// objected), once it is stored or discarded: what the operator's
	// metrics count (package metrics).
	Posted func(status comment.Status, layer string)
	// IPRetention is how long comments' address hashes and user agents
	// are kept on sites that do not set their own period;
	// comment.DefaultIPRetention if zero. The retention job does the
	// forgetting; the service tells readers and staff the period.
	IPRetention time.Duration
	Now         func() time.Time // for tests; time.Now by default
}

// MaxIPRetention is the longest a site may keep its comments' address
// hashes and user agents.
const MaxIPRetention = 2 * 365 * 24 * time.Hour

// IPRetention is how long a site keeps its comments' address hashes and
// user agents: its own period, or the server's.
func (s *Service) IPRetention(site *comment.Site) time.Duration {
	return site.KeepsClientData(s.ipRetention)
}

// ipHashes returns the keyed hashes a comment keeps of the address it was
// posted from: the address's, and its network's (comment.IPNetwork),
// which replaces it when the retention period ends. "" gives "", "".
func (s *Service) ipHashes(ip string) (addr, network string) {
	if ip == "" {
		return "", ""
	}
	return s.sign.Hash("ip", ip, 12), s.sign.Hash("ipnet", comment.IPNetwork(ip), 12)
}

// LikeLimits bound likes (and unlikes): a token bucket per client
// address (an IPv6 client's /64) and one per reader token. A zero Limit
// turns one off.
type LikeLimits struct {
	PerIP, PerReader ratelimit.Limit
}

// DefaultLikeLimits are generous for people (an office behind one
// address, a reader going through a thread) and stop a client that
// likes and unlikes hundreds of times a second.
var DefaultLikeLimits = LikeLimits{
	PerIP:     ratelimit.Limit{Burst: 60, Every: time.Second},
	PerReader: ratelimit.Limit{Burst: 20, Every: 3 * time.Second},
}

// Pictures looks for readers' pictures in the background.
type Pictures interface {
	Want(key, email string)
}

// New returns a Service over st. It reads (or creates) the server secret.
func New(ctx context.Context, st store.Store, opt Options) (*Service, error) {
	key, err := st.Secret(ctx, "signing", func() []byte { return randomBytes(32) })
	if err != nil {
		return nil, fmt.Errorf("read server secret: %w", err)
	}
	s := &Service{store: st, log: opt.Logger, checkers: opt.Checkers, learners: opt.Learners, verified: opt.Verified, verifiedKey: opt.VerifiedKey, pictures: opt.Pictures, notify: opt.Notify, posted: opt.Posted, now: opt.Now, threads: newThreadCache(20_000)}
	if s.sign, err = keys.New(key); err != nil {
		return nil, fmt.Errorf("server secret: %w", err)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.ipRetention = opt.IPRetention; s.ipRetention <= 0 {
		s.ipRetention = comment.DefaultIPRetention
	}
	s.likes = likeCoalescer{every: LikeInterval, flush: s.likesChanged}
	s.likeLimits = DefaultLikeLimits
	if opt.Likes != nil {
		s.likeLimits = *opt.Likes
	}
	// Like limits live where the comment rate limits do (shared by every
	// instance on PostgreSQL), or in memory.
	var buckets ratelimit.Store = ratelimit.NewMemory(100_000)
	if opt.Spam != nil && opt.Spam.Buckets != nil {
		buckets = opt.Spam.Buckets
	}
	s.likeBuckets = spam.NewRateLimiter(buckets, s.sign.Sum("like-limit"))
	if opt.Spam != nil {
		if s.spam, err = newSpamFilter(s, *opt.Spam); err != nil {
			return nil, fmt.Errorf("spam filter: %w", err)
		}
		s.learners = append(s.learners, s.spam)
	}
	return s, nil
}

// SiteCacheTTL is how long an instance trusts its copy of a site's
// settings; a change made through another instance (or the CLI) is seen
// within it.
const SiteCacheTTL = 30 * time.Second

type cachedSite struct {
	site    *comment.Site
	expires time.Time
}

// Ping reports whether the service can serve.
func (s *Service) Ping(ctx context.Context) error {
	if s.listening.Load() == listenStarting {
		return errors.New("not yet listening for changes")
	}
	return s.store.Ping(ctx)
}

// Site returns a site by id. Returns comment.ErrNotFound if there is none.
func (s *Service) Site(ctx context.Context, id string) (*comment.Site, error) {
	if !validSiteID(id) {
		return nil, &comment.ValidationError{Field: "site", Code: "invalid_site", Message: "A site id is 1 to 64 letters, digits, '-' or '_'."}
	}
	if v, ok := s.sites.Load(id); ok && s.now().Before(v.(cachedSite).expires) {
		return v.(cachedSite).site, nil
	}
	site, err := s.store.Site(ctx, id)
	if err != nil {
		return nil, err
	}
	s.sites.Store(id, cachedSite{site, s.now().Add(SiteCacheTTL)})
	return site, nil
}

// NormalizeSite checks a site's fields and fills defaults.
func NormalizeSite(site *comment.Site) error {
	if !validSiteID(site.ID) {
		return comment.Invalid("id", "A site id is 1 to 64 letters, digits, '-' or '_'.")
	}
	if strings.TrimSpace(site.Name) == "" {
		site.Name = site.ID
	}
	if len(site.Origins) == 0 {
		return comment.Missing("origin", "A site needs at least one allowed origin, such as https://news.example.")
	}
	for i, o := range site.Origins {
		n, err := NormalizeOrigin(o)
		if err != nil {
			return err
		}
		site.Origins[i] = n
	}
	if site.MaxDepth == 0 {
		site.MaxDepth = comment.DefaultMaxDepth
	}
	if site.MaxDepth < 1 || site.MaxDepth > 20 {
		return comment.Invalid("max_depth", "Reply depth must be between 1 and 20.")
	}
	if site.EditWindow < 0 || site.EditWindow > 7*24*time.Hour {
		return comment.Invalid("edit_window", "The edit window must be between 0 (no editing) and 7 days.")
	}
	if site.IPRetention < 0 || site.IPRetention > MaxIPRetention || (site.IPRetention > 0 && site.IPRetention < time.Hour) {
		return comment.Invalid("ip_retention", "Address hashes and user agents are kept between 1 hour and 2 years (0: the server's period).")
	}
	switch site.Moderation {
	case "":
		site.Moderation = comment.ModerateNone
	case comment.ModerateNone, comment.ModerateAll, comment.ModerateFirst:
	default:
		return comment.Invalid("moderation", "Moderation must be none, all or first.")
	}
	g, err := comment.ParseGuestPolicy(string(site.Guests))
	if err != nil {
		return err
	}
	site.Guests = g
	seen := map[string]bool{}
	for _, p := range site.Providers {
		if !validProviderID(p) || seen[p] {
			return comment.Invalid("providers", fmt.Sprintf("%q is not a log-in id (lower-case letters, digits and -, each once), such as google, github or email.", p))
		}
		seen[p] = true
	}
	return nil
}

func validProviderID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func validSiteID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// NormalizeOrigin turns "https://News.Example/" into "https://news.example".
func NormalizeOrigin(o string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(o))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "", comment.Invalid("origin", fmt.Sprintf("%q is not an origin; write it as https://host or http://host:port.", o))
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

// OriginOf returns the origin of an absolute http(s) URL, or "".
func OriginOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + strings.ToLower(u.Host)
}

// Allowed reports whether origin is one of the site's allowed origins.
func Allowed(site *comment.Site, origin string) bool {
	origin = strings.ToLower(origin)
	for _, o := range site.Origins {
		if o == origin {
			return true
		}
	}
	return false
}

// OnSite reports whether u is an absolute http(s) address on one of the
// site's allowed origins.
func OnSite(site *comment.Site, u string) bool {
	o := OriginOf(u)
	return o != "" && Allowed(site, o)
}

// PageKey cleans a page key sent by a widget or form: a URL loses its
// fragment, so "#comment-3" links land in the same thread.
func PageKey(key string) string {
	key = strings.TrimSpace(key)
	if i := strings.IndexByte(key, '#'); i >= 0 && OriginOf(key) != "" {
		key = key[:i]
	}
	return key
}

// Post checks a reader's draft and stores it as a comment. The returned
// comment's Status says whether it was published (approved) or held
// (pending); spam is reported as held, so a spammer learns nothing.
func (s *Service) Post(ctx context.Context, d comment.Draft, m Meta) (*comment.Comment, error) {
	d.Page = PageKey(d.Page)
	site, err := s.Site(ctx, d.SiteID)
	if err != nil {
		return nil, err
	}
	if d.Identity == "" && site.Guests == comment.GuestsLogin {
		return nil, comment.ErrLoginRequired
	}
	if err := checkPostKey(m.PostKey); err != nil {
		return nil, err
	}
	d.Anonymous = site.Guests == comment.GuestsAnonymous
	if err := d.Normalize(); err != nil {
		return nil, err
	}
	sub, confirm, err := s.subscription(site, d)
	if err != nil {
		return nil, err
	}
	// A thread may only be created for a page of the site's own origins;
	// an explicit page id is vouched for by the URL it was posted from.
	if !OnSite(site, d.PageURL) {
		return nil, comment.Invalid("page", "Comments can only be posted from this site's own pages.")
	}
	if o := OriginOf(d.Page); o != "" && !Allowed(site, o) {
		return nil, comment.Invalid("page", "Comments can only be posted from this site's own pages.")
	}
	now := s.now().UTC()
	c := &comment.Comment{
		ID:       comment.NewID(now),
		SiteID:   site.ID,
		ParentID: strings.TrimSpace(d.ParentID),
		Author:   comment.Author{Name: d.Name, Email: strings.ToLower(d.Email), Website: d.Website, Identity: d.Identity},
		Markdown: d.Body,
		HTML:     markup.Render(d.Body),
		Status:   comment.StatusApproved,
		Created:  now,
	}
	if c.Author.Name == "" {
		c.Author.Name = "Anonymous"
	}
	c.IPHash, c.IPNet = s.ipHashes(m.IP)
	if len(m.UserAgent) > 500 {
		m.UserAgent = m.UserAgent[:500]
	}
	c.UserAgent = m.UserAgent
	if r, ok := s.readerID(m.Reader); ok {
		c.Reader = r
	}
	// A retry of a post that was stored gets the first answer, before
	// any check: it is neither a second comment nor a duplicate.
	if c.PostKey = s.postKey(m.PostKey, c, d.Page); c.PostKey != "" {
		switch first, err := s.store.PostedComment(ctx, site.ID, c.PostKey); {
		case err == nil:
			return reported(first), nil
		case !errors.Is(err, comment.ErrNotFound):
			return nil, err
		}
	}
	if c.ParentID != "" {
		if comment.CheckID(c.ParentID) != nil {
			return nil, comment.Invalid("parent", "The comment you are replying to no longer exists.")
		}
		parent, err := s.store.Comment(ctx, c.ParentID)
		if err != nil || parent.SiteID != site.ID || parent.Status != comment.StatusApproved {
			return nil, comment.Invalid("parent", "The comment you are replying to no longer exists.")
		}
	}
	// Closed articles, sanctions, the site's rules, surges: community.go.
	g, err := s.guardPost(ctx, site, c, d.Page, m)
	if err != nil {
		return nil, err
	}
	if err := s.judge(ctx, site, c, m, d.PageURL); err != nil {
		return nil, err
	}
	g.apply(c)
	if c.Status == comment.StatusDeleted {
		// Discarded spam is never stored; the poster is told it is held.
		s.countPosted(c)
		c.Status = comment.StatusPending
		return c, nil
	}
	page := comment.Page{SiteID: site.ID, Key: d.Page, URL: d.PageURL, Title: d.Title}
	if err := s.create(ctx, page, c, sub, confirm); err != nil {
		if s.spam != nil {
			s.spam.unseen(site, c, m, d.PageURL)
		}
		if errors.Is(err, comment.ErrNotFound) && c.ParentID != "" {
			return nil, comment.Invalid("parent", "The comment you are replying to no longer exists.")
		}
		if errors.Is(err, comment.ErrConflict) && c.PostKey != "" {
			// The same post, sent twice at once: the other one was stored.
			if first, ferr := s.store.PostedComment(ctx, site.ID, c.PostKey); ferr == nil {
				return reported(first), nil
			}
		}
		return nil, err
	}
	s.threads.invalidate(pageGenKey(site.ID, d.Page), threadGenKey(c.ThreadID))
	s.rememberHeldLang(ctx, site, c, d.Lang) // decisionmail.go
	s.countPosted(c)
	if c.Status == comment.StatusSpam {
		c.Status = comment.StatusPending
	} else if c.Author.Identity == "" {
		s.WantPicture(s.AvatarKey(c.Author), c.Author.Email)
	}
	return c, nil
}

// countPosted tells Options.Posted how a reader's comment came out.
func (s *Service) countPosted(c *comment.Comment) {
	if s.posted != nil {
		s.posted(c.Status, c.Verdict.Layer)
	}
}

// judge sets c.Status and c.Verdict from the site's moderation policy and
// the spam checkers. The strictest outcome wins. It returns an error only
// when the comment must be refused (a rate limit), not stored.
func (s *Service) judge(ctx context.Context, site *comment.Site, c *comment.Comment, m Meta, pageURL string) error {
	switch site.Moderation {
	case comment.ModerateAll:
		c.Status = comment.StatusPending
		c.Verdict = record("moderation", "moderation_all")
	case comment.ModerateFirst:
		// A reader is known by an approved comment: by their log-in when
		// logged in with a provider (whose email may be unshared or
		// unverified), else by email address.
		id, email := c.Author.Identity, c.Author.Email
		byEmail := id == "" || strings.HasPrefix(id, auth.EmailProvider+":")
		// The site vouches for its own accounts.
		known := id != "" && strings.HasPrefix(id, auth.SSOProviderFor(site.ID)+":")
		// ask runs one lookup while the author is not known yet; a failed
		// one leaves them unknown, so the comment is held.
		ask := func(lookup func() (bool, error)) {
			if known {
				return
			}
			ok, err := lookup()
			known = ok
			if err != nil {
				s.log.Warn("could not tell whether an author is new; holding", slog.String("err", err.Error()))
			}
		}
		switch {
		case !byEmail:
			ask(func() (bool, error) { return s.store.IdentityApproved(ctx, site.ID, id) })
		case email != "":
			ask(func() (bool, error) { return s.store.AuthorApproved(ctx, site.ID, email) })
			if s.verified != nil {
				// A guest who once confirmed this address through an
				// emailed log-in link is recognised.
				ask(func() (bool, error) { return s.verified(ctx, email) })
			}
		}
		if !known {
			c.Status = comment.StatusPending
			c.Verdict = record("moderation", "moderation_first")
		}
	}
	if s.spam != nil {
		st, v, err := s.spam.check(ctx, site, c, m, pageURL)
		if err != nil {
			return err
		}
		if severity(st) > severity(c.Status) || (severity(st) == severity(c.Status) && c.Verdict.Layer == "") {
			c.Status, c.Verdict = st, v
		}
	}
	for _, ch := range s.checkers {
		st, v, err := ch.Check(ctx, c, m)
		if err != nil {
			s.log.Warn("spam check failed; holding comment", slog.String("layer", v.Layer), slog.String("err", err.Error()))
			st, v = comment.StatusPending, record(v.Layer, "check_failed", "layer", v.Layer)
		}
		if severity(st) > severity(c.Status) {
			c.Status, c.Verdict = st, v
		} else if c.Verdict.Layer == "" && v.Layer != "" {
			c.Verdict = v
		}
	}
	return nil
}

func severity(s comment.Status) int {
	switch s {
	case comment.StatusPending:
		return 1
	case comment.StatusSpam:
		return 2
	case comment.StatusDeleted:
		return 3
	}
	return 0
}

// Counts returns approved comment counts for page keys of a site.
func (s *Service) Counts(ctx context.Context, siteID string, keys []string) (map[string]int, error) {
	if _, err := s.Site(ctx, siteID); err != nil {
		return nil, err
	}
	if len(keys) > 200 {
		return nil, comment.Invalid("page", "Ask for at most 200 pages at a time.")
	}
	clean := make([]string, len(keys))
	for i, k := range keys {
		clean[i] = PageKey(k)
		if err := comment.CheckPageKey(clean[i]); err != nil {
			return nil, err
		}
	}
	counts, err := s.store.Counts(ctx, siteID, clean)
	if err != nil {
		return nil, err
	}
	// Answer under the keys the caller asked for.
	out := make(map[string]int, len(keys))
	for i, k := range keys {
		out[k] = counts[clean[i]]
	}
	return out, nil
}

// NewReader returns a signed anonymous reader token. A browser keeps it to
// like comments once each and to recognise its own held comments.
func (s *Service) NewReader() string {
	return s.sign.Sign("reader", randomBytes(12))
}

// readerID checks a reader token and returns the keyed hash stored for it.
func (s *Service) readerID(tok string) (string, bool) {
	if tok == "" {
		return "", false
	}
	p, ok := s.sign.Open("reader", tok, maxTokenLen)
	if !ok {
		return "", false
	}
	return s.sign.Hash("reader-id", string(p), 12), true
}

// Like records a reader's like (or, with like false, takes it back) and
// returns the comment's new count. m.Reader is the reader's token; a
// client (m.IP) or reader liking too often gets a *spam.RateLimitError.
func (s *Service) Like(ctx context.Context, siteID, commentID string, like bool, m Meta) (int, error) {
	rid, ok := s.readerID(m.Reader)
	if !ok {
		return 0, comment.Invalid("reader", "Your browser's reader token is missing or invalid; reload the page.")
	}
	// The reader's bucket first: a reader over its limit does not use up
	// the allowance of everyone else behind the same address.
	now := s.now()
	if s.likeLimits.PerReader.Burst > 0 {
		if err := s.likeBuckets.Take(ctx, LikeLimitKey+"-reader", rid, s.likeLimits.PerReader, now); err != nil {
			return 0, err
		}
	}
	if m.IP != "" && s.likeLimits.PerIP.Burst > 0 {
		if err := s.likeBuckets.Take(ctx, LikeLimitKey+"-ip", spam.ClientKey(m.IP), s.likeLimits.PerIP, now); err != nil {
			return 0, err
		}
	}
	c, err := s.Comment(ctx, siteID, commentID)
	if err != nil {
		return 0, err
	}
	if c.Status != comment.StatusApproved {
		return 0, comment.ErrNotFound
	}
	var n int
	if like {
		n, err = s.store.Like(ctx, commentID, rid)
		if errors.Is(err, comment.ErrConflict) {
			// Liking twice is not an error for the reader: it stays liked.
			return c.Likes, nil
		}
	} else {
		n, err = s.store.Unlike(ctx, commentID, rid)
		if errors.Is(err, comment.ErrNotFound) {
			return c.Likes, nil
		}
	}
	if err != nil {
		return 0, err
	}
	// This instance never serves its own write stale; other instances and
	// open pages hear of it through the coalesced EventLikes.
	s.threads.invalidate(threadGenKey(c.ThreadID))
	return n, nil
}

// LikeLimitKey starts the Key of the *spam.RateLimitError a refused like
// gets ("like-ip", "like-reader").
const LikeLimitKey = "like"

// NewPostKey returns a fresh idempotency key for a no-JavaScript form:
// sending the form again (a reload, the back button) is then the same
// post.
func (s *Service) NewPostKey() string {
	return b64.EncodeToString(randomBytes(16))
}

// FormToken returns the hidden token of a no-JavaScript form for a site.
// It proves the form came from Parley and when it was issued.
func (s *Service) FormToken(siteID string) string {
	return s.sign.SignTimed("form", siteID, s.now())
}

// FormTokenMaxAge is how long a rendered form may wait before posting.
const FormTokenMaxAge = 24 * time.Hour

// CheckFormToken verifies a form token for a site and returns how long
// ago the form was rendered (a bot trap: people take a while to write).
func (s *Service) CheckFormToken(siteID, tok string) (time.Duration, error) {
	sub, issued, ok := s.sign.OpenTimed("form", tok, maxTokenLen)
	if !ok || sub != siteID {
		return 0, &comment.ValidationError{Code: "invalid_token", Message: "This form could not be verified. Please post your comment again."}
	}
	age := s.now().Sub(issued)
	if age > FormTokenMaxAge || age < -time.Minute {
		return 0, &comment.ValidationError{Code: "invalid_token", Message: "This form has expired. Please post your comment again."}
	}
	return age, nil
}

// HeldToken returns a token that lets the author of a held comment see it
// on the page they return to.
func (s *Service) HeldToken(c *comment.Comment) string {
	return s.sign.SignTimed("held", c.ID, s.now())
}

// HeldComment returns the held comment a HeldToken names, if it is still
// held and the token is less than a week old.
func (s *Service) HeldComment(ctx context.Context, siteID, tok string) (*comment.Comment, bool) {
	id, issued, ok := s.sign.OpenTimed("held", tok, maxTokenLen)
	if !ok || s.now().Sub(issued) > 7*24*time.Hour {
		return nil, false
	}
	c, err := s.store.Comment(ctx, id)
	if err != nil || c.SiteID != siteID || c.Status != comment.StatusPending {
		return nil, false
	}
	return c, true
}

// IdentityAvatarKeyLen is the length of a logged-in reader's avatar key;
// a guest's is 16.
const IdentityAvatarKeyLen = 24

// WantPicture asks Options.Pictures, if set, to look for the picture of
// email and keep it under the avatar key.
func (s *Service) WantPicture(key, email string) {
	if s.pictures != nil && email != "" {
		s.pictures.Want(key, email)
	}
}

// AvatarFile is the file name of an author's avatar under /avatars/: the
// key alone for a picture kept in the store (a logged-in reader's, or a
// guest's found by Options.Pictures), which falls back to the identicon;
// key.svg for an identicon.
func (s *Service) AvatarFile(a comment.Author) string {
	key := s.AvatarKey(a)
	if a.Identity != "" || s.pictures != nil && a.Email != "" {
		return key
	}
	return key + ".svg"
}

// AvatarKey returns the public key of an author's avatar: a keyed hash of
// the log-in identity, or of the email (or name) for a guest, so the
// avatar URL says nothing about either.
func (s *Service) AvatarKey(a comment.Author) string {
	if a.Identity != "" {
		// Logged-in readers have a key of their own, longer than a guest's,
		// so the avatar handler can tell the two apart: it serves a cached
		// provider picture for the first and an identicon for the second.
		return s.sign.Hash("avatar", "identity:"+a.Identity, IdentityAvatarKeyLen/2)
	}
	v := strings.ToLower(a.Email)
	if v == "" {
		v = "name:" + a.Name
	}
	return s.sign.Hash("avatar", v, 8)
}

// Avatar returns the copy of a reader's picture kept under key.
// Returns comment.ErrNotFound if there is none.
func (s *Service) Avatar(ctx context.Context, key string) (*store.Avatar, error) {
	return s.store.Avatar(ctx, key)
}
