package markup

import (
	"strings"
	"testing"

	"parley/internal/publicdata"
)

// importExtra are the elements SanitizeHTML keeps beyond Render's.
var importExtra = []string{"b", "i", "q", "cite", "abbr", "s", "strike", "u", "sub", "sup"}

// checkImported runs checkSafe with the import allow-list.
func checkImported(tb testing.TB, in, out string) {
	tb.Helper()
	for _, e := range importExtra {
		allowed[e] = nil
	}
	defer func() {
		for _, e := range importExtra {
			delete(allowed, e)
		}
	}()
	checkSafe(tb, in, "SanitizeHTML", out)
}

func TestSanitizeHTML(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain text gets paragraphs", "First line\nsecond line\n\nNew paragraph", "<p>First line<br>\nsecond line</p>\n<p>New paragraph</p>\n"},
		{"existing paragraphs kept", "<p>One</p><p>Two</p>", "<p>One</p><p>Two</p>"},
		{"link gets rel", `See <a href="https://x.example/" rel="dofollow" target="_blank">this</a>`, `<p>See <a href="https://x.example/" rel="nofollow ugc noopener">this</a></p>` + "\n"},
		{"script removed", `<p>hi<script>alert(1)</script></p>`, "<p>hi</p>"},
		{"javascript link dropped", `<a href="javascript:alert(1)">x</a>`, "<p>x</p>\n"},
		{"wordpress tags", "<b>bold</b> <i>it</i> <q>q</q>", "<p><b>bold</b> <i>it</i> <q>q</q></p>\n"},
		{"img removed", `<img src=x onerror=alert(1)>text`, "<p>text</p>\n"},
		{"quotes in text", `He said "rel="nofollow""`, "<p>He said &#34;rel=&#34;nofollow&#34;&#34;</p>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SanitizeHTML(tt.in)
			if got != tt.want {
				t.Fatalf("SanitizeHTML(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			checkImported(t, tt.in, got)
		})
	}
}

func TestSanitizeHTML_Hostile(t *testing.T) {
	for _, s := range append(publicdata.XSSPayloads(t), publicdata.NaughtyStrings(t)...) {
		out := SanitizeHTML(s)
		checkImported(t, s, out)
		if strings.Contains(out, "<a ") && !strings.Contains(out, `rel="nofollow ugc noopener"`) {
			t.Errorf("link without rel: %q → %q", s, out)
		}
	}
}

func FuzzSanitizeHTML(f *testing.F) {
	for _, s := range []string{"<a href=https://x>y</a>", "<p>a</p>\n\nb", `<svg onload=alert(1)>`, "]]>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkImported(t, s, SanitizeHTML(s))
	})
}
