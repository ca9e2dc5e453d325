package spam

import (
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"
)

func TestReadExamples(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Example
	}{
		{"youtube csv", "COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS\n" +
			"a,Bob,2013-11-07T06:20:48,\"Check out my channel\ufeff\",1\n" +
			"b,Ann,,\"Nice, \"\"really\"\"\nnice\",0\n",
			[]Example{{Text: "Check out my channel\ufeff", Spam: true, Author: "Bob"}, {Text: "Nice, \"really\"\nnice", Author: "Ann"}}},
		{"csv, other column order and a BOM", "\ufeffCLASS,CONTENT\r\n0,hello\r\n1,buy\r\n",
			[]Example{{Text: "hello"}, {Text: "buy", Spam: true}}},
		{"tsv", "ham\tGo until jurong point\nspam\tWINNER!! claim\tnow\n\nham\tok\r\n",
			[]Example{{Text: "Go until jurong point"}, {Text: "WINNER!! claim\tnow", Spam: true}, {Text: "ok"}}},
		{"csv header only", "CONTENT,CLASS\n", nil},
		{"csv with author and website", "AUTHOR,WEBSITE,CONTENT,CLASS\ncheap flights,http://x.example/,Nice post,1\n",
			[]Example{{Text: "Nice post", Spam: true, Author: "cheap flights", Website: "http://x.example/"}}},
		{"json lines", "{\"text\":\"Buy now\",\"spam\":true,\"author\":\"a\",\"website\":\"http://w.example\",\"topic\":\"ignored\"}\n\n{\"text\":\"Hi\\nthere\",\"spam\":false}\n",
			[]Example{{Text: "Buy now", Spam: true, Author: "a", Website: "http://w.example"}, {Text: "Hi\nthere"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadExamples(strings.NewReader(tt.in), "f")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d examples, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				if got[i].Text != tt.want[i].Text || got[i].Spam != tt.want[i].Spam || got[i].Group != "f" ||
					got[i].Author != tt.want[i].Author || got[i].Website != tt.want[i].Website {
					t.Errorf("example %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestReadExamples_Errors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantLine int
		wantMsg  string
	}{
		{"empty", "", 1, "empty first line"},
		{"unknown format", "hello world\nmore\n", 1, "unknown format"},
		{"csv without CLASS", "CONTENT,LABEL\nx,1\n", 1, "unknown format"},
		{"bad class", "CONTENT,CLASS\nx,1\ny,spam\n", 3, "CLASS \"spam\""},
		{"short row", "ID,CONTENT,CLASS\na,x,1\nb\n", 3, "1 fields"},
		{"broken quote", "CONTENT,CLASS\n\"x,1\n", 2, "quote"},
		{"tsv bad label", "ham\tok\nspam\tbuy\nmaybe\tx\n", 3, "neither ham nor spam"},
		{"tsv missing tab", "ham\tok\nspam buy\n", 2, "no tab"},
		{"json without spam", "{\"text\":\"a\",\"spam\":true}\n{\"text\":\"b\"}\n", 2, `want "text" and "spam"`},
		{"broken json", "{\"text\":\"a\",\"spam\":true}\n{\"text\n", 2, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadExamples(strings.NewReader(tt.in), "data.txt")
			var de *DataError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want a *DataError", err)
			}
			if de.File != "data.txt" || de.Line != tt.wantLine || !strings.Contains(de.Msg, tt.wantMsg) {
				t.Errorf("err = %v (line %d), want line %d and %q", err, de.Line, tt.wantLine, tt.wantMsg)
			}
			if !strings.HasPrefix(err.Error(), "data.txt:") {
				t.Errorf("message %q does not start with the file name", err)
			}
		})
	}
}

func TestReadExamples_Gzip(t *testing.T) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte("{\"text\":\"a\",\"spam\":false,\"group\":\"g\"}\n"))
	zw.Close()
	got, err := ReadExamples(&b, "f.jsonl.gz")
	if err != nil || len(got) != 1 || got[0].Text != "a" || got[0].Group != "g" {
		t.Fatalf("got %+v, %v", got, err)
	}
	_, err = ReadExamples(bytes.NewReader([]byte{0x1f, 0x8b, 1, 2, 3}), "bad.gz")
	var de *DataError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("a broken gzip stream: %v", err)
	}
}

func FuzzReadExamples(f *testing.F) {
	for _, s := range []string{
		"COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS\na,b,,\"x\ny\",1\n",
		"ham\thello\nspam\tbuy now\n",
		"CONTENT,CLASS\n\"unterminated,0\n",
		"\ufeffham\tx", "spam\t", "CLASS,CONTENT\n1\n", "{\"text\":\"x\",\"spam\":true}\n{}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ex, err := ReadExamples(strings.NewReader(s), "fuzz")
		if err != nil {
			var de *DataError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DataError", err)
			}
			if de.Line < 0 {
				t.Fatalf("negative line in %v", err)
			}
			return
		}
		for _, e := range ex {
			if e.Group != "fuzz" {
				t.Fatalf("group %q", e.Group)
			}
		}
	})
}
