package spam

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"parley/internal/comment"
)

// Signals is the layer that knows blog-comment spam by the marks it
// carries besides its words: a keyword for a name ("cheap airline
// flights"), a website field pointing at a sales domain or at a profile
// page on somebody else's site, a phone number next to "support" or
// "toll-free", praise that fits any article ("I will bookmark your blog
// and check again here regularly"), a pile of sales words, and more links
// than text. Each mark has a fixed weight set by hand, not learned: the
// public data has author names and websites only for spam, so a learned
// weight would only tell the data sets apart.
//
// The layer holds a comment only when several marks come together, and
// never calls it spam by itself. Any mark of weight 1 or more is
// Evidence: it lets the classifier's near-certain score reach the spam
// tier (see Pipeline). The strong marks (2 points or more) also Boost
// the classifier's score by their points when the Pipeline asks whether
// it is near-certain: they are as good as a word the classifier knows.
// A mark alone is never enough to hold a comment from a reader who has a
// website and likes the article.
type Signals struct {
	// Site, when set, says which website domains the site's moderators
	// approved before: a website on any other is "new" (a weak mark).
	Site *SiteModel
}

// Weights of the marks, in points; HoldSignals points hold a comment.
const (
	markWeak   = 0.5
	markMedium = 1.0
	markStrong = 2.0
	// HoldSignals is how many points hold a comment: a phone number with
	// "support" alone, or a keyword for a name with praise that fits any
	// article and a link in the website field.
	HoldSignals = 2.5
	// evidencePoints is how many points make the layer Evidence.
	evidencePoints = 1.0
)

// mark is one finding.
type mark struct {
	points float64
	reason comment.Reason
}

// Check implements Checker. It never fails.
func (s *Signals) Check(_ context.Context, in *Input) (Verdict, error) {
	marks := s.marks(in)
	v := Verdict{Action: Publish, Layer: "signals"}
	var points float64
	for _, m := range marks {
		points += m.points
		if m.points >= markStrong {
			v.Boost += m.points
		}
	}
	slices.SortStableFunc(marks, func(a, b mark) int {
		switch {
		case a.points > b.points:
			return -1
		case a.points < b.points:
			return 1
		}
		return 0
	})
	for _, m := range marks {
		v.Reasons = append(v.Reasons, m.reason)
	}
	v.Score = min(1, points/(2*HoldSignals))
	if points >= evidencePoints {
		v.Evidence = true
	}
	if points >= HoldSignals {
		v.Action = Hold
		v.Reasons = append([]comment.Reason{NewReason("signals_hold")}, v.Reasons...)
	}
	return v, nil
}

// marks returns the findings on a comment.
func (s *Signals) marks(in *Input) []mark {
	var out []mark
	add := func(points float64, code string, kv ...string) {
		out = append(out, mark{points, NewReason(code, kv...)})
	}
	body := in.Body
	if len(body) > maxTextBytes {
		body = body[:maxTextBytes]
	}
	words := in.bodyWords()
	own := appendOwn(nil, in.Origins)
	_, links := linkHosts(words, own)
	nWords := len(words)
	for _, w := range words {
		if strings.HasPrefix(w, "<link:") {
			nWords--
		}
	}

	// The author's name.
	name := strings.TrimSpace(in.AuthorName)
	nameWords := Tokenize(name)
	switch {
	case slices.ContainsFunc(nameWords, func(w string) bool { return strings.HasPrefix(w, "<link:") }):
		add(markStrong, "name_link")
	case slices.ContainsFunc(nameWords, func(w string) bool { return salesNames[w] }):
		add(markStrong, "name_keywords", "name", name)
	case len(nameWords) > 0 && allCategoryWords(nameWords):
		add(markMedium, "name_keywords", "name", name)
	}

	// The website field.
	if site := strings.TrimSpace(in.Website); site != "" {
		host := urlHost(strings.ToLower(site))
		if host != "" {
			reg := registered(host)
			if !neutralLink(reg, own) {
				label := strings.TrimSuffix(reg, reg[strings.IndexByte(reg+".", '.'):])
				switch {
				case hasSalesStem(label):
					add(markMedium, "website_commercial", "domain", reg)
				case profilePage(site):
					add(markMedium, "website_profile", "domain", reg)
				case deepLink(site):
					add(markWeak, "website_deep_link", "domain", reg)
				}
				if s.Site != nil && !s.Site.KnownWebsite(site) {
					add(markWeak, "website_new_domain", "domain", reg)
				}
			}
		}
	}

	// The text.
	if n, w := phoneSupport(body, words); n {
		add(HoldSignals, "phone_support", "word", w)
	}
	if hits := flattery(words); len(hits) >= 2 {
		p := markMedium
		if len(hits) >= 3 {
			p = markStrong
		}
		add(p, "flattery", "phrases", quoteList(hits[:min(2, len(hits))]))
	}
	if sales := distinctClass(words, cueMoney); len(sales) >= 3 {
		p := markMedium
		if len(sales) >= 5 {
			p = markStrong
		}
		add(p, "sales_words", "words", quoteList(sales[:min(3, len(sales))]))
	}
	if links >= 2 && nWords < 8*links {
		add(markMedium, "link_heavy", "n", itoa(links), "words", itoa(nWords))
	}
	for _, w := range words {
		if h, ok := strings.CutPrefix(w, "<link:"); ok && shorteners[registered(strings.TrimSuffix(h, ">"))] {
			add(markMedium, "link_shortener", "domain", strings.TrimSuffix(h, ">"))
			break
		}
	}
	return out
}

// shorteners are link shorteners and redirectors: a link through one hides
// where it goes, which readers who cite a page have no reason to do.
var shorteners = map[string]bool{
	"bit.ly": true, "goo.gl": true, "tinyurl.com": true, "t.co": true, "ow.ly": true, "is.gd": true,
	"buff.ly": true, "adf.ly": true, "shorte.st": true, "cutt.ly": true, "rebrand.ly": true, "tiny.cc": true,
	"bl.ink": true, "soo.gd": true, "s.id": true, "v.gd": true, "rb.gy": true, "shorturl.at": true,
	"lnkd.in": true, "bitly.com": true, "ouo.io": true, "linktr.ee": true,
}

// countClass counts the words of a lexicon class.
func countClass(words []string, class uint8) int {
	n := 0
	for _, w := range words {
		if lexicon[hashString(hashStart(nsWord), w)]&class != 0 {
			n++
		}
	}
	return n
}

// distinctClass returns the distinct words of a lexicon class.
func distinctClass(words []string, class uint8) []string {
	var out []string
	for _, w := range words {
		if lexicon[hashString(hashStart(nsWord), w)]&class != 0 && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// salesStems are found inside the run-together words of a domain name
// ("cheapflightsnow", "bestessayservice"). Stems that hide inside common
// words ("seo" in "museo", "dating" in "updating") are left out.
var salesStems = []string{
	"cheap", "discount", "casino", "poker", "viagra", "cialis", "pharma", "pills", "payday", "loans",
	"insurance", "mortgage", "essay", "replica", "backlink", "escort", "porn", "webcam", "garcinia",
	"supplement", "forex", "crypto", "coupon", "prediksi", "forsale", "bestbuy",
}

// salesNames are words no one's name holds but a link seller's does.
var salesNames = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`cheap buy discount casino viagra cialis levitra loan loans payday pharmacy
	pills essay essays seo porn xxx escort escorts replica outlet forex bitcoin crypto insurance mortgage
	jackpot poker slots betting garcinia keto supplements backlinks webcam`) {
		salesNames[w] = true
	}
}

func hasSalesStem(s string) bool {
	for _, st := range salesStems {
		if strings.Contains(s, st) {
			return true
		}
	}
	return false
}

// categoryWords are the topic and shop-category words link sellers put
// in the name field ("Travel", "House & Home Improvement", "adopt a
// pet"). A name made only of them is no person's.
var categoryWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`travel flights flight airline airlines air booking hotels hotel vacation vacations
	packages tours holiday holidays cruise shop shopping store homes home house improvement remodel remodeling
	kitchen garden furniture mattress mattresses real estate property properties rent rental car cars auto
	automotive parts repair insurance health healthy life lifestyle news fashion beauty skin care dating
	relationship relationships jobs job career education science computer internet smartphone phone
	electronics gadgets tech technology games game kids baby pet pets wedding woman women men mens womens
	diving arts art vitamins medicine holistic printing print online web design marketing seo business
	finance money loans credit services service software apps sports sport fitness weight loss diet food
	recipes music movies entertainment legal law lawyer attorney dental dentist plumbing plumber roofing
	cleaning moving storage security cheap best top free buy sale discount deals and for the a of to in &`) {
		m[w] = true
	}
	return m
}()

// allCategoryWords reports whether every word of a name is a category
// word, and at least one is not a filler ("and", "for").
func allCategoryWords(words []string) bool {
	content := 0
	for _, w := range words {
		if !categoryWords[w] {
			return false
		}
		switch w {
		case "and", "for", "the", "a", "of", "to", "in", "&":
		default:
			content++
		}
	}
	return content > 0
}

// profilePage reports whether a website field points at a user's page on
// a forum, wiki or CMS (the accounts link sellers create on other
// people's sites) rather than at a site of one's own.
func profilePage(site string) bool {
	u, err := url.Parse(strings.ToLower(site))
	if err != nil {
		return false
	}
	p := u.Path + "?" + u.RawQuery
	for _, s := range []string{"/user/", "/users/", "/member/", "/members/", "/profile", "/author/", "member.php",
		"task=user", "view=profile", "userid=", "user_id=", "uid=", "/lover/", "title=user:", "/u/", "/people/"} {
		if strings.Contains(p, s) {
			return true
		}
	}
	return false
}

// deepLink reports whether a website field points deep into a site (a
// path of more than one segment or a query) rather than at a home page
// or a blog's front page.
func deepLink(site string) bool {
	u, err := url.Parse(strings.ToLower(site))
	if err != nil {
		return false
	}
	segs := 0
	for s := range strings.SplitSeq(strings.Trim(u.Path, "/"), "/") {
		if s != "" {
			segs++
		}
	}
	return segs > 1 || u.RawQuery != ""
}

// phoneSupport reports a phone number with a support, helpline or
// toll-free word within the comment, and which word.
func phoneSupport(body string, words []string) (bool, string) {
	f := featurePool.Get().(*features)
	defer featurePool.Put(f)
	f.reset()
	st := f.normalize(body)
	if st.maxPhone < 10 || st.maxPhone > 13 {
		return false, ""
	}
	for _, w := range words {
		if lexicon[hashString(hashStart(nsWord), w)]&cueSupport != 0 {
			return true, w
		}
	}
	return false, ""
}

// flatteryPhrases are the templates of comment spam that praises the post
// to carry the link in the website field: they fit any article. They are
// matched on the cleaned words (lower case, apostrophes dropped).
var flatteryPhrases = []string{
	"bookmark your blog", "bookmarked your blog", "bookmark your site", "bookmark this site", "bookmarked this",
	"i will bookmark", "ill bookmark", "i have bookmarked", "added to my bookmarks",
	"check again here", "come back later", "coming back to your blog", "will be back", "visit again", "return to your blog",
	"valuable info", "valuable information", "useful information", "useful info", "great info", "nice info",
	"great post", "nice post", "good post", "awesome post", "great article", "nice article", "excellent article",
	"wonderful article", "informative article", "very informative", "great blog", "nice blog", "awesome blog",
	"your blog", "this blog", "your website", "this website", "your site", "web site", "webmasters",
	"bloggers", "blogging", "keep up the good work", "keep up the great work", "keep it up", "keep writing",
	"thanks for sharing", "thank you for sharing", "thanks for the post", "thank you for the post",
	"i like the valuable", "i have been surfing", "surfing online", "enjoyed reading", "i really enjoyed",
	"well written", "you are doing a great job", "great job", "i learned a lot", "learn lots of new stuff",
	"writing style", "blogging style", "such a great", "i must say", "i am impressed", "im impressed",
	"pretty worth", "worth enough", "appreciate your work", "this piece of writing", "this paragraph",
	"wonderful post", "fantastic post", "nice read", "good read", "great read", "this post", "your post",
	"your articles", "your content", "quality content", "great content",
}

// flatteryIndex holds the phrases by their first word, split in words.
var flatteryIndex = func() map[string][][]string {
	m := map[string][][]string{}
	for _, p := range flatteryPhrases {
		w := strings.Fields(p)
		m[w[0]] = append(m[w[0]], w)
	}
	return m
}()

// flattery returns the distinct template phrases found in words.
func flattery(words []string) []string {
	var hits []string
	for i, w := range words {
		for _, p := range flatteryIndex[w] {
			if len(words)-i >= len(p) && slices.Equal(words[i:i+len(p)], p) {
				if s := strings.Join(p, " "); !slices.Contains(hits, s) {
					hits = append(hits, s)
				}
			}
		}
	}
	return hits
}
