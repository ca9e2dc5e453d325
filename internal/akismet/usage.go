package akismet

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxBlogsPerSite bounds the key-sites report of one key; calls from
// further blog hosts are counted under otherBlogs.
const (
	maxBlogsPerSite = 100
	otherBlogs      = "(other)"
)

// counts are one blog's calls in one month, as key-sites reports them.
type counts struct {
	calls, spam, ham, missedSpam, falsePositives int64
}

// usageBook counts API calls per site and blog host for the current
// month, in memory.
type usageBook struct {
	now   func() time.Time
	mu    sync.Mutex
	sites map[string]*siteUsage
}

type siteUsage struct {
	month string // "2006-01"
	blogs map[string]*counts
}

func newUsageBook(now func() time.Time) *usageBook {
	return &usageBook{now: now, sites: map[string]*siteUsage{}}
}

func (b *usageBook) month() string { return b.now().UTC().Format("2006-01") }

// record applies f to the counts of a site's blog for this month.
func (b *usageBook) record(siteID, blog string, f func(*counts)) {
	month := b.month()
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.sites[siteID]
	if u == nil || u.month != month {
		u = &siteUsage{month: month, blogs: map[string]*counts{}}
		b.sites[siteID] = u
	}
	n := u.blogs[blog]
	if n == nil {
		if len(u.blogs) >= maxBlogsPerSite {
			blog = otherBlogs
			n = u.blogs[blog]
		}
		if n == nil {
			n = &counts{}
			u.blogs[blog] = n
		}
	}
	f(n)
}

// report returns a copy of a site's counts per blog for month.
func (b *usageBook) report(siteID, month string) map[string]counts {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]counts{}
	if u := b.sites[siteID]; u != nil && u.month == month {
		for blog, n := range u.blogs {
			out[blog] = *n
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeUnavailable(w)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// usageLimit is the /1.2/usage-limit answer. Parley has no plan limit.
type usageLimit struct {
	Limit      string `json:"limit"`
	Usage      int64  `json:"usage"`
	Percentage string `json:"percentage"`
	Throttled  bool   `json:"throttled"`
}

func (h *handler) handleUsageLimit(w http.ResponseWriter, r *http.Request) {
	c, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	var n int64
	for _, b := range h.usage.report(c.site.ID, h.usage.month()) {
		n += b.calls
	}
	writeJSON(w, usageLimit{Limit: "none", Usage: n, Percentage: "0", Throttled: false})
}

// keySite is one row of /1.2/key-sites. Akismet sends the numbers as
// strings.
type keySite struct {
	Site           string `json:"site"`
	APICalls       string `json:"api_calls"`
	Spam           string `json:"spam"`
	Ham            string `json:"ham"`
	MissedSpam     string `json:"missed_spam"`
	FalsePositives string `json:"false_positives"`
	IsRevoked      bool   `json:"is_revoked"`
}

func (h *handler) handleKeySites(w http.ResponseWriter, r *http.Request) {
	c, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	p := c.p
	if f := strings.ToLower(strings.TrimSpace(p.Get("format"))); f != "" && f != "json" {
		writeInvalid(w, "Only format=json is supported.")
		return
	}
	month := strings.TrimSpace(p.Get("month"))
	if month == "" {
		month = h.usage.month()
	} else if _, err := time.Parse("2006-01", month); err != nil {
		writeInvalid(w, `The "month" value must look like 2022-09.`)
		return
	}
	limit, offset := intParam(p.Get("limit"), 500), intParam(p.Get("offset"), 0)
	filter := strings.ToLower(strings.TrimSpace(p.Get("filter")))

	type row struct {
		blog string
		n    counts
	}
	var rows []row
	for blog, n := range h.usage.report(c.site.ID, month) {
		if filter == "" || strings.Contains(blog, filter) {
			rows = append(rows, row{blog, n})
		}
	}
	key := func(n counts) int64 { return n.calls }
	switch p.Get("order") {
	case "spam":
		key = func(n counts) int64 { return n.spam }
	case "ham":
		key = func(n counts) int64 { return n.ham }
	case "missed_spam":
		key = func(n counts) int64 { return n.missedSpam }
	case "false_positives":
		key = func(n counts) int64 { return n.falsePositives }
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(key(b.n), key(a.n)), strings.Compare(a.blog, b.blog))
	})
	total := len(rows)
	rows = rows[min(offset, total):min(offset+limit, total)]
	out := make([]keySite, 0, len(rows))
	for _, r := range rows {
		itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
		out = append(out, keySite{Site: r.blog, APICalls: itoa(r.n.calls), Spam: itoa(r.n.spam), Ham: itoa(r.n.ham),
			MissedSpam: itoa(r.n.missedSpam), FalsePositives: itoa(r.n.falsePositives)})
	}
	writeJSON(w, map[string]any{month: out, "limit": limit, "offset": offset, "total": total})
}

// intParam reads a non-negative number, or def.
func intParam(s string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return def
	}
	return min(n, 1<<20)
}
