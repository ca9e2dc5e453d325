package markup

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

const relAttr = `rel="nofollow ugc noopener"`

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", ""},
		{"plain paragraph", "Nice article.", "<p>Nice article.</p>\n"},
		{"two paragraphs", "one\n\ntwo", "<p>one</p>\n<p>two</p>\n"},
		{"newline is a line break", "one\ntwo", "<p>one<br>\ntwo</p>\n"},
		{"backslash line break", "one\\\ntwo", "<p>one<br>\ntwo</p>\n"},
		{"emphasis and strong", "*a* _b_ **c** __d__", "<p><em>a</em> <em>b</em> <strong>c</strong> <strong>d</strong></p>\n"},
		{"strikethrough", "~~gone~~", "<p><del>gone</del></p>\n"},
		{"link", "[docs](https://example.org/a?b=1&c=2)",
			`<p><a href="https://example.org/a?b=1&amp;c=2" ` + relAttr + ">docs</a></p>\n"},
		{"mailto link", "[mail me](mailto:a@example.org)",
			`<p><a href="mailto:a@example.org" ` + relAttr + ">mail me</a></p>\n"},
		{"link title dropped", `[x](http://example.org "title")`,
			`<p><a href="http://example.org" ` + relAttr + ">x</a></p>\n"},
		{"link with empty text shows url", "[](https://example.org)",
			`<p><a href="https://example.org" ` + relAttr + ">https://example.org</a></p>\n"},
		{"bare url", "see https://example.org/x.", `<p>see <a href="https://example.org/x" ` + relAttr + ">https://example.org/x</a>.</p>\n"},
		{"bare www", "www.example.org", `<p><a href="http://www.example.org" ` + relAttr + ">www.example.org</a></p>\n"},
		{"bare email", "me@example.org", `<p><a href="mailto:me@example.org" ` + relAttr + ">me@example.org</a></p>\n"},
		{"angle autolink", "<https://example.org>", `<p><a href="https://example.org" ` + relAttr + ">https://example.org</a></p>\n"},
		{"javascript link is text", "[click](javascript:alert(1))", "<p>click</p>\n"},
		{"encoded javascript link is text", "[click](&#106;avascript:alert(1))", "<p>click</p>\n"},
		{"data link is text", "[click](data:text/html;base64,PHNjcmlwdD4=)", "<p>click</p>\n"},
		{"vbscript link is text", "[click](VBScript:msgbox)", "<p>click</p>\n"},
		{"relative link is text", "[home](/)", "<p>home</p>\n"},
		{"reference to javascript is text", "[x][r]\n\n[r]: javascript:alert(1)", "<p>x</p>\n"},
		{"javascript autolink keeps brackets", "<javascript:alert(1)>", "<p>&lt;javascript:alert(1)&gt;</p>\n"},
		{"ftp is not linked", "ftp://example.org <ftp://example.org>", "<p>ftp://example.org &lt;ftp://example.org&gt;</p>\n"},
		{"image is a link", "![a cat](https://example.org/cat.png)",
			`<p><a href="https://example.org/cat.png" ` + relAttr + ">a cat</a></p>\n"},
		{"image with javascript is alt text", "![a cat](javascript:alert(1))", "<p>a cat</p>\n"},
		{"image inside link", "[![a cat](https://example.org/cat.png)](https://example.org)",
			`<p><a href="https://example.org" ` + relAttr + ">a cat</a></p>\n"},
		{"link inside image", "![see [here](https://a.example)](https://b.example)",
			`<p><a href="https://b.example" ` + relAttr + ">see here</a></p>\n"},
		{"blockquote", "> quoted\n> text\n\nreply", "<blockquote>\n<p>quoted<br>\ntext</p>\n</blockquote>\n<p>reply</p>\n"},
		{"inline code", "use `<b>` here", "<p>use <code>&lt;b&gt;</code> here</p>\n"},
		{"fenced code without class", "```html\n<b>x</b>\n```", "<pre><code>&lt;b&gt;x&lt;/b&gt;\n</code></pre>\n"},
		{"indented code", "    x := 1", "<pre><code>x := 1\n</code></pre>\n"},
		{"unordered list", "- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"},
		{"ordered list", "1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n"},
		{"ordered list start", "3. a\n4. b", "<ol start=\"3\">\n<li>a</li>\n<li>b</li>\n</ol>\n"},
		{"raw html is text", "<b>hi</b>", "<p>&lt;b&gt;hi&lt;/b&gt;</p>\n"},
		{"script is text", "<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"},
		{"html block is text", "<div onclick=\"x()\">\nhi\n</div>",
			"<p>&lt;div onclick=&#34;x()&#34;&gt;<br>\nhi<br>\n&lt;/div&gt;</p>\n"},
		{"html comment is text", "<!-- hidden -->", "<p>&lt;!-- hidden --&gt;</p>\n"},
		{"entities stay text", "&lt;b&gt; &#60;i&#62; &amp;", "<p>&lt;b&gt; &lt;i&gt; &amp;</p>\n"},
		{"atx heading is text", "# Title", "<p># Title</p>\n"},
		{"setext heading is text", "Title\n===", "<p>Title<br>\n===</p>\n"},
		{"thematic break is text", "a\n\n---\n\nb", "<p>a</p>\n<p>---</p>\n<p>b</p>\n"},
		{"table is text", "| a |\n|---|\n| 1 |", "<p>| a |<br>\n|---|<br>\n| 1 |</p>\n"},
		{"nul and invalid utf-8", "a\x00b\xffc", "<p>a\uFFFDb\uFFFDc</p>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Render(tt.in)
			if got != tt.want {
				t.Errorf("Render(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestRender_Golden compares whole representative comments with
// testdata/*.golden; run with -update to rewrite the golden files.
func TestRender_Golden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.input"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no testdata/*.input files")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".input")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := Render(string(src))
			golden := strings.TrimSuffix(in, ".input") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("Render(%s) differs from %s\n got:\n%s\nwant:\n%s", in, golden, got, want)
			}
		})
	}
}

// A typical comment of about 600 characters: a quote, emphasis, a link, a
// bare URL and a short list.
const benchComment = `> The council says the new bike lanes will be finished by *March*.

I'll believe it when I see it. They said the same thing about the bridge
repairs last year, and the [minutes from the October meeting](https://example.org/council/minutes/2024-10.pdf)
show the budget was **never approved**. Does anyone know whether the
contractor has been picked yet?

Things I would like the reporter to ask:

1. Who is paying for the extra crossings?
2. Why was the consultation only open for ten days?

There is more background at https://example.org/transport/cycling-plan if
anyone is interested. Thanks for covering this, it matters to a lot of us.
`

func BenchmarkRender(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchComment)))
	for b.Loop() {
		Render(benchComment)
	}
}

func TestRender_DeepNesting(t *testing.T) {
	tests := []struct {
		name, in, tag, rest string
	}{
		{"quotes", strings.Repeat(">", maxNesting+4) + " x", "<blockquote>", "&gt;&gt;&gt;&gt; x"},
		{"lists", strings.Repeat("- ", maxNesting+4) + "x", "<ul>", "- - - - x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Render(tt.in)
			if n := strings.Count(got, tt.tag); n != maxNesting {
				t.Errorf("Render(%q) has %d %s, want %d:\n%s", tt.in, n, tt.tag, maxNesting, got)
			}
			if !strings.Contains(got, tt.rest) {
				t.Errorf("Render(%q) lost the markers past the limit; want %q in:\n%s", tt.in, tt.rest, got)
			}
		})
	}
}

// TestRender_Concurrent backs the claim that the package-level renderer and
// policy may be shared; run it with -race.
func TestRender_Concurrent(t *testing.T) {
	want := Render(benchComment)
	for i := range 4 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			for range 50 {
				if got := Render(benchComment); got != want {
					t.Fatalf("concurrent Render differs:\n got %q\nwant %q", got, want)
				}
			}
		})
	}
}
