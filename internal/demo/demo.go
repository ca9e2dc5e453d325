// Package demo is what parley serve --demo adds so that the demo article
// shows the whole comment section with no outside service: "Demo ID", an
// OpenID Connect provider on the same server with a page to pick one of a
// few demo readers (wired as an ordinary OIDC provider of the demo site),
// and a demo mailbox that receives the emails Parley sends (log-in links,
// notifications) instead of an SMTP server. Nothing here exists without
// --demo: cmd/parley builds it only then.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"

	"parley/internal/auth"
	"parley/internal/auth/memop"
	"parley/internal/auth/provider"
	"parley/internal/login"
	"parley/internal/mail"
)

// Paths on the Parley server.
const (
	// ProviderID is Demo ID's provider id (its log-in routes are
	// /auth/demo-id/...).
	ProviderID = "demo-id"
	// IDPath is where Demo ID is served: its issuer is the server's
	// address plus this path.
	IDPath = "/demo-id"
	// MailboxPath is the demo mailbox page.
	MailboxPath = "/demo/mailbox"
)

// Readers are the accounts at Demo ID, in the order its page lists them.
var Readers = []memop.User{
	{ID: "demo-ana", Username: "ana", Name: "Ana Lima", Email: "ana@demo.example", EmailVerified: true},
	{ID: "demo-jonas", Username: "jonas", Name: "Jonas Becker", Email: "jonas@demo.example", EmailVerified: true},
	{ID: "demo-amira", Username: "amira", Name: "أميرة حداد", Email: "amira@demo.example", EmailVerified: true},
	{ID: "demo-sofia", Username: "sofia", Name: "София Иванова", Email: "sofia@demo.example", EmailVerified: true},
}

// Demo is Demo ID and the demo mailbox of one server.
type Demo struct {
	issuer  string
	storage *memop.Storage
	op      http.Handler // the provider's routes, under IDPath
	mailbox *Mailbox
}

// New builds the demo for a server reached at base ("http://127.0.0.1:8080"),
// whose demo site's pages may be on any of origins (the log-in callback
// is on the origin the reader uses).
func New(base string, origins []string, log *slog.Logger) (*Demo, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var redirects []string
	for _, o := range append([]string{base}, origins...) {
		redirects = append(redirects, strings.TrimSuffix(o, "/")+"/auth/"+ProviderID+"/callback")
	}
	// The client secret only guards a provider that vouches for made-up
	// readers; it is random so that no other server's demo shares it.
	// The signing key is made when Demo ID first signs (memop.New).
	st, err := memop.New(nil, memop.Client{ID: "parley-demo", Secret: rand.Text(), RedirectURIs: redirects,
		LoginPath: IDPath + "/login?authRequestID="}, Readers)
	if err != nil {
		return nil, err
	}
	d := &Demo{issuer: strings.TrimSuffix(base, "/") + IDPath, storage: st, mailbox: &Mailbox{}}
	p, err := memop.NewProvider(d.issuer, st, log.With(slog.String("demo", "Demo ID")))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	interceptor := op.NewIssuerInterceptor(p.IssuerFromRequest)
	mux.Handle(IDPath+"/login", interceptor.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.login(w, r, op.AuthCallbackURL(p))
	}))
	mux.Handle(IDPath+"/", http.StripPrefix(IDPath, p))
	d.op = mux
	return d, nil
}

// Issuer is Demo ID's issuer URL.
func (d *Demo) Issuer() string { return d.issuer }

// Provider is Demo ID as a log-in provider of Parley's configuration.
func (d *Demo) Provider() provider.Config {
	return provider.Config{Kind: provider.OIDC, ID: ProviderID, Name: "Demo ID", Issuer: d.issuer,
		ClientID: d.storage.ClientID(), ClientSecret: auth.Secret(d.storage.ClientSecret())}
}

// Client returns an HTTP client for Parley's calls to providers: those to
// Demo ID (discovery, token, keys, user info) are answered in the process,
// since Parley discovers its providers before it serves; the rest go
// through next (provider.DefaultClient if nil).
func (d *Demo) Client(next *http.Client) *http.Client {
	if next == nil {
		next = provider.DefaultClient
	}
	c := *next
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = inProcess{issuer: d.issuer, h: d.op, next: rt}
	return &c
}

// inProcess answers requests under the issuer with h, others with next.
type inProcess struct {
	issuer string
	h      http.Handler
	next   http.RoundTripper
}

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(r.URL.String(), t.issuer+"/") {
		return t.next.RoundTrip(r)
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// Configure adds the demo to a server's log-in configuration: Demo ID as
// one more provider, and, when no mailer is configured (no SMTP server),
// the demo mailbox as the mailer of the email links, which then point at
// base, the address the server is reached at. It returns the public
// address the links (and notifications) use.
func (d *Demo) Configure(lc *login.Config, base, publicURL string) string {
	lc.Providers = append(lc.Providers, d.Provider())
	lc.HTTPClient = d.Client(lc.HTTPClient)
	lc.PublicURL = publicURL
	if lc.Mailer == nil {
		lc.Mailer, lc.PublicURL = d.mailbox, base
	}
	return lc.PublicURL
}

// Mailer is the demo mailbox as the server's mailer.
func (d *Demo) Mailer() mail.Mailer { return d.mailbox }

// Mailbox is the demo mailbox.
func (d *Demo) Mailbox() *Mailbox { return d.mailbox }

// Handler serves Demo ID (under IDPath) and the demo mailbox.
func (d *Demo) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(IDPath+"/", d.op)
	mux.HandleFunc("GET "+MailboxPath, d.handleMailbox)
	return mux
}

var pickPage = template.Must(template.New("pick").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in with Demo ID</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f;background:#fff}
h1{font-size:1.4rem}.note{color:#555;font-size:.9rem}ul{list-style:none;padding:0}li{margin:.5rem 0}
button{width:100%;text-align:start;font:inherit;padding:.6rem .8rem;border:1px solid #bbb;border-radius:.4rem;background:#f6f6f7;cursor:pointer}
button:hover,button:focus-visible{border-color:#0b57d0;background:#eef3fd}button small{display:block;color:#555}
.error{color:#b3261e}
@media (prefers-color-scheme:dark){body{background:#121417;color:#e8e8ea}.note,button small{color:#aaa}button{background:#1d2024;color:inherit;border-color:#444}}
</style></head>
<body>
<h1>Demo ID</h1>
<p class="note">A log-in provider for trying Parley's demo: it runs inside this server and vouches for made-up readers. Pick who you are.</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .ID}}<form method="post" action="{{.Action}}">
<input type="hidden" name="id" value="{{.ID}}">
<ul>
{{range .Readers}}<li><button type="submit" name="username" value="{{.Username}}" data-reader="{{.Username}}"><bdi>{{.Name}}</bdi><small>{{.Email}}</small></button></li>
{{end}}</ul>
</form>{{end}}
</body></html>
`))

// login is Demo ID's page: pick a reader, no password.
func (d *Demo) login(w http.ResponseWriter, r *http.Request, callback func(context.Context, string) string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	data := map[string]any{"Readers": Readers, "Action": IDPath + "/login"}
	switch r.Method {
	case http.MethodGet:
		id := r.URL.Query().Get("authRequestID")
		if !d.storage.HasRequest(id) {
			w.WriteHeader(http.StatusBadRequest)
			data["Error"] = "This log-in has expired or was never started. Go back to the article and click the log-in icon again."
		} else {
			data["ID"] = id
		}
	case http.MethodPost:
		id := r.PostFormValue("id")
		err := d.storage.Choose(id, r.PostFormValue("username"))
		if err == nil {
			http.Redirect(w, r, callback(r.Context(), id), http.StatusFound)
			return
		}
		if err == memop.ErrNoRequest {
			w.WriteHeader(http.StatusBadRequest)
			data["Error"] = "This log-in has expired or was never started. Go back to the article and click the log-in icon again."
		} else {
			w.WriteHeader(http.StatusBadRequest)
			data["Error"], data["ID"] = "Pick one of the readers below.", id
		}
	default:
		h.Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	pickPage.Execute(w, data)
}

// Mailbox keeps the last MailboxSize messages sent, newest first, in
// memory: a demo server's email.
type Mailbox struct {
	mu   sync.Mutex
	msgs []Letter
}

// MailboxSize is how many messages the demo mailbox keeps.
const MailboxSize = 50

// Letter is one message in the demo mailbox.
type Letter struct {
	mail.Message
	Sent time.Time
}

// Send puts m in the mailbox.
func (b *Mailbox) Send(ctx context.Context, m mail.Message) error {
	to, err := mail.NormalizeAddress(m.To)
	if err != nil {
		return fmt.Errorf("demo mailbox: %w", err)
	}
	m.To = to
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append([]Letter{{Message: m, Sent: time.Now()}}, b.msgs...)
	if len(b.msgs) > MailboxSize {
		b.msgs = b.msgs[:MailboxSize]
	}
	return nil
}

// Letters returns the messages, newest first.
func (b *Mailbox) Letters() []Letter {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Letter(nil), b.msgs...)
}

var mailboxPage = template.Must(template.New("mailbox").Funcs(template.FuncMap{"linkify": linkify}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo mailbox</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f;background:#fff}
h1{font-size:1.4rem}.note{color:#555}article{border:1px solid #ccc;border-radius:.4rem;padding:.8rem 1rem;margin:1rem 0}
h2{font-size:1.1rem;margin:0}.meta{color:#555;font-size:.9rem;margin:.2rem 0 .6rem}pre{white-space:pre-wrap;font:inherit;margin:0}
a{color:#0b57d0;overflow-wrap:anywhere}
@media (prefers-color-scheme:dark){body{background:#121417;color:#e8e8ea}.note,.meta{color:#aaa}article{border-color:#444}a{color:#8ab4f8}}
</style></head>
<body>
<h1>Demo mailbox</h1>
<p class="note">The demo server sends no real email: log-in links and notifications for any address arrive here, newest first. Reload to see new ones. <a href="/">Back to the article</a></p>
{{range .}}<article class="letter">
<h2>{{.Subject}}</h2>
<p class="meta">To <bdi>{{.To}}</bdi> · <time datetime="{{.Sent.UTC.Format "2006-01-02T15:04:05Z"}}">{{.Sent.UTC.Format "15:04:05 UTC"}}</time></p>
<pre dir="auto">{{linkify .Text}}</pre>
</article>
{{else}}<p id="empty">No messages yet. Ask for a log-in link under the article ("email" among the log-in icons) and it arrives here.</p>
{{end}}
</body></html>
`))

// urlInText finds the addresses in a plain-text email.
var urlInText = regexp.MustCompile(`https?://[^\s<>"]+`)

// linkify escapes text and makes its web addresses links.
func linkify(text string) template.HTML {
	var b bytes.Buffer
	last := 0
	for _, m := range urlInText.FindAllStringIndex(text, -1) {
		b.WriteString(template.HTMLEscapeString(text[last:m[0]]))
		u := text[m[0]:m[1]]
		if p, err := url.Parse(u); err == nil && (p.Scheme == "http" || p.Scheme == "https") {
			fmt.Fprintf(&b, `<a href="%s">%s</a>`, template.HTMLEscapeString(u), template.HTMLEscapeString(u))
		} else {
			b.WriteString(template.HTMLEscapeString(u))
		}
		last = m[1]
	}
	b.WriteString(template.HTMLEscapeString(text[last:]))
	return template.HTML(b.String())
}

func (d *Demo) handleMailbox(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	mailboxPage.Execute(w, d.mailbox.Letters())
}
