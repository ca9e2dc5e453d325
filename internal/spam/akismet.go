package spam

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"parley/internal/comment"
)

// AkismetChecker asks an Akismet-compatible service (the real Akismet at
// https://rest.akismet.com, or another Parley) whether a comment is spam.
// It is the last and slowest layer. Any answer other than "true" or
// "false", a non-200 status, or a timeout is an error: the pipeline then
// holds the comment for a moderator, so nothing is lost when the service
// is down or the key is wrong.
type AkismetChecker struct {
	Endpoint string // base URL; DefaultAkismetEndpoint if empty
	Key      string // the site's API key; secret
	Blog     string // the site's front page URL, as registered with the key
	// Timeout bounds one call; DefaultAkismetTimeout if zero.
	Timeout time.Duration
	// HTTPClient makes the calls; http.DefaultClient if nil.
	HTTPClient *http.Client
	// AllowDiscard lets the checker answer Discard when Akismet marks a
	// comment as blatant spam (X-akismet-pro-tip: discard); otherwise
	// such comments go to the spam folder like the rest.
	AllowDiscard bool
	// IsTest marks calls as tests so that they do not train Akismet.
	IsTest bool
}

// Akismet defaults.
const (
	DefaultAkismetEndpoint = "https://rest.akismet.com"
	DefaultAkismetTimeout  = 3 * time.Second
)

// honeypotField is the name under which a filled honeypot is reported.
const honeypotField = "parley_hp"

// Check implements Checker. It calls POST {Endpoint}/1.1/comment-check.
func (a *AkismetChecker) Check(ctx context.Context, in *Input) (Verdict, error) {
	v := Verdict{Layer: "akismet"}
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = DefaultAkismetTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	endpoint := strings.TrimRight(a.Endpoint, "/")
	if endpoint == "" {
		endpoint = DefaultAkismetEndpoint
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/1.1/comment-check", strings.NewReader(a.form(in).Encode()))
	if err != nil {
		return v, fmt.Errorf("akismet request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	req.Header.Set("User-Agent", "Parley | ParleyAkismet/1")
	client := a.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return v, fmt.Errorf("akismet did not answer within %s", timeout)
		}
		// The URL holds no secret (the key is in the body), so the
		// client's error may be passed on as it is.
		return v, fmt.Errorf("akismet: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return v, fmt.Errorf("akismet: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return v, fmt.Errorf("akismet answered HTTP %d", resp.StatusCode)
	}
	switch answer := strings.TrimSpace(string(body)); answer {
	case "true":
		v.Action, v.Score, v.Evidence = Spam, 1, true
		v.Reasons = []comment.Reason{NewReason("akismet_spam")}
		if strings.EqualFold(resp.Header.Get("X-akismet-pro-tip"), "discard") {
			v.Reasons = []comment.Reason{NewReason("akismet_blatant")}
			if a.AllowDiscard {
				v.Action = Discard
			}
		}
		return v, nil
	case "false":
		v.Action, v.Reasons = Publish, []comment.Reason{NewReason("akismet_ham")}
		return v, nil
	case "invalid":
		if help := resp.Header.Get("X-akismet-debug-help"); help != "" {
			return v, fmt.Errorf("akismet rejected the call: %s", clip(help))
		}
		return v, errors.New("akismet rejected the call (invalid key or missing field)")
	default:
		return v, fmt.Errorf("akismet gave an unexpected answer %q", clip(answer))
	}
}

// form builds the comment-check fields Akismet documents.
func (a *AkismetChecker) form(in *Input) url.Values {
	f := url.Values{}
	f.Set("api_key", a.Key)
	f.Set("blog", a.Blog)
	f.Set("blog_charset", "UTF-8")
	f.Set("user_ip", in.IP)
	f.Set("comment_type", "comment")
	set := func(k, v string) {
		if v != "" {
			f.Set(k, v)
		}
	}
	set("user_agent", in.UserAgent)
	set("permalink", in.PageURL)
	set("comment_author", in.AuthorName)
	set("comment_author_email", in.Email)
	set("comment_author_url", in.Website)
	set("comment_content", in.Body)
	if !in.Created.IsZero() {
		f.Set("comment_date_gmt", in.Created.UTC().Format(time.RFC3339))
	}
	if in.Honeypot != "" {
		f.Set("honeypot_field_name", honeypotField)
		f.Set(honeypotField, in.Honeypot)
	}
	if a.IsTest {
		f.Set("is_test", "1")
	}
	return f
}
