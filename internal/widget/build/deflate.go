package build

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"sort"
)

// gzipSmall compresses the widget's files for readers. The standard
// library's deflate favours speed: it never uses matches shorter than four
// bytes and picks matches greedily. What readers download is checked
// against a budget (SPEC.md §3), and the files are compressed once per
// start, so this encoder spends a few milliseconds more: it finds, at every
// position, the nearest match of each length, and chooses the sequence of
// literals and matches that costs fewest bits under a Huffman cost model
// (a shortest path, as zopfli does), refined over a few rounds. The output
// is one dynamic-Huffman block in an ordinary gzip member; the tests read
// it back with compress/gzip.
func gzipSmall(data []byte) []byte {
	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255} // no name or time; "max compression"; unknown OS
	out = append(out, deflateSmall(data)...)
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(data))
	return binary.LittleEndian.AppendUint32(out, uint32(len(data)))
}

const (
	dfWindow   = 32768
	dfMinMatch = 3
	dfMaxMatch = 258
	// dfMaxChain bounds how many earlier positions with the same 3-byte
	// hash are tried at each position; it keeps a start-up fast.
	dfMaxChain = 512
	dfRounds   = 4
)

// Deflate's length and distance symbols (RFC 1951 §3.2.5): base values and
// extra bits.
var (
	lenBase   = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase  = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// clOrder is the order in which the code-length code's lengths are sent.
	clOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	// lenSym maps a match length to its length symbol's index (0..28).
	lenSym = func() (t [dfMaxMatch + 1]uint8) {
		for s := 0; s < 29; s++ {
			for l := int(lenBase[s]); l < int(lenBase[s])+1<<lenExtra[s] && l <= dfMaxMatch; l++ {
				t[l] = uint8(s)
			}
		}
		t[dfMaxMatch] = 28 // 258 has a symbol of its own
		return t
	}()
)

func distSym(d int) int {
	return sort.Search(30, func(s int) bool { return int(distBase[s]) > d }) - 1
}

// dfMatch is a match (or, with length 0, a literal) ending a path.
type dfMatch struct{ len, dist uint16 }

// dfToken is a literal (len 0, the byte in dist) or a match.
type dfToken = dfMatch

func deflateSmall(data []byte) []byte {
	start, ms := dfFindMatches(data)
	// Parse the whole input, cut it into blocks, then parse each block
	// again, priced by its own statistics.
	toks := dfBest(data, start, ms, 0, len(data))
	var w bitWriter
	blocks := dfSplit(toks, 3)
	lo := 0
	for i, b := range blocks {
		hi := lo
		for _, t := range b {
			hi += max(int(t.len), 1)
		}
		if again := dfBest(data, start, ms, lo, hi); dfBits(again) < dfBits(b) {
			b = again
		}
		dfBlock(&w, b, i == len(blocks)-1)
		lo = hi
	}
	return w.flush()
}

// dfBest parses data[lo:hi] dfRounds times, each round priced by what the
// one before used (the first as the fixed Huffman code prices), and
// returns the parse that makes the smallest block.
func dfBest(data []byte, start []int32, ms []dfMatch, lo, hi int) []dfToken {
	var lit [286]float64
	var dst [30]float64
	for s := range lit {
		lit[s] = 8
		if s >= 144 && s < 256 {
			lit[s] = 9
		} else if s >= 256 && s < 280 {
			lit[s] = 7
		}
	}
	for s := range dst {
		dst[s] = 5
	}
	var best []dfToken
	bestBits := 0
	for round := 0; round < dfRounds; round++ {
		toks := dfParse(data, start, ms, lo, hi, &lit, &dst)
		if b := dfBits(toks); best == nil || b < bestBits {
			best, bestBits = toks, b
		}
		lf, df := dfFreqs(toks)
		dfCosts(lf[:], lit[:])
		dfCosts(df[:], dst[:])
	}
	return best
}

// dfFindMatches returns, for each position i, ms[start[i]:start[i+1]]: the
// matches found there in order of growing length, each the nearest one of
// its length (a longer one is always further away).
func dfFindMatches(b []byte) (start []int32, ms []dfMatch) {
	n := len(b)
	start = make([]int32, n+1)
	head := make([]int32, 1<<15)
	for i := range head {
		head[i] = -1
	}
	prev := make([]int32, n)
	for i := 0; i < n; i++ {
		start[i] = int32(len(ms))
		if i+dfMinMatch > n {
			continue
		}
		h := (uint32(b[i])<<10 ^ uint32(b[i+1])<<5 ^ uint32(b[i+2])) & (1<<15 - 1)
		best, limit := dfMinMatch-1, min(dfMaxMatch, n-i)
		for j, chain := int(head[h]), dfMaxChain; j >= 0 && i-j <= dfWindow && chain > 0; j, chain = int(prev[j]), chain-1 {
			if b[j+best] != b[i+best] {
				continue
			}
			l := 0
			for l < limit && b[j+l] == b[i+l] {
				l++
			}
			if l > best {
				ms = append(ms, dfMatch{uint16(l), uint16(i - j)})
				if best = l; l == limit {
					break
				}
			}
		}
		prev[i], head[h] = head[h], int32(i)
	}
	start[n] = int32(len(ms))
	return start, ms
}

// dfParse returns the cheapest sequence of literals and matches for
// b[lo:hi] under the given prices (in bits) of the literal/length and
// distance symbols. Matches may reach back before lo.
func dfParse(b []byte, start []int32, ms []dfMatch, lo, hi int, lit *[286]float64, dst *[30]float64) []dfToken {
	n := hi - lo
	var lenCost [dfMaxMatch + 1]float64
	for l := dfMinMatch; l <= dfMaxMatch; l++ {
		s := lenSym[l]
		lenCost[l] = lit[257+int(s)] + float64(lenExtra[s])
	}
	cost := make([]float64, n+1)
	for i := range cost {
		cost[i] = math.Inf(1)
	}
	cost[0] = 0
	from := make([]dfMatch, n+1)
	for i := 0; i < n; i++ {
		c := cost[i]
		if v := c + lit[b[lo+i]]; v < cost[i+1] {
			cost[i+1], from[i+1] = v, dfMatch{}
		}
		shorter := dfMinMatch - 1
		for _, m := range ms[start[lo+i]:start[lo+i+1]] {
			ds := distSym(int(m.dist))
			cd := c + dst[ds] + float64(distExtra[ds])
			for l := shorter + 1; l <= min(int(m.len), n-i); l++ {
				if v := cd + lenCost[l]; v < cost[i+l] {
					cost[i+l], from[i+l] = v, dfMatch{uint16(l), m.dist}
				}
			}
			shorter = int(m.len)
		}
	}
	var toks []dfToken
	for i := n; i > 0; {
		m := from[i]
		if m.len == 0 {
			m.dist = uint16(b[lo+i-1])
			i--
		} else {
			i -= int(m.len)
		}
		toks = append(toks, m)
	}
	for i, j := 0, len(toks)-1; i < j; i, j = i+1, j-1 {
		toks[i], toks[j] = toks[j], toks[i]
	}
	return toks
}

// dfFreqs counts the symbols a token sequence uses, end of block included.
func dfFreqs(toks []dfToken) (lf [286]int, df [30]int) {
	for _, t := range toks {
		if t.len == 0 {
			lf[t.dist]++
			continue
		}
		lf[257+int(lenSym[t.len])]++
		df[distSym(int(t.dist))]++
	}
	lf[256]++
	return lf, df
}

// dfCosts prices each symbol at its information content, and a symbol
// not used at all a little above the rarest.
func dfCosts(freq []int, cost []float64) {
	total := 0
	for _, f := range freq {
		total += f
	}
	for s, f := range freq {
		if f == 0 {
			cost[s] = math.Log2(float64(total)) + 1
		} else {
			cost[s] = math.Log2(float64(total) / float64(f))
		}
	}
}

// dfSplit cuts the tokens into blocks where a Huffman code of their own
// pays for its header: the script's translation tables and its code, say,
// use bytes quite differently. It tries a few cut points, keeps the best
// if it saves bits, and goes on in each half, depth times at most.
func dfSplit(toks []dfToken, depth int) [][]dfToken {
	bestAt, best := 0, dfBits(toks)
	if depth > 0 && len(toks) >= 512 {
		for k := 1; k < 16; k++ {
			at := len(toks) * k / 16
			if b := dfBits(toks[:at]) + dfBits(toks[at:]); b < best {
				bestAt, best = at, b
			}
		}
	}
	if bestAt == 0 {
		return [][]dfToken{toks}
	}
	return append(dfSplit(toks[:bestAt], depth-1), dfSplit(toks[bestAt:], depth-1)...)
}

// dfBits is the size in bits of the tokens as one block.
func dfBits(toks []dfToken) int {
	lf, df := dfFreqs(toks)
	p := dfPlanCodes(lf, df)
	n := p.bits
	for s, f := range lf {
		n += f * int(p.litLen[s])
		if s > 256 {
			n += f * int(lenExtra[s-257])
		}
	}
	for s, f := range df {
		n += f * int(p.distLen[s]+distExtra[s])
	}
	return n
}

// dfPlan is a block's Huffman codes and the header that describes them.
type dfPlan struct {
	litLen, distLen, clLen []uint8
	nlit, ndist, nclen     int
	seq                    []clItem
	bits                   int // header size
}

// clItem is one symbol of the run-length coded code lengths, with its
// extra bits.
type clItem struct{ sym, extra, bits uint8 }

func dfPlanCodes(lf [286]int, df [30]int) dfPlan {
	p := dfPlan{litLen: huffLengths(lf[:], 15), distLen: huffLengths(df[:], 15), nlit: 286, ndist: 30, nclen: 19}
	for p.nlit > 257 && p.litLen[p.nlit-1] == 0 {
		p.nlit--
	}
	for p.ndist > 1 && p.distLen[p.ndist-1] == 0 {
		p.ndist--
	}
	// The code lengths, run-length coded with symbols 16 (repeat the last
	// length 3-6 times), 17 (3-10 zeros) and 18 (11-138 zeros).
	lens := append(append([]uint8(nil), p.litLen[:p.nlit]...), p.distLen[:p.ndist]...)
	for i := 0; i < len(lens); {
		v, run := lens[i], 1
		for i+run < len(lens) && lens[i+run] == v {
			run++
		}
		i += run
		if v == 0 {
			for ; run >= 11; run -= min(run, 138) {
				p.seq = append(p.seq, clItem{18, uint8(min(run, 138) - 11), 7})
			}
			if run >= 3 {
				p.seq = append(p.seq, clItem{17, uint8(run - 3), 3})
				run = 0
			}
		} else {
			p.seq = append(p.seq, clItem{sym: v})
			for run--; run >= 3; run -= min(run, 6) {
				p.seq = append(p.seq, clItem{16, uint8(min(run, 6) - 3), 2})
			}
		}
		for ; run > 0; run-- {
			p.seq = append(p.seq, clItem{sym: v})
		}
	}
	var cf [19]int
	for _, it := range p.seq {
		cf[it.sym]++
	}
	p.clLen = huffLengths(cf[:], 7)
	for p.nclen > 4 && p.clLen[clOrder[p.nclen-1]] == 0 {
		p.nclen--
	}
	p.bits = 3 + 5 + 5 + 4 + 3*p.nclen
	for _, it := range p.seq {
		p.bits += int(p.clLen[it.sym]) + int(it.bits)
	}
	return p
}

// dfBlock writes the tokens as one dynamic-Huffman block.
func dfBlock(w *bitWriter, toks []dfToken, final bool) {
	p := dfPlanCodes(dfFreqs(toks))
	if final {
		w.bits(1, 1)
	} else {
		w.bits(0, 1)
	}
	w.bits(2, 2) // dynamic Huffman
	w.bits(uint32(p.nlit-257), 5)
	w.bits(uint32(p.ndist-1), 5)
	w.bits(uint32(p.nclen-4), 4)
	for _, s := range clOrder[:p.nclen] {
		w.bits(uint32(p.clLen[s]), 3)
	}
	clCode := huffCodes(p.clLen)
	for _, it := range p.seq {
		w.bits(uint32(clCode[it.sym]), uint(p.clLen[it.sym]))
		w.bits(uint32(it.extra), uint(it.bits))
	}
	litCode, distCode := huffCodes(p.litLen), huffCodes(p.distLen)
	for _, t := range toks {
		if t.len == 0 {
			w.bits(uint32(litCode[t.dist]), uint(p.litLen[t.dist]))
			continue
		}
		s := int(lenSym[t.len])
		w.bits(uint32(litCode[257+s]), uint(p.litLen[257+s]))
		w.bits(uint32(t.len-lenBase[s]), uint(lenExtra[s]))
		d := distSym(int(t.dist))
		w.bits(uint32(distCode[d]), uint(p.distLen[d]))
		w.bits(uint32(t.dist-distBase[d]), uint(distExtra[d]))
	}
	w.bits(uint32(litCode[256]), uint(p.litLen[256]))
}

// huffLengths returns the code lengths of a Huffman code for freq, at most
// maxBits long, and complete (as inflaters require): symbols with no
// frequency get no code, except that at least two symbols always have one.
func huffLengths(freq []int, maxBits int) []uint8 {
	type node struct {
		w           int
		sym         int // leaf symbol, or -1
		left, right int
	}
	var nodes []node
	var leaves []int
	for s, f := range freq {
		if f > 0 {
			leaves = append(leaves, s)
		}
	}
	for s := 0; len(leaves) < 2; s++ {
		if freq[s] == 0 {
			leaves = append(leaves, s)
		}
	}
	sort.SliceStable(leaves, func(i, j int) bool { return freq[leaves[i]] < freq[leaves[j]] })
	for _, s := range leaves {
		nodes = append(nodes, node{w: max(freq[s], 1), sym: s})
	}
	// Two queues: the leaves in order of weight, and the merged nodes,
	// which are made in order of weight.
	q1, q2 := 0, len(nodes)
	pop := func() int {
		if q1 < len(leaves) && (q2 >= len(nodes) || nodes[q1].w <= nodes[q2].w) {
			q1++
			return q1 - 1
		}
		q2++
		return q2 - 1
	}
	for k := 0; k < len(leaves)-1; k++ {
		a, b := pop(), pop()
		nodes = append(nodes, node{w: nodes[a].w + nodes[b].w, sym: -1, left: a, right: b})
	}
	lens := make([]uint8, len(freq))
	var walk func(i, depth int)
	walk = func(i, depth int) {
		if nodes[i].sym >= 0 {
			lens[nodes[i].sym] = uint8(min(depth, maxBits))
			return
		}
		walk(nodes[i].left, depth+1)
		walk(nodes[i].right, depth+1)
	}
	walk(len(nodes)-1, 0)
	// Lengths cut to maxBits may oversubscribe the code: lengthen the
	// rarest codes below the limit until they fit, then shorten codes to
	// fill any room left, so that the code is complete.
	kraft := 0
	for _, s := range leaves {
		kraft += 1 << (maxBits - int(lens[s]))
	}
	for kraft > 1<<maxBits {
		for _, s := range leaves { // rarest first
			if int(lens[s]) < maxBits {
				kraft -= 1 << (maxBits - int(lens[s]) - 1)
				lens[s]++
				break
			}
		}
	}
	for kraft < 1<<maxBits {
		for i := len(leaves) - 1; i >= 0; i-- { // commonest first
			s := leaves[i]
			if add := 1 << (maxBits - int(lens[s])); lens[s] > 1 && kraft+add <= 1<<maxBits {
				kraft += add
				lens[s]--
				break
			}
		}
	}
	return lens
}

// huffCodes returns the canonical codes for the lengths (RFC 1951
// §3.2.2), bit-reversed for writing least significant bit first.
func huffCodes(lens []uint8) []uint16 {
	var count, next [16]int
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	for b, code := 1, 0; b < 16; b++ {
		code = (code + count[b-1]) << 1
		next[b] = code
	}
	codes := make([]uint16, len(lens))
	for s, l := range lens {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		r := 0
		for k := 0; k < int(l); k++ {
			r = r<<1 | c>>k&1
		}
		codes[s] = uint16(r)
	}
	return codes
}

// bitWriter packs bits least significant first, as deflate does.
type bitWriter struct {
	out []byte
	acc uint64
	n   uint
}

func (w *bitWriter) bits(v uint32, n uint) {
	w.acc |= uint64(v) << w.n
	for w.n += n; w.n >= 8; w.n -= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
	}
}

func (w *bitWriter) flush() []byte {
	if w.n > 0 {
		w.out = append(w.out, byte(w.acc))
	}
	return w.out
}
