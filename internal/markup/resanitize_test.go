package markup

import (
	"os"
	"path/filepath"
	"testing"

	"parley/internal/publicdata"
)

// TestResanitize_Idempotent: HTML that Render or SanitizeHTML wrote comes
// back from Resanitize byte for byte, so restoring an honest export
// changes nothing; for every input the tests know (the hostile lists, the
// golden inputs, the fuzz corpora).
func TestResanitize_Idempotent(t *testing.T) {
	inputs := append(publicdata.XSSPayloads(t), publicdata.NaughtyStrings(t)...)
	files, _ := filepath.Glob("testdata/*.input")
	corpora, _ := filepath.Glob("testdata/fuzz/*/*")
	for _, f := range append(files, corpora...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(b))
	}
	inputs = append(inputs, "a\n\nb", "**x** _y_ ~~z~~ `c`", "> q\n\n1. a\n2. b\n\n- c", "see https://example.com/a?b=1&c=2 and <https://x.example>",
		`<p>Hi <b>there</b> <a href="http://x.example/?a=1&amp;b=2" title="t">link</a> &amp; &lt;tag&gt; "quotes" 'single'</p>`)
	bad := 0
	for _, in := range inputs {
		for name, out := range map[string]string{"Render": Render(in), "SanitizeHTML": SanitizeHTML(in)} {
			if got := Resanitize(out); got != out {
				bad++
				if bad < 10 {
					t.Errorf("Resanitize(%s(%q)) changed it:\n got %q\nwant %q", name, in, got, out)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d outputs changed", bad, 2*len(inputs))
	}
	t.Logf("%d inputs", len(inputs))
}

// TestResanitize_Hostile: whatever it is given (hostile lists, and HTML
// no Parley would write), Resanitize returns only the import allow-list,
// read with the HTML5 tokenizer as a browser would.
func TestResanitize_Hostile(t *testing.T) {
	for _, in := range append(publicdata.XSSPayloads(t), `<img src=x onerror=alert(1)>`, `<a href="javascript:alert(1)">x</a>`,
		`<script>alert(1)</script>`, `<svg><script>alert(1)</script></svg>`, `<p style="background:url(javascript:x)">x</p>`,
		`<a href="https://x.example" onclick="alert(1)" target="_blank">x</a>`, `<iframe src="https://evil.example"></iframe>`) {
		checkImported(t, in, Resanitize(in))
	}
}

func FuzzResanitize(f *testing.F) {
	for _, s := range []string{"<p>a</p>", `<a href="https://x.example" rel="nofollow ugc noopener">x</a>`, `<svg onload=alert(1)>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Resanitize(in)
		checkImported(t, in, out)
		if again := Resanitize(out); again != out {
			t.Errorf("not idempotent: %q -> %q -> %q", in, out, again)
		}
	})
}
