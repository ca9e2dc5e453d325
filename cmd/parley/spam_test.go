package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parley/internal/comment"
	"parley/internal/publicdata"
	"parley/internal/service"
)

// spamRun runs "parley spam ARGS..." in-process.
func spamRun(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"spam"}, args...), &out, &errOut)
	return out.String(), errOut.String(), err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// evalJSON is the output of spam eval --json.
type evalJSON struct {
	N, TP, FP, TN, FN               int
	Precision, Recall, F1, MCC, FPR float64
	SpamTierFPR                     float64 `json:"spam_tier_fpr"`
	PerSecond                       float64 `json:"per_second"`
	Tiers                           map[string]map[string]int
}

func TestSpamEval_TSV(t *testing.T) {
	data := writeFile(t, "sms.txt", strings.Join([]string{
		"ham\tAre we still meeting for lunch tomorrow?",
		"ham\tThe council meeting moved to Thursday.",
		"spam\tCheck out my channel and subscribe!!! http://spam.example/sub",
		"spam\tSubscribe to my channel please, I sub back http://bit.ly/xx",
	}, "\n")+"\n")
	out, _, err := spamRun(t, "eval", "--json", data)
	if err != nil {
		t.Fatal(err)
	}
	var r evalJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	if r.N != 4 || r.TP+r.FN != 2 || r.TN+r.FP != 2 {
		t.Errorf("counts %+v", r)
	}
	if r.TP != 2 || r.FP != 0 || r.MCC != 1 {
		t.Errorf("the built-in model should get these right: %s", out)
	}
	for _, tier := range []string{"publish", "hold", "spam"} {
		if _, ok := r.Tiers[tier]; !ok {
			t.Errorf("tiers lack %q: %s", tier, out)
		}
	}
	for _, field := range []string{`"n"`, `"tp"`, `"fp"`, `"tn"`, `"fn"`, `"precision"`, `"recall"`, `"f1"`, `"mcc"`, `"fpr"`, `"tiers"`, `"spam_tier_fpr"`, `"per_second"`} {
		if !strings.Contains(out, field) {
			t.Errorf("output lacks %s", field)
		}
	}

	human, _, err := spamRun(t, "eval", data)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"scored 4 comments", "MCC 1.000", "publish", "(FPR): 0.00%"} {
		if !strings.Contains(human, s) {
			t.Errorf("human output lacks %q:\n%s", s, human)
		}
	}
}

func TestSpamTrainAndEval_YouTube(t *testing.T) {
	dir := filepath.Join(publicdata.Dir(t, "spam"), "youtube")
	psy, katy := filepath.Join(dir, "Youtube01-Psy.csv"), filepath.Join(dir, "Youtube02-KatyPerry.csv")
	lmfao, eminem := filepath.Join(dir, "Youtube03-LMFAO.csv"), filepath.Join(dir, "Youtube04-Eminem.csv")
	model := filepath.Join(t.TempDir(), "m.model")
	out, _, err := spamRun(t, "train", "--out", model, psy, katy, lmfao)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "trained on 1138 comments") {
		t.Errorf("train output:\n%s", out)
	}
	out, _, err = spamRun(t, "eval", "--model", model, "--json", eminem)
	if err != nil {
		t.Fatal(err)
	}
	var r evalJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.N != 448 || r.MCC < 0.85 || r.FPR > 0.02 || r.SpamTierFPR > 0.005 {
		t.Errorf("Eminem with a model trained on the other three: %s", out)
	}
	// Flags may follow the files; learning scores the rest.
	out, _, err = spamRun(t, "eval", "--model", model, eminem, "--learn", "50", "--seed", "7", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.N != 448-50 {
		t.Errorf("with --learn 50 scored %d, want %d", r.N, 448-50)
	}
}

// TestSpamTrain_Folders trains with each folder one source, as the
// built-in model is built, and reports the measured error rates.
func TestSpamTrain_Folders(t *testing.T) {
	dir := publicdata.Dir(t, "spam")
	model := filepath.Join(t.TempDir(), "m.model")
	out, _, err := spamRun(t, "train", "--group", "folder", "--out", model,
		filepath.Join(dir, "youtube", "Youtube01-Psy.csv"), filepath.Join(dir, "youtube", "Youtube02-KatyPerry.csv"),
		filepath.Join(dir, "wordpress", "wordpress-blog-spam.jsonl.gz"), filepath.Join(dir, "foxnews", "fox-news-comments.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"from 4 files, 3 groups", "legitimate comments held by the classifier:", "spam held or worse:", "wrote " + model} {
		if !strings.Contains(out, want) {
			t.Errorf("train output lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := spamRun(t, "train", "--group", "site", "--out", model, filepath.Join(dir, "youtube", "Youtube01-Psy.csv")); err == nil || !strings.Contains(err.Error(), "--group") {
		t.Errorf("--group site = %v", err)
	}
}

// TestCommentList_Reasons: the moderation queue says why each comment
// was held, in words.
func TestCommentList_Reasons(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	ctx := context.Background()
	if err := run(ctx, []string{"site", "add", "--db", db, "--id", "s", "--origin", "https://s.example"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	st, err := openStore(ctx, dbOptions{dsn: db})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := newService(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := svc.Post(ctx, comment.Draft{SiteID: "s", Page: "https://s.example/a", Name: "Ada", Email: "ada@example.org",
		Body: "Sources: http://a.example/1 http://b.example/2 http://c.example/3 http://d.example/4"}, service.Meta{})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != comment.StatusPending {
		t.Fatalf("a comment with four links is %s", c.Status)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"comment", "list", "--db", db, "--site", "s"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "WHY") || !strings.Contains(out.String(), "held: 4 links (limit 2)") {
		t.Errorf("comment list:\n%s", out.String())
	}
}

func TestSpam_Errors(t *testing.T) {
	good := writeFile(t, "good.tsv", "ham\thello\nspam\tbuy now\n")
	unknown := writeFile(t, "notes.txt", "just some notes\nnothing labelled\n")
	badClass := writeFile(t, "bad.csv", "CONTENT,CLASS\nhello,0\nbuy,yes\n")
	badModel := writeFile(t, "bad.model", "not a model")
	tests := []struct {
		name      string
		args      []string
		wantUsage bool
		wantMsg   string
	}{
		{"no subcommand", nil, true, "train or eval"},
		{"unknown subcommand", []string{"tune"}, true, "unknown spam command"},
		{"eval without data", []string{"eval"}, true, "at least one DATA"},
		{"unknown flag", []string{"eval", "--fast", good}, true, "fast"},
		{"bad learn value", []string{"eval", "--learn", "many", good}, true, "learn"},
		{"negative learn", []string{"eval", "--learn", "-3", good}, true, "0 or more"},
		{"learn everything", []string{"eval", "--learn", "2", good}, true, "nothing to score"},
		{"train without out", []string{"train", good}, true, "--out"},
		{"missing file", []string{"eval", filepath.Join(t.TempDir(), "none.csv")}, false, "none.csv"},
		{"unknown format", []string{"eval", unknown}, false, "notes.txt:1: unknown format"},
		{"bad class", []string{"eval", badClass}, false, "bad.csv:3: CLASS \"yes\""},
		{"bad model", []string{"eval", "--model", badModel, good}, false, "bad.model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := spamRun(t, tt.args...)
			if err == nil {
				t.Fatal("want an error")
			}
			var ue usageError
			if errors.As(err, &ue) != tt.wantUsage {
				t.Errorf("err = %v; usage error (exit 2) = %v, want %v", err, errors.As(err, &ue), tt.wantUsage)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to mention %q", err, tt.wantMsg)
			}
		})
	}
}
