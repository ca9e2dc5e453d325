package spam

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// Model is a logistic regression over hashed features (see features.go),
// with two thresholds on its score that split comments into publish,
// hold and "near-certain" spam. A Model is read-only once trained and
// safe for concurrent use; a site's learning goes into a SiteModel
// layered over it.
type Model struct {
	bits uint8     // the weight table has 1<<bits entries
	w    []float32 // weights, indexed by hash >> (32-bits)
	bias float32
	// hold and spam are thresholds on the logit: at or above hold the
	// comment is held; at or above spam the classifier is near-certain,
	// and the comment goes to the spam folder when another layer agrees.
	hold, spam float32
	rates      Rates
}

// Rates are a model's error rates as measured when its thresholds were
// calibrated: on comments from sources (files, sites) it was not trained
// on, scored by models trained on the other sources. They are what a new
// site can expect before its moderators teach it anything.
type Rates struct {
	HamHeld    float64 // share of legitimate comments at or above the hold threshold
	HamSpam    float64 // share of legitimate comments at or above the spam threshold
	SpamCaught float64 // share of spam at or above the hold threshold
	Ham, Spam  int     // how many comments the rates were measured on
}

// Example is one labelled comment for training or evaluation.
type Example struct {
	Text    string
	Spam    bool
	Author  string // the author's name, if the data has one
	Website string // the author's website field, if the data has one
	// Group is where it came from (a file, a site). Calibration scores
	// each group with a model trained on the others, so thresholds are
	// set on text the model never saw, as a new site's will be.
	Group string
}

// TrainOptions tune training. The zero value means the defaults.
type TrainOptions struct {
	Bits   int     // log2 of the weight table size; default 18
	Epochs int     // passes over the data; default 8
	Rate   float64 // AdaGrad learning rate; default 0.2
	L2     float64 // weight decay per update; default 1e-4
	Seed   uint64  // shuffling seed; training is deterministic for a seed
	// HoldFPR and SpamFPR are the shares of legitimate comments that
	// calibration lets through to hold (default 3 %, the spec's budget;
	// measured on sources left out of the calibration's own folds, where
	// the scores of a kind of site the model never saw are spread widest,
	// so a held-out source sees fewer) and above the near-certain
	// threshold (default 0.1 %); see Calibrate.
	HoldFPR, SpamFPR float64
}

func (o *TrainOptions) fill() {
	if o.Bits == 0 {
		o.Bits = 18
	}
	if o.Epochs == 0 {
		o.Epochs = 8
	}
	if o.Rate == 0 {
		o.Rate = 0.2
	}
	if o.L2 == 0 {
		o.L2 = 1e-4
	}
	if o.HoldFPR == 0 {
		o.HoldFPR = 0.03
	}
	if o.SpamFPR == 0 {
		o.SpamFPR = 0.001
	}
}

// featurePool recycles feature buffers so that classifying allocates
// nothing.
var featurePool = sync.Pool{New: func() any {
	return &features{text: make([]uint32, 0, 512), struc: make([]uint32, 0, 32), clean: make([]byte, 0, 1024)}
}}

// corpus is featurised training data: each example's feature indexes
// (text features first, then structural ones) in one shared slice.
type corpus struct {
	idx   []uint32
	start []int32 // example i's features are idx[start[i]:start[i+1]]
	nText []int32 // how many of them are text features
	tw    []float32
}

func (c *corpus) example(i int) (text, struc []uint32, tw float32) {
	f := c.idx[c.start[i]:c.start[i+1]]
	return f[:c.nText[i]], f[c.nText[i]:], c.tw[i]
}

func featurizeAll(bits uint8, examples []Example) *corpus {
	c := &corpus{start: make([]int32, 1, len(examples)+1), nText: make([]int32, len(examples)), tw: make([]float32, len(examples))}
	f := featurePool.Get().(*features)
	defer featurePool.Put(f)
	shift := 32 - bits
	for i, e := range examples {
		f.own = f.own[:0]
		f.extract(e.Text, "")
		for _, h := range f.text {
			c.idx = append(c.idx, h>>shift)
		}
		for _, h := range f.struc {
			c.idx = append(c.idx, h>>shift)
		}
		c.nText[i] = int32(len(f.text))
		c.tw[i] = f.textWeight()
		c.start = append(c.start, int32(len(c.idx)))
	}
	return c
}

// Train fits a model to examples and calibrates its thresholds by
// cross-validation across groups (see Calibrate). Examples with the same
// Group are kept together, so calibration sees sources it was not
// trained on, as a new site will.
func Train(examples []Example, opt TrainOptions) (*Model, error) {
	opt.fill()
	if err := checkTrainable(examples); err != nil {
		return nil, err
	}
	c := featurizeAll(uint8(opt.Bits), examples)
	var m *Model
	var ham, spam []float64
	var wg sync.WaitGroup
	wg.Go(func() { m = fit(examples, c, nil, opt) })
	ham, spam = crossScores(examples, c, opt)
	wg.Wait()
	m.hold, m.spam = Calibrate(ham, spam, opt.HoldFPR, opt.SpamFPR)
	m.rates = measure(ham, spam, float64(m.hold), float64(m.spam))
	return m, nil
}

// measure counts the rates of out-of-fold scores at the thresholds.
func measure(ham, spam []float64, hold, spamT float64) Rates {
	r := Rates{Ham: len(ham), Spam: len(spam)}
	for _, z := range ham {
		if z >= hold {
			r.HamHeld++
		}
		if z >= spamT {
			r.HamSpam++
		}
	}
	for _, z := range spam {
		if z >= hold {
			r.SpamCaught++
		}
	}
	if len(ham) > 0 {
		r.HamHeld /= float64(len(ham))
		r.HamSpam /= float64(len(ham))
	}
	if len(spam) > 0 {
		r.SpamCaught /= float64(len(spam))
	}
	return r
}

func checkTrainable(examples []Example) error {
	var nSpam, nHam int
	for _, e := range examples {
		if e.Spam {
			nSpam++
		} else {
			nHam++
		}
	}
	if nSpam == 0 || nHam == 0 {
		return fmt.Errorf("training needs both spam and legitimate examples (have %d spam, %d legitimate)", nSpam, nHam)
	}
	return nil
}

// Fit trains weights only, leaving the thresholds at their neutral
// defaults (hold at probability 0.5, spam at 0.9).
func Fit(examples []Example, opt TrainOptions) *Model {
	opt.fill()
	return fit(examples, featurizeAll(uint8(opt.Bits), examples), nil, opt)
}

// exampleWeights weighs the classes equally whatever their shares in the
// data (the share of spam differs from site to site, and the thresholds,
// not the prior, decide where the boundary goes), and within a class
// weighs the groups equally whatever their sizes, so that one big source
// does not drown the others and the model learns what their spam has in
// common. use selects the examples in the fit; nil means all.
func exampleWeights(examples []Example, use []bool) []float32 {
	type key struct {
		group string
		spam  bool
	}
	n := map[key]int{}
	for i, e := range examples {
		if use == nil || use[i] {
			n[key{e.Group, e.Spam}]++
		}
	}
	var groups, total [2]int // per class: groups, examples
	for k, c := range n {
		cl := 0
		if k.spam {
			cl = 1
		}
		groups[cl]++
		total[cl] += c
	}
	all := float64(total[0] + total[1])
	w := make([]float32, len(examples))
	for i, e := range examples {
		if use != nil && !use[i] {
			continue
		}
		cl := 0
		if e.Spam {
			cl = 1
		}
		// The class gets all/2, shared equally by its groups.
		w[i] = float32(all / 2 / float64(groups[cl]) / float64(n[key{e.Group, e.Spam}]))
	}
	return w
}

// fit trains on the examples that use selects (all if nil).
func fit(examples []Example, c *corpus, use []bool, opt TrainOptions) *Model {
	m := &Model{bits: uint8(opt.Bits), w: make([]float32, 1<<opt.Bits), hold: 0, spam: float32(logit(0.9))}
	cw := exampleWeights(examples, use)
	g2 := make([]float32, len(m.w)) // AdaGrad's sum of squared gradients
	var g2b float64
	order := make([]int, 0, len(examples))
	for i := range examples {
		if use == nil || use[i] {
			order = append(order, i)
		}
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5eed))
	rate, decay := float32(opt.Rate), float32(opt.L2)
	for range opt.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			text, struc, tw := c.example(i)
			var zt, zs float32
			for _, j := range text {
				zt += m.w[j]
			}
			for _, j := range struc {
				zs += m.w[j]
			}
			z := float64(m.bias) + float64(zt*tw) + float64(zs)
			y := 0.0
			if examples[i].Spam {
				y = 1
			}
			g := float32((sigmoid(z) - y) * float64(cw[i]))
			gt := g * tw
			for _, j := range text {
				g2[j] += gt * gt
				m.w[j] -= rate*gt/float32(math.Sqrt(float64(g2[j])+1e-8)) + rate*decay*m.w[j]
			}
			for _, j := range struc {
				g2[j] += g * g
				m.w[j] -= rate*g/float32(math.Sqrt(float64(g2[j])+1e-8)) + rate*decay*m.w[j]
			}
			g2b += float64(g * g)
			m.bias -= float32(opt.Rate * float64(g) / math.Sqrt(g2b+1e-8))
		}
		clampStructure(m, c, order)
	}
	return m
}

// maxStructWeight bounds the weight of one structural feature: a link,
// an exclamation mark or a phone number is never near-certain spam on
// its own, however the training sources happen to use them. Words are
// bounded by their share of the text.
const maxStructWeight = 1.5

// clampStructure bounds the structural weights the examples use.
func clampStructure(m *Model, c *corpus, order []int) {
	for _, i := range order {
		_, struc, _ := c.example(i)
		for _, j := range struc {
			m.w[j] = max(-maxStructWeight, min(maxStructWeight, m.w[j]))
		}
	}
}

// CrossScores scores each example with a model trained without it and
// returns the logits of legitimate and spam examples. With two or more
// groups it leaves one group out at a time; with a single group it uses
// five folds, keeping identical texts in the same fold.
func CrossScores(examples []Example, opt TrainOptions) (ham, spam []float64) {
	opt.fill()
	return crossScores(examples, featurizeAll(uint8(opt.Bits), examples), opt)
}

func crossScores(examples []Example, c *corpus, opt TrainOptions) (ham, spam []float64) {
	fold := make([]int, len(examples))
	groups := map[string]int{}
	for i, e := range examples {
		g, ok := groups[e.Group]
		if !ok {
			g = len(groups)
			groups[e.Group] = g
		}
		fold[i] = g
	}
	k := len(groups)
	if k < 2 {
		k = 5
		for i, e := range examples {
			fold[i] = int(crc32.ChecksumIEEE([]byte(e.Text)) % uint32(k))
		}
	}
	// The folds are independent: fit them side by side. Each writes its
	// own slots, so the result does not depend on the scheduling.
	scores := make([]float64, len(examples))
	scored := make([]bool, len(examples))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for f := range k {
		use := make([]bool, len(examples))
		var train []Example
		any := false
		for i, e := range examples {
			if fold[i] != f {
				use[i] = true
				train = append(train, e)
			} else {
				any = true
			}
		}
		if !any || checkTrainable(train) != nil {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			m := fit(examples, c, use, opt)
			for i := range examples {
				if !use[i] {
					text, struc, tw := c.example(i)
					scores[i] = m.score(text, struc, tw)
					scored[i] = true
				}
			}
		})
	}
	wg.Wait()
	for i, e := range examples {
		if !scored[i] {
			continue
		}
		if e.Spam {
			spam = append(spam, scores[i])
		} else {
			ham = append(ham, scores[i])
		}
	}
	return ham, spam
}

// score is the logit of featurised text.
func (m *Model) score(text, struc []uint32, tw float32) float64 {
	var zt, zs float32
	for _, j := range text {
		zt += m.w[j]
	}
	for _, j := range struc {
		zs += m.w[j]
	}
	return float64(m.bias) + float64(zt*tw) + float64(zs)
}

// Calibrate chooses the hold and spam thresholds from the logits of
// legitimate and spam comments the model was not trained on. The false
// positive rate comes first: the hold threshold lets at most holdFPR of
// the legitimate comments through to hold, and the near-certain
// threshold at most spamFPR, and lies at least one logit above the hold
// threshold. Near-certainty alone never sends a comment to spam: another
// layer must agree (see Pipeline), which is what keeps the spam folder
// free of legitimate comments when a new site's topics push its scores
// up. Spam scores are not used: the thresholds are where legitimate
// comments stop, wherever the spam is.
func Calibrate(ham, spam []float64, holdFPR, spamFPR float64) (hold, spamT float32) {
	if len(ham) == 0 {
		return 0, float32(logit(0.9))
	}
	h := slices.Clone(ham)
	slices.Sort(h)
	q := func(fpr float64) float64 {
		i := int(math.Ceil(float64(len(h)) * (1 - fpr)))
		if i >= len(h) {
			return h[len(h)-1] + 1e-3
		}
		return h[i] + 1e-3
	}
	holdT := q(holdFPR)
	spamTh := math.Max(q(spamFPR), holdT+1)
	return float32(holdT), float32(spamTh)
}

// Logit returns the model's score for a comment as log-odds of spam.
func (m *Model) Logit(body, website string) float64 {
	z, _ := m.logit(&Input{Body: body, Website: website}, nil)
	return z
}

// Prob returns the model's score for a comment as a probability-like
// number between 0 and 1.
func (m *Model) Prob(body, website string) float64 { return sigmoid(m.Logit(body, website)) }

// Thresholds returns the hold and spam thresholds as probabilities.
func (m *Model) Thresholds() (hold, spam float64) {
	return sigmoid(float64(m.hold)), sigmoid(float64(m.spam))
}

// Rates returns the error rates measured when the thresholds were
// calibrated; zero for a model whose thresholds were set by hand.
func (m *Model) Rates() Rates { return m.rates }

// SetThresholds changes the hold and spam thresholds, given as
// probabilities with 0 < hold <= spam < 1. The measured rates no longer
// apply and are cleared.
func (m *Model) SetThresholds(hold, spam float64) error {
	if !(hold > 0 && hold <= spam && spam < 1) {
		return fmt.Errorf("thresholds must satisfy 0 < hold <= spam < 1 (got %g, %g)", hold, spam)
	}
	m.hold, m.spam = float32(logit(hold)), float32(logit(spam))
	m.rates = Rates{}
	return nil
}

// action returns what the thresholds make of a logit.
func (m *Model) action(z float64) Action {
	switch {
	case z >= float64(m.spam):
		return Spam
	case z >= float64(m.hold):
		return Hold
	}
	return Publish
}

// logit scores a comment, adding a site's learned weights if delta is
// not nil, and returns the score and the part of it the site's learning
// contributed. It allocates nothing (but for a link's host).
func (m *Model) logit(in *Input, delta *siteDelta) (z, learned float64) {
	j := m.judge(in, delta, false)
	return j.z, j.learned
}

// judgement is a comment's score and, when asked for, what made it.
type judgement struct {
	z, learned float64
	parts      []contribution // the largest contributions towards spam, largest first
	cues       []string       // words that set the sales and support cues
}

// contribution is what one feature, or one word with its pairs and
// n-grams, added to a comment's score.
type contribution struct {
	kind  featKind // fkNone for a word
	arg   string   // the word, or the feature's argument
	value float64
}

// maxParts is how many of the largest contributions a judgement keeps.
const maxParts = 8

// judge scores a comment. With explain it also finds the words and
// structural features that added most to the score, in the same pass.
func (m *Model) judge(in *Input, delta *siteDelta, explain bool) judgement {
	f := featurePool.Get().(*features)
	defer featurePool.Put(f)
	f.own = appendOwn(f.own[:0], in.Origins)
	f.extract(in.Body, in.Website)
	shift := 32 - m.bits
	w := m.w
	var per []float32
	if explain {
		per = f.perWord[:0]
		for range f.wordEnd {
			per = append(per, 0)
		}
		f.perWord = per
	}
	var zt, zs, dt, ds float32
	for i, h := range f.text {
		v := w[h>>shift]
		zt += v
		if delta != nil {
			d := delta.get(h >> shift)
			dt += d
			v += d
		}
		if explain {
			per[f.unit[i]] += v
		}
	}
	var top [maxParts]contribution
	n := 0
	keep := func(c contribution) {
		if c.value <= 0 || n == maxParts && c.value <= top[n-1].value {
			return
		}
		if n < maxParts {
			n++
		}
		i := n - 1
		for i > 0 && top[i-1].value < c.value {
			top[i] = top[i-1]
			i--
		}
		top[i] = c
	}
	for i, h := range f.struc {
		v := w[h>>shift]
		var d float32
		if delta != nil {
			d = delta.get(h >> shift)
		}
		zs += v
		ds += d
		if explain && v+d > 0 {
			keep(contribution{kind: f.kind[i], value: float64(v + d), arg: f.structArg(i)})
		}
	}
	tw := f.textWeight()
	var j judgement
	if delta != nil {
		j.learned = float64(dt*tw) + float64(ds) + float64(delta.bias)
	}
	j.z = float64(m.bias) + float64(zt*tw) + float64(zs) + j.learned
	if explain {
		// Words by what they added; a word read twice is named once.
		for i, v := range per {
			c := contribution{value: float64(v * tw)}
			if c.value <= 0 || n == maxParts && c.value <= top[n-1].value {
				continue
			}
			c.arg = string(f.wordAt(int32(i)))
			dup := false
			for k := range n {
				if top[k].kind == fkNone && top[k].arg == c.arg {
					dup = true
				}
			}
			if !dup {
				keep(c)
			}
		}
		j.parts = append([]contribution(nil), top[:n]...)
		for _, u := range f.cues {
			j.cues = append(j.cues, string(f.wordAt(u)))
		}
	}
	return j
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func logit(p float64) float64 { return math.Log(p / (1 - p)) }

// The binary format of a model, version 2, little-endian:
//
//	"PARLEYSPAM" version:u8 bits:u8 bias:f32 hold:f32 spam:f32
//	hamHeld:f32 hamSpam:f32 spamCaught:f32 ham:u32 spam:u32 (the Rates)
//	n:u32, then n entries of (index delta:uvarint, weight:f32)
//	crc32 (IEEE) of everything before it:u32
//
// Only non-zero weights are stored. Version 1 (no rates) was written by
// Parley before the features of version 2's classifier; its weights mean
// nothing to this one, so it is refused.
const (
	modelMagic   = "PARLEYSPAM"
	modelVersion = 2
)

// MarshalBinary encodes the model in the versioned format above.
func (m *Model) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(modelMagic)
	b.WriteByte(modelVersion)
	b.WriteByte(m.bits)
	r := m.rates
	for _, v := range []float32{m.bias, m.hold, m.spam, float32(r.HamHeld), float32(r.HamSpam), float32(r.SpamCaught)} {
		b.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
	}
	b.Write(binary.LittleEndian.AppendUint32(nil, uint32(r.Ham)))
	b.Write(binary.LittleEndian.AppendUint32(nil, uint32(r.Spam)))
	var n uint32
	for _, v := range m.w {
		if v != 0 {
			n++
		}
	}
	b.Write(binary.LittleEndian.AppendUint32(nil, n))
	prev := 0
	for i, v := range m.w {
		if v == 0 {
			continue
		}
		b.Write(binary.AppendUvarint(nil, uint64(i-prev)))
		b.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
		prev = i
	}
	b.Write(binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(b.Bytes())))
	return b.Bytes(), nil
}

// ErrBadModel means model bytes are not a model this version of Parley
// can read.
var ErrBadModel = errors.New("not a Parley spam model")

// UnmarshalBinary decodes a model written by MarshalBinary. It returns an
// error wrapping ErrBadModel for foreign, corrupt, older or newer data.
func (m *Model) UnmarshalBinary(data []byte) error {
	head := len(modelMagic) + 2 + 24 + 8 + 4
	if len(data) < len(modelMagic)+2+4 || string(data[:len(modelMagic)]) != modelMagic {
		return ErrBadModel
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return fmt.Errorf("%w: checksum mismatch", ErrBadModel)
	}
	p := len(modelMagic)
	if v := body[p]; v != modelVersion {
		if v < modelVersion {
			return fmt.Errorf("%w: format version %d was made by an older Parley for other features; train the model again", ErrBadModel, v)
		}
		return fmt.Errorf("%w: format version %d, this build reads %d", ErrBadModel, v, modelVersion)
	}
	if len(body) < head {
		return fmt.Errorf("%w: truncated", ErrBadModel)
	}
	bits := body[p+1]
	if bits < 8 || bits > 26 {
		return fmt.Errorf("%w: table size 2^%d", ErrBadModel, bits)
	}
	p += 2
	f32 := func() float32 { v := math.Float32frombits(binary.LittleEndian.Uint32(body[p:])); p += 4; return v }
	u32 := func() uint32 { v := binary.LittleEndian.Uint32(body[p:]); p += 4; return v }
	nm := Model{bits: bits, w: make([]float32, 1<<bits)}
	nm.bias, nm.hold, nm.spam = f32(), f32(), f32()
	nm.rates.HamHeld, nm.rates.HamSpam, nm.rates.SpamCaught = float64(f32()), float64(f32()), float64(f32())
	nm.rates.Ham, nm.rates.Spam = int(u32()), int(u32())
	n := u32()
	idx := 0
	for k := uint32(0); k < n; k++ {
		d, w := binary.Uvarint(body[p:])
		if w <= 0 || p+w+4 > len(body) {
			return fmt.Errorf("%w: truncated", ErrBadModel)
		}
		p += w
		idx += int(d)
		if idx >= len(nm.w) {
			return fmt.Errorf("%w: index out of range", ErrBadModel)
		}
		nm.w[idx] = f32()
	}
	if p != len(body) {
		return fmt.Errorf("%w: trailing bytes", ErrBadModel)
	}
	*m = nm
	return nil
}
