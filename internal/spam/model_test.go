package spam

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"parley/internal/publicdata"
)

// tinyData is a small hand-made training set.
func tinyData() []Example {
	spam := []string{
		"check out my channel http://spam.example/a", "subscribe to my channel please",
		"visit my blog for free money http://cash.example", "follow me on instagram",
		"please subscribe to me, I make videos", "earn cash fast from home http://earn.example",
		"check out my new music video", "sub to me and I sub back",
	}
	ham := []string{
		"this song is great", "I love the chorus", "best video of the year",
		"the drummer is amazing", "watched this ten times today", "what a voice",
		"who is here in 2015", "the lyrics make me cry",
	}
	var out []Example
	for i, s := range spam {
		out = append(out, Example{Text: s, Spam: true, Group: []string{"a", "b"}[i%2]})
	}
	for i, s := range ham {
		out = append(out, Example{Text: s, Group: []string{"a", "b"}[i%2]})
	}
	return out
}

func TestTrain_NeedsBothClasses(t *testing.T) {
	_, err := Train([]Example{{Text: "spam", Spam: true}}, TrainOptions{})
	if err == nil {
		t.Fatal("Train with spam only: want an error")
	}
}

func TestModel_MarshalRoundTrip(t *testing.T) {
	m, err := Train(tinyData(), TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got Model
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"subscribe to my channel", "nice song", "http://x.example"} {
		if a, b := m.Logit(s, ""), got.Logit(s, ""); a != b {
			t.Errorf("%q scores %v before and %v after the round trip", s, a, b)
		}
	}
	h1, s1 := m.Thresholds()
	h2, s2 := got.Thresholds()
	if h1 != h2 || s1 != s2 {
		t.Errorf("thresholds %v/%v became %v/%v", h1, s1, h2, s2)
	}
	b2, _ := got.MarshalBinary()
	if !bytes.Equal(b, b2) {
		t.Error("marshalling the decoded model gives different bytes")
	}
}

func TestModel_UnmarshalBad(t *testing.T) {
	m, _ := Train(tinyData(), TrainOptions{})
	good, _ := m.MarshalBinary()
	flip := bytes.Clone(good)
	flip[len(flip)/2] ^= 0xff
	newer := bytes.Clone(good)
	newer[len(modelMagic)] = 99
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"foreign", []byte("GIF89a.................................")},
		{"truncated", good[:len(good)/2]},
		{"corrupted", flip},
		{"newer version", newer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Model
			if err := got.UnmarshalBinary(tt.data); !errors.Is(err, ErrBadModel) {
				t.Errorf("UnmarshalBinary = %v, want ErrBadModel", err)
			}
		})
	}
}

func TestModel_SetThresholds(t *testing.T) {
	m, _ := Train(tinyData(), TrainOptions{})
	if err := m.SetThresholds(0.9, 0.5); err == nil {
		t.Error("hold above spam: want an error")
	}
	if err := m.SetThresholds(0.5, 0.9); err != nil {
		t.Fatal(err)
	}
	h, s := m.Thresholds()
	if h < 0.499 || h > 0.501 || s < 0.899 || s > 0.901 {
		t.Errorf("thresholds = %v, %v", h, s)
	}
}

func TestDefaultModel(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	site := NewSiteModel(m)
	tests := []struct {
		body string
		want Action
	}{
		{"Check out my channel and subscribe!! http://bit.ly/xyz", Spam},
		{"The city council should have published the budget before the vote.", Publish},
		{"Great article, thanks for writing it.", Publish},
	}
	for _, tt := range tests {
		if got := site.Classify(&Input{Body: tt.body}).Action; got != tt.want {
			t.Errorf("%q: %v, want %v", tt.body, got, tt.want)
		}
	}
}

// TestDefaultModel_Reproducible retrains the built-in model from the
// shared data and checks it matches the embedded file byte for byte.
func TestDefaultModel_Reproducible(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		// Other architectures may fuse multiply-adds, which changes the
		// last bits of the weights; the model is built on amd64.
		t.Skip("the byte-exact check runs on amd64")
	}
	dir := filepath.Join(publicdata.Dir(t, "spam"), "youtube")
	var all []Example
	for _, n := range youtubeFiles {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		ex, err := ReadExamples(f, filepath.Join(dir, n))
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ex...)
	}
	m, err := Train(all, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.MarshalBinary()
	if !bytes.Equal(b, defaultModel) {
		t.Fatal("internal/spam/default.model is not what the training command makes; rebuild it with the command in default.go")
	}
}

func TestSiteModel_LearnChangesVerdict(t *testing.T) {
	base, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("spam the default model publishes", func(t *testing.T) {
		site := NewSiteModel(base)
		in := Input{Body: "Our summer sale on garden furniture ends Friday, great prices"}
		if v := site.Classify(&in); v.Action != Publish {
			t.Skipf("the default model already says %v", v.Action)
		}
		site.Learn(in, true)
		if v := site.Classify(&in); v.Action == Publish {
			t.Errorf("after learning it is spam: %v (score %.3f)", v.Action, v.Score)
		}
		if site.Learned() != 1 {
			t.Errorf("Learned = %d", site.Learned())
		}
		// The shared default is untouched.
		if v := NewSiteModel(base).Classify(&in); v.Action != Publish {
			t.Errorf("the default model changed: %v", v.Action)
		}
	})
	t.Run("a legitimate comment the default model holds", func(t *testing.T) {
		site := NewSiteModel(base)
		in := Input{Body: "Please subscribe to the newsletter to get the council minutes http://news.example/subscribe"}
		if v := site.Classify(&in); v.Action == Publish {
			t.Skip("the default model already publishes it")
		}
		site.Learn(in, false)
		if v := site.Classify(&in); v.Action != Publish {
			t.Errorf("after learning it is legitimate: %v (score %.3f)", v.Action, v.Score)
		}
	})
}

func TestSiteModel_MarshalRoundTrip(t *testing.T) {
	base, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	site := NewSiteModel(base)
	site.Learn(Input{Body: "buy cheap garden chairs", Website: "http://chairs.example"}, true)
	site.Learn(Input{Body: "the mayor spoke at noon"}, false)
	b, err := site.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got := NewSiteModel(base)
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for _, in := range []Input{{Body: "buy cheap garden chairs", Website: "http://chairs.example"}, {Body: "the mayor spoke at noon"}, {Body: "unrelated"}} {
		if a, b := site.Logit(&in), got.Logit(&in); a != b {
			t.Errorf("%q: %v before, %v after", in.Body, a, b)
		}
	}
	if got.Learned() != 2 {
		t.Errorf("Learned = %d, want 2", got.Learned())
	}
	if err := got.UnmarshalBinary(b[:len(b)-1]); !errors.Is(err, ErrBadModel) {
		t.Errorf("truncated: %v", err)
	}
	if len(b) > 64<<10 {
		t.Errorf("two lessons take %d bytes", len(b))
	}
}

func TestSiteModel_Concurrent(t *testing.T) {
	base, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	site := NewSiteModel(base)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			site.Learn(Input{Body: "lesson " + itoa(i)}, i%2 == 0)
		}
	}()
	for range 2000 {
		site.Classify(&Input{Body: "lesson 3 and more"})
	}
	<-done
	if site.Learned() != 200 {
		t.Errorf("Learned = %d", site.Learned())
	}
}
