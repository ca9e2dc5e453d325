// Package safehttp makes Parley's outgoing HTTP requests — readers'
// pictures, providers' icons, webhooks — unable to reach Parley's own
// network. A URL someone else chose (an SSO token's avatar, a webhook
// an editor typed) must not make Parley call its database's admin port,
// a cloud metadata service or a router: only public unicast addresses
// are dialled, checked on the address actually connected to (after DNS,
// so a name that resolves to 127.0.0.1 is refused too) and again on
// every redirect. The operator may name exceptions.
package safehttp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"
)

// ErrNotAllowed is wrapped by every refusal of this package.
var ErrNotAllowed = errors.New("address not allowed")

// Refusal says why a URL or an address may not be reached. It wraps
// ErrNotAllowed; its message is fit to show the person who typed the URL.
type Refusal struct {
	Reason string
}

func (r *Refusal) Error() string { return r.Reason }
func (r *Refusal) Unwrap() error { return ErrNotAllowed }

func refuse(format string, args ...any) error {
	return &Refusal{Reason: fmt.Sprintf(format, args...)}
}

// Policy says where requests may go. The zero Policy allows https to
// public addresses only.
type Policy struct {
	// Hosts may be reached over plain http and on any address, private or
	// loopback included: the operator's named exceptions (serve
	// --webhook-allow), compared without regard to case.
	Hosts []string
	// AllowPrivate lets every host be reached on any address: for tests
	// and intranet services the operator configured, never for URLs that
	// outsiders choose.
	AllowPrivate bool
	// AllowHTTP lets every host be reached over plain http (pictures are
	// public and checked for what they are); otherwise only hosts in
	// Hosts may use it.
	AllowHTTP bool
}

// normalHost lower-cases a host and strips IPv6 brackets.
func normalHost(h string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
}

// Named reports whether host is one of the operator's exceptions.
func (p Policy) Named(host string) bool {
	host = normalHost(host)
	return slices.ContainsFunc(p.Hosts, func(h string) bool { return normalHost(h) == host })
}

// ParseHosts reads a comma-separated list of host names or addresses,
// as --webhook-allow takes it. A port, a scheme or a path is a mistake.
func ParseHosts(list string) ([]string, error) {
	var out []string
	for _, h := range strings.Split(list, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if strings.ContainsAny(h, "/@ ") || (strings.Contains(h, ":") && !strings.HasPrefix(h, "[") && net.ParseIP(h) == nil) {
			return nil, fmt.Errorf("%q is not a host name or address (write it without scheme, port or path, e.g. hooks.internal or 127.0.0.1)", h)
		}
		out = append(out, normalHost(h))
	}
	return out, nil
}

// CheckURL checks an absolute URL before anything is sent: http or https
// (http only where the policy allows it), no user name or password, and,
// for a literal address, a public one (unless allowed). Names are checked
// when dialled.
func (p Policy) CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, refuse("The address %q is not an absolute http or https URL", raw)
	}
	if u.User != nil {
		return nil, refuse("The address must not carry a user name or password")
	}
	host := u.Hostname()
	switch u.Scheme {
	case "https":
	case "http":
		if !p.AllowHTTP && !p.AllowPrivate && !p.Named(host) {
			return nil, refuse("The address %s uses plain http: only https is allowed, unless the server is started with --webhook-allow %s", u.Redacted(), host)
		}
	default:
		return nil, refuse("The address %q is not an http or https URL", raw)
	}
	if a, err := netip.ParseAddr(normalHost(host)); err == nil && !p.AllowPrivate && !p.Named(host) && !PublicAddr(a) {
		return nil, refuse("The host %s is %s, which Parley does not connect to unless the server is started with --webhook-allow %s", host, describe(a), host)
	}
	return u, nil
}

// CheckHost resolves a host name and refuses it when every address it
// has is one Parley would not connect to: a helpful early answer when a
// URL is typed. The dial check stays the rule (DNS may change).
func (p Policy) CheckHost(ctx context.Context, host string) error {
	if p.AllowPrivate || p.Named(host) {
		return nil
	}
	if a, err := netip.ParseAddr(normalHost(host)); err == nil {
		if !PublicAddr(a) {
			return refuse("The host %s is %s, which Parley does not connect to unless the server is started with --webhook-allow %s", host, describe(a), host)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return nil // unknown for now; the dial decides
	}
	for _, a := range addrs {
		if PublicAddr(a) {
			return nil
		}
	}
	return refuse("The host %s resolves to %s, which Parley does not connect to unless the server is started with --webhook-allow %s", host, describe(addrs[0]), host)
}

// describe names the kind of a non-public address for a message.
func describe(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsUnspecified():
		return "an unspecified address"
	case a.IsMulticast():
		return "a multicast address"
	}
	return "a special-purpose address"
}

// DialContext returns a dial function for an http.Transport that
// connects to hosts the policy names on any address, and to every other
// host only on public addresses, checked on the address dialled.
func (p Policy) DialContext(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	open := *d
	guarded := *d
	guarded.Control = publicOnly
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, refuse("%q is not a host and port", addr)
		}
		if p.AllowPrivate || p.Named(host) {
			return open.DialContext(ctx, network, addr)
		}
		c, err := guarded.DialContext(ctx, network, addr)
		if err != nil && errors.Is(err, ErrNotAllowed) {
			return nil, refuse("The host %s resolves to an address Parley does not connect to (loopback, private or link-local) unless the server is started with --webhook-allow %s", host, host)
		}
		return c, err
	}
}

// publicOnly refuses to connect to anything but public unicast addresses.
func publicOnly(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !PublicAddr(ap.Addr()) {
		return ErrNotAllowed
	}
	return nil
}

// ClientOptions shape Client's http.Client.
type ClientOptions struct {
	// Timeout bounds a whole request, redirects and body included.
	Timeout time.Duration
	// MaxRedirects is how many redirects are followed (0: none; a
	// redirect is then the answer).
	MaxRedirects int
	// KeepMethod follows only redirects that keep the method and body
	// (307 and 308); a 301, 302 or 303, which turn a POST into a GET, is
	// then the answer.
	KeepMethod bool
	// MaxHeaderBytes bounds the response headers (16 kB if zero).
	MaxHeaderBytes int64
	// KeepAlive keeps connections open between requests (to one webhook
	// receiver, say); off by default.
	KeepAlive bool
}

// Client returns an http.Client that dials by the policy and checks every
// redirect's URL with CheckURL.
func (p Policy) Client(o ClientOptions) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 16 << 10
	}
	t := &http.Transport{
		DialContext:            p.DialContext(d),
		TLSHandshakeTimeout:    5 * time.Second,
		ResponseHeaderTimeout:  o.Timeout,
		MaxResponseHeaderBytes: o.MaxHeaderBytes,
		DisableKeepAlives:      !o.KeepAlive,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        30 * time.Second,
	}
	return &http.Client{Transport: t, Timeout: o.Timeout, CheckRedirect: p.CheckRedirect(o.MaxRedirects, o.KeepMethod)}
}

// CheckRedirect returns an http.Client.CheckRedirect that follows at most
// max redirects, each to a URL CheckURL allows (and, with keepMethod,
// only those that keep the method).
func (p Policy) CheckRedirect(max int, keepMethod bool) func(req *http.Request, via []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > max {
			return http.ErrUseLastResponse
		}
		if keepMethod && req.Method != via[0].Method {
			return http.ErrUseLastResponse
		}
		if _, err := p.CheckURL(req.URL.String()); err != nil {
			return err
		}
		return nil
	}
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
