package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"parley/internal/comment"
	"parley/internal/store"
)

// exportHeader opens a Parley export: one JSON object per line, this
// header first, then the site's rows as store.Dump gives them.
type exportHeader struct {
	Format  string `json:"parley"`
	Version int    `json:"version"`
	Site    string `json:"site"`
}

const exportFormat, exportVersion = "export", 1

// runExport writes a site's complete backup (or a WordPress WXR file).
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", stderr)
	dbo := dbOptions{migrate: true}
	addDBFlags(fs, &dbo)
	site := fs.String("site", "", "site id")
	format := fs.String("format", "parley", "parley (a complete backup) or wxr (WordPress)")
	out := fs.String("out", "-", "file to write, - for standard output")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *site == "" {
		return usageError{"export needs --site"}
	}
	if *format != "parley" && *format != "wxr" {
		return usageError{fmt.Sprintf("unknown export format %q (parley or wxr)", *format)}
	}
	st, err := openStore(ctx, dbo)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Site(ctx, *site); errors.Is(err, comment.ErrNotFound) {
		return fmt.Errorf("there is no site %q", *site)
	}
	return writeOut(*out, stdout, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<16)
		var err error
		if *format == "wxr" {
			err = writeWXR(ctx, st, *site, bw)
		} else {
			err = writeExport(ctx, st, *site, bw)
		}
		if err == nil {
			err = bw.Flush()
		}
		return err
	})
}

// writeOut has write write to path, a new file (an existing one is never
// overwritten), or to stdout for "-". A file whose writing failed is
// removed: never half a backup or export left behind.
func writeOut(path string, stdout io.Writer, write func(w io.Writer) error) error {
	if path == "-" {
		return write(stdout)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

func writeExport(ctx context.Context, st store.Store, siteID string, w io.Writer) error {
	enc := json.NewEncoder(w)
	if err := enc.Encode(exportHeader{exportFormat, exportVersion, siteID}); err != nil {
		return err
	}
	return st.Dump(ctx, siteID, func(r *store.Row) error { return enc.Encode(r) })
}

// maxExportLine bounds one record of a Parley export (a line): far more
// than any comment needs, and what keeps a damaged or hostile file from
// making a restore hold it all in memory.
const maxExportLine = 8 << 20

// readExport returns the rows of a Parley export, one at a time.
func readExport(r io.Reader) (siteID string, next func() (*store.Row, error), err error) {
	dec := json.NewDecoder(&lineLimit{r: bufio.NewReaderSize(r, 1<<16), max: maxExportLine})
	var h exportHeader
	if err := dec.Decode(&h); err != nil || h.Format != exportFormat {
		return "", nil, errors.New("not a Parley export: the first line must be its {\"parley\":\"export\",...} header")
	}
	if h.Version != exportVersion {
		return "", nil, fmt.Errorf("this Parley reads exports of version %d, not %d", exportVersion, h.Version)
	}
	n := 1
	return h.Site, func() (*store.Row, error) {
		var row store.Row
		err := dec.Decode(&row)
		n++
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", n, err)
		}
		if row.Secret != nil {
			return nil, fmt.Errorf("record %d: a site export holds no server secrets", n)
		}
		if (row.Site != nil && row.Site.ID != h.Site) || (row.Thread != nil && row.Thread.SiteID != h.Site) || (row.Comment != nil && row.Comment.SiteID != h.Site) ||
			(row.Erased != nil && row.Erased.SiteID != h.Site) || (row.ErasedAuthor != nil && row.ErasedAuthor.SiteID != h.Site) {
			return nil, fmt.Errorf("record %d belongs to another site than %q", n, h.Site)
		}
		return &row, nil
	}, nil
}

// runBackup copies a running server's SQLite database to a new file.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", stderr)
	dbo := dbOptions{}
	addDBFlags(fs, &dbo)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"backup needs the file to write: parley backup [--db DSN] FILE"}
	}
	st, err := openStore(ctx, dbo)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Backup(ctx, fs.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s\n", redactDSN(dbo.dsn), fs.Arg(0))
	return nil
}

// lineLimit passes a line-per-record file through and fails on a line
// longer than max bytes, naming it.
type lineLimit struct {
	r    io.Reader
	max  int
	line int // lines ended so far
	run  int // bytes since the last newline
}

func (l *lineLimit) Read(p []byte) (int, error) {
	if l.run > l.max {
		return 0, fmt.Errorf("line %d is longer than %d MB, more than a Parley export holds in one record; the file is damaged", l.line+1, l.max>>20)
	}
	// Read no further past the limit than needed to notice it.
	if room := l.max + 1 - l.run; len(p) > room {
		p = p[:room]
	}
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		if b == '\n' {
			l.line++
			l.run = 0
		} else {
			l.run++
		}
	}
	return n, err
}
