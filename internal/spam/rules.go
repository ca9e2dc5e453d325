package spam

import (
	"context"
	"fmt"
	"hash/maphash"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"parley/internal/comment"
)

// Rules are a site owner's own spam rules. The zero value applies the
// default link limits and duplicate detection and blocks nothing.
type Rules struct {
	// HoldLinks: a comment with more links than this is held; 0 means
	// DefaultHoldLinks, negative means no limit.
	HoldLinks int
	// SpamLinks: with more links than this it is spam; 0 means
	// DefaultSpamLinks, negative means no limit.
	SpamLinks int
	// BlockedWords are words or phrases (matched as whole words, case
	// and accents as typed, in the body and the author's name) that make
	// a comment spam. HoldWords only hold it.
	BlockedWords []string
	HoldWords    []string
	// BlockedDomains make a comment spam if a link in it, or the
	// author's website, is on the domain or a subdomain of it.
	BlockedDomains []string
	// BlockedEmails are addresses ("someone@example.com") or whole
	// domains ("@example.com") whose comments are spam.
	BlockedEmails []string
	// BlockedIPs are addresses or CIDR ranges ("203.0.113.0/24",
	// "2001:db8::/32") whose comments are spam.
	BlockedIPs []string
	// DuplicateWindow is how long a comment is remembered for duplicate
	// detection; 0 means DefaultDuplicateWindow, negative turns it off.
	DuplicateWindow time.Duration
	// SiteDuplicates: the same text posted this many times on the site
	// within the window, by anyone, is spam; 0 means
	// DefaultSiteDuplicates.
	SiteDuplicates int
}

// Defaults for Rules.
const (
	DefaultHoldLinks       = 2
	DefaultSpamLinks       = 6
	DefaultDuplicateWindow = time.Hour
	DefaultSiteDuplicates  = 4
	// minDuplicateLetters keeps short replies ("Thanks!", "Agreed") out
	// of the site-wide and per-address duplicate checks: many people
	// write them.
	minDuplicateLetters = 12
)

// RuleChecker applies one site's Rules. It is safe for concurrent use.
type RuleChecker struct {
	holdLinks, spamLinks int
	blocked, hold        []string // normalised phrases, space-padded
	domains              []string
	emails               []string
	nets                 []netip.Prefix
	dups                 *Duplicates
	window               time.Duration
	siteDups             int
	now                  func() time.Time
}

// NewRuleChecker compiles r. dups remembers recent comments for duplicate
// detection and is normally shared by all sites; nil turns duplicate
// detection off. It returns an error naming the first entry it cannot
// understand.
func NewRuleChecker(r Rules, dups *Duplicates) (*RuleChecker, error) {
	c := &RuleChecker{holdLinks: r.HoldLinks, spamLinks: r.SpamLinks, dups: dups, window: r.DuplicateWindow, siteDups: r.SiteDuplicates, now: time.Now}
	if c.holdLinks == 0 {
		c.holdLinks = DefaultHoldLinks
	}
	if c.spamLinks == 0 {
		c.spamLinks = DefaultSpamLinks
	}
	if c.window == 0 {
		c.window = DefaultDuplicateWindow
	}
	if c.siteDups == 0 {
		c.siteDups = DefaultSiteDuplicates
	}
	for _, w := range r.BlockedWords {
		if p := phrase(w); p != "" {
			c.blocked = append(c.blocked, p)
		}
	}
	for _, w := range r.HoldWords {
		if p := phrase(w); p != "" {
			c.hold = append(c.hold, p)
		}
	}
	for _, d := range r.BlockedDomains {
		h := urlHost(strings.ToLower(strings.TrimSpace(d)))
		if h == "" || strings.ContainsAny(h, " /") {
			return nil, fmt.Errorf("blocked domain %q is not a domain", d)
		}
		c.domains = append(c.domains, h)
	}
	for _, e := range r.BlockedEmails {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" || strings.Count(e, "@") > 1 || strings.ContainsAny(e, " ,;") {
			return nil, fmt.Errorf("blocked e-mail %q is neither an address nor @domain", e)
		}
		c.emails = append(c.emails, e)
	}
	for _, s := range r.BlockedIPs {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("blocked IP %q is neither an address nor a CIDR range", s)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		c.nets = append(c.nets, p.Masked())
	}
	return c, nil
}

// phrase normalises a blocked word or phrase as the body is normalised.
func phrase(s string) string {
	w := Tokenize(s)
	if len(w) == 0 {
		return ""
	}
	return " " + strings.Join(w, " ") + " "
}

// Check implements Checker. It never fails. Links to the site's own
// origins and to reference sites do not count towards the link limits.
// Any verdict other than Publish, and a text seen recently from another
// sender on this site or on another site of the server, is Evidence for
// the classifier's spam tier.
func (c *RuleChecker) Check(_ context.Context, in *Input) (Verdict, error) {
	spam := func(score float64, code string, kv ...string) (Verdict, error) {
		return Verdict{Action: Spam, Layer: "rules", Score: score, Evidence: true, Reasons: []comment.Reason{NewReason(code, kv...)}}, nil
	}
	hold := func(code string, kv ...string) (Verdict, error) {
		return Verdict{Action: Hold, Layer: "rules", Score: 0.5, Evidence: true, Reasons: []comment.Reason{NewReason(code, kv...)}}, nil
	}
	if len(c.nets) > 0 && in.IP != "" {
		if a, err := netip.ParseAddr(in.IP); err == nil {
			a = a.Unmap()
			for _, n := range c.nets {
				if n.Contains(a) {
					return spam(1, "blocked_ip", "range", n.String())
				}
			}
		}
	}
	if email := strings.ToLower(strings.TrimSpace(in.Email)); email != "" {
		for _, e := range c.emails {
			if emailMatches(email, e) {
				code, domain := blockedEmail(e)
				return spam(1, code, "domain", domain)
			}
		}
	}
	words := in.bodyWords()
	hosts, links := linkHosts(words, appendOwn(nil, in.Origins))
	if in.Website != "" {
		if h := urlHost(strings.ToLower(strings.TrimSpace(in.Website))); h != "" {
			hosts = append(hosts, h)
		}
	}
	for _, h := range hosts {
		for _, d := range c.domains {
			if h == d || strings.HasSuffix(h, "."+d) {
				return spam(1, "blocked_domain", "domain", d)
			}
		}
	}
	if len(c.blocked) > 0 || len(c.hold) > 0 {
		text := " " + strings.Join(words, " ") + " " + strings.Join(Tokenize(in.AuthorName), " ") + " "
		for _, p := range c.blocked {
			if strings.Contains(text, p) {
				return spam(1, "blocked_phrase", "phrase", strings.TrimSpace(p))
			}
		}
		for _, p := range c.hold {
			if strings.Contains(text, p) {
				return hold("hold_phrase", "phrase", strings.TrimSpace(p))
			}
		}
	}
	if c.spamLinks > 0 && links > c.spamLinks {
		// Readers who cite their sources post many links too: the count
		// alone only holds, and sends to spam when the classifier also
		// doubts the comment (see Pipeline).
		v, _ := spam(0.9, "links_spam_limit", "n", itoa(links), "limit", itoa(c.spamLinks))
		v.Unconfirmed = true
		return v, nil
	}
	var seen DuplicateSightings
	if c.dups != nil && c.window > 0 {
		seen = c.dups.observe(in, in.bodyWords(), c.now(), c.window)
		window := duration(c.window)
		switch {
		case seen.SameSender:
			return spam(0.9, "duplicate_sender", "window", window)
		case seen.OnSite >= c.siteDups:
			return spam(0.9, "duplicate_site", "n", itoa(seen.OnSite), "window", window)
		case seen.OtherSites >= crossSiteHold:
			return hold("duplicate_sites", "n", itoa(seen.OtherSites), "window", window)
		}
	}
	if c.holdLinks >= 0 && links > c.holdLinks {
		return hold("links_over_limit", "n", itoa(links), "limit", itoa(c.holdLinks))
	}
	v := Verdict{Action: Publish, Layer: "rules"}
	switch {
	case seen.OtherSites > 0:
		v.Evidence = true
		v.Reasons = []comment.Reason{NewReason("repeat_sites", "n", itoa(seen.OtherSites), "window", duration(c.window))}
	case seen.OnSite > 1:
		v.Evidence = true
		v.Reasons = []comment.Reason{NewReason("repeat_site", "n", itoa(seen.OnSite), "window", duration(c.window))}
	}
	return v, nil
}

func emailMatches(email, rule string) bool {
	if strings.Contains(rule, "@") && !strings.HasPrefix(rule, "@") {
		return email == rule
	}
	domain := strings.TrimPrefix(rule, "@")
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	host := email[at+1:]
	return host == domain || strings.HasSuffix(host, "."+domain)
}

// blockedEmail says which kind of rule matched and its domain, without
// repeating a full address into the stored reason.
func blockedEmail(rule string) (code, domain string) {
	if i := strings.IndexByte(rule, '@'); i > 0 {
		return "blocked_email_address", rule[i+1:]
	}
	return "blocked_email_domain", strings.TrimPrefix(rule, "@")
}

// linkHosts picks the link hosts out of Tokenize's output and counts the
// links, leaving out those to the site itself (own holds the registered
// domains of its origins) and to reference sites.
func linkHosts(tokens []string, own []string) (hosts []string, links int) {
	for _, t := range tokens {
		if h, ok := strings.CutPrefix(t, "<link:"); ok {
			h = strings.TrimSuffix(h, ">")
			if h == "" {
				links++
				continue
			}
			hosts = append(hosts, h)
			if !neutralLink(registered(h), own) {
				links++
			}
		}
	}
	return hosts, links
}

// Duplicates remembers recent comments to spot the same text posted
// again, on the same site or on another site of the server. It keeps
// hashes only (of the normalised text, the site, and keyed hashes of the
// address and e-mail), at most a fixed number of distinct texts,
// forgetting the oldest first. It is safe for concurrent use and
// normally shared by all sites.
type Duplicates struct {
	mu    sync.Mutex
	seed  maphash.Seed
	max   int
	m     map[uint64]*dupEntry
	order []uint64 // keys in the order they were first seen, a ring
	next  int
}

type dupEntry struct {
	seen []dupSighting // newest last, at most maxSightings
}

type dupSighting struct {
	at                       time.Time
	site, ip, email, attempt uint64
}

const (
	maxSightings = 32
	// crossSiteHold: the same text on this many other sites of the
	// server within the window is held. Fewer is Evidence only: a reader
	// may well say the same thing on two blogs of one network.
	crossSiteHold = 3
)

// NewDuplicates returns a memory of at most max distinct texts.
func NewDuplicates(max int) *Duplicates {
	return &Duplicates{seed: maphash.MakeSeed(), max: max, m: make(map[uint64]*dupEntry)}
}

// DuplicateSightings is what Observe saw of a text within the window.
type DuplicateSightings struct {
	// SameSender: the same address or e-mail sent it to this site before.
	SameSender bool
	// OnSite counts the sightings on this site, this one included.
	OnSite int
	// OtherSites counts the other sites of the server it was seen on.
	OtherSites int
}

// Observe records a comment and reports what was seen of the same text
// within window. Short texts ("Thanks!") count only as duplicates from
// the same e-mail address: many people write them.
func (d *Duplicates) Observe(in *Input, now time.Time, window time.Duration) DuplicateSightings {
	return d.observe(in, Tokenize(in.Body), now, window)
}

func (d *Duplicates) observe(in *Input, words []string, now time.Time, window time.Duration) DuplicateSightings {
	var res DuplicateSightings
	text, letters := dupText(words)
	if letters == 0 {
		return res
	}
	key := maphash.String(d.seed, text)
	site := maphash.String(d.seed, "site\x00"+in.SiteID)
	var ip, email uint64
	if in.IP != "" {
		ip = maphash.String(d.seed, "ip\x00"+ClientKey(in.IP))
	}
	if e := strings.ToLower(strings.TrimSpace(in.Email)); e != "" {
		email = maphash.String(d.seed, "email\x00"+e)
	}
	var attempt uint64
	if in.Attempt != "" {
		attempt = maphash.String(d.seed, "attempt\x00"+in.Attempt)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.m[key]
	if e == nil {
		e = &dupEntry{}
		d.remember(key, e)
	}
	res.OnSite = 1
	var others [maxSightings]uint64
	nOthers := 0
	for _, s := range e.seen {
		if now.Sub(s.at) > window || attempt != 0 && s.attempt == attempt {
			continue
		}
		if s.site != site {
			if letters >= minDuplicateLetters && !slices.Contains(others[:nOthers], s.site) {
				others[nOthers] = s.site
				nOthers++
			}
			continue
		}
		res.OnSite++
		if email != 0 && s.email == email || letters >= minDuplicateLetters && ip != 0 && s.ip == ip {
			res.SameSender = true
		}
	}
	res.OtherSites = nOthers
	if len(e.seen) == maxSightings {
		copy(e.seen, e.seen[1:])
		e.seen = e.seen[:maxSightings-1]
	}
	e.seen = append(e.seen, dupSighting{at: now, site: site, ip: ip, email: email, attempt: attempt})
	if letters < minDuplicateLetters {
		res.OnSite = 0
	}
	return res
}

// Forget takes back the newest sighting of a comment that Check recorded
// but that was never stored (the database refused it, or was out of
// reach): the reader's retry is then not a repeat of a comment nobody
// has. It does nothing if there is no such sighting.
func (c *RuleChecker) Forget(in *Input) {
	if c.dups != nil {
		c.dups.forget(in, in.bodyWords())
	}
}

func (d *Duplicates) forget(in *Input, words []string) {
	text, letters := dupText(words)
	if letters == 0 {
		return
	}
	key := maphash.String(d.seed, text)
	site := maphash.String(d.seed, "site\x00"+in.SiteID)
	var ip, email uint64
	if in.IP != "" {
		ip = maphash.String(d.seed, "ip\x00"+ClientKey(in.IP))
	}
	if e := strings.ToLower(strings.TrimSpace(in.Email)); e != "" {
		email = maphash.String(d.seed, "email\x00"+e)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.m[key]
	if e == nil {
		return
	}
	for i := len(e.seen) - 1; i >= 0; i-- {
		if s := e.seen[i]; s.site == site && s.ip == ip && s.email == email {
			e.seen = slices.Delete(e.seen, i, i+1)
			return
		}
	}
}

// remember adds a new entry, forgetting the oldest one if full.
func (d *Duplicates) remember(key uint64, e *dupEntry) {
	if d.max <= 0 {
		return
	}
	if len(d.order) < d.max {
		d.order = append(d.order, key)
	} else {
		delete(d.m, d.order[d.next])
		d.order[d.next] = key
		d.next = (d.next + 1) % d.max
	}
	d.m[key] = e
}

// Len returns the number of distinct texts remembered.
func (d *Duplicates) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.m)
}

// dupText reduces a body, given as its words, to its letters and digits,
// lower-cased, so that spacing, punctuation and a trailing U+FEFF do not
// make a copy new.
func dupText(words []string) (string, int) {
	var b strings.Builder
	n := 0
	for _, t := range words {
		b.WriteString(t)
		b.WriteByte(' ')
		for _, r := range t {
			if r < 0x2190 || r > 0x1FAFF {
				n++
			}
		}
	}
	return b.String(), n
}
