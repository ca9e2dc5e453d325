package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"parley/internal/safehttp"
)

// Errors of avatar fetching.
var (
	ErrAvatarURL      = errors.New("avatar URL not allowed")
	ErrAvatarTooLarge = errors.New("avatar too large")
	ErrAvatarType     = errors.New("avatar is not a PNG, JPEG, GIF or WebP image")
	// ErrNoAvatar: the server says there is no such picture (404 or 410).
	ErrNoAvatar = errors.New("no such avatar")
)

// Defaults of AvatarFetcher.
const (
	DefaultAvatarMaxBytes = 1 << 20
	DefaultAvatarTimeout  = 10 * time.Second
)

// AvatarFetcher fetches a provider's (or an SSO site's) picture on the
// server, so Parley can cache it and serve it itself: the reader's
// browser then talks to nobody else. The zero value is ready to use.
//
// It refuses, before a byte is sent, addresses that are not public
// unicast (loopback, private, link-local, ...), so an SSO token cannot
// make Parley fetch from its own network; the check is made on the
// address actually dialled, after DNS and on every redirect.
type AvatarFetcher struct {
	MaxBytes int64         // DefaultAvatarMaxBytes if zero
	Timeout  time.Duration // DefaultAvatarTimeout if zero
	// AllowPrivate lets it fetch from non-public addresses: for tests
	// and for intranet identity providers, never for SSO avatars of
	// sites you do not run.
	AllowPrivate bool
	// Transport, if set, replaces the dialer (and its address check).
	Transport http.RoundTripper
}

// avatarTypes are the formats Parley serves. SVG is not one of them: it
// can carry script, and Parley would serve it from its own origin.
var avatarTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// Fetch downloads rawURL and returns the image and its content type, which
// is taken from the bytes, not from what the server said. It returns
// ErrAvatarURL, ErrAvatarTooLarge, ErrAvatarType or ErrNoAvatar, or an
// error for a failed request.
func (f *AvatarFetcher) Fetch(ctx context.Context, rawURL string) ([]byte, string, error) {
	if !absoluteHTTP(rawURL) {
		return nil, "", ErrAvatarURL
	}
	max := f.MaxBytes
	if max <= 0 {
		max = DefaultAvatarMaxBytes
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultAvatarTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, "", ErrAvatarURL
	}
	req.Header.Set("Accept", "image/png,image/jpeg,image/gif,image/webp;q=0.9")
	req.Header.Set("User-Agent", "Parley avatar fetcher")
	resp, err := f.client().Do(req)
	if err != nil {
		if errors.Is(err, safehttp.ErrNotAllowed) {
			return nil, "", ErrAvatarURL
		}
		return nil, "", fmt.Errorf("fetch avatar: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		return nil, "", ErrNoAvatar
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("fetch avatar: status %d", resp.StatusCode)
	}
	if resp.ContentLength > max {
		return nil, "", ErrAvatarTooLarge
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || !strings.HasPrefix(mt, "image/") {
		return nil, "", ErrAvatarType
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, "", fmt.Errorf("fetch avatar: %w", err)
	}
	if int64(len(data)) > max {
		return nil, "", ErrAvatarTooLarge
	}
	ct := http.DetectContentType(data)
	if !avatarTypes[ct] {
		return nil, "", ErrAvatarType
	}
	return data, ct, nil
}

func (f *AvatarFetcher) client() *http.Client {
	// Pictures are fetched over http or https, from public addresses
	// only (package safehttp), redirects included.
	p := safehttp.Policy{AllowHTTP: true, AllowPrivate: f.AllowPrivate}
	c := p.Client(safehttp.ClientOptions{MaxRedirects: 2})
	if f.Transport != nil {
		c.Transport = f.Transport
	}
	return c
}
