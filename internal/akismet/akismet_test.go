package akismet

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/httpapi"
	"parley/internal/ratelimit"
	"parley/internal/service"
	"parley/internal/spam"
	"parley/internal/store/sqlite"
	"parley/internal/widget"
)

// Texts whose verdicts under the built-in model the tests rely on. Each
// test sends a text once per site and sender, so that duplicate detection
// (which Classify runs too) does not decide instead of the classifier.
var (
	hamTexts = []string{
		"I disagree with the council's decision, but the article explains both sides fairly.",
		"The bakery on Main Street reopens next week with the same sourdough recipe.",
		"Wonderful coverage of the harvest festival, my grandmother loved the photos of the parade.",
		"Our school's robotics team meets on Thursdays in the library, new members welcome.",
	}
	// heldText is a legitimate comment the built-in model finds doubtful.
	heldText  = "Thanks for sharing, I will check out the new library hours on their website."
	spamText  = "Check out my channel!!! Subscribe to me and win a FREE iPhone, click here http://bit.ly/free-iphone"
	blogURL   = "https://blog.example/"
	debugHelp = "X-Akismet-Debug-Help"
)

type testAPI struct {
	*httptest.Server
	svc   *service.Service
	keys  map[string]string // site id -> key
	close func() error      // closes the store
}

// newTestAPI serves the Akismet API the way cmd/parley does, mounted in
// httpapi, over the real service with the spam defence on and a
// temporary SQLite store. Each site (by default "news" and "other") has
// a key.
func newTestAPI(tb testing.TB, sites ...string) *testAPI {
	tb.Helper()
	if len(sites) == 0 {
		sites = []string{"news", "other"}
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "a.db"), sqlite.Options{Migrate: true})
	if err != nil {
		tb.Fatal(err)
	}
	model, err := spam.Default()
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := service.New(ctx, st, service.Options{Spam: &service.SpamOptions{Model: model, Buckets: ratelimit.NewMemory(100)}})
	if err != nil {
		tb.Fatal(err)
	}
	keys := map[string]string{}
	for _, id := range sites {
		if err := svc.CreateSite(ctx, service.OperatorActor(), &comment.Site{ID: id, Name: id, Origins: []string{"https://" + id + ".example"}, EditWindow: comment.DefaultEditWindow}); err != nil {
			tb.Fatal(err)
		}
		if keys[id], err = svc.NewAPIKey(ctx, service.OperatorActor(), id); err != nil {
			tb.Fatal(err)
		}
	}
	assets, err := widget.New()
	if err != nil {
		tb.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	go svc.Run(runCtx)
	api := httpapi.New(svc, assets, nil, httpapi.Config{Akismet: New(svc, nil)})
	srv := httptest.NewServer(api.Handler())
	tb.Cleanup(func() { api.StopStreams(); srv.Close(); stop(); st.Close() })
	return &testAPI{Server: srv, svc: svc, keys: keys, close: st.Close}
}

// request is one call; zero fields mean POST, no extra headers, the
// test server's host.
type request struct {
	method      string
	path        string // with query string
	body        string
	contentType string
	host        string
}

func (ts *testAPI) do(tb testing.TB, rq request) (*http.Response, string) {
	tb.Helper()
	if rq.method == "" {
		rq.method = "POST"
	}
	req, err := http.NewRequest(rq.method, ts.URL+rq.path, strings.NewReader(rq.body))
	if err != nil {
		tb.Fatal(err)
	}
	if rq.contentType != "" {
		req.Header.Set("Content-Type", rq.contentType)
	}
	if rq.host != "" {
		req.Host = rq.host
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, string(b)
}

// post sends fields url-encoded, as most clients do.
func (ts *testAPI) post(tb testing.TB, path string, f url.Values) (*http.Response, string) {
	tb.Helper()
	return ts.do(tb, request{path: path, body: f.Encode(), contentType: "application/x-www-form-urlencoded"})
}

// fields builds a request body from key, value pairs.
func fields(kv ...string) url.Values {
	f := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Add(kv[i], kv[i+1])
	}
	return f
}

// checkFields is a comment-check for the key, with extra pairs.
func checkFields(key, ip, text string, kv ...string) url.Values {
	f := fields("blog", blogURL, "user_ip", ip, "user_agent", "Mozilla/5.0 (X11; Linux x86_64)", "comment_type", "comment",
		"comment_author", "Noor", "comment_content", text, "permalink", blogURL+"2026/11/story")
	if key != "" {
		f.Set("api_key", key)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// want is an exact answer: status 200, the plain-text type, the body,
// and which Akismet headers are present.
type want struct {
	body      string
	debugHelp bool
	guid      bool
	proTip    string
	recheck   string
}

func assertAnswer(tb testing.TB, resp *http.Response, body string, w want) {
	tb.Helper()
	if resp.StatusCode != http.StatusOK {
		tb.Errorf("status = %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		tb.Errorf("Content-Type = %q", ct)
	}
	if body != w.body {
		tb.Errorf("body = %q, want %q (debug help %q)", body, w.body, resp.Header.Get(debugHelp))
	}
	if got := resp.Header.Get(debugHelp) != ""; got != w.debugHelp {
		tb.Errorf("X-akismet-debug-help present = %v, want %v (%q)", got, w.debugHelp, resp.Header.Get(debugHelp))
	}
	if g := resp.Header.Get("X-akismet-guid"); (len(g) == 32) != w.guid {
		tb.Errorf("X-akismet-guid = %q, want one: %v", g, w.guid)
	}
	if g := resp.Header.Get("X-akismet-pro-tip"); g != w.proTip {
		tb.Errorf("X-akismet-pro-tip = %q, want %q", g, w.proTip)
	}
	if g := resp.Header.Get("X-akismet-recheck-after"); g != w.recheck {
		tb.Errorf("X-akismet-recheck-after = %q, want %q", g, w.recheck)
	}
	for k := range resp.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-akismet-alert") || strings.EqualFold(k, "X-akismet-error") {
			tb.Errorf("unexpected header %s", k)
		}
	}
}

var (
	ham     = want{body: "false", guid: true}
	held    = want{body: "false", guid: true, recheck: "43200"}
	spammy  = want{body: "true", guid: true}
	invalid = want{body: "invalid", debugHelp: true}
	valid   = want{body: "valid"}
	thanks  = want{body: "Thanks for making the web a better place."}
)

func TestVerifyKey(t *testing.T) {
	ts := newTestAPI(t)
	key := ts.keys["news"]
	for _, tc := range []struct {
		name string
		rq   request
		want want
	}{
		{"body api_key", request{body: "api_key=" + key + "&blog=https%3A%2F%2Fblog.example"}, valid},
		{"body key", request{body: "key=" + key + "&blog=https%3A%2F%2Fblog.example"}, valid},
		{"query key", request{path: "?key=" + key + "&blog=https%3A%2F%2Fblog.example"}, valid},
		{"GET with query", request{method: "GET", path: "?api_key=" + key + "&blog=https%3A%2F%2Fblog.example"}, valid},
		{"key in host", request{body: "blog=https%3A%2F%2Fblog.example", host: key + ".rest.akismet.com"}, valid},
		{"key in host with port, upper-cased", request{body: "blog=https%3A%2F%2Fblog.example", host: strings.ToUpper(key) + ".akismet.test:8080"}, valid},
		{"blog charset and language too", request{body: "api_key=" + key + "&blog=https%3A%2F%2Fblog.example&blog_charset=UTF-8&blog_lang=en_US"}, valid},
		{"unknown key", request{body: "api_key=0123456789abcdef&blog=https%3A%2F%2Fblog.example"}, invalid},
		{"no key", request{body: "blog=https%3A%2F%2Fblog.example"}, invalid},
		{"bare host is no key", request{body: "blog=https%3A%2F%2Fblog.example", host: "rest.akismet.com"}, invalid},
		{"a key field wins over the host", request{body: "api_key=wrong&blog=https%3A%2F%2Fblog.example", host: key + ".rest.akismet.com"}, invalid},
		{"no blog", request{body: "api_key=" + key}, invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.rq.path = "/1.1/verify-key" + tc.rq.path
			resp, body := ts.do(t, tc.rq)
			assertAnswer(t, resp, body, tc.want)
		})
	}
}

func TestCommentCheck(t *testing.T) {
	ts := newTestAPI(t)
	key := ts.keys["news"]
	for i, tc := range []struct {
		name string
		f    url.Values
		want want
	}{
		{"a legitimate comment", checkFields(key, "", hamTexts[0]), ham},
		{"a doubtful comment is held", checkFields(key, "", heldText), held},
		{"blatant spam", checkFields(key, "", spamText), spammy},
		{"test trigger: author", checkFields(key, "", hamTexts[1], "comment_author", "viagra-test-123"), spammy},
		{"test trigger: e-mail", checkFields(key, "", hamTexts[2], "comment_author_email", "akismet-guaranteed-spam@example.com"), spammy},
		{"test trigger: administrator", checkFields(key, "", spamText, "user_role", "administrator"), ham},
		{"administrator among WordPress roles", checkFields(key, "", hamTexts[3], "user_role", "editor,administrator", "comment_author", "viagra-test-123"), ham},
		{"filled honeypot", checkFields(key, "", hamTexts[1], "honeypot_field_name", "hp_field", "hp_field", "http://buy.example"), spammy},
		{"empty honeypot", checkFields(key, "", hamTexts[2], "honeypot_field_name", "hp_field", "hp_field", ""), ham},
		{"WordPress extras are ignored", checkFields(key, "", hamTexts[3], "comment_context[0]", "news", "comment_context[1]", "buses",
			"POST_comment", hamTexts[3], "HTTP_ACCEPT", "text/html", "akismet_comment_nonce", "passed", "blog_lang", "en_US",
			"comment_date_gmt", "2016-03-02 14:29:13", "is_test", "1", "recheck_reason", "recheck_queue"), ham},
		{"unknown key", checkFields("0123456789abcdef0123456789abcdef", "", hamTexts[0]), invalid},
		{"no key", checkFields("", "", hamTexts[0]), invalid},
		{"no user_ip", checkFields(key, "", hamTexts[0], "user_ip", ""), invalid},
		{"no blog", checkFields(key, "", hamTexts[0], "blog", ""), invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.f.Get("user_ip") == "" && tc.name != "no user_ip" {
				tc.f.Set("user_ip", fmt.Sprintf("198.51.100.%d", i+1))
			}
			resp, body := ts.post(t, "/1.1/comment-check", tc.f)
			assertAnswer(t, resp, body, tc.want)
		})
	}
}

// TestCommentCheck_BlatantSpam is the case of issue 14: a comment any
// reader sees is spam must be answered "true", because every Akismet
// client but WordPress publishes a "false", recheck header or not.
func TestCommentCheck_BlatantSpam(t *testing.T) {
	ts := newTestAPI(t)
	f := checkFields(ts.keys["news"], "203.0.113.9",
		"Buy cheap viagra and cialis online, best casino bonus, payday loans "+
			"http://pills.example/buy http://casino.example/bonus http://loans.example/payday",
		"comment_author", "cheap viagra", "comment_author_url", "http://cheap-pills-online.example/viagra")
	resp, body := ts.post(t, "/1.1/comment-check", f)
	assertAnswer(t, resp, body, spammy)
	// The same from the service: spam, and the reasons say why.
	v, err := ts.svc.Classify(context.Background(), "news", &spam.Input{Body: f.Get("comment_content"), AuthorName: "cheap viagra",
		Website: f.Get("comment_author_url"), IP: "203.0.113.10"})
	if err != nil || v.Action != spam.Spam {
		t.Fatalf("Classify = %+v, %v", v, err)
	}
	if r := v.Reason(); !strings.Contains(r, "sales keyword") || !strings.Contains(r, "score") {
		t.Errorf("reasons %q do not name the score and the author's name", r)
	}
}

// TestKeyConventions sends a comment-check each way real clients send
// their key.
func TestKeyConventions(t *testing.T) {
	ts := newTestAPI(t)
	key := ts.keys["news"]
	trigger := func(ip string) url.Values {
		f := checkFields("", ip, hamTexts[0], "comment_author", "viagra-test-123")
		f.Del("api_key")
		return f
	}
	for _, tc := range []struct {
		name string
		rq   func(f url.Values) request
	}{
		{"body api_key", func(f url.Values) request {
			f.Set("api_key", key)
			return request{body: f.Encode()}
		}},
		{"body key", func(f url.Values) request {
			f.Set("key", key)
			return request{body: f.Encode()}
		}},
		{"query key, fields in the body", func(f url.Values) request {
			return request{path: "?key=" + key, body: f.Encode()}
		}},
		{"GET with everything in the query", func(f url.Values) request {
			f.Set("key", key)
			return request{method: "GET", path: "?" + f.Encode()}
		}},
		{"key in host", func(f url.Values) request {
			return request{body: f.Encode(), host: key + ".rest.akismet.com"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rq := tc.rq(trigger("203.0.113.9"))
			rq.path = "/1.1/comment-check" + rq.path
			rq.contentType = "application/x-www-form-urlencoded"
			resp, body := ts.do(t, rq)
			assertAnswer(t, resp, body, spammy)
		})
	}

	// Through an HTTP proxy the request target is absolute; the key is
	// then in its host, and the Host header may say the same.
	t.Run("absolute-form request target", func(t *testing.T) {
		conn, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		body := trigger("203.0.113.10").Encode()
		fmt.Fprintf(conn, "POST http://%s.rest.akismet.com/1.1/comment-check HTTP/1.0\r\nHost: %[1]s.rest.akismet.com\r\n"+
			"Content-Type: application/x-www-form-urlencoded; charset=UTF-8\r\nUser-Agent: WordPress/6.5 | Akismet/5.3\r\n"+
			"Content-Length: %d\r\n\r\n%s", key, len(body), body)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		assertAnswer(t, resp, string(b), spammy)
	})
}

// TestContentTypes: the fields are read from the body whatever it is
// labelled as.
func TestContentTypes(t *testing.T) {
	ts := newTestAPI(t)
	f := checkFields(ts.keys["news"], "192.0.2.7", hamTexts[0], "comment_author", "viagra-test-123")
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	for k := range f {
		mw.WriteField(k, f.Get(k))
	}
	mw.Close()
	for _, tc := range []struct{ name, contentType, body string }{
		{"none", "", f.Encode()},
		{"form with charset", "application/x-www-form-urlencoded; charset=UTF-8", f.Encode()},
		{"charset only (akismet npm)", "charset=utf-8", f.Encode()},
		{"text/plain", "text/plain", f.Encode()},
		{"application/json, but a form", "application/json", f.Encode()},
		{"unparseable", ";;;=", f.Encode()},
		{"trailing newline", "application/x-www-form-urlencoded", f.Encode() + "\r\n"},
		{"multipart/form-data", mw.FormDataContentType(), mp.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := ts.do(t, request{path: "/1.1/comment-check", body: tc.body, contentType: tc.contentType})
			assertAnswer(t, resp, body, spammy)
		})
	}
}

func TestGarbageAndLimits(t *testing.T) {
	ts := newTestAPI(t)
	key := ts.keys["news"]
	t.Run("garbage without a key", func(t *testing.T) {
		resp, body := ts.do(t, request{path: "/1.1/comment-check", body: "\x00\xff%zz&&==;\x1b[2J"})
		assertAnswer(t, resp, body, invalid)
	})
	t.Run("broken pairs are skipped, the rest is read", func(t *testing.T) {
		body := "%zz=1&api_key=" + key + "&blog=" + url.QueryEscape(blogURL) + "&user_ip=192.0.2.8&comment_content=caf%E9%20au%20lait&bad=%&comment_author=viagra-test-123"
		resp, b := ts.do(t, request{path: "/1.1/comment-check", body: body})
		assertAnswer(t, resp, b, spammy)
	})
	t.Run("body over the limit", func(t *testing.T) {
		f := checkFields(key, "192.0.2.9", strings.Repeat("a", maxBody))
		resp, body := ts.post(t, "/1.1/comment-check", f)
		assertAnswer(t, resp, body, invalid)
	})
	t.Run("a long comment within the limit", func(t *testing.T) {
		text := strings.Repeat("The harvest festival was lovely this year. ", 1500) // 64 kB, twice as WordPress sends it
		f := checkFields(key, "192.0.2.10", text, "POST_comment", text)
		resp, body := ts.post(t, "/1.1/comment-check", f)
		if body != "true" && body != "false" {
			t.Fatalf("= %d %q %v", resp.StatusCode, body, resp.Header)
		}
	})
	t.Run("other methods", func(t *testing.T) {
		resp, _ := ts.do(t, request{method: "PUT", path: "/1.1/comment-check"})
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("PUT = %d", resp.StatusCode)
		}
	})
	t.Run("unknown endpoint", func(t *testing.T) {
		resp, _ := ts.do(t, request{path: "/1.1/nothing"})
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("= %d", resp.StatusCode)
		}
	})
}

func TestSubmit(t *testing.T) {
	ts := newTestAPI(t)
	news, other := ts.keys["news"], ts.keys["other"]
	// Every check is also seen by duplicate detection: a text sent four
	// times to a site within an hour is spam whatever the classifier
	// says. So each text below is checked at most three times per site,
	// from different addresses.
	missed := hamTexts[3] // spam a moderator saw through, worded innocently

	resp, body := ts.post(t, "/1.1/comment-check", checkFields(news, "192.0.2.20", missed))
	assertAnswer(t, resp, body, ham)

	// A test submission must not teach.
	resp, body = ts.post(t, "/1.1/submit-spam", checkFields(news, "192.0.2.20", missed, "is_test", "true"))
	assertAnswer(t, resp, body, thanks)
	resp, body = ts.post(t, "/1.1/comment-check", checkFields(news, "192.0.2.21", missed, "comment_author", "Sam"))
	assertAnswer(t, resp, body, ham)

	// A real one teaches at once; WordPress sends the key in the host.
	f := checkFields("", "192.0.2.20", missed, "comment_context[0]", "buses", "reporter", "admin", "comment_check_response", "false")
	resp, body = ts.do(t, request{path: "/1.1/submit-spam", body: f.Encode(), host: news + ".rest.akismet.com"})
	assertAnswer(t, resp, body, thanks)
	// A later check of the same text, from someone else, is held (the
	// site learns spam up to its hold tier); the other site learned
	// nothing.
	resp, body = ts.post(t, "/1.1/comment-check", checkFields(news, "192.0.2.22", missed, "comment_author", "Kim"))
	assertAnswer(t, resp, body, held)
	resp, body = ts.post(t, "/1.1/comment-check", checkFields(other, "192.0.2.22", missed))
	assertAnswer(t, resp, body, ham)

	// submit-ham releases a doubtful legitimate text.
	resp, body = ts.post(t, "/1.1/comment-check", checkFields(news, "192.0.2.23", heldText))
	assertAnswer(t, resp, body, held)
	resp, body = ts.post(t, "/1.1/submit-ham", checkFields(news, "192.0.2.23", heldText))
	assertAnswer(t, resp, body, thanks)
	resp, body = ts.post(t, "/1.1/comment-check", checkFields(news, "192.0.2.24", heldText, "comment_author", "Ana"))
	assertAnswer(t, resp, body, ham)

	for _, path := range []string{"/1.1/submit-spam", "/1.1/submit-ham"} {
		resp, body = ts.post(t, path, checkFields("nope", "192.0.2.25", heldText))
		assertAnswer(t, resp, body, invalid)
		resp, body = ts.post(t, path, checkFields(news, "", heldText))
		assertAnswer(t, resp, body, invalid)
	}
}

func TestUsage(t *testing.T) {
	ts := newTestAPI(t)
	key := ts.keys["news"]
	ts.post(t, "/1.1/comment-check", checkFields(key, "192.0.2.30", hamTexts[0]))
	ts.post(t, "/1.1/comment-check", checkFields(key, "192.0.2.31", spamText))
	ts.post(t, "/1.1/submit-ham", checkFields(key, "192.0.2.31", hamTexts[1], "blog", "https://second.example"))
	ts.post(t, "/1.1/verify-key", fields("api_key", key, "blog", blogURL)) // not counted

	resp, body := ts.do(t, request{method: "GET", path: "/1.2/usage-limit?api_key=" + key})
	if resp.StatusCode != 200 || body != `{"limit":"none","usage":3,"percentage":"0","throttled":false}` {
		t.Fatalf("usage-limit = %d %s", resp.StatusCode, body)
	}
	resp, body = ts.post(t, "/1.2/usage-limit", fields("api_key", ts.keys["other"]))
	if body != `{"limit":"none","usage":0,"percentage":"0","throttled":false}` {
		t.Fatalf("other site's usage-limit = %d %s", resp.StatusCode, body)
	}

	month := time.Now().UTC().Format("2006-01")
	resp, body = ts.post(t, "/1.2/key-sites", fields("api_key", key))
	wantSites := `{"` + month + `":[` +
		`{"site":"blog.example","api_calls":"2","spam":"1","ham":"1","missed_spam":"0","false_positives":"0","is_revoked":false},` +
		`{"site":"second.example","api_calls":"1","spam":"0","ham":"0","missed_spam":"0","false_positives":"1","is_revoked":false}` +
		`],"limit":500,"offset":0,"total":2}`
	if resp.StatusCode != 200 || body != wantSites || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("key-sites = %d %s\nwant %s", resp.StatusCode, body, wantSites)
	}
	_, body = ts.do(t, request{method: "GET", path: "/1.2/key-sites?order=false_positives&limit=1&key=" + key})
	if !strings.Contains(body, `"site":"second.example"`) || strings.Contains(body, "blog.example") || !strings.Contains(body, `"total":2`) {
		t.Fatalf("ordered key-sites = %s", body)
	}
	_, body = ts.post(t, "/1.2/key-sites", fields("api_key", key, "month", "2020-01"))
	if body != `{"2020-01":[],"limit":500,"offset":0,"total":0}` {
		t.Fatalf("past month = %s", body)
	}

	for _, f := range []url.Values{fields("api_key", "nope"), fields("api_key", key, "format", "csv"), fields("api_key", key, "month", "June")} {
		resp, body = ts.post(t, "/1.2/key-sites", f)
		assertAnswer(t, resp, body, invalid)
	}
	resp, body = ts.post(t, "/1.2/usage-limit", fields("api_key", "nope"))
	assertAnswer(t, resp, body, invalid)
}

// TestWriteVerdict covers every Parley action, Discard included, which
// the real service's Classify does not produce today.
func TestWriteVerdict(t *testing.T) {
	for _, tc := range []struct {
		action spam.Action
		score  float64
		want   want
	}{
		{spam.Publish, 0.01, ham},
		{spam.Hold, 0.8, held},
		{spam.Spam, 0.97, spammy},
		{spam.Spam, 1, spammy}, // never discard on a score alone
		{spam.Discard, 1, want{body: "true", guid: true, proTip: "discard"}},
	} {
		t.Run(fmt.Sprintf("%s %.2f", tc.action, tc.score), func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeVerdict(rec, spam.Verdict{Action: tc.action, Score: tc.score})
			assertAnswer(t, rec.Result(), rec.Body.String(), tc.want)
		})
	}
}

func TestParams(t *testing.T) {
	t.Run("dates", func(t *testing.T) {
		want := time.Date(2024, 6, 6, 10, 0, 0, 0, time.UTC)
		for _, s := range []string{"2024-06-06T10:00:00Z", "2024-06-06T10:00:00.000Z", "2024-06-06T12:00:00+02:00",
			"2024-06-06 10:00:00", "2024-06-06T10:00:00", " 2024-06-06T10:00:00.000000Z "} {
			if got := parseDate(s); !got.Equal(want) {
				t.Errorf("parseDate(%q) = %v", s, got)
			}
		}
		for _, s := range []string{"", "yesterday", "06/06/2024"} {
			if got := parseDate(s); !got.IsZero() {
				t.Errorf("parseDate(%q) = %v, want zero", s, got)
			}
		}
	})
	t.Run("host keys", func(t *testing.T) {
		for host, want := range map[string]string{
			"abc.rest.akismet.com": "abc", "abc.akismet.test:8080": "abc", "ABC.localhost": "ABC", "abc.rest.akismet.com.": "abc",
			"127.0.0.1:8080": "", "[::1]:80": "", "localhost": "", "": "", ".example": "",
		} {
			if got, _ := apiKey(url.Values{}, host); got != want {
				t.Errorf("apiKey(host %q) = %q, want %q", host, got, want)
			}
		}
	})
	t.Run("is_test", func(t *testing.T) {
		for s, want := range map[string]bool{"1": true, "true": true, `"true"`: true, "TRUE": true, "0": false, "": false, "false": false} {
			if isTrue(s) != want {
				t.Errorf("isTrue(%q) = %v", s, !want)
			}
		}
	})
	t.Run("latin-1 and fields", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/1.1/comment-check?user_ip=192.0.2.1&comment_author=Query",
			strings.NewReader("comment_content=caf%E9&comment_author=Ren%E9&blog_charset=ISO-8859-1&comment_date_gmt=2016-03-02+14%3A29%3A13"+
				"&honeypot_field_name=trap&trap=x&comment_author_url=https%3A%2F%2Frene.example&permalink=https%3A%2F%2Fblog.example%2Fp"))
		p, err := readParams(httptest.NewRecorder(), r)
		if err != nil {
			t.Fatal(err)
		}
		in := input(p)
		want := spam.Input{Body: "café", AuthorName: "René", IP: "192.0.2.1", Website: "https://rene.example", PageURL: "https://blog.example/p",
			Honeypot: "x", Created: time.Date(2016, 3, 2, 14, 29, 13, 0, time.UTC)}
		if !reflect.DeepEqual(*in, want) {
			t.Fatalf("input = %+v\nwant    %+v", *in, want)
		}
		// The blog is the site's own origin: links to it are no spam signal.
		if in := input(fields("blog", "https://blog.example/", "comment_content", "x")); !reflect.DeepEqual(in.Origins, []string{"https://blog.example/"}) {
			t.Fatalf("origins = %q", in.Origins)
		}
		// Invalid UTF-8 in another charset is replaced, not passed on.
		r = httptest.NewRequest("POST", "/", strings.NewReader("comment_content=caf%E9"))
		p, _ = readParams(httptest.NewRecorder(), r)
		if got := p.Get("comment_content"); got != "caf\uFFFD" {
			t.Fatalf("content = %q", got)
		}
		// A honeypot name that is a real field is not a trap.
		if in := input(fields("honeypot_field_name", "comment_content", "comment_content", "hello")); in.Honeypot != "" {
			t.Fatalf("honeypot = %q", in.Honeypot)
		}
	})
}

// TestRecheck: WordPress checks a pending comment again ("Check for
// Spam", retries after errors) with recheck_reason and the same sender.
// That must not count as the sender posting the same text twice.
func TestRecheck(t *testing.T) {
	ts := newTestAPI(t)
	f := checkFields(ts.keys["news"], "192.0.2.40", heldText, "comment_author_email", "noor@example.org")
	resp, body := ts.post(t, "/1.1/comment-check", f)
	assertAnswer(t, resp, body, held)
	for _, reason := range []string{"recheck_queue", "retry"} {
		f.Set("recheck_reason", reason)
		resp, body = ts.post(t, "/1.1/comment-check", f)
		assertAnswer(t, resp, body, held)
	}
}

// TestStoreDown: when Parley cannot look a key up it says so with a 503,
// which every client treats as a failed call (WordPress holds and
// retries), rather than "invalid", which would blame the key.
func TestStoreDown(t *testing.T) {
	ts := newTestAPI(t)
	ts.close()
	resp, body := ts.post(t, "/1.1/comment-check", checkFields(ts.keys["news"], "192.0.2.50", hamTexts[0]))
	if resp.StatusCode != http.StatusServiceUnavailable || body == "invalid" || resp.Header.Get(debugHelp) == "" {
		t.Fatalf("= %d %q %v", resp.StatusCode, body, resp.Header)
	}
}
