package main

import (
	"context"
	"fmt"
	"io"

	"parley/internal/service"
)

// parley privacy export|erase: a reader's right of access and right to
// erasure, answered by the operator through the service (its audit log
// records the request, never the data).

func init() {
	synopses["privacy export"] = `parley privacy export (--email E | --identity PROVIDER:SUBJECT) [--site ID] [--out FILE]

Writes, as one JSON object, everything Parley keeps about a reader on every
site (or one): their comments with their pages, likes, subscriptions,
sessions, reports, notices, sanctions, moderators' notes, confirmed address
and cached pictures. It is streamed: a reader with 100,000 comments needs no
more memory than one with ten.`
	synopses["privacy erase"] = `parley privacy erase (--email E | --identity PROVIDER:SUBJECT) [--site ID] [--anonymise]

Erases everything Parley keeps about a reader on every site (or one). Their
comments are deleted, or kept without their author where the site chose so
(community set --anonymise) or with --anonymise; a comment with replies keeps
its place as "deleted comment". Imports skip the erased comments' ids.`
	groups["privacy"] = []string{"export", "erase"}
}

func runPrivacy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, err := subcommand("privacy", args)
	if err != nil {
		return err
	}
	fs := newFlags("privacy "+sub, stderr)
	dbo := dbOptions{migrate: true}
	addDBFlags(fs, &dbo)
	var r service.PrivacyRequest
	fs.StringVar(&r.Email, "email", "", "the reader's email address")
	fs.StringVar(&r.Identity, "identity", "", "the reader's log-in, provider:subject")
	fs.StringVar(&r.SiteID, "site", "", "one site only (default: every site)")
	out := fs.String("out", "-", "file to write, - for standard output")
	if sub == "erase" {
		fs.BoolVar(&r.Anonymise, "anonymise", false, "keep the reader's published comments, anonymous, on every site")
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if r.Email == "" && r.Identity == "" {
		return usageError{"privacy " + sub + " needs --email or --identity"}
	}
	if sub == "erase" && *out != "-" {
		return usageError{"privacy erase takes no --out"}
	}
	svc, closeStore, err := openService(ctx, dbo)
	if err != nil {
		return err
	}
	defer closeStore()
	op := service.OperatorActor()
	if sub == "erase" {
		n, err := svc.EraseReader(ctx, op, r)
		if err != nil {
			return cliError(err, r.SiteID)
		}
		fmt.Fprintf(stdout, "erased: %d comments deleted, %d anonymised, %d likes, %d subscriptions, %d sessions, %d reports, %d other records\n",
			n.Deleted, n.Anonymised, n.Likes, n.Subscriptions, n.Sessions, n.Reports, n.Other)
		// A server running on the same database hears of the change: on
		// PostgreSQL through its change listener, on SQLite within a
		// second (sqlite.DB's watch for other processes' commits).
		return nil
	}
	if err := writeOut(*out, stdout, func(w io.Writer) error { return svc.ExportReader(ctx, op, r, w) }); err != nil {
		return cliError(err, r.SiteID)
	}
	return nil
}
