package gzjoin

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"testing"
)

func TestCombine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, sizes := range [][2]int{{0, 0}, {0, 5}, {5, 0}, {1, 1}, {100, 3}, {70000, 130000}, {3, 1 << 20}} {
		a, b := make([]byte, sizes[0]), make([]byte, sizes[1])
		for i := range a {
			a[i] = byte(r.Uint32())
		}
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		want := crc32.ChecksumIEEE(append(append([]byte{}, a...), b...))
		if got := combine(crc32.ChecksumIEEE(a), crc32.ChecksumIEEE(b), int64(len(b))); got != want {
			t.Errorf("combine of %d and %d bytes = %08x, want %08x", len(a), len(b), got, want)
		}
	}
}

// TestWrite: parts compressed at every level and stored, of every size
// from none to several stored blocks, decode with compress/gzip (which
// checks the CRC and length) to the bytes in order.
func TestWrite(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	text := func(n int) []byte {
		words := []string{"comment ", "reply ", "<p>", "</p>\n", "the ", "reader ", "Parley ", "\u00e9t\u00e9 ", "\u0645\u0631\u062d\u0628\u0627 "}
		var b bytes.Buffer
		for b.Len() < n {
			b.WriteString(words[r.IntN(len(words))])
		}
		return b.Bytes()[:n]
	}
	for round := 0; round < 50; round++ {
		var parts []Part
		var want []byte
		for range r.IntN(6) {
			b := text([]int{0, 1, 40, 5000, 70000, 200000}[r.IntN(6)])
			want = append(want, b...)
			if r.IntN(2) == 0 {
				parts = append(parts, Stored(b))
			} else {
				parts = append(parts, Compress(b, []int{flate.HuffmanOnly, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression}[r.IntN(4)]))
			}
		}
		var out bytes.Buffer
		if err := Write(&out, parts...); err != nil {
			t.Fatal(err)
		}
		if out.Len() != Size(parts...) {
			t.Fatalf("wrote %d bytes, Size says %d", out.Len(), Size(parts...))
		}
		zr, err := gzip.NewReader(&out)
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false) // one member: the parts must not be members of their own
		got, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("round %d (%d parts): %v", round, len(parts), err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: decoded %d bytes, want %d", round, len(got), len(want))
		}
		if rest, _ := io.ReadAll(&out); len(rest) != 0 {
			t.Fatalf("round %d: %d bytes after the member", round, len(rest))
		}
	}
}

// TestWrite_Compresses: a shared part compressed once stays compressed
// in the whole: a page of repeated markup comes out far smaller.
func TestWrite_Compresses(t *testing.T) {
	page := bytes.Repeat([]byte(`<article class="comment"><p>Another comment on the story.</p></article>`), 2000)
	var out bytes.Buffer
	Write(&out, Compress(page, flate.BestCompression), Stored([]byte("token-123")), Compress(page[:500], flate.BestCompression))
	if out.Len() > len(page)/20 {
		t.Errorf("%d bytes of page gave %d compressed", len(page), out.Len())
	}
}

func BenchmarkWrite(b *testing.B) {
	page := bytes.Repeat([]byte(`<article class="comment"><p>Another comment on the story.</p></article>`), 4000)
	top := Compress(page, flate.BestCompression)
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		Write(io.Discard, top, Stored([]byte("a-form-token-of-forty-bytes-or-so-000000")), top)
	}
}
