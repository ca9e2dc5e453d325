// Package rulebook matches a new comment against a site's sanctions (bans,
// suspensions, pre-moderation, warnings) and the rules its staff keep in
// the desk (words, domains, addresses, link limits), in microseconds
// however many there are: everything is compiled into maps, so the cost
// of a check grows with the comment, not with the rules. Words match
// whole words only — "press" does not match "WordPress", the blocklist
// mistake WordPress is known for.
//
// The service compiles one Book per site and keeps it until the site's
// sanctions or rules change; nothing here does I/O.
package rulebook

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"parley/internal/comment"
)

// Book is a site's sanctions and rules, compiled. It is safe for
// concurrent use and never changes once compiled.
type Book struct {
	// Sanctions by what they match.
	identity, email, domain, ipHash map[string][]*comment.Sanction
	nets                            netSet[[]*comment.Sanction]
	sanctions                       int

	// Rules.
	blocked, hold        phrases
	domains              map[string]bool
	emails, emailDomains map[string]bool
	ruleNets             netSet[bool]
	holdLinks, spamLinks int
}

// Compile builds a site's book. Sanctions that no longer apply may be
// included (they are checked at match time); rules that cannot be
// understood are an error naming the first of them.
func Compile(sanctions []*comment.Sanction, r comment.SiteRules) (*Book, error) {
	b := &Book{identity: map[string][]*comment.Sanction{}, email: map[string][]*comment.Sanction{}, domain: map[string][]*comment.Sanction{},
		ipHash: map[string][]*comment.Sanction{}, domains: map[string]bool{}, emails: map[string]bool{}, emailDomains: map[string]bool{},
		holdLinks: r.HoldLinks, spamLinks: r.SpamLinks}
	for _, s := range sanctions {
		switch s.Match {
		case comment.MatchIdentity:
			b.identity[s.Value] = append(b.identity[s.Value], s)
		case comment.MatchEmail:
			b.email[s.Value] = append(b.email[s.Value], s)
		case comment.MatchEmailDomain:
			b.domain[s.Value] = append(b.domain[s.Value], s)
		case comment.MatchIPHash:
			b.ipHash[s.Value] = append(b.ipHash[s.Value], s)
		case comment.MatchIP:
			p, err := comment.ParsePrefix(s.Value)
			if err != nil {
				return nil, fmt.Errorf("sanction %s: %w", s.ID, err)
			}
			b.nets.add(p, append(b.nets.get(p), s))
		default:
			return nil, fmt.Errorf("sanction %s: unknown match %q", s.ID, s.Match)
		}
		b.sanctions++
	}
	var err error
	if b.blocked, err = compilePhrases(r.BlockedWords); err != nil {
		return nil, err
	}
	if b.hold, err = compilePhrases(r.HoldWords); err != nil {
		return nil, err
	}
	for _, d := range r.BlockedDomains {
		h := strings.Trim(strings.ToLower(strings.TrimSpace(d)), ".")
		if u, err := url.Parse(h); err == nil && u.Host != "" {
			h = u.Hostname() // someone pasted a link
		}
		if !validHost(h) {
			return nil, fmt.Errorf("blocked domain %q is not a domain, such as spam.example", d)
		}
		b.domains[h] = true
	}
	for _, e := range r.BlockedEmails {
		e = strings.ToLower(strings.TrimSpace(e))
		switch at := strings.LastIndexByte(e, '@'); {
		case at == 0 && validHost(e[1:]):
			b.emailDomains[e[1:]] = true
		case at > 0 && validHost(e[at+1:]) && !strings.ContainsAny(e, " ,;<>"):
			b.emails[e] = true
		default:
			return nil, fmt.Errorf("blocked email %q is neither an address nor @domain", e)
		}
	}
	for _, s := range r.BlockedIPs {
		p, err := comment.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("blocked IP %q is neither an address nor a CIDR range", s)
		}
		b.ruleNets.add(p, true)
	}
	if r.HoldLinks < 0 || r.SpamLinks < 0 {
		return nil, fmt.Errorf("link limits are 0 (the server's) or more")
	}
	return b, nil
}

// Size is how many sanctions and rules the book holds.
func (b *Book) Size() int {
	return b.sanctions + b.blocked.n + b.hold.n + len(b.domains) + len(b.emails) + len(b.emailDomains) + b.ruleNets.n
}

// Author is who sends a comment, as sanctions match them.
type Author struct {
	Identity string // "provider:subject" for a logged-in reader
	Email    string // lower-case
	IP       string // the raw address, never stored
	IPHash   string // its keyed hash, as comments store it
	// IPNet is the keyed hash of its network (comment.Comment.IPNet): a
	// sanction made from a comment whose address hash was reduced to its
	// network's holds the whole network.
	IPNet string
}

// Sanctions returns the sanctions in force at now that match the author,
// strictest first.
func (b *Book) Sanctions(a Author, now time.Time) []*comment.Sanction {
	if b == nil || b.sanctions == 0 {
		return nil
	}
	var out []*comment.Sanction
	add := func(list []*comment.Sanction) {
		for _, s := range list {
			if s.Active(now) && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	if a.Identity != "" {
		add(b.identity[a.Identity])
	}
	if a.Email != "" {
		add(b.email[a.Email])
		if at := strings.LastIndexByte(a.Email, '@'); at >= 0 && len(b.domain) > 0 {
			forDomains(a.Email[at+1:], func(d string) bool { add(b.domain[d]); return false })
		}
	}
	if a.IPHash != "" {
		add(b.ipHash[a.IPHash])
	}
	if a.IPNet != "" {
		add(b.ipHash[a.IPNet])
	}
	if a.IP != "" && b.nets.n > 0 {
		if addr, err := netip.ParseAddr(a.IP); err == nil {
			b.nets.each(addr.Unmap(), func(list []*comment.Sanction) { add(list) })
		}
	}
	slices.SortStableFunc(out, func(x, y *comment.Sanction) int {
		switch {
		case x.Kind.Stricter(y.Kind):
			return -1
		case y.Kind.Stricter(x.Kind):
			return 1
		}
		return 0
	})
	return out
}

// Action is what the rules want done with a comment.
type Action int

// The outcomes, mildest first.
const (
	Publish Action = iota
	Hold
	Spam
)

// Verdict is the rules' judgement: the action and, unless Publish, the
// rule that decided, in words for moderators.
type Verdict struct {
	Action Action
	Rule   string
}

// Input is a comment as the rules see it.
type Input struct {
	Body    string // Markdown as typed
	HTML    string // its rendering: links are counted and their hosts read from it
	Name    string
	Website string
	Email   string // lower-case
	IP      string
}

// Check applies the rules: blocked addresses, emails, domains and words
// make a comment spam, so does passing the spam link limit; hold words
// and the hold link limit hold it.
func (b *Book) Check(in Input) Verdict {
	if b == nil {
		return Verdict{}
	}
	if in.IP != "" && b.ruleNets.n > 0 {
		if addr, err := netip.ParseAddr(in.IP); err == nil {
			var hit netip.Prefix
			b.ruleNets.eachPrefix(addr.Unmap(), func(p netip.Prefix) { hit = p })
			if hit.IsValid() {
				return Verdict{Spam, "the address is in the blocked range " + hit.String()}
			}
		}
	}
	if e := in.Email; e != "" && (len(b.emails) > 0 || len(b.emailDomains) > 0) {
		if b.emails[e] {
			return Verdict{Spam, "the email address is blocked (an address at " + e[strings.LastIndexByte(e, '@')+1:] + ")"}
		}
		if at := strings.LastIndexByte(e, '@'); at >= 0 {
			var hit string
			forDomains(e[at+1:], func(d string) bool {
				if b.emailDomains[d] {
					hit = d
				}
				return hit != ""
			})
			if hit != "" {
				return Verdict{Spam, "email addresses at " + hit + " are blocked"}
			}
		}
	}
	hosts, links := linkHosts(in.HTML)
	if in.Website != "" {
		if u, err := url.Parse(in.Website); err == nil && u.Hostname() != "" {
			hosts = append(hosts, strings.ToLower(u.Hostname()))
		}
	}
	if len(b.domains) > 0 {
		for _, h := range hosts {
			var hit string
			forDomains(h, func(d string) bool {
				if b.domains[d] {
					hit = d
				}
				return hit != ""
			})
			if hit != "" {
				return Verdict{Spam, "links to the blocked domain " + hit}
			}
		}
	}
	var words []string
	if b.blocked.n > 0 || b.hold.n > 0 {
		// The name is matched too, apart from the text: a phrase does not
		// run from the end of one into the other.
		words = tokens(append(tokens(nil, in.Body), ""), in.Name)
	}
	if p := b.blocked.find(words); p != "" {
		return Verdict{Spam, "contains the blocked word “" + p + "”"}
	}
	if b.spamLinks > 0 && links > b.spamLinks {
		return Verdict{Spam, fmt.Sprintf("%d links (the site allows %d)", links, b.spamLinks)}
	}
	if p := b.hold.find(words); p != "" {
		return Verdict{Hold, "contains “" + p + "”, which the site holds for moderation"}
	}
	if b.holdLinks > 0 && links > b.holdLinks {
		return Verdict{Hold, fmt.Sprintf("%d links (the site holds comments with more than %d)", links, b.holdLinks)}
	}
	return Verdict{}
}

// forDomains calls fn with a host and each domain above it
// ("a.b.example", "b.example", "example") until fn returns true.
func forDomains(host string, fn func(string) bool) {
	for host != "" {
		if fn(host) {
			return
		}
		i := strings.IndexByte(host, '.')
		if i < 0 {
			return
		}
		host = host[i+1:]
	}
}

// linkHosts returns the hosts of the links in sanitised comment HTML and
// how many links there are.
func linkHosts(html string) (hosts []string, links int) {
	for {
		i := strings.Index(html, "<a ")
		if i < 0 {
			return hosts, links
		}
		links++
		html = html[i+3:]
		end := strings.IndexByte(html, '>')
		if end < 0 {
			return hosts, links
		}
		tag := html[:end]
		if h := strings.Index(tag, `href="`); h >= 0 {
			v := tag[h+6:]
			if q := strings.IndexByte(v, '"'); q >= 0 {
				v = strings.ReplaceAll(v[:q], "&amp;", "&")
				if u, err := url.Parse(v); err == nil && u.Hostname() != "" {
					hosts = append(hosts, strings.ToLower(u.Hostname()))
				}
			}
		}
	}
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 || strings.ContainsAny(h, " /@:,;") || strings.HasPrefix(h, ".") || strings.Contains(h, "..") {
		return false
	}
	return true
}

// tokens appends the words of s to dst: runs of letters and digits,
// lower-cased. Rules and comments are cut into words the same way, so a
// rule matches whole words only.
func tokens(dst []string, s string) []string {
	start := -1
	lower := true
	for i, r := range s {
		word := unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
		switch {
		case word && start < 0:
			start, lower = i, true
			fallthrough
		case word:
			if r >= utf8.RuneSelf || 'A' <= r && r <= 'Z' {
				lower = false
			}
		case start >= 0:
			dst = append(dst, lowerWord(s[start:i], lower))
			start = -1
		}
	}
	if start >= 0 {
		dst = append(dst, lowerWord(s[start:], lower))
	}
	return dst
}

// lowerWord lower-cases a word unless it is lower-case ASCII already (most
// words: no allocation).
func lowerWord(w string, lower bool) string {
	if lower {
		return w
	}
	return strings.ToLower(w)
}

// phrases is a set of words and phrases, by their first word, and of
// word beginnings ("crypto*").
type phrases struct {
	first    map[string][][]string
	prefixes map[string]bool
	minP     int // shortest prefix, in bytes
	maxP     int
	n        int
}

func compilePhrases(list []string) (phrases, error) {
	p := phrases{first: map[string][][]string{}, prefixes: map[string]bool{}}
	for _, raw := range list {
		s := strings.TrimSpace(raw)
		if s == "" {
			continue
		}
		if w, ok := strings.CutSuffix(s, "*"); ok && !strings.ContainsAny(w, " \t*") {
			t := tokens(nil, w)
			if len(t) != 1 || utf8.RuneCountInString(t[0]) < 3 {
				return p, fmt.Errorf("%q: a word with * needs at least three letters before it, such as casino*", raw)
			}
			p.prefixes[t[0]] = true
			if p.minP == 0 || len(t[0]) < p.minP {
				p.minP = len(t[0])
			}
			p.maxP = max(p.maxP, len(t[0]))
			p.n++
			continue
		}
		if strings.Contains(s, "*") {
			return p, fmt.Errorf("%q: * goes only at the end of a single word, such as casino*", raw)
		}
		t := tokens(nil, s)
		if len(t) == 0 {
			return p, fmt.Errorf("%q has no letters or digits to match", raw)
		}
		p.first[t[0]] = append(p.first[t[0]], t)
		p.n++
	}
	return p, nil
}

// find returns the first word or phrase of the set found in words, as
// written in the rule ("cheap pills", "crypto*"), or "".
func (p *phrases) find(words []string) string {
	for i, w := range words {
		if w == "" {
			continue
		}
		for _, ph := range p.first[w] {
			if len(ph) <= len(words)-i && slices.Equal(ph, words[i:i+len(ph)]) {
				return strings.Join(ph, " ")
			}
		}
		if len(p.prefixes) > 0 && len(w) >= p.minP {
			for l := p.minP; l <= min(p.maxP, len(w)); l++ {
				if utf8.RuneStart(w[min(l, len(w)-1)]) || l == len(w) {
					if p.prefixes[w[:l]] {
						return w[:l] + "*"
					}
				}
			}
		}
	}
	return ""
}

// netSet maps IP prefixes to values, found by address with one map
// lookup per prefix length in use (at most 33 for IPv4, 129 for IPv6).
type netSet[V any] struct {
	v4, v6 map[int]map[netip.Prefix]V
	bits4  []int
	bits6  []int
	n      int
}

func (s *netSet[V]) add(p netip.Prefix, v V) {
	m, bits := &s.v4, &s.bits4
	if p.Addr().Is6() {
		m, bits = &s.v6, &s.bits6
	}
	if *m == nil {
		*m = map[int]map[netip.Prefix]V{}
	}
	byLen := (*m)[p.Bits()]
	if byLen == nil {
		byLen = map[netip.Prefix]V{}
		(*m)[p.Bits()] = byLen
		*bits = append(*bits, p.Bits())
		slices.Sort(*bits)
	}
	if _, ok := byLen[p]; !ok {
		s.n++
	}
	byLen[p] = v
}

func (s *netSet[V]) get(p netip.Prefix) V {
	m := s.v4
	if p.Addr().Is6() {
		m = s.v6
	}
	return m[p.Bits()][p]
}

// eachPrefix calls fn with every prefix of the set that holds addr.
func (s *netSet[V]) eachPrefix(addr netip.Addr, fn func(netip.Prefix)) {
	m, bits := s.v4, s.bits4
	if addr.Is6() {
		m, bits = s.v6, s.bits6
	}
	for _, n := range bits {
		p, err := addr.Prefix(n)
		if err != nil {
			continue
		}
		if _, ok := m[n][p]; ok {
			fn(p)
		}
	}
}

// each calls fn with the value of every prefix of the set that holds addr.
func (s *netSet[V]) each(addr netip.Addr, fn func(V)) {
	s.eachPrefix(addr, func(p netip.Prefix) { fn(s.get(p)) })
}
