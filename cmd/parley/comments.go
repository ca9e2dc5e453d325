package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"parley/internal/admin"
	"parley/internal/comment"
	"parley/internal/service"
)

// runComment finds, shows and moderates comments from the command line,
// through the same service (and audit log) as the desk:
//
//	parley comment list --site S [--status pending|approved|spam|deleted|all] [filters] [--json]
//	parley comment show --site S ID
//	parley comment approve|spam|ham|delete|pending --site S ID...
//	parley comment edit --site S ID [--body-file F]
//	parley comment logout --site S ID...
func runComment(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (isHelp(args[0]) || args[0] == "help") {
		return groupHelp("comment")
	}
	if len(args) == 0 {
		return usageError{"comment needs a subcommand: list, show, approve, spam, ham, delete, pending, edit or logout"}
	}
	sub := args[0]
	decision, decide := service.Decision(""), false
	switch sub {
	case "list", "show", "edit", "logout":
	default:
		d, err := service.ParseDecision(sub)
		if err != nil {
			return usageError{fmt.Sprintf("unknown comment command %q (list, show, approve, spam, ham, delete, pending, edit or logout)", sub)}
		}
		decision, decide = d, true
	}
	fs := newFlags("comment "+sub, stderr)
	dbo := dbOptions{migrate: true}
	addDBFlags(fs, &dbo)
	site := fs.String("site", "", "site id")
	// Each subcommand takes only its own flags (and lists only those in
	// its --help).
	status, limit, asJSON, bodyFile := new(string), new(int), new(bool), new(string)
	text, page, author, email, ip, since, until, cursor := new(string), new(string), new(string), new(string), new(string), new(string), new(string), new(string)
	if sub == "list" {
		fs.StringVar(status, "status", "pending", "comments in this state (pending, approved, spam, deleted, or all)")
		fs.IntVar(limit, "limit", 50, "at most this many (1 to 500)")
		fs.StringVar(text, "q", "", "comments containing these words (text or author's name)")
		fs.StringVar(page, "page", "", "comments on this article (its address or page id)")
		fs.StringVar(author, "author", "", "comments by this author (name, or log-in provider:subject)")
		fs.StringVar(email, "email", "", "comments from this email address")
		fs.StringVar(ip, "ip", "", "comments from this IP address (or its hash, as list shows it)")
		fs.StringVar(since, "since", "", "posted since 1h, 24h, 7d or a time (2026-03-01T12:00:00Z)")
		fs.StringVar(until, "until", "", "posted before this time (2026-03-01T12:00:00Z)")
		fs.StringVar(cursor, "cursor", "", "continue from the cursor a previous list printed")
	}
	if sub == "list" || sub == "show" {
		fs.BoolVar(asJSON, "json", false, "print JSON, in the admin API's shape")
	}
	if sub == "edit" {
		fs.StringVar(bodyFile, "body-file", "", "read the new text from this file (default: standard input)")
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
	if (sub == "show" || sub == "edit") && fs.NArg() != 1 {
		return usageError{"comment " + sub + " takes one comment id"}
	}
	svc, closeStore, err := openService(ctx, dbo)
	if err != nil {
		return err
	}
	defer closeStore()
	op := service.OperatorActor()
	notFound := func(err error, id string) error {
		if errors.Is(err, comment.ErrNotFound) {
			return fmt.Errorf("site %q has no comment %s", *site, id)
		}
		return err
	}
	switch {
	case sub == "list":
		q := service.Query{Status: comment.Status(*status), Text: *text, Page: *page, Author: *author, Email: *email, IP: *ip, Cursor: *cursor, Limit: *limit}
		if *status == "all" {
			q.Status = ""
		}
		if q.Since, err = parseSince(*since, time.Now()); err != nil {
			return usageError{err.Error()}
		}
		if *until != "" {
			if q.Until, err = time.Parse(time.RFC3339, *until); err != nil {
				return usageError{"--until is a time such as 2026-03-01T12:00:00Z"}
			}
		}
		res, err := svc.Queue(ctx, op, *site, q)
		if errors.Is(err, comment.ErrNotFound) {
			return fmt.Errorf("there is no site %q", *site)
		}
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, admin.ListJSON(res, q.Status, nil, "en"))
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCREATED\tSTATUS\tAUTHOR\tEMAIL\tIP\tARTICLE\tWHY\tTEXT")
		for _, c := range res.Cards {
			cm := c.Comment
			article := ""
			if c.Thread != nil {
				article = c.Thread.Title
				if article == "" {
					article = c.Thread.URL
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cm.ID, cm.Created.Format(time.DateTime), cm.Status, oneLine(cm.Author.Name, 20),
				oneLine(cm.Author.Email, 28), shortHash(cm.IPHash), oneLine(article, 30), oneLine(why(cm), 40), oneLine(cm.Markdown, 50))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		counts := []string{}
		for _, s := range []comment.Status{comment.StatusPending, comment.StatusApproved, comment.StatusSpam, comment.StatusDeleted} {
			counts = append(counts, fmt.Sprintf("%s %d", s, res.Counts[s]))
		}
		fmt.Fprintf(stderr, "matching: %s\n", strings.Join(counts, ", "))
		if res.Next != "" {
			fmt.Fprintf(stderr, "more: add --cursor %s\n", res.Next)
		}
		return nil
	case sub == "show":
		c, err := svc.Card(ctx, op, *site, fs.Arg(0))
		if err != nil {
			return notFound(err, fs.Arg(0))
		}
		if *asJSON {
			return printJSON(stdout, admin.CommentJSON(c, nil, "en"))
		}
		printCard(stdout, c)
		return nil
	case sub == "edit":
		var body []byte
		if *bodyFile != "" {
			body, err = os.ReadFile(*bodyFile)
		} else {
			body, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
		}
		if err != nil {
			return err
		}
		c, err := svc.EditAs(ctx, op, *site, fs.Arg(0), strings.TrimRight(string(body), "\n"))
		if err != nil {
			var ve *comment.ValidationError
			if errors.As(err, &ve) {
				return usageError{ve.Message}
			}
			return notFound(err, fs.Arg(0))
		}
		fmt.Fprintf(stdout, "%s: edited\n", c.ID)
		return nil
	case sub == "logout":
		failed := 0
		for _, id := range fs.Args() {
			c, n, err := svc.LogOutAuthor(ctx, op, *site, id)
			var ve *comment.ValidationError
			switch {
			case errors.As(err, &ve):
				fmt.Fprintf(stderr, "parley: comment %s was written by a guest (%s), who has no log-in to end\n", id, oneLine(c.Author.Name, 40))
				failed++
			case err != nil:
				if err = notFound(err, id); !strings.HasPrefix(err.Error(), "site ") {
					return err
				}
				fmt.Fprintln(stderr, "parley:", err)
				failed++
			default:
				provider, _, _ := strings.Cut(c.Author.Identity, ":")
				fmt.Fprintf(stdout, "%s: ended %d session(s) of %s (log-in: %s)\n", id, n, oneLine(c.Author.Name, 40), provider)
			}
		}
		if failed > 0 {
			return fmt.Errorf("%d of %d comments' authors not logged out", failed, fs.NArg())
		}
		return nil
	case decide:
		var failed []string
		for _, id := range fs.Args() {
			if _, err := svc.Decide(ctx, op, *site, []string{id}, decision); err != nil {
				fmt.Fprintln(stderr, "parley:", notFound(err, id))
				failed = append(failed, id)
				continue
			}
			fmt.Fprintf(stdout, "%s: %s\n", id, decision.Status())
		}
		if len(failed) > 0 {
			return fmt.Errorf("%d of %d comments not changed", len(failed), fs.NArg())
		}
	}
	return nil
}

// parseSince reads --since: a duration back from now (1h, 24h, 7d) or a time.
func parseSince(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if n, ok := strings.CutSuffix(v, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err == nil && days > 0 {
			return now.Add(-time.Duration(days) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, errors.New("--since is 1h, 24h, 7d or a time such as 2026-03-01T12:00:00Z")
	}
	return t, nil
}

// why says why a comment is where it is, as the desk does.
func why(c *comment.Comment) string {
	v := c.Verdict
	if v.Layer == "" {
		return ""
	}
	s := v.Layer
	if v.Score > 0 && v.Score < 1 {
		s += fmt.Sprintf(" %.2f", v.Score)
	}
	if v.Reason != "" {
		s += ": " + v.Reason
	}
	return s
}

func shortHash(h string) string {
	if len(h) > 8 {
		return h[:8]
	}
	return h
}

// printCard writes everything the desk shows of a comment, as text.
func printCard(w io.Writer, c *service.Card) {
	cm := c.Comment
	fmt.Fprintf(w, "Comment   %s (%s)\n", cm.ID, cm.Status)
	if c.Thread != nil {
		fmt.Fprintf(w, "Article   %s\n          %s\n", c.Thread.Title, c.Thread.URL)
	}
	if c.Parent != nil {
		fmt.Fprintf(w, "Reply to  %s: %s\n", c.Parent.Author.Name, oneLine(c.Parent.Markdown, 60))
	}
	login := "guest"
	if p, _, ok := strings.Cut(cm.Author.Identity, ":"); ok {
		login = p
	}
	fmt.Fprintf(w, "Author    %s (%s)\n", cm.Author.Name, login)
	if cm.Author.Email != "" {
		fmt.Fprintf(w, "Email     %s\n", cm.Author.Email)
	}
	if cm.Author.Website != "" {
		fmt.Fprintf(w, "Website   %s\n", cm.Author.Website)
	}
	if cm.IPHash != "" {
		fmt.Fprintf(w, "IP hash   %s\n", cm.IPHash)
	}
	fmt.Fprintf(w, "Posted    %s\n", cm.Created.Format(time.RFC3339))
	if !cm.Edited.IsZero() {
		by := "the author"
		if cm.EditedBy != "" {
			by = cm.EditedBy
		}
		fmt.Fprintf(w, "Edited    %s by %s\n", cm.Edited.Format(time.RFC3339), by)
	}
	fmt.Fprintf(w, "Why here  %s\n", why(cm))
	if h := c.History; h != nil {
		fmt.Fprintf(w, "History   %d approved, %d pending, %d spam, %d deleted; first seen %s\n", h.Counts[comment.StatusApproved], h.Counts[comment.StatusPending],
			h.Counts[comment.StatusSpam], h.Counts[comment.StatusDeleted], h.FirstSeen.Format(time.DateOnly))
	}
	fmt.Fprintf(w, "\n%s\n", cm.Markdown)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
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
