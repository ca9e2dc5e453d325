// Package webhook signs and delivers Parley's outgoing webhooks as the
// Standard Webhooks specification (https://www.standardwebhooks.com/,
// version 1) writes them, so receivers can check them with that
// specification's published libraries:
//
//	webhook-id:        msg_…  (the same on every retry of one message)
//	webhook-timestamp: seconds since 1970 (when this attempt was signed)
//	webhook-signature: v1,BASE64(HMAC-SHA256(key, id + "." + timestamp + "." + body))
//
// where key is the secret "whsec_BASE64" decoded. Requests go out
// through package safehttp: https to public addresses only, unless the
// operator named the host.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"parley/internal/safehttp"
)

// secretPrefix starts every secret, as the specification's libraries
// expect.
const secretPrefix = "whsec_"

// NewSecret returns a new random secret: "whsec_" and 32 random bytes in
// standard base64.
func NewSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return secretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// ErrBadSecret: the secret is not "whsec_" and base64 of 24 to 64 bytes.
var ErrBadSecret = errors.New("webhook secret not valid")

// Key returns the signing key a secret stands for.
func Key(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, ErrBadSecret
	}
	k, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(k) < 24 || len(k) > 64 {
		return nil, ErrBadSecret
	}
	return k, nil
}

// Sign returns the webhook-signature header of a message.
func Sign(key []byte, id string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Tolerance is how far from now a timestamp may be for Verify.
const Tolerance = 5 * time.Minute

// ErrBadSignature: Verify found no matching signature, or the timestamp
// is too old or new.
var ErrBadSignature = errors.New("webhook signature not valid")

// Verify checks a delivery as a receiver would: one of the signature
// header's space-separated "v1,…" signatures matches, and the timestamp is
// within Tolerance of now.
func Verify(key []byte, h http.Header, body []byte, now time.Time) error {
	id, tsText := h.Get("webhook-id"), h.Get("webhook-timestamp")
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if id == "" || err != nil {
		return ErrBadSignature
	}
	t := time.Unix(ts, 0)
	if now.Sub(t) > Tolerance || t.Sub(now) > Tolerance {
		return ErrBadSignature
	}
	want := Sign(key, id, t, body)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}

// Client delivers webhooks.
type Client struct {
	http *http.Client
	now  func() time.Time
}

// DefaultTimeout bounds one delivery when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Options configure a Client.
type Options struct {
	// Policy says where deliveries may go (safehttp): https to public
	// addresses, and the hosts the operator allowed.
	Policy safehttp.Policy
	// Timeout bounds one delivery, redirects included.
	Timeout time.Duration
	Now     func() time.Time
}

// NewClient returns a Client. It follows up to 3 redirects that keep the
// method (307, 308), each checked by the policy; connections to one
// receiver are kept open between deliveries.
func NewClient(o Options) *Client {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Client{
		http: o.Policy.Client(safehttp.ClientOptions{Timeout: o.Timeout, MaxRedirects: 3, KeepMethod: true, KeepAlive: true}),
		now:  o.Now,
	}
}

// Timeout is how long one delivery may take.
func (c *Client) Timeout() time.Duration { return c.http.Timeout }

// Delivery is one webhook to send.
type Delivery struct {
	URL    string
	Secret string
	ID     string // webhook-id: the same on every try
	Body   []byte // JSON
}

// Response is what a receiver answered.
type Response struct {
	Status int
	// Excerpt is the start of the response's body, as printable text: at
	// most ExcerptLen bytes are kept, never the whole body.
	Excerpt string
	Took    time.Duration
}

// ExcerptLen bounds Response.Excerpt.
const ExcerptLen = 200

// ErrStatus is wrapped by Deliver's error for an answer other than 2xx.
var ErrStatus = errors.New("webhook receiver answered with an error")

// Deliver sends d once. It returns an error for anything but a 2xx
// answer: a refused address (wrapping safehttp.ErrNotAllowed), a failed
// connection, or ErrStatus with the response.
func (c *Client) Deliver(ctx context.Context, d Delivery) (Response, error) {
	key, err := Key(d.Secret)
	if err != nil {
		return Response{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return Response{}, fmt.Errorf("webhook: %w", err)
	}
	now := c.now()
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Parley-Webhooks/1")
	h.Set("webhook-id", d.ID)
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", Sign(key, d.ID, now, d.Body))
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		var r *safehttp.Refusal
		if errors.As(err, &r) {
			return Response{Took: time.Since(start)}, r
		}
		return Response{Took: time.Since(start)}, fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, ExcerptLen))
	// Drain a little more so the connection can be kept, never much.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	out := Response{Status: resp.StatusCode, Excerpt: printable(b), Took: time.Since(start)}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return out, fmt.Errorf("%w: status %d", ErrStatus, resp.StatusCode)
	}
	return out, nil
}

// printable keeps the valid, printable text of b.
func printable(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		switch {
		case r == utf8.RuneError:
		case r == '\n' || r == '\t':
			sb.WriteByte(' ')
		case unicode.IsPrint(r):
			sb.WriteRune(r)
		}
	}
	return strings.TrimSpace(sb.String())
}
