package build

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand"
	"strings"
	"testing"
)

func gunzip(tb testing.TB, z []byte) []byte {
	tb.Helper()
	r, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		tb.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestGzipSmall_roundTrip(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	random := make([]byte, 70000)
	rnd.Read(random)
	text := make([]byte, 100000) // a small alphabet: long chains, many matches
	for i := range text {
		text[i] = "ab c\n"[rnd.Intn(5)]
	}
	built := mustBuild(t)
	tests := map[string][]byte{
		"empty":          {},
		"one byte":       {'x'},
		"two bytes":      []byte("xy"),
		"run":            bytes.Repeat([]byte{'a'}, 100000),
		"random":         random,
		"small alphabet": text,
		"every byte": func() []byte {
			b := make([]byte, 256)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}(),
		"script":            built["parley.js"],
		"stylesheet":        built["parley.css"],
		"repeats far apart": []byte(strings.Repeat("parley", 3) + string(random[:40000]) + strings.Repeat("parley", 3)),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if got := gunzip(t, gzipSmall(in)); !bytes.Equal(got, in) {
				t.Fatalf("round trip changed %d bytes into %d", len(in), len(got))
			}
		})
	}
}

// TestGzipSmall_smaller checks that the encoder earns its keep: without
// it, a reader in Russian whose browser takes no Brotli would download
// 12,445 bytes gzipped (standard library, level 9) instead of 12,074,
// over the 12 kB budget (widget.TestWidgetSize).
func TestGzipSmall_smaller(t *testing.T) {
	built := mustBuild(t)
	for _, name := range []string{"parley.js", "parley.css", "ru.json"} {
		var std bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&std, gzip.BestCompression)
		zw.Write(built[name])
		zw.Close()
		t.Logf("%s: %d bytes, standard library %d", name, len(built[name+".gz"]), std.Len())
		if len(built[name+".gz"]) >= std.Len() {
			t.Errorf("%s: %d bytes, no smaller than the standard library's %d", name, len(built[name+".gz"]), std.Len())
		}
	}
}

func FuzzGzipSmall(f *testing.F) {
	f.Add([]byte("abcabcabcabc"))
	f.Add([]byte(""))
	f.Add(bytes.Repeat([]byte("xyz"), 200))
	f.Fuzz(func(t *testing.T, in []byte) {
		if got := gunzip(t, gzipSmall(in)); !bytes.Equal(got, in) {
			t.Fatalf("round trip changed %q into %q", in, got)
		}
	})
}

func TestHuffLengths_limited(t *testing.T) {
	// Fibonacci frequencies make the deepest Huffman trees.
	freq := make([]int, 30)
	a, b := 1, 1
	for i := range freq {
		freq[i] = a
		a, b = b, a+b
	}
	for _, max := range []int{7, 15} {
		lens := huffLengths(freq, max)
		kraft := 0.0
		for _, l := range lens {
			if l == 0 || int(l) > max {
				t.Fatalf("max %d: length %d", max, l)
			}
			kraft += 1 / float64(int(1)<<l)
		}
		if kraft != 1 {
			t.Errorf("max %d: code not complete (Kraft sum %v)", max, kraft)
		}
	}
}
