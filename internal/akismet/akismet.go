// Package akismet serves the Akismet REST API, so that a WordPress site or
// any other Akismet client can point its client at Parley and get the
// verdicts of a Parley site's spam filter. New's handler is mounted under
// /1.1/ and /1.2/ through httpapi.Config.Akismet; nothing else should use
// it. It follows the protocol as Akismet's API documentation gives it and
// as real clients (WordPress's plugin, the npm and PyPI clients) speak it.
//
// # Keys
//
// Each Parley site has its own key (parley site key --id SITE). It is
// taken from the body field api_key, else from the field key (body or
// query), else, when the request has no key field at all, from the first
// DNS label of the Host header (https://KEY.rest.akismet.com/1.1/...,
// the legacy form WordPress and most old clients use). Fields are read
// from the body whatever its Content-Type says (url-encoded, or
// multipart/form-data when it says so) and from the query string; body
// fields win. Unknown fields, PHP-style arrays (comment_context[0]) and
// WordPress's server variables are accepted and ignored.
//
// # Answers
//
// Every answer the protocol defines is HTTP 200, text/plain; charset=utf-8,
// with no trailing newline, because several clients compare the body with
// == and treat any other status as an error. That includes "invalid" for an
// unknown key, a missing blog or user_ip, and a body over 1 MiB (with the
// reason in X-akismet-debug-help, which is never sent on success, since
// @cedx/akismet throws whenever it is present). The limit is generous
// because WordPress sends the comment twice (comment_content and
// POST_comment), percent-encoded, and its comments may hold 64 KiB of UTF-8.
// Only when Parley itself cannot answer (its database is down) is the
// status 503: every client then treats the call as failed, which WordPress
// answers by holding the comment and retrying, and which is more honest
// than a verdict made up without the site's filter.
//
// # Verdicts
//
// Parley has three outcomes and Akismet two, so the Hold tier needs a
// choice. Parley's thresholds are set for the false-positive rate first:
// the hold tier is allowed about 3 % of legitimate comments from a kind
// of site the classifier was not trained on, and the spam tier takes only
// what is spam beyond doubt (a near-certain score that another layer
// confirms: blatant spam such as "Buy cheap viagra" from an author named
// "cheap viagra" is answered "true"). Answering true for a held comment
// would put that 3 % into WordPress's spam folder, which few moderators
// read and which is emptied after 15 days: exactly the loss the issue
// forbids. Answering a bare false would publish doubtful comments at
// once. So:
//
//   - Spam → "true". Discard → "true" with X-akismet-pro-tip: discard.
//     A Spam verdict never becomes discard, however high its score: a
//     discarded false positive cannot be recovered, the classifier's
//     scores are not calibrated for that, and Parley's own pipeline keeps
//     its classifier's and rules' spam in the spam folder too.
//   - Publish → "false".
//   - Hold → "false" with X-akismet-recheck-after: 43200 (12 hours). That is
//     Akismet's own "not sure yet" answer: WordPress keeps the comment
//     pending, delays the moderator e-mail, and approves it after twice
//     that delay (24 hours) if no moderator has decided and the site does
//     not require manual approval anyway. (The plugin reads the header only
//     next to X-akismet-guid, which every verdict carries.) Clients that
//     ignore the header publish it, as they would real Akismet's
//     provisional answers.
//
// A recheck (recheck_reason set) is judged without the sender's address
// and e-mail, so that duplicate detection does not take the repeated text
// for the sender posting it again; see judge.
//
// A filled honeypot (honeypot_field_name plus the named field) is spam,
// as it is for Parley's own form. Akismet's test triggers are honoured so
// client test suites behave: user_role administrator is always "false";
// comment_author viagra-test-123 or comment_author_email
// akismet-guaranteed-spam@example.com is always "true".
//
// submit-spam and submit-ham teach the site's classifier at once, as a
// moderator's decision in Parley would, unless is_test is set. The site's
// filter learns spam only up to its hold tier, so a text reported as spam
// is then answered "false" with the recheck header, i.e. held.
//
// # Usage endpoints
//
// /1.2/usage-limit answers {"limit":"none","usage":N,"percentage":"0",
// "throttled":false}, where N counts this month's comment-check and
// submit calls for the key. /1.2/key-sites answers Akismet's JSON shape
// with one row per blog host seen this month (month, order, limit, offset
// and filter are honoured; format=csv is answered "invalid"). Both count
// in memory since the process started: several instances, or a restart,
// each start from zero. Parley never throttles, so it sends no alert
// codes.
package akismet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/spam"
)

// Service is what the API needs from Parley's service layer;
// *service.Service implements it.
type Service interface {
	// SiteByAPIKey returns the site an API key belongs to.
	// Returns comment.ErrNotFound for an unknown key.
	SiteByAPIKey(ctx context.Context, key string) (*comment.Site, error)
	// Classify judges a comment with the site's rules and classifier,
	// storing nothing. With an error the verdict is still usable (at
	// least Hold).
	Classify(ctx context.Context, siteID string, in *spam.Input) (spam.Verdict, error)
	// Teach feeds the site's classifier one decision, as a moderator's.
	Teach(ctx context.Context, siteID string, in *spam.Input, isSpam bool) error
}

// The fixed answers of the protocol.
const (
	answerValid   = "valid"
	answerInvalid = "invalid"
	answerSpam    = "true"
	answerHam     = "false"
	answerThanks  = "Thanks for making the web a better place."
)

// maxBody bounds a request body; see the package comment.
const maxBody = 1 << 20

// holdRecheckAfter is the X-akismet-recheck-after sent with a held
// comment's "false"; see the package comment.
const holdRecheckAfter = 12 * time.Hour

type handler struct {
	svc   Service
	log   *slog.Logger
	usage *usageBook
}

// New returns the Akismet API: /1.1/verify-key, /1.1/comment-check,
// /1.1/submit-spam, /1.1/submit-ham, /1.2/usage-limit and /1.2/key-sites,
// each by GET or POST. Mount it at /1.1/ and /1.2/.
func New(svc Service, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{svc: svc, log: log, usage: newUsageBook(time.Now)}
	mux := http.NewServeMux()
	for path, f := range map[string]http.HandlerFunc{
		"/1.1/verify-key":    h.handleVerifyKey,
		"/1.1/comment-check": h.handleCommentCheck,
		"/1.1/submit-spam":   h.handleSubmit(true),
		"/1.1/submit-ham":    h.handleSubmit(false),
		"/1.2/usage-limit":   h.handleUsageLimit,
		"/1.2/key-sites":     h.handleKeySites,
	} {
		mux.HandleFunc("GET "+path, f) // GET also serves HEAD
		mux.HandleFunc("POST "+path, f)
	}
	return mux
}

// call is one authenticated API request.
type call struct {
	p    url.Values
	site *comment.Site
}

// authenticate reads the request's fields and finds its site. When it
// returns false it has answered the request.
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request) (call, bool) {
	p, err := readParams(w, r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeInvalid(w, "The request body is larger than 1 MiB.")
		}
		// Otherwise the client went away while sending; nobody reads
		// an answer.
		return call{}, false
	}
	key, fromHost := apiKey(p, r.Host)
	if key == "" {
		writeInvalid(w, `Empty "api_key" value: send the site's key as api_key, or as the first label of the host name.`)
		return call{}, false
	}
	site, err := h.siteByKey(r.Context(), key, fromHost)
	switch {
	case errors.Is(err, comment.ErrNotFound):
		writeInvalid(w, "The API key is not valid here: make one with parley site key --id SITE.")
		return call{}, false
	case err != nil:
		h.log.Error("akismet api: looking up a key failed", slog.String("err", err.Error()))
		writeUnavailable(w)
		return call{}, false
	}
	return call{p: p, site: site}, true
}

// siteByKey looks a key up. A key in a host name may have been
// upper-cased on the way; Parley's keys are lower-case hex.
func (h *handler) siteByKey(ctx context.Context, key string, fromHost bool) (*comment.Site, error) {
	site, err := h.svc.SiteByAPIKey(ctx, key)
	if fromHost && errors.Is(err, comment.ErrNotFound) && strings.ToLower(key) != key {
		site, err = h.svc.SiteByAPIKey(ctx, strings.ToLower(key))
	}
	return site, err
}

// require answers "invalid" when one of the named fields is empty.
func require(w http.ResponseWriter, p url.Values, names ...string) bool {
	for _, n := range names {
		if strings.TrimSpace(p.Get(n)) == "" {
			writeInvalid(w, `Empty "`+n+`" value`)
			return false
		}
	}
	return true
}

func (h *handler) handleVerifyKey(w http.ResponseWriter, r *http.Request) {
	c, ok := h.authenticate(w, r)
	if !ok || !require(w, c.p, "blog") {
		return
	}
	writeText(w, answerValid)
}

func (h *handler) handleCommentCheck(w http.ResponseWriter, r *http.Request) {
	c, ok := h.authenticate(w, r)
	if !ok || !require(w, c.p, "blog", "user_ip") {
		return
	}
	v := h.judge(r.Context(), c)
	h.usage.record(c.site.ID, blogHost(c.p.Get("blog")), func(n *counts) {
		n.calls++
		if v.Action >= spam.Spam {
			n.spam++
		} else {
			n.ham++
		}
	})
	writeVerdict(w, v)
}

// writeVerdict answers a comment-check with Parley's verdict, mapped as
// the package comment explains.
func writeVerdict(w http.ResponseWriter, v spam.Verdict) {
	hdr := w.Header()
	hdr.Set("X-akismet-guid", newGUID())
	body := answerHam
	switch v.Action {
	case spam.Discard:
		hdr.Set("X-akismet-pro-tip", "discard")
		body = answerSpam
	case spam.Spam:
		body = answerSpam
	case spam.Hold:
		hdr.Set("X-akismet-recheck-after", strconv.Itoa(int(holdRecheckAfter.Seconds())))
	}
	writeText(w, body)
}

// judge decides a comment-check: test triggers, then the honeypot, then
// the site's rules and classifier.
func (h *handler) judge(ctx context.Context, c call) spam.Verdict {
	p := c.p
	if hasRole(p.Get("user_role"), "administrator") {
		return spam.Verdict{Action: spam.Publish, Layer: "akismet-test", Reasons: []comment.Reason{spam.NewReason("akismet_test_ham")}}
	}
	if strings.EqualFold(strings.TrimSpace(p.Get("comment_author")), "viagra-test-123") ||
		strings.EqualFold(strings.TrimSpace(p.Get("comment_author_email")), "akismet-guaranteed-spam@example.com") {
		return spam.Verdict{Action: spam.Spam, Layer: "akismet-test", Score: 1, Reasons: []comment.Reason{spam.NewReason("akismet_test_spam")}}
	}
	in := input(p)
	// The service's Classify leaves the bot traps to the client's site;
	// a honeypot the client reports is still ours to judge. Rate limits
	// and form age stay off (no Limiter, no FormAge).
	traps := spam.Traps{MinFormAge: -1}
	if v, err := traps.Check(ctx, in); err == nil && v.Action >= spam.Spam {
		return v
	}
	if strings.TrimSpace(p.Get("recheck_reason")) != "" {
		// A recheck (WordPress's "Check for Spam" on the pending queue,
		// its retries after errors) repeats a text already checked, from
		// the same sender. Classify's duplicate rule would call that the
		// sender posting it twice and answer spam, moving held legitimate
		// comments to the spam folder. Without the sender's address and
		// e-mail it is only one more sighting on the site. The cost: the
		// site's blocked address and e-mail rules, already applied at the
		// first check, are not applied again.
		in.IP, in.Email = "", ""
	}
	v, err := h.svc.Classify(ctx, c.site.ID, in)
	if err != nil {
		// Classify still returns a verdict, held at least, as for a
		// comment posted to Parley itself.
		h.log.Warn("akismet api: a spam layer failed; answering held", slog.String("site", c.site.ID), slog.String("err", err.Error()))
		if v.Action < spam.Hold {
			v.Action = spam.Hold
		}
	}
	return v
}

func (h *handler) handleSubmit(isSpam bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := h.authenticate(w, r)
		if !ok || !require(w, c.p, "blog", "user_ip") {
			return
		}
		h.usage.record(c.site.ID, blogHost(c.p.Get("blog")), func(n *counts) {
			n.calls++
			if isSpam {
				n.missedSpam++
			} else {
				n.falsePositives++
			}
		})
		// Test calls must not train the filter, as with Akismet.
		if !isTrue(c.p.Get("is_test")) {
			if err := h.svc.Teach(r.Context(), c.site.ID, input(c.p), isSpam); err != nil {
				h.log.Error("akismet api: learning from a submission failed", slog.String("site", c.site.ID), slog.String("err", err.Error()))
				writeUnavailable(w)
				return
			}
		}
		writeText(w, answerThanks)
	}
}

// writeText sends one of the protocol's plain answers: status 200, no
// trailing newline.
func writeText(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, body)
}

// writeInvalid answers "invalid" with the reason for a person to read.
// help must be ASCII and must never hold what the client sent.
func writeInvalid(w http.ResponseWriter, help string) {
	w.Header().Set("X-akismet-debug-help", help)
	writeText(w, answerInvalid)
}

// writeUnavailable says Parley cannot answer for now; see the package
// comment for why this one is not a 200.
func writeUnavailable(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-akismet-debug-help", "Parley is unavailable for a moment; try again shortly.")
	w.Header().Set("Retry-After", "60")
	w.WriteHeader(http.StatusServiceUnavailable)
	io.WriteString(w, "unavailable")
}

func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// hasRole reports whether a comma-separated role list (WordPress sends
// every role of the user) holds role.
func hasRole(list, role string) bool {
	for r := range strings.SplitSeq(list, ",") {
		if strings.EqualFold(strings.TrimSpace(r), role) {
			return true
		}
	}
	return false
}

// isTrue reads a flag the way clients send it: 1, true, "true", yes, on.
func isTrue(s string) bool {
	switch strings.ToLower(strings.Trim(strings.TrimSpace(s), `"'`)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}
