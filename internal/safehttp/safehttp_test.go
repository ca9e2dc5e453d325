package safehttp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/internal/safehttp"
)

func TestPublicAddr(t *testing.T) {
	for _, s := range []string{"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "8.8.8.8", "1.1.1.1"} {
		if !safehttp.PublicAddr(netip.MustParseAddr(s)) {
			t.Errorf("%s refused", s)
		}
	}
	for _, s := range []string{
		"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.1.2.3",
		"192.0.0.8", "192.0.2.1", "198.18.0.1", "198.51.100.7", "203.0.113.9", "240.0.0.1", "255.255.255.255",
		"224.0.0.1", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"::a9fe:a9fe", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1", "2002:a9fe:a9fe::1", "2001:0:4136:e378::1",
		"2001:db8::1", "fec0::1", "100::1",
	} {
		if safehttp.PublicAddr(netip.MustParseAddr(s)) {
			t.Errorf("%s allowed", s)
		}
	}
}

func TestCheckURL(t *testing.T) {
	var strict safehttp.Policy
	allow := safehttp.Policy{Hosts: []string{"127.0.0.1", "Hooks.Internal"}}
	for _, tc := range []struct {
		p    safehttp.Policy
		url  string
		ok   bool
		says string
	}{
		{strict, "https://hooks.example/in", true, ""},
		{strict, "http://hooks.example/in", false, "only https"},
		{strict, "https://127.0.0.1:9000/in", false, "loopback"},
		{strict, "https://10.1.2.3/in", false, "private"},
		{strict, "https://[fe80::1]/in", false, "link-local"},
		{strict, "https://169.254.169.254/latest", false, "link-local"},
		{strict, "https://user:pw@hooks.example/", false, "user name"},
		{strict, "ftp://hooks.example/", false, "not an http"},
		{strict, "/relative", false, "absolute"},
		{strict, "javascript:alert(1)", false, "absolute"},
		{allow, "http://127.0.0.1:9000/in", true, ""},
		{allow, "http://hooks.internal/in", true, ""},
		{allow, "http://127.0.0.2/in", false, "only https"},
		{allow, "https://10.0.0.1/in", false, "--webhook-allow 10.0.0.1"},
	} {
		_, err := tc.p.CheckURL(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("%v CheckURL(%q) = %v, want ok=%v", tc.p.Hosts, tc.url, err, tc.ok)
			continue
		}
		if err != nil && (!errors.Is(err, safehttp.ErrNotAllowed) || !strings.Contains(err.Error(), tc.says)) {
			t.Errorf("CheckURL(%q) = %v, want a refusal saying %q", tc.url, err, tc.says)
		}
	}
}

func TestParseHosts(t *testing.T) {
	got, err := safehttp.ParseHosts(" 127.0.0.1, Hooks.Internal,[::1] ,")
	if err != nil || strings.Join(got, " ") != "127.0.0.1 hooks.internal ::1" {
		t.Errorf("ParseHosts = %q, %v", got, err)
	}
	for _, bad := range []string{"http://x", "x:80", "a/b", "u@h"} {
		if _, err := safehttp.ParseHosts(bad); err == nil {
			t.Errorf("ParseHosts(%q) accepted", bad)
		}
	}
}

// TestClient_Dial checks the rule where it holds: on the address dialled,
// after DNS, and on every redirect.
func TestClient_Dial(t *testing.T) {
	hits := 0
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { hits++ })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port := u.Port()
	// A redirect to the same server under another name: not in the list.
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:"+port+"/ok", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/here", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusFound)
	})

	strict := safehttp.Policy{AllowHTTP: true}.Client(safehttp.ClientOptions{Timeout: 5 * time.Second, MaxRedirects: 2})
	for _, target := range []string{srv.URL + "/ok", "http://localhost:" + port + "/ok"} {
		if _, err := strict.Get(target); !errors.Is(err, safehttp.ErrNotAllowed) {
			t.Errorf("strict GET %s = %v, want a refusal", target, err)
		}
	}
	named := safehttp.Policy{Hosts: []string{"127.0.0.1"}}.Client(safehttp.ClientOptions{Timeout: 5 * time.Second, MaxRedirects: 2, KeepMethod: true})
	if resp, err := named.Post(srv.URL+"/here", "text/plain", strings.NewReader("x")); err != nil || resp.StatusCode != 200 {
		t.Fatalf("named host, redirect to itself: %v", err)
	}
	if _, err := named.Post(srv.URL+"/away", "text/plain", strings.NewReader("x")); !errors.Is(err, safehttp.ErrNotAllowed) {
		t.Errorf("redirect to a name not in the list = %v, want a refusal", err)
	}
	if resp, err := named.Post(srv.URL+"/get", "text/plain", strings.NewReader("x")); err != nil || resp.StatusCode != http.StatusFound {
		t.Errorf("a 302 that would turn POST into GET: %v, %v; want the 302 itself", resp, err)
	}
	if hits != 1 {
		t.Errorf("%d requests reached the server, want 1", hits)
	}
	if err := (safehttp.Policy{}).CheckHost(context.Background(), "localhost"); !errors.Is(err, safehttp.ErrNotAllowed) {
		t.Errorf("CheckHost(localhost) = %v", err)
	}
}
