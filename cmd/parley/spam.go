package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"parley/internal/spam"
)

// spamData says what the spam commands read.
const spamData = `DATA is a CSV file with a header holding CONTENT and CLASS columns (CLASS 1
is spam; AUTHOR and WEBSITE columns are read when present), JSON Lines of
{"text": ..., "spam": true|false, "author": ..., "website": ...}, or a file
of "ham|spam<TAB>text" lines; any of them may be gzip-compressed.

train calibrates the thresholds by scoring each group of DATA with a model
trained on the others: a group is a file, or with --group folder all the
files of one folder (one source, as in testdata/spam/). eval judges each
comment as a new site would: link limits, blog-spam signals, classifier.
`

// runSpam runs the spam subcommands: train a classifier model, or score
// labelled data with one.
func runSpam(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, groupHelp("spam").text)
		return usageError{"spam needs a subcommand: train or eval"}
	}
	switch args[0] {
	case "train":
		return runSpamTrain(ctx, args[1:], stdout, stderr)
	case "eval":
		return runSpamEval(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		return groupHelp("spam")
	}
	fmt.Fprint(stderr, groupHelp("spam").text)
	return usageError{fmt.Sprintf("unknown spam command %q (train or eval)", args[0])}
}

// parseWithFiles parses flags that may come before, between or after the
// file arguments, and returns the files.
func parseWithFiles(fs *flag.FlagSet, args []string) (files []string, err error) {
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return files, nil
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// readData reads labelled examples from each file, grouped by file, or
// by the folder holding it when byFolder is set.
func readData(files []string, byFolder bool) ([]spam.Example, error) {
	var all []spam.Example
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("read data: %w", err)
		}
		ex, err := spam.ReadExamples(f, name)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read data: %w", err)
		}
		if len(ex) == 0 {
			return nil, fmt.Errorf("read data: %s: no labelled comments", name)
		}
		if byFolder {
			dir := filepath.Base(filepath.Dir(name))
			for i := range ex {
				ex[i].Group = dir
			}
		}
		all = append(all, ex...)
	}
	return all, nil
}

func runSpamTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("spam train", stderr)
	out := fs.String("out", "", "file to write the model to")
	seed := fs.Uint64("seed", 0, "shuffling seed; training is deterministic for a seed")
	group := fs.String("group", "file", "calibration groups: file, or folder (every file of a folder is one source)")
	files, err := parseWithFiles(fs, args)
	if err != nil {
		return err
	}
	if *out == "" {
		return usageError{"spam train needs --out FILE"}
	}
	if *group != "file" && *group != "folder" {
		return usageError{fmt.Sprintf("--group must be file or folder, not %q", *group)}
	}
	if len(files) == 0 {
		return usageError{"spam train needs at least one DATA file"}
	}
	examples, err := readData(files, *group == "folder")
	if err != nil {
		return err
	}
	start := time.Now()
	m, err := spam.Train(examples, spam.TrainOptions{Seed: *seed})
	if err != nil {
		return err
	}
	took := time.Since(start)
	b, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(*out, b); err != nil {
		return err
	}
	nSpam := 0
	groups := map[string]bool{}
	for _, e := range examples {
		if e.Spam {
			nSpam++
		}
		groups[e.Group] = true
	}
	hold, spamT := m.Thresholds()
	rates := m.Rates()
	fmt.Fprintf(stdout, "trained on %d comments (%d spam, %d legitimate) from %d files, %d groups, in %s\n",
		len(examples), nSpam, len(examples)-nSpam, len(files), len(groups), took.Round(time.Millisecond))
	fmt.Fprintf(stdout, "thresholds: hold at score %.3f, near-certain spam at %.4f\n", hold, spamT)
	fmt.Fprintf(stdout, "measured on each group with a model trained on the others (%d legitimate, %d spam):\n", rates.Ham, rates.Spam)
	fmt.Fprintf(stdout, "  legitimate comments held by the classifier: %.2f%%\n", 100*rates.HamHeld)
	fmt.Fprintf(stdout, "  legitimate comments at near-certain spam:   %.2f%%\n", 100*rates.HamSpam)
	fmt.Fprintf(stdout, "  spam held or worse:                         %.2f%%\n", 100*rates.SpamCaught)
	fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", *out, len(b))
	return nil
}

// writeFileAtomic writes b to name through a temporary file in the same
// folder, so a failed write never leaves half a model behind.
func writeFileAtomic(name string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".spam-model-*")
	if err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write model %s: %w", name, err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write model %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write model %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("write model %s: %w", name, err)
	}
	return nil
}

func runSpamEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("spam eval", stderr)
	modelFile := fs.String("model", "", "model file (default: the built-in model)")
	learn := fs.Int("learn", 0, "feed the first K comments (after shuffling) as moderator decisions, score the rest")
	seed := fs.Uint64("seed", 1, "shuffling seed for --learn")
	asJSON := fs.Bool("json", false, "print one JSON object")
	files, err := parseWithFiles(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usageError{"spam eval needs at least one DATA file"}
	}
	if *learn < 0 {
		return usageError{"--learn must be 0 or more"}
	}
	var m *spam.Model
	if *modelFile != "" {
		b, err := os.ReadFile(*modelFile)
		if err != nil {
			return fmt.Errorf("read model: %w", err)
		}
		m = new(spam.Model)
		if err := m.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("read model %s: %w", *modelFile, err)
		}
	} else if m, err = spam.Default(); err != nil {
		return err
	}
	examples, err := readData(files, false)
	if err != nil {
		return err
	}
	if *learn >= len(examples) {
		return usageError{fmt.Sprintf("--learn %d leaves nothing to score: the data has %d comments", *learn, len(examples))}
	}
	r, err := spam.Evaluate(m, examples, spam.EvalOptions{Learn: *learn, Seed: *seed})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(r)
	}
	return printReport(stdout, r, *learn)
}

func printReport(w io.Writer, r spam.Report, learned int) error {
	if learned > 0 {
		fmt.Fprintf(w, "learned from %d moderator decisions, then ", learned)
	}
	fmt.Fprintf(w, "scored %d comments (%.0f comments/s)\n\n", r.N, r.PerSecond)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "outcome\tlegitimate\tspam\t")
	for _, row := range []struct {
		name string
		t    spam.Tier
	}{{"publish", r.Tiers.Publish}, {"hold", r.Tiers.Hold}, {"spam", r.Tiers.Spam}} {
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", row.name, row.t.Ham, row.t.Spam)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nnot published (held or spam) counts as positive:\n")
	fmt.Fprintf(&b, "  tp %d  fp %d  tn %d  fn %d\n", r.TP, r.FP, r.TN, r.FN)
	fmt.Fprintf(&b, "  precision %.3f  recall %.3f  F1 %.3f  MCC %.3f\n", r.Precision, r.Recall, r.F1, r.MCC)
	fmt.Fprintf(&b, "  legitimate comments held or spammed (FPR): %.2f%%\n", 100*r.FPR)
	fmt.Fprintf(&b, "  legitimate comments sent to spam:          %.2f%%\n", 100*r.SpamTierFPR)
	_, err := io.WriteString(w, b.String())
	return err
}
