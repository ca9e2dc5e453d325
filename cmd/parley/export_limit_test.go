package main

import (
	"io"
	"runtime"
	"strings"
	"testing"
)

// endless yields n bytes of one letter without holding them.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	if e.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), e.n)
	for i := range p[:k] {
		p[i] = 'a'
	}
	e.n -= k
	return k, nil
}

// TestReadExport_LongRecord: a Parley export with a 256 MB record is
// refused with the record's line, without holding it in memory.
func TestReadExport_LongRecord(t *testing.T) {
	in := io.MultiReader(strings.NewReader(`{"parley":"export","version":1,"site":"s"}
{"site":{"ID":"s","Name":"S"}}
{"comment":{"ID":"c","SiteID":"s","Markdown":"`), &endless{256 << 20}, strings.NewReader(`"}}
`))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, next, err := readExport(in)
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = next()
	}
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "line 3 is longer than 8 MB") {
		t.Fatalf("restore of a 256 MB record = %v", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 48<<20 {
		t.Fatalf("reading it allocated %d MB", alloc>>20)
	}
	t.Logf("%v (%d MB allocated)", err, (after.TotalAlloc-before.TotalAlloc)>>20)
}

// TestReadExport_OtherSite: a site's export whose records name another
// site is refused, whatever the record.
func TestReadExport_OtherSite(t *testing.T) {
	for _, rec := range []string{
		`{"comment":{"ID":"c","SiteID":"t","Markdown":"x"}}`,
		`{"erased":{"id":"c","site":"t","erased":"2026-01-02T00:00:00Z"}}`,
		`{"erased_author":{"key":"email:k","site":"t","erased":"2026-01-02T00:00:00Z"}}`,
	} {
		_, next, err := readExport(strings.NewReader(`{"parley":"export","version":1,"site":"s"}` + "\n" + rec + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := next(); err == nil || !strings.Contains(err.Error(), `record 2 belongs to another site than "s"`) {
			t.Errorf("%s: %v", rec, err)
		}
	}
	// The site's own are read.
	_, next, _ := readExport(strings.NewReader(`{"parley":"export","version":1,"site":"s"}` + "\n" +
		`{"erased_author":{"key":"email:k","site":"s","erased":"2026-01-02T00:00:00Z"}}` + "\n"))
	if r, err := next(); err != nil || r.ErasedAuthor == nil || r.ErasedAuthor.Key != "email:k" {
		t.Errorf("own erased reader = %+v, %v", r, err)
	}
}
