// Package web is what every HTTP face of Parley shares, below the routes:
// each request's id and its access log line, and who the client is when
// Parley runs behind reverse proxies it has been told to trust (its address
// and the scheme it used). Handlers ask ClientIP, Scheme and RequestID;
// they never read RemoteAddr or forwarding headers themselves.
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Proxies are the reverse proxies (and CDNs) whose forwarding headers
// Parley believes: only a request whose peer is one of them may say, in
// X-Forwarded-For or Forwarded, who the client is. The zero value trusts
// nobody.
type Proxies struct {
	nets []netip.Prefix
}

// ParseProxies reads trusted proxies: CIDR ranges ("10.0.0.0/8",
// "2001:db8::/32") or single addresses, each item possibly a comma- or
// space-separated list.
func ParseProxies(specs ...string) (*Proxies, error) {
	p := &Proxies{}
	for _, spec := range specs {
		for _, f := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
			if err := p.Add(f); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// Add trusts one more range or address.
func (p *Proxies) Add(spec string) error {
	if pre, err := netip.ParsePrefix(spec); err == nil {
		p.nets = append(p.nets, netip.PrefixFrom(pre.Addr().Unmap(), unmappedBits(pre)).Masked())
		return nil
	}
	a, err := netip.ParseAddr(spec)
	if err != nil {
		return fmt.Errorf("trusted proxy %q is not an IP address or CIDR range (such as 10.0.0.0/8)", spec)
	}
	a = a.Unmap()
	p.nets = append(p.nets, netip.PrefixFrom(a, a.BitLen()))
	return nil
}

// unmappedBits is a prefix's length once an IPv4-mapped IPv6 address in
// it is written as IPv4.
func unmappedBits(pre netip.Prefix) int {
	if pre.Addr().Is4In6() {
		return max(pre.Bits()-96, 0)
	}
	return pre.Bits()
}

// Len is how many ranges are trusted.
func (p *Proxies) Len() int {
	if p == nil {
		return 0
	}
	return len(p.nets)
}

// String lists the trusted ranges, comma-separated.
func (p *Proxies) String() string {
	if p == nil {
		return ""
	}
	s := make([]string, len(p.nets))
	for i, n := range p.nets {
		s[i] = n.String()
	}
	return strings.Join(s, ",")
}

// Trusted reports whether a is one of the trusted proxies.
func (p *Proxies) Trusted(a netip.Addr) bool {
	if p == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// Client works out who sent r: the peer's address, or, when the peer is
// a trusted proxy, the rightmost address in the forwarding header that is
// not a trusted proxy (each proxy appends the address it was reached
// from, so everything left of the last untrusted hop could have been
// written by the client). X-Forwarded-For is read when present, else
// Forwarded. A hop that cannot be read ("unknown", an obfuscated name)
// ends the walk at the proxy that wrote it. The scheme is https when the
// connection is TLS, or when a trusted proxy says so in X-Forwarded-Proto
// (else the proto of Forwarded).
func (p *Proxies) Client(r *http.Request) (ip netip.Addr, scheme string) {
	scheme = "http"
	if r.TLS != nil {
		scheme = "https"
	}
	peer := parseHop(r.RemoteAddr)
	if !p.Trusted(peer) {
		return peer, scheme
	}
	hops, proto := forwarded(r.Header)
	ip = peer
	for i := len(hops) - 1; i >= 0; i-- {
		a := parseHop(hops[i])
		if !a.IsValid() {
			break
		}
		ip = a
		if !p.Trusted(a) {
			break
		}
	}
	if proto == "http" || proto == "https" {
		scheme = proto
	}
	return ip, scheme
}

// forwarded returns the hops a request was forwarded through, left to
// right, and the scheme the first proxy was reached with.
func forwarded(h http.Header) (hops []string, proto string) {
	if xff := h.Values("X-Forwarded-For"); len(xff) > 0 {
		for _, line := range xff {
			for _, hop := range strings.Split(line, ",") {
				hops = append(hops, strings.TrimSpace(hop))
			}
		}
		proto, _, _ = strings.Cut(h.Get("X-Forwarded-Proto"), ",")
		return hops, strings.ToLower(strings.TrimSpace(proto))
	}
	// RFC 7239: Forwarded: for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"
	for _, line := range h.Values("Forwarded") {
		for _, elem := range strings.Split(line, ",") {
			hop := ""
			for _, pair := range strings.Split(elem, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(pair), "=")
				v = strings.Trim(strings.TrimSpace(v), `"`)
				switch strings.ToLower(k) {
				case "for":
					hop = v
				case "proto":
					if len(hops) == 0 && proto == "" {
						proto = strings.ToLower(v)
					}
				}
			}
			hops = append(hops, hop)
		}
	}
	if p := strings.ToLower(strings.TrimSpace(h.Get("X-Forwarded-Proto"))); proto == "" && len(hops) > 0 {
		proto, _, _ = strings.Cut(p, ",")
	}
	return hops, proto
}

// parseHop reads an address as proxies write it: "192.0.2.1",
// "192.0.2.1:4711", "2001:db8::1", "[2001:db8::1]:4711", "[2001:db8::1]".
// It returns the zero Addr for anything else.
func parseHop(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil && a.Zone() == "" {
		return a.Unmap()
	}
	return netip.Addr{}
}

type ctxKey int

const infoKey ctxKey = 0

// info is what Handler works out about a request once.
type info struct {
	id     string
	ip     string
	scheme string
}

func infoOf(r *http.Request) (info, bool) {
	i, ok := r.Context().Value(infoKey).(info)
	return i, ok
}

// RequestID is the id Handler gave the request ("" outside Handler); it
// is in the X-Request-Id response header, and in log lines about the
// request, so a reader can quote it.
func RequestID(r *http.Request) string {
	i, _ := infoOf(r)
	return i.id
}

// ClientIP is the address of the client that sent r, as Handler worked it
// out; outside Handler, the peer's.
func ClientIP(r *http.Request) string {
	if i, ok := infoOf(r); ok {
		return i.ip
	}
	return (*Proxies)(nil).clientString(r)
}

// Scheme is "https" or "http": how the client reached Parley.
func Scheme(r *http.Request) string {
	if i, ok := infoOf(r); ok {
		return i.scheme
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func (p *Proxies) clientString(r *http.Request) string {
	ip, _ := p.Client(r)
	if !ip.IsValid() {
		// Not an IP address (a Unix socket, a test's "pipe"): as it is.
		return r.RemoteAddr
	}
	return ip.String()
}

// Config is what Handler needs.
type Config struct {
	// Proxies are the trusted reverse proxies; nil trusts none.
	Proxies *Proxies
	// Logger gets one debug line per request; nil logs nothing.
	Logger *slog.Logger
}

// Handler gives every request an id (X-Request-Id), works out its client
// and scheme, and logs it at debug level when done (errors are logged
// where they are handled). It never logs query strings, which may hold
// page addresses readers consider private, nor client addresses.
func Handler(next http.Handler, c Config) http.Handler {
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		ip, scheme := c.Proxies.Client(r)
		i := info{id: id, ip: ip.String(), scheme: scheme}
		if !ip.IsValid() {
			i.ip = r.RemoteAddr
		}
		r = r.WithContext(context.WithValue(r.Context(), infoKey, i))
		if !log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &StatusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		log.Debug("request", slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.Status()), slog.Duration("took", time.Since(start)))
	})
}

// StatusWriter remembers the status a handler answered with, for the
// access log and the metrics. It passes Flush on (live streams and the
// desk's queue stream flush) and unwraps for http.ResponseController.
type StatusWriter struct {
	http.ResponseWriter
	status int
}

// Status is the status the handler answered with: 200 when it wrote
// nothing (as net/http then sends); 1xx informational answers do not
// count.
func (w *StatusWriter) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

func (w *StatusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *StatusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// JSONDownload sets the headers of a JSON file to save (name, dated
// today: "parley-data-2026-12-06.json"), never cached, and gives the
// answer half an hour: a reader's data export, with many comments, takes
// longer to send than the server's write timeout, meant for ordinary
// answers, allows.
func JSONDownload(w http.ResponseWriter, name string) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`-`+time.Now().UTC().Format("2006-01-02")+`.json"`)
	h.Set("Cache-Control", "no-store")
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(30 * time.Minute))
}
