package spam

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"sync"

	"parley/internal/comment"
)

// SiteModel is one site's classifier: a shared default Model plus the
// weights the site has learned from its moderators, kept as a small
// sparse table of corrections on top of the default rather than a copy of
// it. A hundred sites cost one default model and a hundred small maps.
// It is safe for concurrent use; Learn takes effect for the next Check.
type SiteModel struct {
	base *Model
	mu   sync.RWMutex
	d    siteDelta
}

// siteDelta is what a site learned: corrections to the default weights,
// and the website domains of comments its moderators approved.
type siteDelta struct {
	w     map[uint32]float32
	has   []uint64 // a bit per weight index: set when w may hold it, so most lookups skip the map
	bias  float32
	n     int                 // decisions learned
	known map[uint32]struct{} // website domain features of approved comments
}

func (d *siteDelta) get(i uint32) float32 {
	if int(i>>6) >= len(d.has) || d.has[i>>6]&(1<<(i&63)) == 0 {
		return 0
	}
	return d.w[i]
}

// set stores a correction, keeping has in step.
func (d *siteDelta) set(i uint32, v float32, size int) {
	if v == 0 {
		delete(d.w, i)
		return
	}
	if d.has == nil {
		d.has = make([]uint64, (size+63)/64)
	}
	d.has[i>>6] |= 1 << (i & 63)
	d.w[i] = v
}

// Site learning limits. A correction to one weight is capped so that no
// single word a moderator's decision touched (often a topic word of the
// site, which its legitimate readers use too) can push a comment into the
// spam folder on its own.
const (
	maxDelta = 4.0 // largest correction of one weight towards spam, in logits
	// minDelta is the largest correction towards legitimate: a moderator
	// who approves a comment the shared model took for spam (a site about
	// newsletters whose readers say "subscribe") must see it published,
	// and that only loosens the filter for the site's own words.
	minDelta    = -4.0
	learnMargin = 0.5 // how far past the hold threshold a lesson aims
	// hamMargin is how far below the hold threshold a legitimate
	// comment's lesson aims: further than a spam lesson, so that the words a
	// site's legitimate readers use are pulled down as often as spam lessons
	// push the words they share up.
	hamMargin   = 4.0
	linkShare   = 0.15 // share of a correction put on link domains, on top of the words
	maxSiteKeys = 1 << 20
	maxKnown    = 1 << 14 // website domains remembered as approved
	// learnedEvidence is how far (in logits) a site's lessons must push a
	// comment towards spam to count as a layer of its own that agrees
	// with the shared model.
	learnedEvidence = 1.0
)

// NewSiteModel returns a site model that starts as base.
func NewSiteModel(base *Model) *SiteModel {
	return &SiteModel{base: base, d: siteDelta{w: map[uint32]float32{}, known: map[uint32]struct{}{}}}
}

// Base returns the shared default model under the site's learning.
func (s *SiteModel) Base() *Model { return s.base }

// Learned returns how many moderator decisions the site has learned.
func (s *SiteModel) Learned() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.d.n
}

// Logit returns the site's score for a comment as log-odds of spam.
func (s *SiteModel) Logit(in *Input) float64 {
	z, _ := s.logit(in)
	return z
}

// logit returns the site's score and the part its lessons contributed.
func (s *SiteModel) logit(in *Input) (z, learned float64) {
	j := s.judge(in, false)
	return j.z, j.learned
}

// judge scores a comment with the site's lessons; see Model.judge.
func (s *SiteModel) judge(in *Input, explain bool) judgement {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.d.w) == 0 && s.d.bias == 0 {
		return s.base.judge(in, nil, explain)
	}
	return s.base.judge(in, &s.d, explain)
}

// KnownWebsite reports whether the site's moderators approved a comment
// whose website field was on the same registered domain.
func (s *SiteModel) KnownWebsite(website string) bool {
	h, _ := websiteFeature(website)
	if h == 0 {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.d.known[h]
	return ok
}

// Classify returns the classifier's verdict on a comment, with the
// features that weighed most as its reasons. A near-certain score is an
// Unconfirmed Spam (see Pipeline) unless the site's own lessons pushed it
// there, which counts as a second opinion.
func (s *SiteModel) Classify(in *Input) Verdict {
	j := s.judge(in, true)
	z, learned := j.z, j.learned
	a := s.base.action(z)
	v := Verdict{Action: a, Layer: "classifier", Score: sigmoid(z)}
	score := score3(v.Score)
	switch a {
	case Spam:
		v.Reasons = []comment.Reason{NewReason("classifier_spam", "score", score)}
		v.Unconfirmed, v.Evidence = true, true
	case Hold:
		v.Reasons = []comment.Reason{NewReason("classifier_hold", "score", score)}
		v.Shortfall = float64(s.base.spam) - z
		// A doubtful score confirms what is spam by a count alone (too
		// many links), not the classifier's own near-certainty.
		v.Evidence = true
	default:
		v.Reasons = []comment.Reason{NewReason("classifier_ham", "score", score)}
	}
	if learned >= learnedEvidence {
		v.Evidence, v.Unconfirmed = true, false
		v.Reasons = append(v.Reasons, NewReason("site_learned"))
	}
	v.Reasons = append(v.Reasons, featureReasons(j.parts, j.cues)...)
	return v
}

// Check implements Checker. It never fails.
func (s *SiteModel) Check(_ context.Context, in *Input) (Verdict, error) {
	return s.Classify(in), nil
}

// Learn takes one moderator decision: in is spam, or it is not. The
// update is passive-aggressive: nothing changes if the site's model
// already scores the comment clearly on the right side; otherwise the
// comment's own words (and link domains) are corrected just enough to put
// it learnMargin past the hold threshold, so the same text is judged as
// the moderator said at once and similar texts move in proportion to
// what they share. An approved comment's website domain is remembered as
// known.
func (s *SiteModel) Learn(in Input, spam bool) {
	f := featurePool.Get().(*features)
	defer featurePool.Put(f)
	f.own = appendOwn(f.own[:0], in.Origins)
	f.extract(in.Body, in.Website)
	shift := 32 - s.base.bits

	s.mu.Lock()
	defer s.mu.Unlock()
	s.d.n++
	if !spam && in.Website != "" && len(s.d.known) < maxKnown {
		if h, _ := websiteFeature(in.Website); h != 0 {
			s.d.known[h] = struct{}{}
		}
	}
	z, _ := s.base.logit(&in, &s.d)
	// The body alone, as the same text from someone else would score.
	zBody, _ := s.base.logit(&Input{Body: in.Body, Origins: in.Origins}, &s.d)
	var need, textNeed float64
	if spam {
		target := float64(s.base.hold) + learnMargin
		need, textNeed = target-z, max(0, target-zBody)
		if need <= 0 && textNeed <= 0 {
			return
		}
	} else {
		target := float64(s.base.hold) - hamMargin
		need, textNeed = target-z, min(0, target-zBody)
		if need >= 0 && textNeed >= 0 {
			return
		}
	}
	// The words take what the body needs, so that the same text is
	// judged as the moderator said whoever sends it next. Link domains
	// (and the website's) are specific to the sender: they take a share
	// on top, or all of it when there are no words.
	if len(f.links) > 0 && need*textNeed >= 0 {
		linkNeed := need * linkShare
		if len(f.text) == 0 {
			textNeed, linkNeed = 0, need
		}
		per := float32(linkNeed / float64(len(f.links)))
		for _, h := range f.links {
			s.add(h>>shift, per)
		}
	}
	if textNeed != 0 {
		// The lesson goes on the comment's own words and word pairs,
		// not on the character n-grams and common words every text
		// shares ("ing", "the", "new"): a lesson about one comment must
		// not move every comment. Adding textNeed/(tw*k) to each of the
		// k features moves this comment's score by textNeed.
		k := 0
		for _, g := range f.general {
			if !g {
				k++
			}
		}
		if k > 0 {
			step := float32(textNeed) / (f.textWeight() * float32(k))
			for i, h := range f.text {
				if !f.general[i] {
					s.add(h>>shift, step)
				}
			}
		}
	}
}

func (s *SiteModel) add(i uint32, v float32) {
	if len(s.d.w) >= maxSiteKeys {
		if _, ok := s.d.w[i]; !ok {
			return // the table is full; a site this busy should retrain
		}
	}
	nv := s.d.w[i] + v
	nv = max(minDelta, min(maxDelta, nv))
	s.d.set(i, nv, len(s.base.w))
}

// The binary format of a site's learning, version 2, little-endian:
//
//	"PARLEYSITE" version:u8 bits:u8 decisions:u32 bias:f32
//	n:u32, then n entries of (index:u32, weight:f32) in index order
//	k:u32, then k known website domain hashes:u32 in order
//	crc32 (IEEE) of everything before it:u32
//
// It holds only the site's corrections; the default model is not copied.
// Version 1 (without the known domains) is read too.
const siteMagic = "PARLEYSITE"

// MarshalBinary encodes what the site has learned.
func (s *SiteModel) MarshalBinary() ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var b bytes.Buffer
	b.WriteString(siteMagic)
	b.WriteByte(2)
	b.WriteByte(s.base.bits)
	b.Write(binary.LittleEndian.AppendUint32(nil, uint32(s.d.n)))
	b.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(s.d.bias)))
	keys := make([]uint32, 0, len(s.d.w))
	for k := range s.d.w {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(keys))))
	for _, k := range keys {
		b.Write(binary.LittleEndian.AppendUint32(nil, k))
		b.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(s.d.w[k])))
	}
	known := make([]uint32, 0, len(s.d.known))
	for k := range s.d.known {
		known = append(known, k)
	}
	slices.Sort(known)
	b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(known))))
	for _, k := range known {
		b.Write(binary.LittleEndian.AppendUint32(nil, k))
	}
	b.Write(binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(b.Bytes())))
	return b.Bytes(), nil
}

// UnmarshalBinary replaces what the site has learned with data written by
// MarshalBinary over a base model of the same table size. It returns an
// error wrapping ErrBadModel if the data does not fit.
func (s *SiteModel) UnmarshalBinary(data []byte) error {
	head := len(siteMagic) + 2 + 12
	if len(data) < head+4 || string(data[:len(siteMagic)]) != siteMagic {
		return ErrBadModel
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return fmt.Errorf("%w: checksum mismatch", ErrBadModel)
	}
	p := len(siteMagic)
	version := body[p]
	if version != 1 && version != 2 {
		return fmt.Errorf("%w: site format version %d, this build reads 1 and 2", ErrBadModel, version)
	}
	if body[p+1] != s.base.bits {
		return fmt.Errorf("%w: site learning was made for a table of 2^%d, the default model has 2^%d; it has to be relearned", ErrBadModel, body[p+1], s.base.bits)
	}
	p += 2
	d := siteDelta{n: int(binary.LittleEndian.Uint32(body[p:])), bias: math.Float32frombits(binary.LittleEndian.Uint32(body[p+4:])), known: map[uint32]struct{}{}}
	n := int(binary.LittleEndian.Uint32(body[p+8:]))
	p += 12
	if n > maxSiteKeys || len(body)-p < 8*n {
		return fmt.Errorf("%w: truncated", ErrBadModel)
	}
	d.w = make(map[uint32]float32, n)
	for range n {
		k := binary.LittleEndian.Uint32(body[p:])
		v := math.Float32frombits(binary.LittleEndian.Uint32(body[p+4:]))
		p += 8
		if k >= uint32(len(s.base.w)) || math.IsNaN(float64(v)) || v > maxDelta || v < minDelta {
			return fmt.Errorf("%w: bad entry", ErrBadModel)
		}
		d.set(k, v, len(s.base.w))
	}
	if version >= 2 {
		if len(body)-p < 4 {
			return fmt.Errorf("%w: truncated", ErrBadModel)
		}
		k := int(binary.LittleEndian.Uint32(body[p:]))
		p += 4
		if k > maxKnown || len(body)-p != 4*k {
			return fmt.Errorf("%w: truncated", ErrBadModel)
		}
		for range k {
			d.known[binary.LittleEndian.Uint32(body[p:])] = struct{}{}
			p += 4
		}
	}
	if p != len(body) {
		return fmt.Errorf("%w: trailing bytes", ErrBadModel)
	}
	s.mu.Lock()
	s.d = d
	s.mu.Unlock()
	return nil
}
