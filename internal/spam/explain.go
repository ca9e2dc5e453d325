package spam

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"parley/internal/comment"
	"parley/internal/i18n"
)

// Explain puts a verdict's reasons into words in lang (a BCP 47 tag such
// as "ar" or "en-GB"; unknown languages get English), most important
// first, as one sentence: the words for each code are the translation
// table's "reason.<code>" with the reason's arguments filled in. A code
// without words (from a newer Parley) is shown as the code and its
// arguments, so nothing is hidden. The moderation desk and the CLI show
// verdicts with it; comment.Verdict.Reason holds the English.
func Explain(reasons []comment.Reason, lang string) string {
	t := i18n.Get(lang)
	parts := make([]string, 0, len(reasons))
	for _, r := range reasons {
		parts = append(parts, reasonText(t, r))
	}
	return strings.Join(parts, t.T("reason.separator"))
}

func reasonText(t *i18n.Table, r comment.Reason) string {
	key := "reason." + r.Code
	names := make([]string, 0, len(r.Args))
	for k := range r.Args {
		names = append(names, k)
	}
	slices.Sort(names)
	if !t.Has(key) {
		var b strings.Builder
		b.WriteString(r.Code)
		for _, k := range names {
			fmt.Fprintf(&b, " %s=%s", k, r.Args[k])
		}
		return b.String()
	}
	args := make([]string, 0, 2*len(names))
	for _, k := range names {
		args = append(args, k, r.Args[k])
	}
	return t.T(key, args...)
}

// quoteList writes words as a list of quoted words: "a", "b".
func quoteList(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = `"` + w + `"`
	}
	return strings.Join(q, ", ")
}

// maxFeatureReasons is how many of the features that weighed most a
// classifier verdict names.
const maxFeatureReasons = 3

// featureReasons turns the largest contributions towards spam into
// reasons: up to three structural features, and the words that weighed
// most as one reason. Contributions below minShown logits are left out:
// they did not make the difference.
func featureReasons(parts []contribution, cues []string) []comment.Reason {
	const minShown = 0.25
	var out []comment.Reason
	var words []string
	for _, p := range parts {
		if p.value < minShown || len(out) >= maxFeatureReasons {
			break
		}
		if p.kind == fkNone {
			if len(words) == 0 {
				out = append(out, comment.Reason{Code: "feature_words"}) // filled below
			}
			if len(words) < 3 {
				words = append(words, p.arg)
			}
			continue
		}
		if r, ok := featureReason(p, cues); ok {
			out = append(out, r)
		}
	}
	// Words that weighed nearly as much as the last shown word join it.
	for _, p := range parts {
		if p.kind == fkNone && p.value >= minShown && len(words) < 3 && !slices.Contains(words, p.arg) {
			words = append(words, p.arg)
		}
	}
	for i := range out {
		if out[i].Code == "feature_words" {
			out[i] = NewReason("feature_words", "words", quoteList(words))
		}
	}
	return out
}

// featureReason is the reason for one structural feature.
func featureReason(p contribution, cues []string) (comment.Reason, bool) {
	switch p.kind {
	case fkLinks:
		return NewReason("feature_links", "n", p.arg), true
	case fkDomain:
		return NewReason("feature_link_domain", "domain", p.arg), true
	case fkTLD:
		return NewReason("feature_link_tld", "tld", p.arg), true
	case fkLength:
		return NewReason("feature_length", "words", p.arg), true
	case fkLinkRatio:
		return NewReason("feature_link_ratio", "words", p.arg), true
	case fkLinkStart:
		return NewReason("feature_link_at_start"), true
	case fkLinkEnd:
		return NewReason("feature_link_at_end"), true
	case fkCaps:
		return NewReason("feature_capitals", "percent", p.arg), true
	case fkExcl:
		return NewReason("feature_exclamations", "n", p.arg), true
	case fkQuest:
		return NewReason("feature_questions", "n", p.arg), true
	case fkParas:
		return NewReason("feature_paragraphs", "n", p.arg), true
	case fkEmoji:
		return NewReason("feature_emoji"), true
	case fkMoney:
		return NewReason("feature_money"), true
	case fkEmail:
		return NewReason("feature_email"), true
	case fkPhone:
		return NewReason("feature_phone"), true
	case fkPhoneSupport:
		w := "support"
		for _, c := range cues {
			if lexicon[hashString(hashStart(nsWord), c)]&cueSupport != 0 {
				w = c
				break
			}
		}
		return NewReason("feature_phone_support", "word", w), true
	case fkSelfPromo:
		return NewReason("feature_self_promotion"), true
	case fkCTA:
		return NewReason("feature_call_to_action"), true
	case fkSales:
		var ws []string
		for _, c := range cues {
			if lexicon[hashString(hashStart(nsWord), c)]&cueMoney != 0 && !slices.Contains(ws, c) && len(ws) < 3 {
				ws = append(ws, c)
			}
		}
		return NewReason("feature_sales_words", "words", quoteList(ws)), true
	case fkHandle:
		return NewReason("feature_handle"), true
	case fkHashtag:
		return NewReason("feature_hashtag"), true
	case fkScript:
		return NewReason("feature_script"), true
	case fkWebsite:
		return NewReason("feature_website_domain", "domain", p.arg), true
	}
	return comment.Reason{}, false
}

// score3 formats a probability for a reason: three decimals, and never
// "1.000" or "0.000" for what is not certain.
func score3(p float64) string {
	s := fmt.Sprintf("%.3f", p)
	switch {
	case s == "1.000" && p < 1:
		return "0.999"
	case s == "0.000" && p > 0:
		return "0.001"
	case math.IsNaN(p):
		return "?"
	}
	return s
}
