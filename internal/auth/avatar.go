package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
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
		if errors.Is(err, ErrAvatarURL) {
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
	t := f.Transport
	if t == nil {
		d := &net.Dialer{Timeout: 5 * time.Second}
		if !f.AllowPrivate {
			d.Control = publicOnly
		}
		t = &http.Transport{
			DialContext:            d.DialContext,
			TLSHandshakeTimeout:    5 * time.Second,
			ResponseHeaderTimeout:  5 * time.Second,
			MaxResponseHeaderBytes: 16 << 10,
			DisableKeepAlives:      true,
		}
	}
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
				return ErrAvatarURL
			}
			return nil
		},
	}
}

// publicOnly refuses to connect to anything but public unicast addresses.
func publicOnly(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return ErrAvatarURL
	}
	if !PublicAddr(ap.Addr()) {
		return ErrAvatarURL
	}
	return nil
}

// PublicAddr reports whether a is a public unicast address: not private,
// loopback, link-local, multicast or unspecified, and in none of the
// special-purpose ranges (IANA's registries) through which an address
// could lead back into a private network.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() ||
		a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range specialPurpose {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// specialPurpose are the ranges IsPrivate and friends leave out.
var specialPurpose = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // carrier-grade NAT
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"240.0.0.0/4",     // reserved, and the broadcast address
		"::/96",           // IPv4-compatible (deprecated)
		"64:ff9b::/96",    // NAT64: an IPv4 address inside, maybe a private one
		"64:ff9b:1::/48",  // local-use NAT64
		"100::/64",        // discard-only
		"2001::/23",       // IETF protocol assignments (Teredo and more)
		"2001:db8::/32",   // documentation
		"2002::/16",       // 6to4: an IPv4 address inside
		"fec0::/10",       // site-local (deprecated)
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()
