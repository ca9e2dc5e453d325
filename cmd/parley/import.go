package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/exporter"
	"parley/internal/importer"
	"parley/internal/service"
	"parley/internal/store"
)

// runImport brings another system's export (or a Parley export) into a site.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import", stderr)
	dbo := dbOptions{migrate: true}
	addDBFlags(fs, &dbo)
	site := fs.String("site", "", "site to import into (for --format parley: optional, must match the export)")
	format := fs.String("format", "", "export format: "+strings.Join(append(importer.Formats(), "parley"), ", "))
	keepDeleted := fs.Bool("keep-deleted", false, "keep comments the source deleted or trashed, as deleted comments")
	byPageID := fs.Bool("by-page-id", false, "key threads by the source's page id (disqus_identifier, post id) instead of the page URL")
	urlMap := fs.String("url-map", "", "file of lines \"OLD_URL NEW_URL\" mapping old page addresses to new ones")
	var rewrites stringList
	fs.Var(&rewrites, "rewrite", "prefix rewrite of page addresses, OLD=NEW, e.g. http://old.example/blog=https://news.example (repeatable)")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"import needs one export file (or - for standard input)"}
	}
	if *format == "" {
		return usageError{"import needs --format (" + strings.Join(append(importer.Formats(), "parley"), ", ") + ")"}
	}
	if *format != "parley" && *site == "" {
		return usageError{"import needs --site"}
	}
	mapURL, err := urlMapper(*urlMap, rewrites)
	if err != nil {
		return usageError{err.Error()}
	}
	in := io.Reader(os.Stdin)
	var fileDate time.Time // when the export was made, for comments without a date
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
		if fi, err := f.Stat(); err == nil {
			fileDate = fi.ModTime()
		}
	}
	st, err := openStore(ctx, dbo)
	if err != nil {
		return err
	}
	defer st.Close()

	svc, err := newService(ctx, st, nil)
	if err != nil {
		return err
	}
	if *format == "parley" {
		return importParley(ctx, svc, *site, in, stdout, *asJSON)
	}
	if _, err := svc.Site(ctx, *site); errors.Is(err, comment.ErrNotFound) {
		return fmt.Errorf("there is no site %q; add it first with parley site add", *site)
	}
	sum, err := svc.Import(ctx, *site, *format, in, service.ImportOptions{
		KeepDeleted: *keepDeleted, ByPageID: *byPageID, MapURL: mapURL, FileDate: fileDate,
		Progress: func(n int) { fmt.Fprintf(stderr, "read %d comments…\n", n) },
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(sum)
	}
	fmt.Fprintf(stdout, "Imported %d comments on %d new pages in %s; %d were there already, %d skipped, %d replies made top-level (parent missing).\n",
		sum.Comments, sum.Pages, sum.Took.Round(1e6), sum.Existing, sum.Skipped, sum.Orphans)
	if sum.Erased > 0 {
		fmt.Fprintf(stdout, "  left out %d comments whose author had their data erased (parley privacy erase).\n", sum.Erased)
	}
	reasons := make([]string, 0, len(sum.Reasons))
	for r := range sum.Reasons {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(stdout, "  skipped %d: %s\n", sum.Reasons[r], r)
	}
	if len(sum.Odd) > 0 {
		fmt.Fprintln(stdout, "What looked odd:")
		for _, o := range sum.Odd {
			fmt.Fprintf(stdout, "  %d × %s\n", o.Count, o.What)
		}
	}
	return nil
}

// importParley restores a Parley export into this database, through the
// service, which sanitises it as any other import.
func importParley(ctx context.Context, svc *service.Service, site string, in io.Reader, stdout io.Writer, asJSON bool) error {
	siteID, next, err := readExport(in)
	if err != nil {
		return err
	}
	if site != "" && site != siteID {
		return fmt.Errorf("the export is of site %q, not %q", siteID, site)
	}
	sum, err := svc.Restore(ctx, next)
	if errors.Is(err, comment.ErrConflict) {
		return fmt.Errorf("site %q (or some of its comments) exists in this database already; restore a Parley export into a database without it", siteID)
	}
	if err != nil {
		return fmt.Errorf("nothing was restored: %w", err)
	}
	sum.Site = siteID
	if asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"site": siteID, "pages": sum.Pages, "comments": sum.Comments, "likes": sum.Likes, "cleaned": sum.Cleaned, "skipped": 0})
	}
	fmt.Fprintf(stdout, "Restored site %q: %d pages, %d comments, %d likes.\n", siteID, sum.Pages, sum.Comments, sum.Likes)
	if sum.Cleaned > 0 {
		fmt.Fprintf(stdout, "%d comments held HTML or a website address Parley does not write; they were made safe as every import is.\n", sum.Cleaned)
	}
	return nil
}

// urlMapper builds the page-address mapping from a map file and prefix
// rewrites. Exact entries win over prefixes; longer prefixes over shorter.
func urlMapper(file string, rewrites []string) (func(string) string, error) {
	exact := map[string]string{}
	type prefix struct{ old, new string }
	var prefixes []prefix
	for _, r := range rewrites {
		old, new, ok := strings.Cut(r, "=")
		if !ok || old == "" {
			return nil, fmt.Errorf("--rewrite %q: write it as OLD_PREFIX=NEW_PREFIX", r)
		}
		prefixes = append(prefixes, prefix{old, new})
	}
	sort.Slice(prefixes, func(i, j int) bool { return len(prefixes[i].old) > len(prefixes[j].old) })
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for line := 1; sc.Scan(); line++ {
			text := strings.TrimSpace(sc.Text())
			if text == "" || strings.HasPrefix(text, "#") {
				continue
			}
			fields := strings.Fields(text)
			if len(fields) != 2 {
				return nil, fmt.Errorf("%s:%d: write each mapping as OLD_URL NEW_URL", file, line)
			}
			exact[strings.TrimSuffix(fields[0], "/")] = fields[1]
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	if len(exact) == 0 && len(prefixes) == 0 {
		return nil, nil
	}
	return func(u string) string {
		if m, ok := exact[strings.TrimSuffix(u, "/")]; ok {
			return m
		}
		for _, p := range prefixes {
			if rest, ok := strings.CutPrefix(u, p.old); ok {
				return p.new + rest
			}
		}
		return ""
	}, nil
}

// writeWXR exports a site in WordPress's format.
func writeWXR(ctx context.Context, st store.Store, siteID string, w io.Writer) error {
	return exporter.WriteWXR(ctx, st, siteID, w)
}
