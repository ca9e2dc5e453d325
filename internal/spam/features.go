package spam

import (
	"bytes"
	"html"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"
)

// The classifier sees a comment as hashed features of three kinds:
//
//   - words (letters and digits, lower-cased, runs of a repeated letter
//     squeezed to two, apostrophes dropped) and word pairs;
//   - the first two words, and word pairs with one word skipped;
//   - character 3- and 4-grams inside words, so "subscribe", "subscrib" and
//     "suscribe" share most of their features;
//   - structure that carries over from site to site when topic words do
//     not: how many links and to which domains, where they sit and how
//     much text surrounds them, length, paragraphs, the share of
//     capitals, exclamation marks, money, phone numbers (and whether a
//     "support" or "toll-free" word goes with one), e-mail addresses,
//     @handles and #hashtags, emoji, non-Latin script, and promotion cues:
//     a first-person word shortly before a media noun ("my new channel"),
//     a call to action shortly before a target ("check out my",
//     "subscribe to me"), sales words.
//
// The text is cleaned first, the same way whatever markup it came in:
// HTML entities such as &#39; are decoded, tags are dropped (keeping a
// link's href), Markdown's [text](url), [text][1] with "[1]: url" and
// <url> give their links, line breaks inside a paragraph (the hard wraps
// of e-mail and scraped text) are spaces, no-break spaces are spaces, and
// zero-width characters such as U+FEFF, which YouTube appends to most
// comments, are removed.
//
// Links to the site's own origins and to well-known reference sites
// (encyclopaedias, news, government, universities; see reference.go)
// give no feature at all: citing Wikipedia or another article of the
// same blog is never a spam signal by itself. The author's name and
// website are not features of the shared model (the public data has
// them only for spam, so a model would learn the data set, not spam);
// the signals layer weighs them by hand, and a site's own model learns
// the website's domain from its moderators.

// Feature namespaces: the first byte hashed, so "w:channel" and the
// structural "channel" never collide on purpose.
const (
	nsWord   = 'w'
	nsPair   = 'b'
	nsSkip   = 'k' // word pairs with one word between
	nsFirst  = 'f' // the first two words, by position
	nsGram   = 'g'
	nsStruct = 's'
	nsSite   = 'u' // from the website field; only site learning weighs them
)

// maxTextBytes bounds the work per comment: a 1 MB paste is judged on its
// first 16 KB, which is plenty to see what it is.
const maxTextBytes = 16 << 10

// featKind names a structural feature for explanations.
type featKind uint8

// The structural features, as a moderator is told about them.
const (
	fkNone featKind = iota
	fkLinks
	fkDomain
	fkTLD
	fkLength
	fkLinkRatio
	fkLinkStart
	fkLinkEnd
	fkCaps
	fkExcl
	fkQuest
	fkParas
	fkEmoji
	fkMoney
	fkEmail
	fkPhone
	fkPhoneSupport
	fkSelfPromo
	fkCTA
	fkSales
	fkHandle
	fkHashtag
	fkScript
	fkWebsite
)

// features is one comment's hashed features. Text features (words, pairs,
// n-grams) are weighted together to unit length; structural ones weigh 1.
// Beside each feature it keeps what the feature stands for (its word, or
// its kind and argument), so that a verdict can name the features that
// weighed most without extracting them twice.
type features struct {
	text []uint32 // raw 32-bit hashes
	unit []int32  // for each text feature, the word it belongs to
	// general marks the text features too general for a site's lesson:
	// character n-grams, common words, and pairs of common words, which
	// every comment shares (see SiteModel.Learn).
	general []bool
	struc   []uint32
	kind    []featKind // for each structural feature, what it is
	arg     []string   // and its argument: a domain, a top-level domain, or ""
	count   []int32    // and the exact count behind its bucket
	clean   []byte     // normalised text, reused between calls
	// The words as the classifier read them, one after another, and
	// where each ends in words.
	wordBytes []byte
	wordEnd   []int32
	cues      []int32   // the words that set the sales and support cues (at most 8)
	perWord   []float32 // what each word added to the score, when explaining
	prev      uint32    // hash of the previous word, for pairs; 0 at the start
	prev2     uint32
	// Whether the previous two words were common words.
	prevCommon, prev2Common bool
	// Cue tracking for the promotion features: the word positions at
	// which the last first-person word and call-to-action verb were seen.
	lastSelf, lastCTA       int
	selfPromo, callToAction bool
	money, support          int
	nWords                  int
	nURLs                   int      // links counted: not to the site or a reference site
	firstLink, lastLink     int      // nWords when the first and last counted link was seen; -1 without
	links                   []uint32 // the link and website domain features, also in struc
	seen                    []uint64 // the text features so far: generation<<32 | hash, open addressing
	gen                     uint32
	tokens                  *[]string // if set, words and links are also written here (Tokenize)
	own                     []string  // registered domains of the site's origins
}

func (f *features) reset() {
	f.text = f.text[:0]
	f.unit = f.unit[:0]
	f.general = f.general[:0]
	f.struc = f.struc[:0]
	f.kind = f.kind[:0]
	f.arg = f.arg[:0]
	f.count = f.count[:0]
	f.links = f.links[:0]
	f.clean = f.clean[:0]
	f.wordBytes = f.wordBytes[:0]
	f.wordEnd = f.wordEnd[:0]
	f.cues = f.cues[:0]
	f.prev, f.prevCommon = 0, false
	f.prev2, f.prev2Common = 0, false
	f.lastSelf, f.lastCTA = -10, -10
	f.selfPromo, f.callToAction = false, false
	f.money, f.support = 0, 0
	f.nWords = 0
	f.nURLs = 0
	f.firstLink, f.lastLink = -1, -1
}

// structArg is what a moderator is told about structural feature i: its
// domain, or the exact count behind it.
func (f *features) structArg(i int) string {
	if f.arg[i] != "" && (f.kind[i] == fkDomain || f.kind[i] == fkTLD || f.kind[i] == fkWebsite) {
		return f.arg[i]
	}
	return itoa(int(f.count[i]))
}

// wordAt returns the i-th word read.
func (f *features) wordAt(i int32) []byte {
	start := int32(0)
	if i > 0 {
		start = f.wordEnd[i-1]
	}
	return f.wordBytes[start:f.wordEnd[i]]
}

// textWeight is the value of each text feature: one over the square root
// of their number, so long comments do not outweigh the structure.
func (f *features) textWeight() float32 {
	if len(f.text) == 0 {
		return 0
	}
	return float32(1 / math.Sqrt(float64(len(f.text))))
}

const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func hashStart(ns byte) uint32 { return (fnvOffset ^ uint32(ns)) * fnvPrime }

func hashBytes(h uint32, b []byte) uint32 {
	for _, c := range b {
		h = (h ^ uint32(c)) * fnvPrime
	}
	return h
}

func hashString(h uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * fnvPrime
	}
	return h
}

// mix finishes a hash so that its top bits are usable as an index
// (murmur3's fmix32).
func mix(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// addStructHash adds a structural feature by its hash, once.
func (f *features) addStructHash(h uint32, k featKind, arg string, n int) {
	for _, x := range f.struc {
		if x == h {
			return
		}
	}
	f.struc = append(f.struc, h)
	f.kind = append(f.kind, k)
	f.arg = append(f.arg, arg)
	f.count = append(f.count, int32(n))
}

func (f *features) addStruct(k featKind, name string) {
	f.addStructHash(mix(hashString(hashStart(nsStruct), name)), k, "", 0)
}

// addStruct2 adds the structural feature prefix+name without building
// the string; n is the exact count behind a bucket name.
func (f *features) addStruct2(k featKind, prefix, name string, n int) {
	f.addStructHash(mix(hashString(hashString(hashStart(nsStruct), prefix), name)), k, name, n)
}

// websiteFeature is the hash of a website's registered domain, which only
// a site's own learning weighs.
func websiteFeature(website string) (uint32, string) {
	host := urlHost(strings.ToLower(strings.TrimSpace(website)))
	if host == "" {
		return 0, ""
	}
	reg := registered(host)
	return mix(hashString(hashStart(nsSite), reg)), reg
}

// extract fills f from a comment's body and website.
func (f *features) extract(body, website string) {
	f.reset()
	if len(body) > maxTextBytes {
		body = body[:maxTextBytes]
	}
	f.startSeen(len(body))
	st := f.normalize(body)
	f.tokenize()
	if website != "" {
		if h, reg := websiteFeature(website); h != 0 {
			f.addStructHash(h, fkWebsite, reg, 0)
			f.links = append(f.links, h)
		}
	}
	f.structure(st)
}

// startSeen readies the set of text features for a body of n bytes:
// features are present or absent, so "plz plz plz plz" or a row of fifty
// emoji weighs no more than one.
func (f *features) startSeen(n int) {
	size := 64
	for size < 4*n { // a word takes two bytes at least and makes at most three set entries
		size *= 2
	}
	if cap(f.seen) < size {
		f.seen = make([]uint64, size)
		f.gen = 0
	}
	f.seen = f.seen[:size]
	f.gen++
	if f.gen == 0 { // wrapped: clear the stale stamps
		clear(f.seen[:cap(f.seen)])
		f.gen = 1
	}
}

// first adds h to the set of text features and reports whether it is new.
func (f *features) first(h uint32) bool {
	mask := uint32(len(f.seen) - 1)
	key := uint64(f.gen)<<32 | uint64(h)
	for i := h & mask; ; i = (i + 1) & mask {
		switch {
		case f.seen[i] == key:
			return false
		case f.seen[i]>>32 != uint64(f.gen):
			f.seen[i] = key
			return true
		}
	}
}

// textStats are counts taken while normalising, before case is lost.
type textStats struct {
	upper, lower, otherLetters int
	excl, quest, paras, emoji  int
	// Phone numbers are written 555-123-4567, (555) 123 4567 or
	// +1.877.555.0123: digits with separators between their groups.
	phoneDigits, phoneSeps, phoneGroup, maxPhone int
	money, email                                 bool
	handle, hashtag                              bool
	breaks                                       int // line breaks since the last text, for paragraphs
}

// phoneChar updates the phone-number run with one character. A run
// counts as a phone number when its last group has three digits or more,
// so a date and time ("2016-03-02 14:29") is none.
func (st *textStats) phoneChar(c byte) {
	switch {
	case c >= '0' && c <= '9':
		st.phoneDigits++
		st.phoneGroup++
		st.phoneSeps = 0
		if st.phoneGroup >= 3 {
			st.maxPhone = max(st.maxPhone, st.phoneDigits)
		}
	case c == '-' || c == '.' || c == '(' || c == ')' || c == '+' || c == ' ' || c == '/':
		st.phoneSeps++
		st.phoneGroup = 0
		if st.phoneSeps > 2 {
			st.phoneDigits = 0
		}
	default:
		st.phoneDigits, st.phoneSeps, st.phoneGroup = 0, 0, 0
	}
}

// lineBreak counts one line break; two in a row (a blank line, or two
// <br>) start a new paragraph, one alone is only a wrapped line.
func (st *textStats) lineBreak() {
	st.breaks++
	if st.breaks == 2 {
		st.paras++
	}
}

// normalize writes the cleaned, lower-cased text of s to f.clean.
func (f *features) normalize(s string) textStats {
	var st textStats
	b := f.clean
	space := true // drop leading space and collapse runs
	for i := 0; i < len(s); {
		c := s[i]
		// Letters are most of any text: the short way.
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			if c <= 'Z' {
				st.upper++
				c += 'a' - 'A'
			} else {
				st.lower++
			}
			b = append(b, c)
			st.phoneDigits, st.phoneSeps, st.phoneGroup, st.breaks = 0, 0, 0, 0
			space = false
			i++
			continue
		}
		switch {
		case c == '&':
			if r, n := entity(s[i:]); n > 0 {
				i += n
				if unicode.IsSpace(r) {
					if r == '\n' {
						st.lineBreak()
					}
					st.phoneChar(' ')
					if !space {
						b = append(b, ' ')
						space = true
					}
					continue
				}
				if r < utf8.RuneSelf {
					st.phoneChar(byte(r))
				} else {
					st.phoneChar(0)
				}
				b, space = f.putRune(b, r, &st), false
				st.breaks = 0
				continue
			}
		case c == '<':
			if end, href, kind := tag(s[i:]); end > 0 {
				i += end
				switch kind {
				case tagBreak:
					st.lineBreak()
				case tagBlock:
					if len(b) > 0 {
						st.breaks = 1
						st.lineBreak()
					}
				}
				st.phoneChar(0)
				if href != "" {
					if !space {
						b = append(b, ' ')
					}
					b = appendLower(b, href)
					b = append(b, ' ')
				} else if !space {
					b = append(b, ' ')
				}
				space = true
				continue
			}
		}
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == '\n':
				st.lineBreak()
				fallthrough
			case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
				st.phoneChar(' ')
				if !space {
					b = append(b, ' ')
					space = true
				}
				continue
			case c == '!':
				st.excl++
			case c == '?':
				st.quest++
			case c == '$':
				if i < len(s) && s[i] >= '0' && s[i] <= '9' {
					st.money = true
				}
			case c == '#':
				if i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') && (i == 1 || s[i-2] == ' ') {
					st.hashtag = true
				}
			case c == '@':
				if i < len(s) && isWordByte(s[i]) && (i == 1 || s[i-2] == ' ' || s[i-2] == ':') {
					st.handle = true
				}
				if i > 1 && i < len(s) && isWordByte(s[i-2]) && isWordByte(s[i]) && strings.IndexByte(s[i:min(len(s), i+64)], '.') > 0 {
					st.email = true
				}
			}
			st.breaks = 0
			st.phoneChar(c)
			b, space = f.putRune(b, rune(c), &st), false
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if ignorable(r) {
			continue
		}
		if unicode.IsSpace(r) { // no-break and other Unicode spaces
			st.phoneChar(' ')
			if r == 0x2028 || r == 0x2029 || r == 0x85 {
				st.lineBreak()
			}
			if !space {
				b = append(b, ' ')
				space = true
			}
			continue
		}
		if r == '€' || r == '£' {
			st.money = true
		}
		st.breaks = 0
		st.phoneChar(0)
		b, space = f.putRune(b, r, &st), false
	}
	if space && len(b) > 0 {
		b = b[:len(b)-1]
	}
	f.clean = b
	return st
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// putRune appends r lower-cased and counts it.
func (f *features) putRune(b []byte, r rune, st *textStats) []byte {
	switch {
	case r >= 'a' && r <= 'z':
		st.lower++
		return append(b, byte(r))
	case r >= 'A' && r <= 'Z':
		st.upper++
		return append(b, byte(r+'a'-'A'))
	case r < utf8.RuneSelf:
		return append(b, byte(r))
	}
	if unicode.IsLetter(r) {
		if unicode.IsUpper(r) {
			st.upper++
		} else if unicode.IsLower(r) {
			st.lower++
		} else {
			st.otherLetters++
		}
		if !unicode.In(r, unicode.Latin) {
			st.otherLetters++
		}
		return utf8.AppendRune(b, unicode.ToLower(r))
	}
	if r >= 0x2190 && !unicode.IsPunct(r) {
		st.emoji++
	}
	return utf8.AppendRune(b, r)
}

// ignorable reports zero-width and formatting characters that carry no
// meaning: U+FEFF (which YouTube appends), zero-width spaces and joiners,
// variation selectors.
func ignorable(r rune) bool {
	switch {
	case r == 0xFEFF, r >= 0x200B && r <= 0x200F, r >= 0x2060 && r <= 0x2064, r == 0x00AD:
		return true
	case r >= 0xFE00 && r <= 0xFE0F:
		return true
	}
	return false
}

// entity decodes an HTML character reference at the start of s and
// returns the rune and its length, or n == 0 if there is none.
func entity(s string) (rune, int) {
	end := strings.IndexByte(s[:min(len(s), 12)], ';')
	if end < 2 {
		return 0, 0
	}
	u := html.UnescapeString(s[:end+1])
	if u == s[:end+1] {
		return 0, 0
	}
	r, n := utf8.DecodeRuneInString(u)
	if n != len(u) {
		return 0, 0
	}
	return r, end + 1
}

// What a tag does to the text around it.
const (
	tagInline = iota // <a>, <b>, <code>, ...: a word boundary
	tagBreak         // <br>: a line break
	tagBlock         // <p>, <div>, <li>, <h1>...: a new paragraph
)

// tag recognises an HTML tag, or a Markdown autolink such as
// <https://example.com>, at the start of s and returns its length, the
// link it holds (a tag's href, the autolink itself) and its kind. It
// returns 0 if s does not start with a tag.
func tag(s string) (n int, href string, kind int) {
	if len(s) < 3 {
		return 0, "", 0
	}
	c := s[1]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '!') {
		return 0, "", 0
	}
	end := strings.IndexByte(s[:min(len(s), 2048)], '>')
	if end < 0 {
		return 0, "", 0
	}
	t := s[:end+1]
	lt := strings.ToLower(t)
	if strings.HasPrefix(lt, "<http://") || strings.HasPrefix(lt, "<https://") || strings.HasPrefix(lt, "<www.") {
		if strings.ContainsAny(t[1:end], " \t\n<\"") {
			return 0, "", 0
		}
		return end + 1, t[1:end], tagInline
	}
	if i := strings.Index(lt, "href="); i >= 0 {
		v := t[i+5:]
		if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
			if j := strings.IndexByte(v[1:], v[0]); j >= 0 {
				href = v[1 : 1+j]
			}
		} else if j := strings.IndexAny(v, " >"); j >= 0 {
			href = v[:j]
		}
	}
	name := strings.TrimPrefix(lt[1:], "/")
	if j := strings.IndexAny(name, " \t\n/>"); j >= 0 {
		name = name[:j]
	}
	switch name {
	case "br":
		kind = tagBreak
	case "p", "div", "li", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table", "tr":
		if t[1] != '/' {
			kind = tagBlock
		}
	}
	return end + 1, href, kind
}

func appendLower(b []byte, s string) []byte {
	for _, r := range s {
		if ignorable(r) {
			continue
		}
		b = utf8.AppendRune(b, unicode.ToLower(r))
	}
	return b
}

// tokenize splits f.clean into runs between spaces and each run into
// links and words.
func (f *features) tokenize() {
	s := f.clean
	for len(s) > 0 {
		sp := indexByte(s, ' ')
		run := s
		if sp >= 0 {
			run, s = s[:sp], s[sp+1:]
		} else {
			s = nil
		}
		f.run(run)
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// run handles one whitespace-separated run of text.
func (f *features) run(run []byte) {
	for len(run) > 0 {
		p := urlStart(run)
		if p < 0 {
			if end := bareDomain(run); end > 0 {
				f.link(run[:end])
				run = run[end:]
				continue
			}
			f.words(run)
			return
		}
		f.words(run[:p])
		end := p
		for end < len(run) && !strings.ContainsRune(")]>\"'<", rune(run[end])) {
			end++
		}
		f.link(run[p:end])
		run = run[end:]
	}
}

// urlStart returns where an explicit link (http://, https://, www.) starts
// in run, or -1.
func urlStart(run []byte) int {
	for i := 0; i+4 <= len(run); i++ {
		if run[i] != 'h' && run[i] != 'w' {
			continue
		}
		if i > 0 && isAlnum(run[i-1]) {
			continue
		}
		r := run[i:]
		if hasPrefix(r, "http://") || hasPrefix(r, "https://") || hasPrefix(r, "www.") && len(r) > 5 {
			return i
		}
	}
	return -1
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// commonTLDs are the endings that make "example.com" a link even without
// a path; anything else needs a path ("site.xyz/page").
var commonTLDs = map[string]bool{
	"com": true, "net": true, "org": true, "info": true, "biz": true, "ru": true, "de": true,
	"uk": true, "us": true, "io": true, "ly": true, "be": true, "me": true, "tv": true,
	"co": true, "gl": true, "tk": true, "in": true, "br": true, "fr": true, "cn": true, "xyz": true,
	"au": true, "ca": true, "nl": true, "es": true, "pl": true, "jp": true, "eu": true, "top": true,
	"club": true, "online": true, "site": true, "store": true, "shop": true, "live": true, "pro": true,
	"cc": true, "ws": true, "pw": true, "click": true, "vip": true, "app": true,
}

// bareDomain returns the length of a link written without a scheme at
// the start of run ("bit.ly/x", "example.com"), or 0.
func bareDomain(run []byte) int {
	if bytes.IndexByte(run, '.') < 0 {
		return 0
	}
	end := len(run)
	for end > 0 && strings.IndexByte(".,!?;:)(\"'", run[end-1]) >= 0 {
		end--
	}
	u := run[:end]
	host := u
	slash := indexByte(u, '/')
	if slash >= 0 {
		host = u[:slash]
	}
	dot := -1
	for i, c := range host {
		switch {
		case c == '.':
			if i == 0 || i == len(host)-1 || host[i-1] == '.' {
				return 0
			}
			dot = i
		case isAlnum(c) || c == '-':
		default:
			return 0
		}
	}
	if dot < 0 {
		return 0
	}
	tld := host[dot+1:]
	if len(tld) < 2 || len(tld) > 6 {
		return 0
	}
	for _, c := range tld {
		if c < 'a' || c > 'z' {
			return 0
		}
	}
	if slash < 0 && !commonTLDs[string(tld)] {
		return 0
	}
	return end
}

// link adds the features of one link: that there is one, its registered
// domain and its top-level domain. Paths are not words. A link to the
// site's own origins or to a reference site adds nothing.
func (f *features) link(u []byte) {
	host := urlHost(string(u))
	if f.tokens != nil {
		*f.tokens = append(*f.tokens, "<link:"+host+">")
	}
	if host == "" {
		f.countLink()
		return
	}
	reg := registered(host)
	if neutralLink(reg, f.own) {
		return
	}
	f.countLink()
	h := mix(hashString(hashString(hashStart(nsStruct), "dom:"), reg))
	f.addStructHash(h, fkDomain, reg, 0)
	f.links = append(f.links, h)
	// The top-level domain says something when it is not one of the
	// three everybody uses (which the link itself already says).
	if i := strings.LastIndexByte(reg, '.'); i >= 0 {
		switch tld := reg[i+1:]; tld {
		case "com", "org", "net":
		default:
			f.addStruct2(fkTLD, "tld:", tld, 0)
		}
	}
}

func (f *features) countLink() {
	f.nURLs++
	if f.firstLink < 0 {
		f.firstLink = f.nWords
	}
	f.lastLink = f.nWords
	// A link ends a phrase: "my channel http://x" is no pair "channel http".
	f.prev, f.prev2 = 0, 0
}

// urlHost returns the lower-cased host of a link, without "www.".
func urlHost(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexAny(u, "/?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.LastIndexByte(u, '@'); i >= 0 {
		u = u[i+1:]
	}
	if i := strings.IndexByte(u, ':'); i >= 0 {
		u = u[:i]
	}
	u = strings.TrimPrefix(u, "www.")
	return strings.TrimSuffix(u, ".")
}

// registered returns the domain a host's owner registered, one label
// below its public suffix ("news.bbc.co.uk" → "bbc.co.uk",
// "m.youtube.com" → "youtube.com", "someone.blogspot.com" stays as it
// is): that is what a spammer pays for. Hosts without one (an address, a
// bare suffix) are returned as they are.
func registered(host string) string {
	if reg, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return reg
	}
	return host
}

// words adds the word, pair and n-gram features of a run without links.
func (f *features) words(run []byte) {
	var w [48]byte
	n := 0
	var last rune = -1
	repeat := 0
	flush := func() {
		if n > 0 {
			f.word(w[:n])
		}
		n, last, repeat = 0, -1, 0
	}
	for i := 0; i < len(run); {
		c := run[i]
		var r rune
		size := 1
		if c < utf8.RuneSelf {
			r = rune(c)
		} else {
			r, size = utf8.DecodeRune(run[i:])
		}
		i += size
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)):
		case c == '\'' || r == '’':
			continue // "don't" is "dont", as it is often typed
		default:
			flush()
			if c >= utf8.RuneSelf && !unicode.IsPunct(r) && !unicode.IsSpace(r) {
				// An emoji or symbol is a word of its own.
				var e [4]byte
				f.word(e[:utf8.EncodeRune(e[:], r)])
			}
			continue
		}
		if r == last && !(c >= '0' && c <= '9') {
			repeat++
			if repeat >= 2 {
				continue // "soooo" is "soo"; numbers are kept
			}
		} else {
			last, repeat = r, 0
		}
		if n+size <= len(w) {
			n += utf8.EncodeRune(w[n:], r)
		}
	}
	flush()
}

// word adds one word's features. A word seen before in the comment adds
// only its pairs with its new neighbours; n-grams that different words
// share add up, as their letters do.
func (f *features) word(w []byte) {
	f.nWords++
	if f.tokens != nil {
		*f.tokens = append(*f.tokens, string(w))
		return // Tokenize wants the words, not their features
	}
	f.wordBytes = append(f.wordBytes, w...)
	f.wordEnd = append(f.wordEnd, int32(len(f.wordBytes)))
	unit := int32(len(f.wordEnd) - 1)
	start := len(f.text)
	allDigits := true
	for _, c := range w {
		if c < '0' || c > '9' {
			allDigits = false
			break
		}
	}
	if allDigits && len(w) > 4 {
		// Long numbers are ids, prices or phone numbers; their digits are noise.
		var tokenBuf [8]byte
		tok := append(tokenBuf[:0], '#', byte('0'+min(len(w), 9)))
		w = tok
	}
	h := hashBytes(hashStart(nsWord), w)
	class := lexiconClass(h)
	if class&^cueCommon != 0 {
		f.cue(class, unit)
	}
	common := class&cueCommon != 0
	add := func(x uint32, general bool) {
		f.text = append(f.text, x)
		f.general = append(f.general, general)
	}
	isNew := f.first(mix(h))
	if isNew {
		add(mix(h), common)
	}
	if f.prev != 0 {
		if p := mix((f.prev * 0x9E3779B1) ^ h ^ nsPair); f.first(p) {
			add(p, common && f.prevCommon)
		}
	}
	if f.prev2 != 0 {
		// "my new channel" also gives "my _ channel".
		if p := mix((f.prev2 * 0x85ebca6b) ^ h ^ nsSkip); f.first(p) {
			add(p, common && f.prev2Common)
		}
	}
	if f.nWords <= 2 {
		// How a comment opens says a lot: "check out", "subscribe", "hey guys".
		add(mix(h^uint32(f.nWords)*0x27d4eb2f^nsFirst), common)
	}
	f.prev2, f.prev2Common = f.prev, f.prevCommon
	f.prev, f.prevCommon = h|1, common
	grams := len(f.text)
	if isNew && !allDigits && len(w) >= 2 {
		// Character n-grams of the word with its boundaries marked, as
		// " subscribe " → " su", "sub", ..., "be ".
		var pad [50]byte
		pad[0] = ' '
		m := copy(pad[1:], w) + 2
		pad[m-1] = ' '
		for n := 3; n <= 4; n++ {
			for i := 0; i+n <= m; i++ {
				f.text = append(f.text, mix(hashBytes(hashStart(nsGram+byte(n)), pad[i:i+n])))
			}
		}
	}
	for range len(f.text) - grams {
		f.general = append(f.general, true)
	}
	for range len(f.text) - start {
		f.unit = append(f.unit, unit)
	}
}

// Word classes for the promotion cues. Spam on comment sections is
// overwhelmingly self-promotion ("check out my channel", "subscribe to
// me", "visit my blog") or selling (pills, loans, casinos, support lines),
// whatever the site is about; these classes let the model see "my
// mixtape" as the same cue as "my channel" even when "mixtape" never
// occurred in training.
const (
	cueSelf    = 1 << iota // my, our, me, us
	cueMedia               // channel, video, blog, ...
	cueCTA                 // subscribe, check, visit, ...
	cueTarget              // what a call to action points at: my, our, me, this, channel
	cueMoney               // free, money, casino, pills, loans, ...
	cueSupport             // support, helpline, toll-free, customer service, ...
	cueCommon              // the, and, of, new, ...: words every comment uses
)

var lexicon = func() map[uint32]uint8 {
	m := map[uint32]uint8{}
	add := func(class uint8, words string) {
		for _, w := range strings.Fields(words) {
			m[hashString(hashStart(nsWord), w)] |= class
		}
	}
	add(cueSelf|cueTarget, "my our me us mine")
	add(cueMedia|cueTarget, "channel chanel chanell channels video videos vid vids vidz vidio vidios track tracks song songs music "+
		"playlist blog page profile instagram insta twitter facebook fb account website site cover covers album mixtape band "+
		"app game shop store book stuff content rap raps beat beats vlog vlogs photos pics pictures art comedy series show movie "+
		"film tutorial tutorials podcast stream streams")
	add(cueCTA, "subscribe subscribers subscriber sub subs subscrib subcribe suscribe subscibe follow check visit watch "+
		"vote share click join listen download donate")
	add(cueMoney, "free money earn cash paypal bitcoin bitcoins gift giftcard giftcards prize dollars dollar income profit "+
		"rich loan loans investment invest casino bet betting viagra sex sexy dating xxx porn hot girls singles "+
		"cheap discount buy coupon payday pharmacy pills cialis levitra replica jackpot slots poker bonus forex "+
		"escort escorts garcinia keto supplement supplements enhancement testosterone")
	add(cueSupport, "support helpline hotline toll tollfree customer care helpdesk technical tech reservation reservations "+
		"booking service services")
	add(cueCommon, "the a an and or but if of to in on at by for with from as is are was were be been being it its this that "+
		"these those there here i you he she we they them his her their our your my me us him what which who when where why how "+
		"all any some no not so than too very can will just do does did have has had would should could may might must one two "+
		"new more most other about up out into over after before also only then now well even back still way get got make like "+
		"know think see go going want time people thing things good great much many")
	return m
}()

// lexiconTable is lexicon as an open-addressing table, which a word's
// lookup reads faster than a map: every word of every comment is looked
// up, and few are in it.
var lexiconTable = func() (t [1 << 12]struct {
	h     uint32
	class uint8
}) {
	for h, c := range lexicon {
		i := h & uint32(len(t)-1)
		for t[i].class != 0 {
			i = (i + 1) & uint32(len(t)-1)
		}
		t[i].h, t[i].class = h, c
	}
	return t
}()

// lexiconClass returns the cue classes of the word whose hash is h.
func lexiconClass(h uint32) uint8 {
	for i := h & uint32(len(lexiconTable)-1); ; i = (i + 1) & uint32(len(lexiconTable)-1) {
		e := lexiconTable[i]
		if e.class == 0 || e.h == h {
			return e.class
		}
	}
}

// cue updates the promotion cues with the class of the word just seen,
// word number unit.
func (f *features) cue(class uint8, unit int32) {
	pos := f.nWords
	if class&cueMedia != 0 && pos-f.lastSelf <= 3 {
		f.selfPromo = true
	}
	if class&cueTarget != 0 && pos-f.lastCTA <= 3 {
		f.callToAction = true
	}
	if class&cueMoney != 0 {
		f.money++
	}
	if class&cueSupport != 0 {
		f.support++
	}
	if class&cueSelf != 0 {
		f.lastSelf = pos
	}
	if class&cueCTA != 0 {
		f.lastCTA = pos
	}
	if class&(cueMoney|cueSupport) != 0 && len(f.cues) < 8 {
		f.cues = append(f.cues, unit)
	}
}

// structure adds the structural features.
func (f *features) structure(st textStats) {
	f.addStruct2(fkLinks, "urls:", bucket(f.nURLs, 0, 1, 2, 3, 5), f.nURLs)
	f.addStruct2(fkLength, "words:", bucket(f.nWords, 0, 1, 2, 3, 5, 9, 17, 33, 65, 129, 257), f.nWords)
	if f.nURLs > 0 {
		f.addStruct2(fkLinkRatio, "url+words:", bucket(f.nWords/f.nURLs, 0, 3, 6, 12, 25, 50, 100), f.nWords/f.nURLs)
		if f.firstLink == 0 {
			f.addStruct(fkLinkStart, "link:start")
		}
		if f.nWords-f.lastLink <= 2 && f.nWords > 2 {
			f.addStruct(fkLinkEnd, "link:end")
		}
	}
	if letters := st.upper + st.lower; letters >= 6 {
		caps := 100 * st.upper / letters
		f.addStruct2(fkCaps, "caps:", bucket(caps, 0, 10, 30, 60, 90), caps)
	}
	f.addStruct2(fkExcl, "excl:", bucket(st.excl, 0, 1, 2, 4), st.excl)
	f.addStruct2(fkQuest, "quest:", bucket(st.quest, 0, 1, 3), st.quest)
	f.addStruct2(fkParas, "paras:", bucket(st.paras, 0, 1, 3), st.paras+1)
	if st.emoji > 0 {
		f.addStruct(fkEmoji, "emoji")
	}
	if st.money {
		f.addStruct(fkMoney, "money")
	}
	if st.email {
		f.addStruct(fkEmail, "email")
	}
	if st.maxPhone >= 10 && st.maxPhone <= 13 {
		f.addStruct(fkPhone, "phone")
		if f.support > 0 {
			f.addStruct(fkPhoneSupport, "phone+support")
		}
	}
	if f.selfPromo {
		f.addStruct(fkSelfPromo, "promo:self")
	}
	if f.callToAction {
		f.addStruct(fkCTA, "promo:cta")
	}
	if f.money > 0 {
		f.addStruct2(fkSales, "promo:money", bucket(f.money, 1, 2, 4), f.money)
	}
	if st.handle {
		f.addStruct(fkHandle, "handle")
	}
	if st.hashtag {
		f.addStruct(fkHashtag, "hashtag")
	}
	if st.otherLetters > 0 && st.otherLetters*2 >= st.upper+st.lower {
		f.addStruct(fkScript, "script")
	}
}

// bucket names the last bound that n reaches, e.g. bucket(7, 0, 5, 9) is "5".
func bucket(n int, bounds ...int) string {
	b := bounds[0]
	for _, x := range bounds {
		if n >= x {
			b = x
		}
	}
	return itoa(b)
}

func itoa(n int) string {
	if n >= 0 && n < 10 {
		return string(rune('0' + n))
	}
	var b [20]byte
	i := len(b)
	for n >= 10 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	i--
	b[i] = byte('0' + n)
	return string(b[i:])
}

// Tokenize returns the cleaned words of a comment as the classifier reads
// them, with links as "<link:HOST>" (lower case, without "www."). It is for tests and for showing a
// moderator what the filter saw; classification itself makes no strings.
func Tokenize(body string) []string {
	var out []string
	f := features{tokens: &out}
	if len(body) > maxTextBytes {
		body = body[:maxTextBytes]
	}
	f.normalize(body)
	f.tokenize()
	return out
}
