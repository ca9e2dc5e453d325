package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"parley/internal/admin"
	"parley/internal/comment"
	"parley/internal/service"
	"parley/internal/staff"
)

// runAdmin manages staff accounts:
//
//	parley admin add --email E [--password-file F] [--name N] [--site ID --role admin|moderator]
//	parley admin password --email E [--password-file F]
//	parley admin list [--site ID]
func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, err := subcommand("admin", args)
	if err != nil {
		return err
	}
	fs := newFlags("admin "+sub, stderr)
	dbo := dbOptions{migrate: true}
	addDBFlags(fs, &dbo)
	// Each subcommand takes only its own flags.
	email, name, passwordFile, site, role := new(string), new(string), new(string), new(string), new(string)
	if sub != "list" {
		fs.StringVar(email, "email", "", "the staff member's email address (their log-in)")
		fs.StringVar(passwordFile, "password-file", "", "read the password from this file (default: standard input)")
	}
	if sub == "add" {
		fs.StringVar(name, "name", "", "their name, shown on staff replies")
		fs.StringVar(role, "role", "", "admin or moderator on --site (owner without --site)")
	}
	if sub != "password" {
		fs.StringVar(site, "site", "", map[string]string{"add": "the site of the role (none: a server owner)", "list": "list that site's staff"}[sub])
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if sub != "list" && *email == "" {
		return usageError{"admin " + sub + " needs --email"}
	}
	r := staff.RoleOwner
	if sub == "add" {
		if *site != "" {
			if *role == "" {
				return usageError{"admin add --site needs --role admin or moderator"}
			}
			var err error
			if r, err = staff.ParseRole(*role); err != nil || r == staff.RoleOwner {
				return usageError{"--role with --site is admin or moderator (an owner has no --site)"}
			}
		} else if *role != "" && *role != "owner" {
			return usageError{"--role " + *role + " needs --site"}
		}
	}
	var password string
	if sub == "add" || sub == "password" {
		p, err := readPassword(*passwordFile, sub == "add")
		if err != nil {
			return err
		}
		password = p
	}
	svc, closeStore, err := openService(ctx, dbo)
	if err != nil {
		return err
	}
	defer closeStore()
	op := service.OperatorActor()
	switch sub {
	case "add":
		m, err := svc.AddMember(ctx, op, service.NewMember{Email: *email, Name: *name, Password: password, SiteID: *site, Role: r})
		if err != nil {
			return cliError(err, *site)
		}
		where := "every site (owner)"
		if *site != "" {
			where = fmt.Sprintf("site %q", *site)
		}
		fmt.Fprintf(stdout, "%s is %s on %s\n", m.Account.Email, r, where)
		if password == "" {
			fmt.Fprintln(stderr, "No password was given: they log in with a provider that confirms this email address.")
		}
		return nil
	case "password":
		if err := svc.SetPassword(ctx, op, *email, password); err != nil {
			if errors.Is(err, comment.ErrNotFound) {
				return fmt.Errorf("there is no staff account %q", *email)
			}
			return cliError(err, "")
		}
		fmt.Fprintf(stdout, "password of %s changed; their sessions have ended\n", strings.ToLower(*email))
		return nil
	}
	members, err := svc.Members(ctx, op, *site)
	if err != nil {
		return cliError(err, *site)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLES\tLOG-IN LINKED")
	for _, m := range members {
		var roles []string
		for _, g := range m.Grants {
			if g.SiteID == "" {
				roles = append(roles, string(g.Role))
			} else {
				roles = append(roles, string(g.Role)+"@"+g.SiteID)
			}
		}
		linked := "no"
		if m.Account.Identity != "" {
			linked = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Account.ID, m.Account.Email, m.Account.Name, strings.Join(roles, ","), linked)
	}
	return tw.Flush()
}

// readPassword reads a password from a file, or from standard input. An
// empty one is allowed only where optional is true.
func readPassword(file string, optional bool) (string, error) {
	var r io.Reader = os.Stdin
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	p := strings.TrimRight(line, "\r\n")
	if p == "" && !optional {
		return "", usageError{"no password given (on standard input or in --password-file)"}
	}
	if p != "" {
		if err := staff.CheckPassword(p); err != nil {
			return "", usageError{err.Error()}
		}
	}
	return p, nil
}

// cliError turns the service's errors into messages for the operator.
func cliError(err error, site string) error {
	var ve *comment.ValidationError
	switch {
	case errors.As(err, &ve):
		return usageError{ve.Message}
	case errors.Is(err, comment.ErrNotFound) && site != "":
		return fmt.Errorf("there is no site %q", site)
	case errors.Is(err, comment.ErrConflict):
		return errors.New("that exists already")
	}
	return err
}

// runToken manages sites' admin API tokens:
//
//	parley token add --site ID --role admin|moderator --name NAME
//	parley token list --site ID
//	parley token remove --site ID TOKEN_ID
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, err := subcommand("token", args)
	if err != nil {
		return err
	}
	fs := newFlags("token "+sub, stderr)
	dbo := dbOptions{migrate: true}
	addDBFlags(fs, &dbo)
	site := fs.String("site", "", "the site the token is for")
	role, name := new(string), new(string)
	if sub == "add" {
		fs.StringVar(role, "role", "moderator", "what the token may do: moderator (moderate) or admin (also settings and staff)")
		fs.StringVar(name, "name", "", "what uses the token, e.g. \"newsroom CMS\"")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *site == "" {
		return usageError{"token " + sub + " needs --site"}
	}
	switch {
	case sub == "add" && *name == "":
		return usageError{"token add needs --name (what uses the token)"}
	case sub == "remove" && fs.NArg() != 1:
		return usageError{"token remove takes the token's id (token list shows it)"}
	case sub != "remove" && fs.NArg() > 0:
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	svc, closeStore, err := openService(ctx, dbo)
	if err != nil {
		return err
	}
	defer closeStore()
	op := service.OperatorActor()
	switch sub {
	case "add":
		secret, t, err := svc.AddToken(ctx, op, *site, *name, staff.Role(*role))
		if err != nil {
			return cliError(err, *site)
		}
		fmt.Fprintf(stderr, "API token %s (%s, %s) for site %q. It is shown once; only its hash is kept. Use it as Authorization: Bearer TOKEN.\n", t.ID, t.Name, t.Role, *site)
		fmt.Fprintln(stdout, secret)
		return nil
	case "remove":
		if err := svc.RevokeToken(ctx, op, *site, fs.Arg(0)); err != nil {
			if errors.Is(err, comment.ErrNotFound) {
				return fmt.Errorf("site %q has no token %s", *site, fs.Arg(0))
			}
			return cliError(err, *site)
		}
		fmt.Fprintf(stdout, "token %s revoked\n", fs.Arg(0))
		return nil
	}
	list, err := svc.Tokens(ctx, op, *site)
	if err != nil {
		return cliError(err, *site)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tLAST USED")
	for _, t := range list {
		used := "never"
		if !t.LastUsed.IsZero() {
			used = t.LastUsed.Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.Created.Format(time.DateTime), used)
	}
	return tw.Flush()
}

// runAudit prints a site's audit log, newest first:
//
//	parley audit --site ID [--actor ACCOUNT_ID] [--action ACTION] [--comment ID] [--limit N] [--json]
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit", stderr)
	dbo := dbOptions{migrate: true}
	addDBFlags(fs, &dbo)
	site := fs.String("site", "", "the site whose log to print")
	actor := fs.String("actor", "", "only what this account (or token) id did")
	action := fs.String("action", "", "only this action (comment.spam), or a kind of action (comment.)")
	commentID := fs.String("comment", "", "only what touched this comment")
	limit := fs.Int("limit", 50, "at most this many entries (1 to 500)")
	cursor := fs.String("cursor", "", "continue from the cursor a previous audit printed")
	asJSON := fs.Bool("json", false, "print JSON, as the admin API's /audit")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *site == "" {
		return usageError{"audit needs --site"}
	}
	if *limit < 1 || *limit > 500 {
		return usageError{"--limit is from 1 to 500"}
	}
	svc, closeStore, err := openService(ctx, dbo)
	if err != nil {
		return err
	}
	defer closeStore()
	if _, err := svc.DeskSite(ctx, service.OperatorActor(), *site); err != nil {
		return cliError(err, *site)
	}
	list, next, err := svc.AuditLog(ctx, service.OperatorActor(), *site, service.AuditFilter{ActorID: *actor, Action: *action, CommentID: *commentID, Limit: *limit}, *cursor)
	if err != nil {
		return cliError(err, *site)
	}
	if *asJSON {
		return printJSON(stdout, admin.AuditJSON(list, next))
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tWHO\tWHAT\tON\tCOUNT\tCHANGE")
	for _, e := range list {
		change := e.After
		if e.Before != "" {
			change = e.Before + " -> " + e.After
		}
		what := e.Action
		if e.UndoneBy != 0 {
			what += " (undone)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", e.At.Format(time.DateTime), e.ActorName, what, e.Target, e.Count, oneLine(change, 80))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(stderr, "more: add --cursor %s\n", next)
	}
	return nil
}
