package httpapi

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"parley/internal/publicdata"
)

// TestHostileInput posts every naughty string and XSS payload as a
// comment body and as an author name. Each is either stored byte for byte
// or refused with a reader-readable 4xx; nothing answers 5xx, and no email
// or raw markup leaks.
func TestHostileInput(t *testing.T) {
	ts := newTestServer(t)
	inputs := append(publicdata.NaughtyStrings(t), publicdata.XSSPayloads(t)...)
	accepted, refused := 0, 0
	for i, s := range inputs {
		for _, field := range []string{"body", "name"} {
			resp, body := ts.do(t, "POST", "/api/v1/sites/news/comments", post(map[string]string{field: s, "page": origin + "/hostile"}), nil)
			switch {
			case resp.StatusCode == 201:
				accepted++
				c := decode[apiComment](t, body)
				stored, err := ts.st.Comment(context.Background(), c.ID)
				if err != nil {
					t.Fatal(err)
				}
				got := stored.Markdown
				if field == "name" {
					got = stored.Author.Name
					if want := strings.TrimSpace(s); got != want {
						t.Errorf("input %d: name stored as %q, want %q", i, got, want)
					}
				} else if got != s {
					t.Errorf("input %d: body stored as %q, want %q", i, got, s)
				}
				if strings.Contains(strings.ToLower(c.HTML), "<script") {
					t.Errorf("input %d: rendered HTML has a script element: %s", i, c.HTML)
				}
			case resp.StatusCode >= 400 && resp.StatusCode < 500:
				refused++
				e := decode[apiErr](t, body)
				if e.Error.Message == "" || e.Error.Code == "" {
					t.Errorf("input %d in %s refused without a clear message: %s", i, field, body)
				}
			default:
				t.Fatalf("input %d in %s: %d %s", i, field, resp.StatusCode, body)
			}
		}
	}
	t.Logf("%d posts accepted, %d refused with a clear error", accepted, refused)
	// The whole thread still reads, as JSON and as HTML.
	resp, body := ts.do(t, "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape(origin+"/hostile"), nil, nil)
	if resp.StatusCode != 200 || !json.Valid(body) {
		t.Fatalf("thread read = %d", resp.StatusCode)
	}
	if th := decode[apiThread](t, body); th.Total != accepted {
		t.Fatalf("thread has %d comments, want %d", th.Total, accepted)
	}
	resp, _ = ts.do(t, "GET", "/sites/news/thread?page="+url.QueryEscape(origin+"/hostile"), nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("fragment = %d", resp.StatusCode)
	}
}
