// Package gzjoin writes one gzip stream from parts compressed apart: a
// page assembled from parts every reader shares and a few bytes of each
// reader's own is compressed once, part by part, instead of for every
// request.
//
// It works because DEFLATE (RFC 1951) allows it: a part compressed by a
// compressor of its own and ended with a sync flush is a run of
// non-final blocks ending on a byte boundary, whose back-references stay
// inside the part. Such runs placed one after the other, closed by an
// empty final block, are one valid DEFLATE stream; the gzip wrapper (RFC
// 1952) around it needs the CRC-32 and length of the whole, which are
// combined from the parts' without reading them again.
package gzjoin

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
)

// A Part is some bytes of a body, deflated on their own.
type Part struct {
	deflated []byte // non-final blocks, ending byte-aligned
	crc      uint32 // CRC-32 (IEEE) of the bytes
	n        int64  // how many bytes
}

// Compress deflates b at level (compress/flate's levels), for a part
// sent many times.
func Compress(b []byte, level int) Part {
	if level < flate.HuffmanOnly || level > flate.BestCompression {
		panic(fmt.Sprintf("gzjoin: compression level %d", level)) // a programming error
	}
	var out bytes.Buffer
	pool := &writers[level-flate.HuffmanOnly]
	w, _ := pool.Get().(*flate.Writer)
	if w == nil {
		w, _ = flate.NewWriter(&out, level)
	} else {
		w.Reset(&out)
	}
	w.Write(b)
	w.Flush() // a sync flush, never Close: the stream goes on after it
	pool.Put(w)
	// Cloned: a part is kept, and the buffer grew to twice what it holds.
	return Part{deflated: bytes.Clone(out.Bytes()), crc: crc32.ChecksumIEEE(b), n: int64(len(b))}
}

// Size is how many bytes the part takes in a stream.
func (p Part) Size() int { return len(p.deflated) }

// writers keep compressors by level for the next part: one holds
// hundreds of kilobytes of tables.
var writers [flate.BestCompression - flate.HuffmanOnly + 1]sync.Pool

// Stored wraps b uncompressed (stored blocks), for a few bytes that are
// one reader's own (a form token): cheaper to send as they are than to
// compress for each request.
func Stored(b []byte) Part {
	p := Part{crc: crc32.ChecksumIEEE(b), n: int64(len(b))}
	p.deflated = make([]byte, 0, len(b)+5*(len(b)/maxStored+1))
	for len(b) > 0 {
		k := min(len(b), maxStored)
		p.deflated = append(appendStoredHeader(p.deflated, false, k), b[:k]...)
		b = b[k:]
	}
	return p
}

// maxStored is the most a stored block holds.
const maxStored = 65535

// appendStoredHeader appends a stored block's header at a byte boundary:
// BFINAL and BTYPE 00 in the first byte, then LEN and its complement.
func appendStoredHeader(b []byte, final bool, n int) []byte {
	first := byte(0)
	if final {
		first = 1
	}
	return append(b, first, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
}

// header is a gzip member header: no name, no time, unknown OS.
var header = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}

// Size is how many bytes Write writes for parts (for Content-Length).
func Size(parts ...Part) int {
	n := len(header) + 5 + 8 // the header, the empty final block, the trailer
	for _, p := range parts {
		n += len(p.deflated)
	}
	return n
}

// Write writes the gzip stream of the parts' bytes, in order.
func Write(w io.Writer, parts ...Part) error {
	if _, err := w.Write(header); err != nil {
		return err
	}
	crc, n := uint32(0), int64(0)
	for _, p := range parts {
		if _, err := w.Write(p.deflated); err != nil {
			return err
		}
		crc, n = combine(crc, p.crc, p.n), n+p.n
	}
	end := appendStoredHeader(make([]byte, 0, 13), true, 0)
	end = binary.LittleEndian.AppendUint32(end, crc)
	end = binary.LittleEndian.AppendUint32(end, uint32(n)) // ISIZE is the length mod 2^32
	_, err := w.Write(end)
	return err
}

// combine returns the CRC-32 of A followed by B from A's CRC, B's CRC
// and B's length (zlib's crc32_combine): appending n bytes multiplies A's
// remainder by x^(8n) modulo the polynomial.
func combine(crcA, crcB uint32, n int64) uint32 {
	if n == 0 {
		return crcA
	}
	return multmodp(x2nmodp(uint64(n), 3), crcA) ^ crcB
}

// poly is the CRC-32 (IEEE) polynomial, reflected.
const poly = 0xedb88320

// multmodp returns a(x) b(x) modulo p(x), in the reflected bit order of
// CRC-32, where 1<<31 is x^0.
func multmodp(a, b uint32) uint32 {
	m := uint32(1) << 31
	var p uint32
	for {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				break
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ poly
		} else {
			b >>= 1
		}
	}
	return p
}

// x2n[k] is x^(2^k) modulo p(x).
var x2n = func() (t [32]uint32) {
	p := uint32(1) << 30 // x^1
	t[0] = p
	for k := 1; k < 32; k++ {
		p = multmodp(p, p)
		t[k] = p
	}
	return t
}()

// x2nmodp returns x^(n 2^k) modulo p(x).
func x2nmodp(n uint64, k uint) uint32 {
	p := uint32(1) << 31 // x^0
	for n != 0 {
		if n&1 != 0 {
			p = multmodp(x2n[k&31], p)
		}
		n >>= 1
		k++
	}
	return p
}
