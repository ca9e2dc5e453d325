package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"parley/internal/comment"
	"parley/internal/store"
)

// runComment lists and moderates comments from the command line:
//
//	parley comment list --site S [--status pending] [--limit N]
//	parley comment approve|spam|delete|pending --site S ID...
//	parley comment logout --site S ID...
func runComment(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (isHelp(args[0]) || args[0] == "help") {
		return groupHelp("comment")
	}
	if len(args) == 0 {
		return usageError{"comment needs a subcommand: list, approve, spam, delete, pending or logout"}
	}
	sub := args[0]
	to := map[string]comment.Status{"approve": comment.StatusApproved, "spam": comment.StatusSpam, "delete": comment.StatusDeleted, "pending": comment.StatusPending}
	target, moderate := to[sub]
	if sub != "list" && sub != "logout" && !moderate {
		return usageError{fmt.Sprintf("unknown comment command %q (list, approve, spam, delete, pending or logout)", sub)}
	}
	fs := newFlags("comment "+sub, stderr)
	dbo := dbOptions{migrate: true}
	addDBFlags(fs, &dbo)
	site := fs.String("site", "", "site id")
	status, limit := new(string), new(int)
	if sub == "list" {
		fs.StringVar(status, "status", "pending", "comments in this state (pending, approved, spam, deleted)")
		fs.IntVar(limit, "limit", 50, "at most this many")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *site == "" {
		return usageError{"comment " + sub + " needs --site"}
	}
	if sub != "list" && fs.NArg() == 0 {
		return usageError{"comment " + sub + " needs the ids of the comments"}
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
	if sub == "list" {
		cs, err := svc.Queue(ctx, *site, comment.Status(*status), "", *limit)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCREATED\tAUTHOR\tLAYER\tSCORE\tTEXT")
		for _, c := range cs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%s\n", c.ID, c.Created.Format(time.DateTime), oneLine(c.Author.Name, 20), c.Verdict.Layer, c.Verdict.Score, oneLine(c.Markdown, 60))
		}
		return tw.Flush()
	}
	if sub == "logout" {
		return logoutAuthors(ctx, st, *site, fs.Args(), stdout, stderr)
	}
	var failed []string
	for _, id := range fs.Args() {
		if _, err := svc.Moderate(ctx, *site, id, target); err != nil {
			if errors.Is(err, comment.ErrNotFound) {
				err = fmt.Errorf("site %q has no comment %s", *site, id)
			}
			fmt.Fprintln(stderr, "parley:", err)
			failed = append(failed, id)
			continue
		}
		fmt.Fprintf(stdout, "%s: %s\n", id, target)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d comments not changed", len(failed), fs.NArg())
	}
	return nil
}

// logoutAuthors ends every session, on every device and on every site of
// this server, of the logged-in readers who wrote the comments ids of
// site: for a stolen account, or a reader the site no longer wants to hear
// from. Guests have no session to end.
func logoutAuthors(ctx context.Context, st store.Store, site string, ids []string, stdout, stderr io.Writer) error {
	failed := 0
	for _, id := range ids {
		c, err := st.Comment(ctx, id)
		switch {
		case errors.Is(err, comment.ErrNotFound) || err == nil && c.SiteID != site:
			err = fmt.Errorf("site %q has no comment %s", site, id)
		case err == nil && c.Author.Identity == "":
			err = fmt.Errorf("comment %s was written by a guest (%s), who has no log-in to end", id, oneLine(c.Author.Name, 40))
		}
		if err != nil {
			fmt.Fprintln(stderr, "parley:", err)
			failed++
			continue
		}
		n, err := st.DeleteSessions(ctx, c.Author.Identity)
		if err != nil {
			return err
		}
		provider, _, _ := strings.Cut(c.Author.Identity, ":")
		fmt.Fprintf(stdout, "%s: ended %d session(s) of %s (log-in: %s)\n", id, n, oneLine(c.Author.Name, 40), provider)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d comments' authors not logged out", failed, len(ids))
	}
	return nil
}

// oneLine shortens text for a table cell.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
