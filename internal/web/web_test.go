package web

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseProxies(t *testing.T) {
	p, err := ParseProxies("10.0.0.0/8, 192.0.2.7", "2001:db8::/32 ::ffff:198.51.100.0/120")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.String(); got != "10.0.0.0/8,192.0.2.7/32,2001:db8::/32,198.51.100.0/24" {
		t.Errorf("String() = %q", got)
	}
	for _, bad := range []string{"10.0.0.0/33", "localhost", "10.0.0.1/8x", "2001:db8::/129", "1.2.3"} {
		if _, err := ParseProxies(bad); err == nil || !strings.Contains(err.Error(), "CIDR") {
			t.Errorf("ParseProxies(%q) = %v, want an error", bad, err)
		}
	}
	if p, err := ParseProxies(""); err != nil || p.Len() != 0 {
		t.Errorf("ParseProxies(\"\") = %v, %v", p, err)
	}
}

// TestClient: the client of a request, by who its peer is and what the
// forwarding headers say.
func TestClient(t *testing.T) {
	proxies, err := ParseProxies("10.0.0.0/8", "2001:db8:1::/48", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		peer       string
		headers    map[string][]string
		tls        bool
		ip, scheme string
	}{
		{"direct", "203.0.113.5:4000", nil, false, "203.0.113.5", "http"},
		{"direct over TLS", "203.0.113.5:4000", nil, true, "203.0.113.5", "https"},
		{"an untrusted peer's headers are ignored", "203.0.113.5:4000",
			map[string][]string{"X-Forwarded-For": {"198.51.100.9"}, "X-Forwarded-Proto": {"https"}, "Forwarded": {"for=198.51.100.9;proto=https"}}, false, "203.0.113.5", "http"},
		{"one proxy", "10.1.2.3:5555", map[string][]string{"X-Forwarded-For": {"198.51.100.9"}, "X-Forwarded-Proto": {"https"}}, false, "198.51.100.9", "https"},
		{"the client's own header is left of the hop the proxy added", "10.1.2.3:5555",
			map[string][]string{"X-Forwarded-For": {"6.6.6.6, 198.51.100.9"}}, false, "198.51.100.9", "http"},
		{"two trusted proxies", "10.1.2.3:5555", map[string][]string{"X-Forwarded-For": {"1.1.1.1, 198.51.100.9, 192.0.2.1"}}, false, "198.51.100.9", "http"},
		{"headers on several lines", "10.1.2.3:5555", map[string][]string{"X-Forwarded-For": {"1.1.1.1", "198.51.100.9, 10.9.9.9"}}, false, "198.51.100.9", "http"},
		{"hops with ports", "10.1.2.3:5555", map[string][]string{"X-Forwarded-For": {"198.51.100.9:1234"}}, false, "198.51.100.9", "http"},
		{"IPv6 hops", "[2001:db8:1::5]:443", map[string][]string{"X-Forwarded-For": {"[2001:db8:99::7]:8080"}}, false, "2001:db8:99::7", "http"},
		{"IPv6 hop without brackets", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {"2001:db8:99::7"}}, false, "2001:db8:99::7", "http"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.1]:1", map[string][]string{"X-Forwarded-For": {"198.51.100.9"}}, false, "198.51.100.9", "http"},
		{"an unreadable hop stops at the proxy that wrote it", "10.1.2.3:5555",
			map[string][]string{"X-Forwarded-For": {"198.51.100.9, unknown, 10.2.2.2"}}, false, "10.2.2.2", "http"},
		{"garbage", "10.1.2.3:5555", map[string][]string{"X-Forwarded-For": {"<script>"}}, false, "10.1.2.3", "http"},
		{"empty header", "10.1.2.3:5555", map[string][]string{"X-Forwarded-For": {""}}, false, "10.1.2.3", "http"},
		{"only trusted hops: the leftmost", "10.1.2.3:5555", map[string][]string{"X-Forwarded-For": {"10.5.5.5, 10.6.6.6"}}, false, "10.5.5.5", "http"},
		{"a trusted peer without headers", "10.1.2.3:5555", nil, false, "10.1.2.3", "http"},
		{"Forwarded", "10.1.2.3:5555", map[string][]string{"Forwarded": {`for=6.6.6.6, for=198.51.100.9;proto=https;by=10.1.2.3`}}, false, "198.51.100.9", "http"},
		{"Forwarded with quotes, IPv6 and proto", "10.1.2.3:5555", map[string][]string{"Forwarded": {`for="[2001:db8:99::7]:4711";proto=https`}}, false, "2001:db8:99::7", "https"},
		{"Forwarded obfuscated", "10.1.2.3:5555", map[string][]string{"Forwarded": {`for=_hidden`}}, false, "10.1.2.3", "http"},
		{"X-Forwarded-For wins over a Forwarded the client sent", "10.1.2.3:5555",
			map[string][]string{"X-Forwarded-For": {"198.51.100.9"}, "Forwarded": {"for=6.6.6.6"}}, false, "198.51.100.9", "http"},
		{"proto from the edge", "10.1.2.3:5555", map[string][]string{"X-Forwarded-For": {"198.51.100.9"}, "X-Forwarded-Proto": {"HTTPS, http"}}, false, "198.51.100.9", "https"},
		{"nonsense proto", "10.1.2.3:5555", map[string][]string{"X-Forwarded-For": {"198.51.100.9"}, "X-Forwarded-Proto": {"javascript"}}, true, "198.51.100.9", "https"},
		{"a proxy may say the client used plain http", "10.1.2.3:5555", map[string][]string{"X-Forwarded-For": {"198.51.100.9"}, "X-Forwarded-Proto": {"http"}}, true, "198.51.100.9", "http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for k, vs := range tt.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			ip, scheme := proxies.Client(r)
			if ip.String() != tt.ip || scheme != tt.scheme {
				t.Errorf("Client = %s %s, want %s %s", ip, scheme, tt.ip, tt.scheme)
			}
			// Nobody trusted: always the peer.
			var none *Proxies
			if ip, _ := none.Client(r); ip.String() != parseHop(tt.peer).String() {
				t.Errorf("without trusted proxies: %s, want the peer", ip)
			}
		})
	}
}

func TestHandler(t *testing.T) {
	proxies, _ := ParseProxies("127.0.0.1")
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var seen struct{ id, ip, scheme string }
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.id, seen.ip, seen.scheme = RequestID(r), ClientIP(r), Scheme(r)
		w.Write([]byte("ok"))
	}), Config{Proxies: proxies, Logger: log})
	r := httptest.NewRequest("GET", "/page?secret=1", nil)
	r.RemoteAddr = "127.0.0.1:999"
	r.Header.Set("X-Forwarded-For", "198.51.100.9")
	r.Header.Set("X-Forwarded-Proto", "https")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if seen.ip != "198.51.100.9" || seen.scheme != "https" || len(seen.id) != 16 || w.Header().Get("X-Request-Id") != seen.id {
		t.Errorf("seen %+v, X-Request-Id %q", seen, w.Header().Get("X-Request-Id"))
	}
	line := buf.String()
	if !strings.Contains(line, "request_id="+seen.id) || !strings.Contains(line, "status=200") || strings.Contains(line, "secret") || strings.Contains(line, "198.51.100.9") {
		t.Errorf("log line %q", line)
	}
	// Outside Handler: the peer, and no id.
	r = httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "pipe"
	if ClientIP(r) != "pipe" || RequestID(r) != "" || Scheme(r) != "http" {
		t.Errorf("outside Handler: %q %q %q", ClientIP(r), RequestID(r), Scheme(r))
	}
}
