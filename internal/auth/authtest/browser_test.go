package authtest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/internal/auth/authtest"
)

// TestOP_LoginPageInChromium signs in on the login page with a real
// browser, as the browser tests of other packages will, when
// PARLEY_TEST_CHROMIUM names a Chromium binary (CI sets it).
func TestOP_LoginPageInChromium(t *testing.T) {
	exe := os.Getenv("PARLEY_TEST_CHROMIUM")
	if exe == "" {
		t.Skip("PARLEY_TEST_CHROMIUM is not set; browser test skipped")
	}
	codes := make(chan string, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cb" {
			codes <- r.URL.Query().Get("code") + " " + r.URL.Query().Get("state")
			w.Write([]byte("logged in"))
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(app.Close)
	o := authtest.StartOP(t, authtest.OPConfig{})
	o.AllowRedirect(app.URL + "/cb")
	start := o.Issuer() + "/authorize?response_type=code&scope=openid&client_id=" + o.ClientID() +
		"&redirect_uri=" + app.URL + "/cb&state=st4te&nonce=n0nce"

	actx, acancel := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(exe), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"))
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
	defer cancel()

	if err := chromedp.Do(ctx,
		chromedp.Navigate(start),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "jane"),
		chromedp.SendKeys(chromedp.ID("password"), "wrong"),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("error")),
	); err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("error")))
	if err != nil || !strings.Contains(msg, "wrong username or password") {
		t.Errorf("error message %q, %v", msg, err)
	}
	labelled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`document.querySelector("label[for=username]").control.id === "username" && `+
			`document.querySelector("label[for=password]").control.type === "password"`))
	if err != nil || !labelled {
		t.Errorf("labels do not name the fields: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("password"), "correct horse"),
		chromedp.Click(chromedp.ID("login")),
	); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-codes:
		if code, state, _ := strings.Cut(got, " "); code == "" || state != "st4te" {
			t.Errorf("callback with code %q, state %q", code, state)
		}
	case <-ctx.Done():
		t.Fatal("the browser never came back to the app")
	}
}
