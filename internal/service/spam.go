package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"parley/internal/comment"
	"parley/internal/ratelimit"
	"parley/internal/spam"
)

// SpamOptions configure the spam defence every site gets.
type SpamOptions struct {
	// Model is the classifier shared by every site; each site layers what
	// its moderators taught on top. Nil means the built-in one,
	// spam.Default(), read on the first comment rather than at start: it
	// is a megabyte of memory an idle server need not hold, and reading it
	// takes about 2 ms.
	Model *spam.Model
	// Buckets keep the rate limits: spam.NewMemoryBuckets for one
	// instance, a store shared by every instance otherwise.
	Buckets ratelimit.Store
	// PerIP and PerEmail are the rate limits; a zero Limit turns one off.
	PerIP, PerEmail ratelimit.Limit
	// Rules are the link, word, domain, address and duplicate rules.
	Rules spam.Rules
	// Akismet, when set, asks the Akismet service as a last layer.
	Akismet *spam.AkismetChecker
	// DiscardTrapped drops comments that filled the honeypot instead of
	// keeping them in the spam folder.
	DiscardTrapped bool
	// MinFormAge is the shortest believable time to fill in the form;
	// 0 means spam.DefaultMinFormAge, negative turns the check off.
	MinFormAge time.Duration
	// ModelTTL is how long a site's learned model is trusted before it
	// is read again from the database, where other instances save what
	// their moderators taught. 0 means a minute.
	ModelTTL time.Duration
}

// spamFilter runs the spam layers for a new comment and teaches the
// site's classifier from moderator decisions.
type spamFilter struct {
	svc      *Service
	opt      SpamOptions
	traps    *spam.Traps
	rules    *spam.RuleChecker
	mu       sync.Mutex
	models   map[string]*siteModel
	learnMus sync.Map // site id -> *sync.Mutex, so lessons of one site are saved in order
}

type siteModel struct {
	m      *spam.SiteModel
	loaded time.Time
}

func newSpamFilter(s *Service, opt SpamOptions) (*spamFilter, error) {
	if opt.ModelTTL <= 0 {
		opt.ModelTTL = time.Minute
	}
	rules, err := spam.NewRuleChecker(opt.Rules, spam.NewDuplicates(100_000))
	if err != nil {
		return nil, err
	}
	f := &spamFilter{svc: s, opt: opt, rules: rules, models: map[string]*siteModel{}}
	f.traps = &spam.Traps{MinFormAge: opt.MinFormAge, Now: s.now}
	if opt.DiscardTrapped {
		f.traps.HoneypotAction = spam.Discard
	}
	if opt.Buckets != nil {
		f.traps.Limiter = spam.NewRateLimiter(opt.Buckets, s.sign.Sum("rate-limit"))
		f.traps.Limiter.PerIP, f.traps.Limiter.PerMail = opt.PerIP, opt.PerEmail
	}
	return f, nil
}

// model returns a site's classifier: the shared model plus what the
// site's moderators taught, read from the store at most every ModelTTL.
func (f *spamFilter) model(ctx context.Context, siteID string) *spam.SiteModel {
	f.mu.Lock()
	sm, ok := f.models[siteID]
	f.mu.Unlock()
	if ok && f.svc.now().Sub(sm.loaded) < f.opt.ModelTTL {
		return sm.m
	}
	m := spam.NewSiteModel(f.base())
	b, err := f.svc.store.SpamModel(ctx, siteID)
	switch {
	case err == nil:
		if err := m.UnmarshalBinary(b); err != nil {
			f.svc.log.Warn("a site's learned spam model is unreadable; using the shared one", slog.String("site", siteID), slog.String("err", err.Error()))
			m = spam.NewSiteModel(f.base())
		}
	case errors.Is(err, comment.ErrNotFound):
	default:
		if ok {
			return sm.m // keep what we have until the store answers again
		}
	}
	f.mu.Lock()
	f.models[siteID] = &siteModel{m: m, loaded: f.svc.now()}
	f.mu.Unlock()
	return m
}

// base returns the model shared by every site.
func (f *spamFilter) base() *spam.Model {
	if f.opt.Model != nil {
		return f.opt.Model
	}
	m, err := spam.Default()
	if err != nil {
		// Only a binary built with a broken model file gets here, and
		// TestDefaultModel_Reproducible fails on such a build.
		panic(err)
	}
	return m
}

// input is a comment as the spam layers see it. origins are the site's
// own origins: links to them are no spam signal.
func input(c *comment.Comment, m Meta, pageURL string, origins []string) *spam.Input {
	return &spam.Input{Body: c.Markdown, AuthorName: c.Author.Name, Email: c.Author.Email, Website: c.Author.Website,
		IP: m.IP, UserAgent: m.UserAgent, SiteID: c.SiteID, PageURL: pageURL, Created: c.Created,
		Honeypot: m.Honeypot, FormAge: m.FormAge, Origins: origins, Attempt: c.PostKey}
}

// layers returns a site's content layers after the bot traps: its rules,
// the blog-spam signals and its classifier.
func (f *spamFilter) layers(ctx context.Context, siteID string) []spam.Checker {
	model := f.model(ctx, siteID)
	return []spam.Checker{f.rules, &spam.Signals{Site: model}, model}
}

// check runs the layers. A *spam.RateLimitError is returned as is: the
// comment is refused, not stored. Any other layer failure holds it.
func (f *spamFilter) check(ctx context.Context, site *comment.Site, c *comment.Comment, m Meta, pageURL string) (comment.Status, comment.Verdict, error) {
	layers := append([]spam.Checker{f.traps}, f.layers(ctx, c.SiteID)...)
	if f.opt.Akismet != nil {
		layers = append(layers, f.opt.Akismet)
	}
	p := spam.Pipeline{Layers: layers}
	res, err := p.Run(ctx, input(c, m, pageURL, site.Origins))
	var rl *spam.RateLimitError
	if errors.As(err, &rl) {
		return "", comment.Verdict{}, err
	}
	if err != nil {
		f.svc.log.Warn("a spam layer failed; the comment is held", slog.String("err", err.Error()))
	}
	return res.Action.Status(), res.Verdict.Record(), nil
}

// unseen takes back what the rules remembered of a comment that was not
// stored, so that the reader's retry is not held as a repeat of it.
func (f *spamFilter) unseen(site *comment.Site, c *comment.Comment, m Meta, pageURL string) {
	f.rules.Forget(input(c, m, pageURL, site.Origins))
}

// Learn teaches the site's classifier one moderator decision and saves
// what it learned, so it survives restarts and reaches other instances.
func (f *spamFilter) Learn(ctx context.Context, c *comment.Comment, isSpam bool) error {
	var origins []string
	if site, err := f.svc.Site(ctx, c.SiteID); err == nil {
		origins = site.Origins
	}
	return f.learn(ctx, c.SiteID, *input(c, Meta{}, "", origins), isSpam)
}

func (f *spamFilter) learn(ctx context.Context, siteID string, in spam.Input, isSpam bool) error {
	mu, _ := f.learnMus.LoadOrStore(siteID, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	m := f.model(ctx, siteID)
	m.Learn(in, isSpam)
	b, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	return f.svc.store.SaveSpamModel(ctx, siteID, b)
}

// record is a verdict of the service's own (the moderation policy, a
// failed check) in the stored form: the reason by its code, with its
// arguments as name, value pairs, and in English.
func record(layer, code string, kv ...string) comment.Verdict {
	return spam.Verdict{Layer: layer, Reasons: []comment.Reason{spam.NewReason(code, kv...)}}.Record()
}

// SiteByAPIKey returns the site an API key belongs to.
// Returns comment.ErrNotFound for an unknown key.
func (s *Service) SiteByAPIKey(ctx context.Context, key string) (*comment.Site, error) {
	if key == "" || len(key) > 200 {
		return nil, comment.ErrNotFound
	}
	return s.store.SiteByAPIKeyHash(ctx, apiKeyHash(key))
}

func apiKeyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Classify judges a text sent by an outside client (the Akismet-compatible
// API) with the site's rules, the blog-spam signals and the classifier,
// storing nothing. Rate limits and form traps are left out: the client's
// own site applies those. The site's origins join the client's blog as
// the comment's own origins.
func (s *Service) Classify(ctx context.Context, siteID string, in *spam.Input) (spam.Verdict, error) {
	// Bans and the site's own rules first (community.go).
	if v := s.classifyGuard(ctx, siteID, in); v.Action >= spam.Hold {
		return v, nil
	}
	if s.spam == nil {
		return spam.Verdict{Action: spam.Publish}, nil
	}
	in.SiteID = siteID
	if site, err := s.Site(ctx, siteID); err == nil {
		in.Origins = append(slices.Clone(in.Origins), site.Origins...)
	}
	p := spam.Pipeline{Layers: s.spam.layers(ctx, siteID)}
	res, err := p.Run(ctx, in)
	return res.Verdict, err
}

// Teach feeds a site's classifier one decision from an outside client
// (submit-spam, submit-ham), as a moderator's decision would.
func (s *Service) Teach(ctx context.Context, siteID string, in *spam.Input, isSpam bool) error {
	if s.spam == nil {
		return nil
	}
	lesson := *in
	if site, err := s.Site(ctx, siteID); err == nil {
		lesson.Origins = append(slices.Clone(in.Origins), site.Origins...)
	}
	return s.spam.learn(ctx, siteID, lesson, isSpam)
}
