package widget

import (
	"flag"
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var t0 = time.Date(2025, time.March, 5, 15, 4, 0, 0, time.UTC)

// sampleView is a thread with a reply, a reader's held reply and a closed
// form off; tests change what they need.
func sampleView() *ThreadView {
	return &ThreadView{
		Lang:       "en",
		SiteID:     "demo",
		SiteName:   "Millbrook Gazette",
		Page:       "https://news.example/bus-line",
		PageURL:    "https://news.example/bus-line",
		Title:      "A new bus line",
		Total:      3,
		Sort:       "oldest",
		BaseURL:    "https://c.example",
		FormAction: "https://c.example/sites/demo/comments",
		Token:      "tok123",
		PrivacyURL: "https://c.example/sites/demo/privacy",
		StyleURL:   "https://c.example/widget/abc/parley.css",
		ReplyURL:   func(id string) string { return "https://news.example/bus-line?replytocom=" + id + "#respond" },
		Comments: []*CommentView{
			{
				ID: "c1", AuthorName: "Ana", AuthorWebsite: "https://ana.example", Avatar: "https://c.example/avatar/1",
				HTML: "<p>Finally a bus every <em>ten</em> minutes.</p>", Created: t0, Likes: 2,
				Replies: []*CommentView{
					{ID: "c2", ParentID: "c1", AuthorName: "محمد", HTML: "<p>أوافقك الرأي.</p>", Created: t0.Add(time.Hour), Edited: true},
				},
			},
			{ID: "c3", AuthorName: "Bob", HTML: "<p>When does it start?</p>", Created: t0.Add(2 * time.Hour), InReplyTo: "Ana"},
		},
	}
}

func render(t *testing.T, v *ThreadView) string {
	t.Helper()
	var b strings.Builder
	if err := RenderThread(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func mustContain(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
}

func mustNotContain(t *testing.T, out string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(out, b) {
			t.Errorf("output contains %q", b)
		}
	}
}

func TestRenderThread_golden(t *testing.T) {
	v := sampleView()
	v.Held = &CommentView{ID: "c4", ParentID: "c2", AuthorName: "Zoe", HTML: "<p>Mine.</p>", Created: t0.Add(3 * time.Hour)}
	v.Login = sampleLogin()
	out := render(t, v)
	golden := filepath.Join("testdata", "thread.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if out != string(want) {
		t.Errorf("output differs from %s (run with -update after checking the change):\n%s", golden, out)
	}
}

func TestRenderThread_structure(t *testing.T) {
	out := render(t, sampleView())
	mustContain(t, out,
		`<link rel="stylesheet" href="https://c.example/widget/abc/parley.css">`,
		`<div class="parley" id="parley-comments" lang="en" dir="ltr" data-site="demo" data-page="https://news.example/bus-line">`,
		`<h2 class="parley-count">3 comments</h2>`,
		`<img class="parley-avatar" src="https://c.example/avatar/1" alt="" width="40" height="40"`,
		`<a class="parley-author" href="https://ana.example" rel="nofollow ugc noopener" dir="auto">Ana</a>`,
		`<a class="parley-time" href="#comment-c1"><time datetime="2025-03-05T15:04:00Z" title="March 5, 2025 at 3:04 PM">March 5, 2025 at 3:04 PM</time></a>`,
		`<div class="parley-body" dir="auto"><p>Finally a bus every <em>ten</em> minutes.</p></div>`,
		`<span class="parley-likes">2 likes</span>`,
		`<a class="parley-reply" href="https://news.example/bus-line?replytocom=c1#respond" aria-label="Reply to Ana">Reply</a>`,
		`<span class="parley-edited">Edited</span>`,
		`<p class="parley-irt">in reply to <bdi>Ana</bdi></p>`,
		`<section id="respond"`,
		`<h3 id="parley-reply-title" class="parley-reply-title">Leave a Reply</h3>`,
		`<form class="parley-form" method="post" action="https://c.example/sites/demo/comments">`,
		`<input type="hidden" name="page" value="https://news.example/bus-line">`,
		`<input type="hidden" name="url" value="https://news.example/bus-line">`,
		`<input type="hidden" name="title" value="A new bus line">`,
		`<input type="hidden" name="parent" value="">`,
		`<input type="hidden" name="token" value="tok123">`,
		`<label for="parley-email">Email <span class="parley-req">(required)</span></label>`,
		`<span class="parley-hint" id="parley-email-hint">(Address never made public)</span>`,
		`aria-describedby="parley-email-hint parley-email-err"`,
		`<label for="parley-website">Website <span class="parley-req">(optional)</span></label>`,
		`<button type="submit" class="parley-submit">Post Comment</button>`,
		`This site uses Parley to reduce spam. <a href="https://c.example/sites/demo/privacy">Learn how your comment data is processed</a>.`,
	)
	// Without log-in choices, no intro that speaks of icons.
	mustNotContain(t, out, "autofocus", "aria-invalid", "parley-form-error", "parley-cancel", "parley-sort", "parley-intro", "parley-providers", "parley-user")

	t.Run("nested replies", func(t *testing.T) {
		re := regexp.MustCompile(`(?s)<li id="comment-c1".*?<ol class="parley-replies">\s*<li id="comment-c2".*?</li>\s*</ol>\s*</li>\s*<li id="comment-c3"`)
		if !re.MatchString(out) {
			t.Errorf("c2 is not nested under c1:\n%s", out)
		}
	})
	t.Run("fields in UX.md order", func(t *testing.T) {
		last := -1
		for _, name := range []string{`name="body"`, `name="email"`, `name="name"`, `name="website"`, `type="submit"`, `parley-privacy`} {
			i := strings.Index(out, name)
			if i < last {
				t.Errorf("%s out of order", name)
			}
			last = i
		}
	})
	t.Run("no comments", func(t *testing.T) {
		v := sampleView()
		v.Total, v.Comments = 0, nil
		out := render(t, v)
		mustContain(t, out, `<h2 class="parley-count">No comments yet</h2>`)
		mustNotContain(t, out, "parley-list")
	})
	t.Run("one comment", func(t *testing.T) {
		v := sampleView()
		v.Total = 1
		mustContain(t, render(t, v), `>1 comment</h2>`)
	})
}

func TestRenderThread_escapesHostileInput(t *testing.T) {
	v := sampleView()
	v.Title = `"><script>alert(1)</script>`
	v.Page = `x" onfocus="alert(1)`
	v.Comments = []*CommentView{
		{ID: "h1", AuthorName: `<script>alert(1)</script>`, AuthorWebsite: `https://evil.example/" onmouseover="alert(1)`, Avatar: `javascript:alert(1)`, HTML: "<p>ok</p>", Created: t0},
		{ID: "h2", AuthorName: `" onmouseover=alert(1) x="`, AuthorWebsite: `javascript:alert(1)`, HTML: "<p>ok</p>", Created: t0, InReplyTo: `<img src=x onerror=alert(1)>`},
		{ID: `"><b>`, AuthorName: "Eve", HTML: "<p>ok</p>", Created: t0},
	}
	v.ParentID, v.ParentName = "h1", `</h3><script>alert(2)</script>`
	v.Values = map[string]string{"body": `</textarea><script>alert(3)</script>`, "name": `"><script>alert(4)</script>`}
	v.Errors = map[string]string{"": `<script>alert(5)</script>`}
	out := render(t, v)
	mustNotContain(t, out, "<script", "<img src=x", "javascript:", "<b>", "</textarea><")
	for _, a := range attributes(t, out) {
		if strings.HasPrefix(a, "on") {
			t.Errorf("event handler attribute %q in output", a)
		}
	}
	mustContain(t, out,
		`&lt;script&gt;alert(1)&lt;/script&gt;`,
		`href="https://evil.example/%22%20onmouseover=%22alert%281%29"`,
		`<span class="parley-author" dir="auto">&#34; onmouseover=alert(1) x=&#34;</span>`,
		`<bdi>&lt;img src=x onerror=alert(1)&gt;</bdi>`,
		`Reply to <bdi>&lt;/h3&gt;&lt;script&gt;alert(2)&lt;/script&gt;</bdi>`,
		`&lt;/textarea&gt;&lt;script&gt;alert(3)&lt;/script&gt;</textarea>`,
	)
	if strings.Contains(out, `class="parley-avatar"`) {
		t.Error("javascript: avatar rendered")
	}
}

var (
	tagRe  = regexp.MustCompile(`<[a-zA-Z][^>]*>`)
	attrRe = regexp.MustCompile(`\s([^\s="'>/]+)(?:="[^"]*")?`)
)

// attributes returns the names of all attributes in the markup's start
// tags. html/template always quotes attribute values with " and escapes
// any " inside them, so this simple scan finds every attribute a browser
// would see.
func attributes(t *testing.T, out string) []string {
	t.Helper()
	var names []string
	for _, tag := range tagRe.FindAllString(out, -1) {
		i := strings.IndexAny(tag, " \n>")
		for _, m := range attrRe.FindAllStringSubmatch(tag[i:len(tag)-1], -1) {
			names = append(names, strings.ToLower(m[1]))
		}
	}
	if len(names) < 50 {
		t.Fatalf("found only %d attributes; the scan is broken", len(names))
	}
	return names
}

func TestRenderThread_held(t *testing.T) {
	v := sampleView()
	v.Held = &CommentView{ID: "c9", ParentID: "c2", AuthorName: "Zoe", HTML: "<p>Mine.</p>", Created: t0.Add(3 * time.Hour)}
	out := render(t, v)
	re := regexp.MustCompile(`(?s)<li id="comment-c2".*?<ol class="parley-replies">\s*<li id="comment-c9" class="parley-comment parley-pending">.*?<p class="parley-notice">Your comment is awaiting moderation.</p>`)
	if !re.MatchString(out) {
		t.Errorf("held reply not shown under its parent with the notice:\n%s", out)
	}
	if strings.Contains(out, "replytocom=c9") {
		t.Error("held comment has a Reply link")
	}
	if n := len(v.Comments[0].Replies[0].Replies); n != 0 {
		t.Errorf("caller's comments changed: c2 has %d replies", n)
	}

	t.Run("top level, newest first", func(t *testing.T) {
		v := sampleView()
		v.Sort = "newest"
		v.Held = &CommentView{ID: "c9", AuthorName: "Zoe", HTML: "<p>Mine.</p>", Created: t0}
		out := render(t, v)
		if i, j := strings.Index(out, `id="comment-c9"`), strings.Index(out, `id="comment-c1"`); i < 0 || i > j {
			t.Error("held comment not first")
		}
	})
	t.Run("top level, oldest first", func(t *testing.T) {
		v := sampleView()
		v.Held = &CommentView{ID: "c9", ParentID: "gone", AuthorName: "Zoe", HTML: "<p>Mine.</p>", Created: t0}
		out := render(t, v)
		if i, j := strings.Index(out, `id="comment-c9"`), strings.Index(out, `id="comment-c3"`); i < j {
			t.Error("held comment not last")
		}
	})
	t.Run("pending flag on a comment", func(t *testing.T) {
		v := sampleView()
		v.Comments[1].Pending = true
		mustContain(t, render(t, v), `<li id="comment-c3" class="parley-comment parley-pending">`, "Your comment is awaiting moderation.")
	})
}

func TestRenderThread_errors(t *testing.T) {
	v := sampleView()
	v.Errors = map[string]string{
		"name":    "Please enter your name.",
		"website": "That website address doesn't look right.",
		"token":   "This form has expired.",
	}
	v.Values = map[string]string{"body": "My comment\nsecond line", "email": "zoe@example.com", "website": "ftp://x"}
	out := render(t, v)
	mustContain(t, out,
		`<p class="parley-form-error" role="alert">This form has expired.</p>`,
		"\nMy comment\nsecond line</textarea>",
		`value="zoe@example.com"`,
		`value="ftp://x"`,
		`<input id="parley-name" name="name" type="text" value="" maxlength="100" dir="auto" autocomplete="name" required aria-invalid="true" autofocus aria-describedby="parley-name-err">`,
		`<span class="parley-err" id="parley-name-err">Please enter your name.</span>`,
		`<span class="parley-err" id="parley-website-err">That website address doesn&#39;t look right.</span>`,
		`<span class="parley-err" id="parley-body-err" hidden></span>`,
	)
	if n := strings.Count(out, "autofocus"); n != 1 {
		t.Errorf("%d autofocus attributes, want 1 (the first field in error)", n)
	}
	if strings.Count(out, `aria-invalid="true"`) != 2 {
		t.Error("want aria-invalid on name and website")
	}

	t.Run("first field in form order gets focus", func(t *testing.T) {
		v := sampleView()
		v.Errors = map[string]string{"website": "x", "body": "Please write a comment."}
		out := render(t, v)
		if !regexp.MustCompile(`<textarea id="parley-body"[^>]* autofocus`).MatchString(out) {
			t.Error("body should have autofocus")
		}
	})
}

func TestRenderThread_replyingWithoutJS(t *testing.T) {
	v := sampleView()
	v.ParentID, v.ParentName = "c1", "Ana"
	out := render(t, v)
	mustContain(t, out,
		`<h3 id="parley-reply-title" class="parley-reply-title">Reply to <bdi>Ana</bdi></h3>`,
		`<a class="parley-cancel" href="https://news.example/bus-line#respond">Cancel reply</a>`,
		`<input type="hidden" name="parent" value="c1">`,
	)
}

func TestRenderThread_RTL(t *testing.T) {
	v := sampleView()
	v.Lang = "ar-EG"
	v.Total = 3
	out := render(t, v)
	mustContain(t, out,
		`<div class="parley" id="parley-comments" lang="ar" dir="rtl"`,
		`<h2 class="parley-count">3 تعليقات</h2>`,
		`title="5 مارس 2025 في 3:04 م"`,
		`<h3 id="parley-reply-title" class="parley-reply-title">اترك تعليقًا</h3>`,
		`<p class="parley-irt">ردًّا على <bdi>Ana</bdi></p>`,
		`يستخدم هذا الموقع Parley للحدّ من التعليقات المزعجة. <a href="https://c.example/sites/demo/privacy">`,
	)
	v.Total = 11
	mustContain(t, render(t, v), `<h2 class="parley-count">11 تعليقًا</h2>`)
}

func TestRenderThread_closed(t *testing.T) {
	v := sampleView()
	v.Closed = true
	v.Held = &CommentView{ID: "c9", AuthorName: "Zoe", HTML: "<p>Mine.</p>", Created: t0}
	out := render(t, v)
	mustContain(t, out, `<p class="parley-closed">Comments are closed.</p>`, `id="comment-c1"`, `id="comment-c2"`)
	mustNotContain(t, out, "<form", `id="respond"`, "parley-reply", "replytocom")
}

func TestRenderThread_sortLinks(t *testing.T) {
	v := sampleView()
	v.Sort = "top"
	v.SortURL = func(s string) string { return "?sort=" + s }
	mustContain(t, render(t, v),
		`<nav class="parley-sort" aria-label="Sort comments"><a href="?sort=oldest">Oldest</a><a href="?sort=newest">Newest</a><a href="?sort=top" aria-current="true">Most liked</a></nav>`)
}

func TestRenderThread_optionalParts(t *testing.T) {
	v := sampleView()
	v.StyleURL, v.ReplyURL, v.PrivacyURL = "", nil, ""
	v.Comments[0].HTML = template.HTML("<p>x</p>")
	out := render(t, v)
	mustNotContain(t, out, "<link", `class="parley-reply"`, `<a href=""`)
	mustContain(t, out, "This site uses Parley to reduce spam. Learn how your comment data is processed.")
	if err := RenderThread(&strings.Builder{}, nil); err == nil {
		t.Error("nil view: want error")
	}
}

// sampleLogin is a site with two providers (one a configured OpenID
// Connect provider) and the email link.
func sampleLogin() *LoginView {
	return &LoginView{
		Guests: "name_email",
		Providers: []ProviderLink{
			{ID: "google", Name: "Google", Icon: "https://c.example/widget/icons/google.svg", URL: "https://c.example/auth/google/start?mode=redirect&return=x&site=demo"},
			{ID: "acme", Name: "Acme ID", Icon: "https://c.example/auth/acme/icon", URL: "https://c.example/auth/acme/start?mode=redirect"},
		},
		EmailURL: "https://c.example/sites/demo/login?return=x",
	}
}

func TestRenderThread_login(t *testing.T) {
	t.Run("guest with providers", func(t *testing.T) {
		v := sampleView()
		v.Login = sampleLogin()
		out := render(t, v)
		mustContain(t, out,
			`<p class="parley-intro">Fill in your details below or click an icon to log in:</p>`,
			`<div class="parley-providers" role="group" aria-label="Log in">`,
			`<a class="parley-login" data-provider="google" href="https://c.example/auth/google/start?mode=redirect&amp;return=x&amp;site=demo"><img src="https://c.example/widget/icons/google.svg" alt="" width="32" height="32"><span class="parley-sr">Log in with Google</span></a>`,
			`<a class="parley-login" data-provider="acme" href="https://c.example/auth/acme/start?mode=redirect"><img src="https://c.example/auth/acme/icon" alt="" width="32" height="32"><span class="parley-sr">Log in with Acme ID</span></a>`,
			`<a class="parley-login" data-provider="email" href="https://c.example/sites/demo/login?return=x"><img src="https://c.example/widget/icons/email.svg" alt="" width="32" height="32"><span class="parley-sr">Log in by email</span></a>`,
			`<label for="parley-email">Email <span class="parley-req">(required)</span></label>`,
			`<label for="parley-name">Name <span class="parley-req">(required)</span></label>`,
			`<button type="submit" class="parley-submit">`,
		)
		mustNotContain(t, out, "parley-user", "parley-logout")
		last := -1
		for _, s := range []string{`class="parley-intro"`, `data-provider="google"`, `data-provider="acme"`, `data-provider="email"`, `<form class="parley-form"`, `name="body"`, `name="email"`} {
			i := strings.Index(out, s)
			if i < last {
				t.Errorf("%s out of order", s)
			}
			last = i
		}
	})
	t.Run("email only", func(t *testing.T) {
		v := sampleView()
		v.Login = &LoginView{EmailURL: "https://c.example/sites/demo/login"}
		out := render(t, v)
		mustContain(t, out, `<p class="parley-intro">`, `data-provider="email"`)
		if strings.Count(out, `class="parley-login"`) != 1 {
			t.Error("want only the email link")
		}
	})
	t.Run("anonymous guests", func(t *testing.T) {
		v := sampleView()
		v.Login = sampleLogin()
		v.Login.Guests = "anonymous"
		out := render(t, v)
		mustContain(t, out,
			`<label for="parley-email">Email <span class="parley-req">(optional)</span></label>`,
			`<label for="parley-name">Name <span class="parley-req">(optional)</span></label>`,
			`<label for="parley-body">Comment <span class="parley-req">(required)</span></label>`,
		)
		for _, f := range []string{"email", "name"} {
			if regexp.MustCompile(`<input id="parley-` + f + `"[^>]* required`).MatchString(out) {
				t.Errorf("%s is required", f)
			}
		}
		if !regexp.MustCompile(`<textarea id="parley-body"[^>]* required`).MatchString(out) {
			t.Error("the comment should stay required")
		}
	})
	t.Run("login required", func(t *testing.T) {
		v := sampleView()
		v.Login = sampleLogin()
		v.Login.Guests = "login"
		v.Errors = map[string]string{"": "Only logged-in readers may comment here."}
		out := render(t, v)
		mustContain(t, out,
			`<p class="parley-intro">Log in to comment.</p>`,
			`data-provider="google"`, `data-provider="email"`,
			`<p class="parley-form-error" role="alert">Only logged-in readers may comment here.</p>`,
			`<p class="parley-privacy">This site uses Parley`,
		)
		mustNotContain(t, out, "<form", "<textarea", `name="email"`, `name="name"`, `name="website"`, "parley-submit", "Fill in your details")
	})
	t.Run("logged in", func(t *testing.T) {
		v := sampleView()
		v.Login = sampleLogin()
		v.User = &UserView{Name: "Jane Doe", Provider: "google", Account: "Google", Avatar: "https://c.example/avatars/k1", Email: "jane@example.org",
			LogoutAction: "https://c.example/auth/logout?site=demo"}
		out := render(t, v)
		mustContain(t, out,
			`<div class="parley-user"><img class="parley-avatar" src="https://c.example/avatars/k1" alt="" width="40" height="40"><strong class="parley-name" dir="auto">Jane Doe</strong> <span>You are commenting using your <bdi>Google</bdi> account.</span> (<form method="post" action="https://c.example/auth/logout?site=demo"><input type="hidden" name="return" value="https://news.example/bus-line"><button type="submit" class="parley-logout">Log out</button></form>)</div>`,
			`<form class="parley-form" method="post" action="https://c.example/sites/demo/comments">`,
			`name="body"`,
			`<button type="submit" class="parley-submit">Post Comment</button>`,
		)
		mustNotContain(t, out, "parley-intro", "parley-providers", `name="email"`, `name="name"`, `name="website"`, "jane@example.org")
		// The log-out form is not inside the comment form.
		if i, j := strings.Index(out, "parley-logout"), strings.Index(out, `<form class="parley-form"`); i > j {
			t.Error("log-out form after the comment form")
		}
	})
	t.Run("logged in by email", func(t *testing.T) {
		v := sampleView()
		v.User = &UserView{Name: "Jane", Provider: "email", Email: "jane@example.org", LogoutAction: "https://c.example/auth/logout"}
		out := render(t, v)
		mustContain(t, out, `<span>You are logged in with <bdi>jane@example.org</bdi>.</span>`, `name="name"`, `name="website"`)
		// The link proved an address; the reader still names themselves.
		mustNotContain(t, out, "parley-avatar\" src=\"\"", `name="email"`)
	})
	t.Run("logged in, Arabic", func(t *testing.T) {
		v := sampleView()
		v.Lang = "ar"
		v.User = &UserView{Name: "Jane", Provider: "sso-demo", Account: "Millbrook Gazette", LogoutAction: "https://c.example/auth/logout"}
		mustContain(t, render(t, v), `<span>أنت تعلّق باستخدام حسابك على <bdi>Millbrook Gazette</bdi>.</span>`, `>تسجيل الخروج</button>`)
	})
}

func TestRenderThread_loginEscapesHostileInput(t *testing.T) {
	v := sampleView()
	v.Login = &LoginView{Providers: []ProviderLink{
		{ID: `x" onclick="alert(1)`, Name: `<script>alert(1)</script>`, Icon: `javascript:alert(2)`, URL: `javascript:alert(3)`},
		{ID: "ok", Name: `"><img src=x onerror=alert(4)>`, Icon: "https://c.example/i.svg", URL: `https://c.example/start?a=1&b="><script>`},
	}, EmailURL: `javascript:alert(5)`}
	out := render(t, v)
	checkHostile := func(out string) {
		t.Helper()
		mustNotContain(t, out, "<script", "<img src=x", "javascript:")
		for _, a := range attributes(t, out) {
			if strings.HasPrefix(a, "on") {
				t.Errorf("event handler attribute %q in output", a)
			}
		}
	}
	checkHostile(out)
	mustContain(t, out, `Log in with &lt;script&gt;alert(1)&lt;/script&gt;`, `data-provider="x&#34; onclick=&#34;alert(1)"`)

	v = sampleView()
	v.User = &UserView{Name: `<script>alert(6)</script>`, Provider: "google", Account: `<img src=x onerror=alert(7)>`, Avatar: `javascript:alert(8)`,
		LogoutAction: `javascript:alert(9)`}
	out = render(t, v)
	checkHostile(out)
	mustContain(t, out, `<bdi>&lt;img src=x onerror=alert(7)&gt;</bdi>`)
	if strings.Contains(out, `class="parley-avatar"`) && strings.Contains(out, "alert(8)") {
		t.Error("javascript: avatar rendered")
	}
}

// TestIsolatedThread: the thread in a declarative shadow root, then one
// page-side anchor for each comment shown (the reader's held one too) and
// for the form, each named for the slot at its place inside; a closed
// thread has no form, so no #respond anchor.
func TestIsolatedThread(t *testing.T) {
	v := sampleView()
	v.Held = &CommentView{ID: "c4", ParentID: "c2", AuthorName: "Zoe", HTML: "<p>Mine.</p>", Created: t0.Add(3 * time.Hour)}
	var b strings.Builder
	if err := IsolatedThread(&b, v); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	inside, page, ok := strings.Cut(out, "</template>")
	if !strings.HasPrefix(out, `<template shadowrootmode="open"><style>`) || !ok || strings.Contains(page, "<template") {
		t.Fatalf("not one declarative shadow root:\n%s", out)
	}
	for _, id := range []string{"comment-c1", "comment-c2", "comment-c3", "comment-c4", "respond"} {
		if n := strings.Count(page, `<a id="`+id+`" slot="`+id+`"></a>`); n != 1 {
			t.Errorf("%d anchors for #%s after the shadow root", n, id)
		}
		if n := strings.Count(inside, `<slot name="`+id+`"></slot>`); n != 1 {
			t.Errorf("%d slots for #%s inside", n, id)
		}
	}
	if strings.Count(page, "<a ") != 5 {
		t.Errorf("anchors after the shadow root:\n%s", page)
	}
	v.Closed = true
	b.Reset()
	if err := IsolatedThread(&b, v); err != nil {
		t.Fatal(err)
	}
	if _, page, _ := strings.Cut(b.String(), "</template>"); strings.Contains(page, `id="respond"`) || strings.Contains(page, "comment-c4") || !strings.Contains(page, `id="comment-c1"`) {
		t.Errorf("a closed thread's anchors:\n%s", page)
	}
}
