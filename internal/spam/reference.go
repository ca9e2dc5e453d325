package spam

import "strings"

// referenceDomains are well-known reference sites: encyclopaedias and
// dictionaries, archives, standards bodies, documentation and
// question-and-answer sites, science publishers, and large news
// organisations. A link to one is what readers add to back a point up,
// so it is never a spam signal by itself: it gives the classifier no
// feature, and the link limits do not count it. Spam that links one of
// these still has to get past its words and its other links.
//
// The list is short on purpose: a site that is often abused for spam
// (link shorteners, free hosting, video sites, social networks, search
// engines) is not a reference, however well known.
var referenceDomains = map[string]bool{
	// encyclopaedias, dictionaries, archives
	"wikipedia.org": true, "wikimedia.org": true, "wiktionary.org": true, "wikidata.org": true,
	"britannica.com": true, "archive.org": true, "merriam-webster.com": true, "oed.com": true,
	"gutenberg.org": true, "openstreetmap.org": true,
	// standards and documentation
	"w3.org": true, "ietf.org": true, "rfc-editor.org": true, "iso.org": true, "unicode.org": true,
	"mozilla.org": true, "python.org": true, "go.dev": true, "golang.org": true, "rust-lang.org": true,
	"php.net": true, "kernel.org": true, "gnu.org": true, "apache.org": true, "debian.org": true,
	"ubuntu.com": true, "microsoft.com": true, "apple.com": true, "readthedocs.io": true,
	// code and questions
	"github.com": true, "gitlab.com": true, "stackoverflow.com": true, "stackexchange.com": true,
	"superuser.com": true, "serverfault.com": true, "askubuntu.com": true, "mathoverflow.net": true,
	// science
	"doi.org": true, "arxiv.org": true, "nature.com": true, "science.org": true, "sciencedirect.com": true,
	"springer.com": true, "wiley.com": true, "jstor.org": true, "pubmed.gov": true, "plos.org": true,
	"who.int": true, "un.org": true, "europa.eu": true, "oecd.org": true, "worldbank.org": true,
	// news
	"bbc.co.uk": true, "bbc.com": true, "reuters.com": true, "apnews.com": true, "nytimes.com": true,
	"washingtonpost.com": true, "theguardian.com": true, "wsj.com": true, "ft.com": true,
	"economist.com": true, "npr.org": true, "pbs.org": true, "cnn.com": true, "foxnews.com": true,
	"nbcnews.com": true, "cbsnews.com": true, "abcnews.go.com": true, "aljazeera.com": true,
	"bloomberg.com": true, "theatlantic.com": true, "newyorker.com": true, "time.com": true,
	"lemonde.fr": true, "spiegel.de": true, "zeit.de": true, "faz.net": true, "elpais.com": true,
	"corriere.it": true, "nos.nl": true, "abc.net.au": true, "cbc.ca": true, "irishtimes.com": true,
	"dw.com": true, "france24.com": true, "lefigaro.fr": true, "liberation.fr": true,
	"elmundo.es": true, "tagesschau.de": true, "sueddeutsche.de": true, "ria.ru": true,
}

// referenceLabels are the labels under which governments, universities
// and international bodies are found in every country: nasa.gov,
// gov.uk, ox.ac.uk, mit.edu, service-public.gouv.fr.
var referenceLabels = map[string]bool{
	"gov": true, "gouv": true, "gob": true, "govt": true, "gv": true, "edu": true, "ac": true, "mil": true, "int": true,
}

// isReference reports whether the registered domain reg is a
// reference site.
func isReference(reg string) bool {
	if referenceDomains[reg] {
		return true
	}
	// Only the public suffix's labels count: "gov" in "gov.example.com"
	// is anyone's subdomain.
	dot := strings.IndexByte(reg, '.')
	if dot < 0 {
		return false
	}
	for l := range strings.SplitSeq(reg[dot+1:], ".") {
		if referenceLabels[l] {
			return true
		}
	}
	return false
}

// neutralLink reports whether a link to the registered domain reg is
// to the site itself (own holds the registered domains of its origins)
// or to a reference site, and so gives no spam signal.
func neutralLink(reg string, own []string) bool {
	for _, o := range own {
		if reg == o {
			return true
		}
	}
	return isReference(reg)
}

// appendOwn appends the registered domains of a site's origins to dst.
func appendOwn(dst []string, origins []string) []string {
	for _, o := range origins {
		if h := urlHost(strings.ToLower(strings.TrimSpace(o))); h != "" {
			dst = append(dst, registered(h))
		}
	}
	return dst
}

// ownDomains returns the registered domains of a site's origins
// ("https://news.example.co.uk:8443" gives "example.co.uk").
func ownDomains(origins []string) []string {
	var out []string
	for _, o := range origins {
		h := urlHost(strings.ToLower(strings.TrimSpace(o)))
		if h == "" {
			continue
		}
		out = append(out, registered(h))
	}
	return out
}
