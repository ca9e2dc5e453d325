package spam

import (
	"html"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The classifier sees a comment as hashed features of three kinds:
//
//   - words (letters and digits, lower-cased, runs of a repeated letter
//     squeezed to two, apostrophes dropped) and word pairs;
//   - the first two words, and word pairs with one word skipped;
//   - character 3- and 4-grams inside words, so "subscribe", "subscrib" and
//     "suscribe" share most of their features;
//   - structure that carries over from site to site when topic words do
//     not: how many links and to which domains, length, the share of
//     capitals, exclamation marks, line breaks, money, phone numbers and
//     e-mail addresses, @handles and #hashtags, emoji, non-Latin script,
//     and promotion cues: a first-person word shortly before a media
//     noun ("my new channel"), a call to action shortly before a target
//     ("check out my", "subscribe to me"), money and adult words.
//
// The text is cleaned first: HTML entities such as &#39; are decoded,
// tags are dropped (keeping a link's href), and zero-width characters such
// as U+FEFF, which YouTube appends to most comments, are removed.

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

// features is one comment's hashed features. Text features (words, pairs,
// n-grams) are weighted together to unit length; structural ones weigh 1.
type features struct {
	text  []uint32 // raw 32-bit hashes
	struc []uint32
	clean []byte // normalised text, reused between calls
	prev  uint32 // hash of the previous word, for pairs; 0 at the start
	prev2 uint32
	// Cue tracking for the promotion features: the word positions at
	// which the last first-person word and call-to-action verb were seen.
	lastSelf, lastCTA       int
	selfPromo, callToAction bool
	money                   int
	nWords                  int
	nURLs                   int
	links                   []uint32 // the link and website domain features, also in struc
	seen                    []uint64 // dedupe's table: generation<<32 | hash
	gen                     uint32
	tokens                  *[]string // if set, words and links are also written here (Tokenize)
}

func (f *features) reset() {
	f.text = f.text[:0]
	f.struc = f.struc[:0]
	f.links = f.links[:0]
	f.clean = f.clean[:0]
	f.prev = 0
	f.prev2 = 0
	f.lastSelf, f.lastCTA = -10, -10
	f.selfPromo, f.callToAction = false, false
	f.money = 0
	f.nWords = 0
	f.nURLs = 0
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

func (f *features) addStruct(name string) {
	f.struc = append(f.struc, mix(hashString(hashStart(nsStruct), name)))
}

// addStruct2 adds the structural feature prefix+name without building
// the string.
func (f *features) addStruct2(prefix, name string) {
	f.struc = append(f.struc, mix(hashString(hashString(hashStart(nsStruct), prefix), name)))
}

// extract fills f from a comment's body and website.
func (f *features) extract(body, website string) {
	f.reset()
	if len(body) > maxTextBytes {
		body = body[:maxTextBytes]
	}
	st := f.normalize(body)
	f.tokenize()
	if website != "" {
		host := urlHost(strings.ToLower(website))
		if host != "" {
			h := mix(hashString(hashStart(nsSite), registered(host)))
			f.struc = append(f.struc, h)
			f.links = append(f.links, h)
		}
	}
	f.structure(st)
	f.text = f.dedupe(f.text)
	f.struc = f.dedupe(f.struc)
}

// dedupe removes repeated hashes in place, keeping first occurrences:
// features are present or absent, so "plz plz plz plz" or a row of fifty
// emoji weighs no more than one.
func (f *features) dedupe(hs []uint32) []uint32 {
	size := 64
	for size < 2*len(hs) {
		size *= 2
	}
	if cap(f.seen) < size {
		f.seen = make([]uint64, size)
	}
	seen := f.seen[:size]
	f.gen++
	if f.gen == 0 { // wrapped: clear the stale stamps
		clear(f.seen[:cap(f.seen)])
		f.gen = 1
	}
	mask := uint32(size - 1)
	out := hs[:0]
	for _, h := range hs {
		key := uint64(f.gen)<<32 | uint64(h)
		for i := h & mask; ; i = (i + 1) & mask {
			if seen[i] == key {
				break
			}
			if seen[i]>>32 != uint64(f.gen) {
				seen[i] = key
				out = append(out, h)
				break
			}
		}
	}
	return out
}

// textStats are counts taken while normalising, before case is lost.
type textStats struct {
	upper, lower, otherLetters int
	excl, quest, lines, emoji  int
	digitsRun, maxDigitsRun    int
	money, email               bool
	handle, hashtag            bool
}

// normalize writes the cleaned, lower-cased text of s to f.clean.
func (f *features) normalize(s string) textStats {
	var st textStats
	b := f.clean
	space := true // drop leading space and collapse runs
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '&':
			if r, n := entity(s[i:]); n > 0 {
				i += n
				if r == '\n' || unicode.IsSpace(r) {
					if !space {
						b = append(b, ' ')
						space = true
					}
					continue
				}
				b, space = f.putRune(b, r, &st), false
				continue
			}
		case c == '<':
			if end, href := tag(s[i:]); end > 0 {
				i += end
				if isBreak(s[i-end : i]) {
					st.lines++
				}
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
				st.lines++
				fallthrough
			case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
				if !space {
					b = append(b, ' ')
					space = true
				}
				st.digitsRun = 0
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
			b, space = f.putRune(b, rune(c), &st), false
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if ignorable(r) {
			continue
		}
		if unicode.IsSpace(r) {
			if !space {
				b = append(b, ' ')
				space = true
			}
			continue
		}
		if r == '€' || r == '£' {
			st.money = true
		}
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
		st.digitsRun = 0
		return append(b, byte(r))
	case r >= 'A' && r <= 'Z':
		st.upper++
		st.digitsRun = 0
		return append(b, byte(r+'a'-'A'))
	case r >= '0' && r <= '9':
		st.digitsRun++
		st.maxDigitsRun = max(st.maxDigitsRun, st.digitsRun)
		return append(b, byte(r))
	case r < utf8.RuneSelf:
		// Phone numbers are written 555-123-4567 or (555) 123 4567.
		if r != '-' && r != '(' && r != ')' && r != '.' && r != '+' {
			st.digitsRun = 0
		}
		return append(b, byte(r))
	}
	st.digitsRun = 0
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

// tag recognises an HTML tag at the start of s and returns its length and,
// for a link, its href. It returns 0 if s does not start with a tag.
func tag(s string) (int, string) {
	if len(s) < 3 {
		return 0, ""
	}
	c := s[1]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '!') {
		return 0, ""
	}
	end := strings.IndexByte(s[:min(len(s), 2048)], '>')
	if end < 0 {
		return 0, ""
	}
	t := s[:end+1]
	href := ""
	if i := strings.Index(strings.ToLower(t), "href="); i >= 0 {
		v := t[i+5:]
		if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
			if j := strings.IndexByte(v[1:], v[0]); j >= 0 {
				href = v[1 : 1+j]
			}
		} else if j := strings.IndexAny(v, " >"); j >= 0 {
			href = v[:j]
		}
	}
	return end + 1, href
}

func isBreak(t string) bool {
	return len(t) >= 3 && (t[1] == 'b' || t[1] == 'B') && (t[2] == 'r' || t[2] == 'R')
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
}

// bareDomain returns the length of a link written without a scheme at
// the start of run ("bit.ly/x", "example.com"), or 0.
func bareDomain(run []byte) int {
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
// domain and its top-level domain. Paths are not words.
func (f *features) link(u []byte) {
	f.nURLs++
	host := urlHost(string(u))
	if f.tokens != nil {
		*f.tokens = append(*f.tokens, "<link:"+host+">")
	}
	if host == "" {
		return
	}
	reg := registered(host)
	f.addStruct2("dom:", reg)
	f.links = append(f.links, f.struc[len(f.struc)-1])
	if i := strings.LastIndexByte(reg, '.'); i >= 0 {
		f.addStruct2("tld:", reg[i+1:])
	}
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

// registered returns the last two labels of a host ("m.youtube.com" →
// "youtube.com"), which is what a spammer pays for.
func registered(host string) string {
	i := strings.LastIndexByte(host, '.')
	if i <= 0 {
		return host
	}
	if j := strings.LastIndexByte(host[:i], '.'); j >= 0 {
		return host[j+1:]
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

// word adds one word's features.
func (f *features) word(w []byte) {
	f.nWords++
	if f.tokens != nil {
		*f.tokens = append(*f.tokens, string(w))
	}
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
	f.cue(lexicon[h])
	f.text = append(f.text, mix(h))
	if f.prev != 0 {
		f.text = append(f.text, mix((f.prev*0x9E3779B1)^h^nsPair))
	}
	if f.prev2 != 0 {
		// "my new channel" also gives "my _ channel".
		f.text = append(f.text, mix((f.prev2*0x85ebca6b)^h^nsSkip))
	}
	if f.nWords <= 2 {
		// How a comment opens says a lot: "check out", "subscribe", "hey guys".
		f.text = append(f.text, mix(h^uint32(f.nWords)*0x27d4eb2f^nsFirst))
	}
	f.prev2 = f.prev
	f.prev = h | 1
	if allDigits || len(w) < 2 {
		return
	}
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

// Word classes for the promotion cues. Spam on comment sections is
// overwhelmingly self-promotion ("check out my channel", "subscribe to
// me", "visit my blog"), whatever the site is about; these classes let
// the model see "my mixtape" as the same cue as "my channel" even when
// "mixtape" never occurred in training.
const (
	cueSelf   = 1 << iota // my, our, me, us
	cueMedia              // channel, video, blog, ...
	cueCTA                // subscribe, check, visit, ...
	cueTarget             // what a call to action points at: my, our, me, this, channel
	cueMoney              // free, money, earn, ...
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
	add(cueCTA, "subscribe subscribers subscriber sub subs subscrib subcribe suscribe subscibe follow check visit watch look add "+
		"vote share click join listen download search support donate earn win help give take go")
	add(cueMoney, "free money earn cash paypal bitcoin bitcoins gift giftcard giftcards prize dollars dollar income profit "+
		"rich loan loans investment invest casino bet betting viagra sex sexy dating xxx porn hot girls singles")
	return m
}()

// cue updates the promotion cues with the class of the word just seen.
func (f *features) cue(class uint8) {
	if class == 0 {
		return
	}
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
	if class&cueSelf != 0 {
		f.lastSelf = pos
	}
	if class&cueCTA != 0 {
		f.lastCTA = pos
	}
}

// structure adds the structural features.
func (f *features) structure(st textStats) {
	f.addStruct2("urls:", bucket(f.nURLs, 0, 1, 2, 3))
	f.addStruct2("words:", bucket(f.nWords, 0, 1, 2, 3, 5, 9, 17, 33, 65))
	if f.nURLs > 0 {
		f.addStruct2("url+words:", bucket(f.nWords, 0, 3, 6, 12))
	}
	if letters := st.upper + st.lower; letters >= 6 {
		caps := 100 * st.upper / letters
		f.addStruct2("caps:", bucket(caps, 0, 10, 30, 60, 90))
	}
	f.addStruct2("excl:", bucket(st.excl, 0, 1, 2, 4))
	f.addStruct2("quest:", bucket(st.quest, 0, 1, 3))
	f.addStruct2("lines:", bucket(st.lines, 0, 1, 3))
	if st.emoji > 0 {
		f.addStruct("emoji")
	}
	if st.money {
		f.addStruct("money")
	}
	if st.email {
		f.addStruct("email")
	}
	if st.maxDigitsRun >= 9 {
		f.addStruct("phone")
	}
	if f.selfPromo {
		f.addStruct("promo:self")
	}
	if f.callToAction {
		f.addStruct("promo:cta")
	}
	if f.money > 0 {
		f.addStruct2("promo:money", bucket(f.money, 1, 2))
	}
	if st.handle {
		f.addStruct("handle")
	}
	if st.hashtag {
		f.addStruct("hashtag")
	}
	if st.otherLetters > 0 && st.otherLetters*2 >= st.upper+st.lower {
		f.addStruct("script")
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
