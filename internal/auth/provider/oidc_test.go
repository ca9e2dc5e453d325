package provider_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/internal/auth"
	"parley/internal/auth/authtest"
	"parley/internal/auth/provider"
)

// oidcSetup starts the app and a provider registered with it, and returns
// both, with the app's auth.Provider for kind (OIDC or Google).
func oidcSetup(t *testing.T, kind provider.Kind, claimsInIDToken bool) (*app, *authtest.OP) {
	t.Helper()
	a := newApp(t)
	id := "myop"
	if kind == provider.Google {
		id = "google"
	}
	jane := authtest.DefaultUser()
	jane.Picture = "https://op.example/jane.png"
	o := authtest.StartOP(t, authtest.OPConfig{ClientID: "parley-client", ClientSecret: "parley-secret",
		RedirectURIs: []string{a.callback(id)}, ClaimsInIDToken: claimsInIDToken, Users: []authtest.OPUser{jane}})
	cfg := provider.Config{Kind: kind, ClientID: "parley-client", ClientSecret: "parley-secret", Issuer: o.Issuer()}
	if kind == provider.OIDC {
		cfg.ID, cfg.Name, cfg.IconURL = id, "My OP", "https://op.example/icon.png"
	}
	ps, err := provider.New(ctx, []provider.Config{cfg}, nil)
	if err != nil {
		t.Fatalf("provider.New: %v", err)
	}
	a.start(t, ps...)
	return a, o
}

func TestOIDC_FullFlow(t *testing.T) {
	for _, tt := range []struct {
		name            string
		kind            provider.Kind
		claimsInIDToken bool
	}{
		{"generic, claims from userinfo", provider.OIDC, false},
		{"generic, claims in ID token", provider.OIDC, true},
		{"google", provider.Google, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, o := oidcSetup(t, tt.kind, tt.claimsInIDToken)
			id := a.flow.Providers()[0].ID()
			b := newBrowser(t)
			status, body := b.login(a, id, "popup")
			res, err := a.result()
			if status != http.StatusOK || err != nil {
				t.Fatalf("log-in ended with %d %q, %v", status, body, err)
			}
			want := auth.Identity{Provider: id, Subject: "user-7f3a", Name: "Jane Doe", Email: "jane@example.org",
				EmailVerified: true, AvatarURL: "https://op.example/jane.png"}
			if res.Identity != want {
				t.Errorf("identity = %+v\nwant       %+v", res.Identity, want)
			}
			if res.Mode != auth.ModePopup || res.ReturnTo != articleURL || res.SiteID != siteID {
				t.Errorf("pending = %+v", res.Pending)
			}
			q := o.LastAuthorize()
			if q["code_challenge_method"][0] != "S256" || len(q["code_challenge"][0]) != 43 || len(q["nonce"][0]) < 43 {
				t.Errorf("authorization request lacked PKCE or nonce: %v", q)
			}
			if !strings.Contains(q["scope"][0], "openid") {
				t.Errorf("scope %q", q["scope"])
			}
			// The log-in cookie is gone from the browser.
			u, _ := url.Parse(a.url() + "/auth/")
			for _, c := range b.client.Jar.Cookies(u) {
				if c.Name == auth.DefaultFlowCookie {
					t.Error("log-in cookie still set after the callback")
				}
			}
			// Replaying the callback (same code, same state) fails.
			if got := b.replay(); got != http.StatusForbidden {
				t.Errorf("replayed callback answered %d", got)
			}
			if _, err := a.result(); !errors.Is(err, auth.ErrNoFlow) {
				t.Errorf("replayed callback: %v, want ErrNoFlow", err)
			}
		})
	}
}

func TestOIDC_ProviderInfo(t *testing.T) {
	a, _ := oidcSetup(t, provider.OIDC, true)
	p := a.flow.Providers()[0]
	if p.ID() != "myop" || p.Name() != "My OP" || p.IconURL() != "https://op.example/icon.png" {
		t.Errorf("provider = %s %s %s", p.ID(), p.Name(), p.IconURL())
	}
}

func TestOIDC_Refused(t *testing.T) {
	t.Run("wrong state", func(t *testing.T) {
		a, o := oidcSetup(t, provider.OIDC, true)
		o.SetTamper(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			// The provider (or someone in between) sends the browser back
			// with another state.
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			if loc := rec.Header().Get("Location"); strings.Contains(loc, "state=") {
				u, _ := url.Parse(loc)
				q := u.Query()
				q.Set("state", "forged-"+q.Get("state"))
				u.RawQuery = q.Encode()
				rec.Header().Set("Location", u.String())
			}
			copyResponse(w, rec)
		})
		status, _ := newBrowser(t).login(a, "myop", "redirect")
		if _, err := a.result(); status != http.StatusForbidden || !errors.Is(err, auth.ErrState) {
			t.Fatalf("got %d, %v; want 403 and ErrState", status, err)
		}
	})
	t.Run("replayed state with a kept cookie", func(t *testing.T) {
		a, _ := oidcSetup(t, provider.OIDC, true)
		b := newBrowser(t)
		// Keep the log-in cookie as Begin set it.
		start := a.url() + "/auth/myop/start?" + url.Values{"return": {articleURL}}.Encode()
		noFollow := *b.client
		noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := noFollow.Get(start)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		kept := resp.Cookies()[0]
		status, _ := b.follow(b.get(resp.Header.Get("Location")))
		if _, err := a.result(); status != http.StatusOK || err != nil {
			t.Fatalf("first log-in: %d, %v", status, err)
		}
		u, _ := url.Parse(a.url() + "/auth/")
		b.client.Jar.SetCookies(u, []*http.Cookie{{Name: kept.Name, Value: kept.Value, Path: "/auth/"}})
		if got := b.replay(); got != http.StatusForbidden {
			t.Errorf("replay answered %d", got)
		}
		if _, err := a.result(); !errors.Is(err, auth.ErrReplay) {
			t.Errorf("replay with a kept cookie: %v, want ErrReplay", err)
		}
	})
	t.Run("callback in another browser", func(t *testing.T) {
		a, _ := oidcSetup(t, provider.OIDC, true)
		victim := newBrowser(t)
		// An attacker starts a log-in, signs in at the provider with their
		// own account, and gets the victim to open the callback.
		attacker := newBrowser(t)
		attacker.client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.Path, "/auth/") && strings.HasSuffix(req.URL.Path, "/callback") {
				attacker.lastCallback = req.URL.String()
				return http.ErrUseLastResponse
			}
			return nil
		}
		attacker.login(a, "myop", "redirect")
		resp := victim.get(attacker.lastCallback)
		resp.Body.Close()
		if _, err := a.result(); resp.StatusCode != http.StatusForbidden || !errors.Is(err, auth.ErrNoFlow) {
			t.Fatalf("login CSRF: %d, %v; want 403 and ErrNoFlow", resp.StatusCode, err)
		}
	})
	t.Run("nonce mismatch", func(t *testing.T) {
		a, o := oidcSetup(t, provider.OIDC, true)
		o.SetTamper(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			// An attacker swaps the nonce of the authorization request,
			// so the ID token carries a nonce Parley did not make.
			if r.URL.Path == "/authorize" {
				q := r.URL.Query()
				q.Set("nonce", "attacker-nonce")
				r.URL.RawQuery = q.Encode()
			}
			next.ServeHTTP(w, r)
		})
		status, _ := newBrowser(t).login(a, "myop", "redirect")
		res, err := a.result()
		if status != http.StatusForbidden || !errors.Is(err, auth.ErrIDToken) || !strings.Contains(err.Error(), "nonce") {
			t.Fatalf("got %d, %v; want 403 and ErrIDToken (nonce)", status, err)
		}
		if res.Identity != (auth.Identity{}) {
			t.Errorf("identity returned with a bad nonce: %+v", res.Identity)
		}
	})
	t.Run("tampered ID token", func(t *testing.T) {
		a, o := oidcSetup(t, provider.OIDC, true)
		o.SetTamper(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			if r.URL.Path != "/oauth/token" {
				next.ServeHTTP(w, r)
				return
			}
			// Change the ID token's subject, keeping its signature.
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var body map[string]any
			json.Unmarshal(rec.Body.Bytes(), &body)
			parts := strings.Split(body["id_token"].(string), ".")
			claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
			claims = []byte(strings.Replace(string(claims), "user-7f3a", "admin-0001", 1))
			parts[1] = base64.RawURLEncoding.EncodeToString(claims)
			body["id_token"] = strings.Join(parts, ".")
			rec.Body.Reset()
			json.NewEncoder(rec.Body).Encode(body)
			copyResponse(w, rec)
		})
		status, _ := newBrowser(t).login(a, "myop", "redirect")
		if _, err := a.result(); status != http.StatusForbidden || !errors.Is(err, auth.ErrIDToken) {
			t.Fatalf("got %d, %v; want 403 and ErrIDToken", status, err)
		}
	})
	t.Run("ID token for another client", func(t *testing.T) {
		// A genuine ID token from the same provider, made for another
		// application, is slipped into Parley's token response.
		a, o := oidcSetup(t, provider.OIDC, true)
		o.SetTamper(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			if r.URL.Path != "/oauth/token" {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var body map[string]any
			json.Unmarshal(rec.Body.Bytes(), &body)
			payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(body["id_token"].(string), ".")[1])
			var claims map[string]any
			json.Unmarshal(payload, &claims)
			claims["aud"], claims["azp"], claims["client_id"] = []string{"another-app"}, "another-app", "another-app"
			payload, _ = json.Marshal(claims)
			tok, err := o.Sign(payload)
			if err != nil {
				t.Error(err)
			}
			body["id_token"] = tok
			rec.Body.Reset()
			json.NewEncoder(rec.Body).Encode(body)
			copyResponse(w, rec)
		})
		status, _ := newBrowser(t).login(a, "myop", "redirect")
		if _, err := a.result(); status != http.StatusForbidden || !errors.Is(err, auth.ErrIDToken) || !strings.Contains(err.Error(), "audience") {
			t.Fatalf("got %d, %v; want ErrIDToken about the audience", status, err)
		}
	})
	t.Run("expired log-in cookie", func(t *testing.T) {
		a, o := oidcSetup(t, provider.OIDC, true)
		o.SetTamper(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			if r.URL.Path == "/login" && r.Method == http.MethodPost {
				a.wait(auth.FlowMaxAge + time.Second) // the reader took a long time
			}
			next.ServeHTTP(w, r)
		})
		status, _ := newBrowser(t).login(a, "myop", "redirect")
		if _, err := a.result(); status != http.StatusForbidden || !errors.Is(err, auth.ErrExpired) {
			t.Fatalf("got %d, %v; want ErrExpired", status, err)
		}
	})
	t.Run("reader declines", func(t *testing.T) {
		a, o := oidcSetup(t, provider.OIDC, true)
		o.SetTamper(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			if r.URL.Path == "/login" {
				// The sign-in page's "Cancel": back to Parley with an error.
				q := o.LastAuthorize()
				u, _ := url.Parse(q["redirect_uri"][0])
				u.RawQuery = url.Values{"error": {"access_denied"}, "state": q["state"]}.Encode()
				http.Redirect(w, r, u.String(), http.StatusFound)
				return
			}
			next.ServeHTTP(w, r)
		})
		status, _ := newBrowser(t).login(a, "myop", "popup")
		res, err := a.result()
		if status != http.StatusForbidden || !errors.Is(err, auth.ErrDenied) {
			t.Fatalf("got %d, %v; want ErrDenied", status, err)
		}
		if res == nil || res.Mode != auth.ModePopup || res.ReturnTo != articleURL {
			t.Errorf("a declined log-in must still say where to go back: %+v", res)
		}
	})
	t.Run("open redirect", func(t *testing.T) {
		a, _ := oidcSetup(t, provider.OIDC, true)
		b := newBrowser(t)
		resp := b.get(a.url() + "/auth/myop/start?" + url.Values{"return": {"https://evil.example/phish"}}.Encode())
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Request.URL.Host != a.srv.Listener.Addr().String() {
			t.Fatalf("start with a foreign return address: %d at %s (%s)", resp.StatusCode, resp.Request.URL, body)
		}
	})
}

func TestOIDC_DiscoveryFails(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, err := provider.New(ctx, []provider.Config{{Kind: provider.OIDC, ID: "corp", Name: "Corp",
		ClientID: "c", ClientSecret: "s", Issuer: dead.URL}}, nil)
	if err == nil || !strings.Contains(err.Error(), `"corp"`) || !strings.Contains(err.Error(), dead.URL) {
		t.Fatalf("New = %v; want an error naming the provider and its issuer", err)
	}
}

// copyResponse writes a recorded response to w.
func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		if k == "Content-Length" {
			continue
		}
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}
