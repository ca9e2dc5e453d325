package spam

import (
	"context"
	"fmt"
	"hash/maphash"
	"net/netip"
	"strings"
	"sync"
	"time"
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

// Check implements Checker. It never fails.
func (c *RuleChecker) Check(_ context.Context, in *Input) (Verdict, error) {
	spam := func(score float64, format string, args ...any) (Verdict, error) {
		return Verdict{Action: Spam, Layer: "rules", Score: score, Reason: fmt.Sprintf(format, args...)}, nil
	}
	if len(c.nets) > 0 && in.IP != "" {
		if a, err := netip.ParseAddr(in.IP); err == nil {
			a = a.Unmap()
			for _, n := range c.nets {
				if n.Contains(a) {
					return spam(1, "the address is in the blocked range %s", n)
				}
			}
		}
	}
	if email := strings.ToLower(strings.TrimSpace(in.Email)); email != "" {
		for _, e := range c.emails {
			if emailMatches(email, e) {
				return spam(1, "the e-mail address is blocked (%s)", blockedEmailLabel(e))
			}
		}
	}
	words := Tokenize(in.Body)
	hosts, links := linkHosts(words)
	if in.Website != "" {
		if h := urlHost(strings.ToLower(strings.TrimSpace(in.Website))); h != "" {
			hosts = append(hosts, h)
		}
	}
	for _, h := range hosts {
		for _, d := range c.domains {
			if h == d || strings.HasSuffix(h, "."+d) {
				return spam(1, "links to the blocked domain %s", d)
			}
		}
	}
	if len(c.blocked) > 0 || len(c.hold) > 0 {
		text := " " + strings.Join(words, " ") + " " + strings.Join(Tokenize(in.AuthorName), " ") + " "
		for _, p := range c.blocked {
			if strings.Contains(text, p) {
				return spam(1, "contains the blocked phrase %q", strings.TrimSpace(p))
			}
		}
		for _, p := range c.hold {
			if strings.Contains(text, p) {
				return Verdict{Action: Hold, Layer: "rules", Score: 0.5, Reason: fmt.Sprintf("contains %q, which this site holds for moderation", strings.TrimSpace(p))}, nil
			}
		}
	}
	if c.spamLinks > 0 && links > c.spamLinks {
		return spam(0.9, "%d links (the site allows %d before it calls a comment spam)", links, c.spamLinks)
	}
	if c.dups != nil && c.window > 0 {
		same, site := c.dups.Observe(in, c.now(), c.window)
		switch {
		case same:
			return spam(0.9, "the same text was posted by the same sender within %s", c.window)
		case site >= c.siteDups:
			return spam(0.9, "the same text was posted %d times on this site within %s", site, c.window)
		}
	}
	if c.holdLinks >= 0 && links > c.holdLinks {
		return Verdict{Action: Hold, Layer: "rules", Score: 0.5, Reason: fmt.Sprintf("%d links (the site holds comments with more than %d)", links, c.holdLinks)}, nil
	}
	return Verdict{Action: Publish, Layer: "rules"}, nil
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

// blockedEmailLabel says which rule matched without repeating a full
// address into the stored reason.
func blockedEmailLabel(rule string) string {
	if i := strings.IndexByte(rule, '@'); i > 0 {
		return "an address at " + rule[i+1:]
	}
	return "domain " + strings.TrimPrefix(rule, "@")
}

// linkHosts picks the link hosts out of Tokenize's output and counts the
// links.
func linkHosts(tokens []string) (hosts []string, links int) {
	for _, t := range tokens {
		if h, ok := strings.CutPrefix(t, "<link:"); ok {
			links++
			if h = strings.TrimSuffix(h, ">"); h != "" {
				hosts = append(hosts, h)
			}
		}
	}
	return hosts, links
}

// Duplicates remembers recent comments to spot the same text posted
// again. It keeps hashes only (of the site and normalised text, and keyed
// hashes of the address and e-mail), at most a fixed number of distinct
// texts, forgetting the oldest first. It is safe for concurrent use and
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
	at                 time.Time
	ip, email, attempt uint64
}

const maxSightings = 16

// NewDuplicates returns a memory of at most max distinct texts.
func NewDuplicates(max int) *Duplicates {
	return &Duplicates{seed: maphash.MakeSeed(), max: max, m: make(map[uint64]*dupEntry), order: make([]uint64, 0, min(max, 1<<16))}
}

// Observe records a comment and reports whether the same text was seen
// from the same address or e-mail within window, and how many times
// (including this one) it was seen on the site within window. Short texts
// only count as duplicates from the same e-mail address.
func (d *Duplicates) Observe(in *Input, now time.Time, window time.Duration) (sameSender bool, siteCount int) {
	text, letters := dupText(in.Body)
	if letters == 0 {
		return false, 0
	}
	var h maphash.Hash
	h.SetSeed(d.seed)
	h.WriteString(in.SiteID)
	h.WriteByte(0)
	h.WriteString(text)
	key := h.Sum64()
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
	siteCount = 1
	for _, s := range e.seen {
		if now.Sub(s.at) > window || attempt != 0 && s.attempt == attempt {
			continue
		}
		siteCount++
		if email != 0 && s.email == email || letters >= minDuplicateLetters && ip != 0 && s.ip == ip {
			sameSender = true
		}
	}
	if len(e.seen) == maxSightings {
		copy(e.seen, e.seen[1:])
		e.seen = e.seen[:maxSightings-1]
	}
	e.seen = append(e.seen, dupSighting{at: now, ip: ip, email: email, attempt: attempt})
	if letters < minDuplicateLetters {
		siteCount = 0
	}
	return sameSender, siteCount
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

// dupText reduces a body to its letters and digits, lower-cased, so that
// spacing, punctuation and a trailing U+FEFF do not make a copy new.
func dupText(body string) (string, int) {
	var b strings.Builder
	n := 0
	for _, t := range Tokenize(body) {
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
