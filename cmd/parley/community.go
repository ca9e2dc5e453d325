package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"parley/internal/admin"
	"parley/internal/comment"
	"parley/internal/service"
)

// The community controls from the command line, through the same service
// (rules and audit log) as the desk and the admin API:
//
//	parley ban add|list|remove      sanctions
//	parley page close|open|set|list story controls and the article list
//	parley report list|dismiss      reader reports
//	parley community show|set       the site's community settings
//	parley rules show|set           the site's own rules
//	parley author                   an author's history, notes
//	parley alert list|dismiss       alerts to staff
//	parley comment feature|unfeature|pin|unpin

func init() {
	for k, v := range map[string]string{
		"ban add": `parley ban add --site ID (--email E | --email-domain D | --ip CIDR | --identity PROVIDER:SUBJECT | --comment ID)
               [--kind ban|suspend|premod|warn] [--until RFC3339] [--reason TEXT] [--message TEXT] [--remove-comments] [--json]

Sanctions a reader of the site: a ban (the default) or a suspension refuses
their comments politely, pre-moderation holds them, a warning shows them
--message the next time they post. --remove-comments also removes their
published and held comments; ban remove --restore puts them back.`,
		"ban list": `parley ban list --site ID [--all] [--json]

Lists the site's sanctions in force (with --all, also ended and lifted ones).`,
		"ban remove": `parley ban remove --site ID [--restore] BAN_ID

Lifts a sanction; --restore also restores the comments it removed.`,
		"page close": `parley page close --site ID --page URL

Closes an article's comments: its thread stays readable, with "Comments
are closed."`,
		"page open": `parley page open --site ID --page URL

Opens an article's comments again (one that closed by itself stays open).`,
		"page set": `parley page set --site ID --page URL [--close-after DAYS|site|never] [--premod=true|false]
                [--message TEXT] [--pin COMMENT_ID | --unpin] [--end-surge]

Changes an article's controls: only the flags given change.`,
		"page list": `parley page list --site ID [--q TEXT] [--order activity|new] [--limit N] [--cursor C] [--json]

Lists the site's articles with their comments, held and reported counts
and last comment, latest comment first.`,
		"report list": `parley report list --site ID [--cursor C] [--json]

Lists the comments readers reported, the latest reported first.`,
		"report dismiss": `parley report dismiss --site ID COMMENT_ID...

Dismisses the open reports of comments, leaving the comments as they are.`,
		"community show": `parley community show --site ID [--json]

Prints the site's community settings.`,
		"community set": `parley community set --site ID [--report-hide N] [--close-after-days N] [--message TEXT]
                     [--surge-rate N] [--surge-action hold|close] [--surge-minutes N] [--reason TEXT...]
                     [--email-decisions true|false] [--anonymise true|false]

Changes the site's community settings: only the flags given change
(--reason, repeated, replaces the list of reasons). --email-decisions
emails the author of a held comment, if their address is confirmed,
when a moderator publishes it or not (with the reason chosen). --anonymise
keeps a reader's published comments, without their name, when they have
their data erased (parley privacy erase); by default they are deleted.`,
		"rules show": `parley rules show --site ID

Prints the site's own rules as JSON (the --spam-rules file's fields).`,
		"rules set": `parley rules set --site ID --file FILE

Replaces the site's own rules with those of a JSON file of the --spam-rules
file's fields (blocked_words, hold_words, blocked_domains, blocked_emails,
blocked_ips, hold_links, spam_links); - reads standard input.`,
		"author": `parley author --site ID (--comment ID | --key identity:…|email:…|name:…) [--note TEXT] [--json]

Prints an author's history on the site: counts, decisions and sanctions
with who made them, notes; --note adds a note first.`,
		"alert list": `parley alert list --site ID [--all] [--json]

Lists the site's alerts to staff (a surge of comments) not yet dismissed.`,
		"alert dismiss": `parley alert dismiss --site ID ALERT_ID`,
		"comment feature": `parley comment feature --site ID COMMENT_ID...

Features published comments: a badge, and the thread's Featured tab.`,
		"comment unfeature": `parley comment unfeature --site ID COMMENT_ID...`,
		"comment pin": `parley comment pin --site ID COMMENT_ID

Pins a published top-level comment first in its thread.`,
		"comment unpin": `parley comment unpin --site ID COMMENT_ID`,
	} {
		synopses[k] = v
	}
	groups["ban"] = []string{"add", "list", "remove"}
	groups["page"] = []string{"close", "open", "set", "list"}
	groups["report"] = []string{"list", "dismiss"}
	groups["community"] = []string{"show", "set"}
	groups["rules"] = []string{"show", "set"}
	groups["alert"] = []string{"list", "dismiss"}
	groups["comment"] = append(groups["comment"], "feature", "unfeature", "pin", "unpin")
}

// communityCommand runs one of the community commands, or reports that
// args name none.
func communityCommand(ctx context.Context, args []string, stdout, stderr io.Writer) (bool, error) {
	if len(args) == 0 {
		return false, nil
	}
	group := args[0]
	if group == "author" {
		return true, runAuthor(ctx, args[1:], stdout, stderr)
	}
	_, ok := groups[group]
	if !ok || group == "comment" && (len(args) < 2 || !map[string]bool{"feature": true, "unfeature": true, "pin": true, "unpin": true}[args[1]]) {
		return false, nil
	}
	switch group {
	case "ban", "page", "report", "community", "rules", "alert", "comment":
	default:
		return false, nil
	}
	sub, err := subcommand(group, args[1:])
	if err != nil {
		return true, err
	}
	return true, runCommunity(ctx, group, sub, args[2:], stdout, stderr)
}

// communityFlags are every flag the community commands take; each
// subcommand declares only its own.
type communityFlags struct {
	dbo                                     dbOptions
	site, email, domain, ip, identity, cmnt string
	kind, until, reason, message            string
	remove, restore, all, asJSON            bool
	page, q, order, cursor                  string
	limit                                   int
	closeAfter, premod, pin                 string
	unpin, endSurge                         bool
	reportHide, closeDays                   string
	surgeRate, surgeAction, surgeMinutes    string
	emailDecisions, anonymise               string
	reasons                                 listFlag
	newMessage                              optFlag
	file                                    string
}

// listFlag collects a repeated flag.
type listFlag struct {
	v   []string
	set bool
}

func (l *listFlag) String() string { return strings.Join(l.v, ", ") }
func (l *listFlag) Set(v string) error {
	l.v, l.set = append(l.v, v), true
	return nil
}

// optFlag is a string flag that knows whether it was given ("" is a value).
type optFlag struct {
	v   string
	set bool
}

func (o *optFlag) String() string { return o.v }
func (o *optFlag) Set(v string) error {
	o.v, o.set = v, true
	return nil
}

func (f *communityFlags) declare(fs *flag.FlagSet, group, sub string) {
	addDBFlags(fs, &f.dbo)
	fs.StringVar(&f.site, "site", "", "site id")
	name := group + " " + sub
	switch name {
	case "ban add":
		fs.StringVar(&f.email, "email", "", "the reader's email address")
		fs.StringVar(&f.domain, "email-domain", "", "every address at this domain (and its subdomains)")
		fs.StringVar(&f.ip, "ip", "", "an IP address or CIDR range, v4 or v6")
		fs.StringVar(&f.identity, "identity", "", "a log-in, PROVIDER:SUBJECT (comment show prints it)")
		fs.StringVar(&f.cmnt, "comment", "", "the author of this comment (by log-in, else email, else the comment's address)")
		fs.StringVar(&f.kind, "kind", "ban", "ban, suspend (needs --until), premod (hold all their comments) or warn (needs --message)")
		fs.StringVar(&f.until, "until", "", "when it ends, RFC 3339 (2026-06-01T00:00:00Z); none: no end")
		fs.StringVar(&f.reason, "reason", "", "why, for the staff")
		fs.StringVar(&f.message, "message", "", "warn: what the reader is told")
		fs.BoolVar(&f.remove, "remove-comments", false, "also remove their published and held comments (ban remove --restore undoes it)")
		fs.BoolVar(&f.asJSON, "json", false, "print JSON, in the admin API's shape")
	case "ban list", "alert list":
		fs.BoolVar(&f.all, "all", false, "also those ended, lifted or dismissed")
		fs.BoolVar(&f.asJSON, "json", false, "print JSON, in the admin API's shape")
	case "ban remove":
		fs.BoolVar(&f.restore, "restore", false, "also restore the comments it removed")
	case "page close", "page open":
		fs.StringVar(&f.page, "page", "", "the article: its address or page id")
	case "page set":
		fs.StringVar(&f.page, "page", "", "the article: its address or page id")
		fs.StringVar(&f.closeAfter, "close-after", "", "close comments DAYS after the first, never, or site (the site's setting)")
		fs.StringVar(&f.premod, "premod", "", "true: hold every new comment on it; false: not")
		fs.Var(&f.newMessage, "message", "Markdown above its comment form (\"\" for the site's)")
		fs.StringVar(&f.pin, "pin", "", "pin this published top-level comment first")
		fs.BoolVar(&f.unpin, "unpin", false, "unpin its pinned comment")
		fs.BoolVar(&f.endSurge, "end-surge", false, "end its surge guard now")
	case "page list":
		fs.StringVar(&f.q, "q", "", "articles whose title or address contains this")
		fs.StringVar(&f.order, "order", "activity", "activity (latest comment first) or new (newest article first)")
		fs.IntVar(&f.limit, "limit", 50, "at most this many (1 to 500)")
		fs.StringVar(&f.cursor, "cursor", "", "continue from the cursor a previous list printed")
		fs.BoolVar(&f.asJSON, "json", false, "print JSON, in the admin API's shape")
	case "report list":
		fs.StringVar(&f.cursor, "cursor", "", "continue from the cursor a previous list printed")
		fs.BoolVar(&f.asJSON, "json", false, "print JSON, in the admin API's shape")
	case "community show":
		fs.BoolVar(&f.asJSON, "json", false, "print JSON, in the admin API's shape")
	case "community set":
		fs.StringVar(&f.reportHide, "report-hide", "", "hide a comment after reports from this many distinct readers (0 never)")
		fs.StringVar(&f.closeDays, "close-after-days", "", "close an article's comments this many days after its first (0 never)")
		fs.Var(&f.newMessage, "message", "Markdown above every comment form (\"\" for none)")
		fs.StringVar(&f.surgeRate, "surge-rate", "", "start the surge guard at more comments than this a minute on one article (0 off)")
		fs.StringVar(&f.surgeAction, "surge-action", "", "hold (new comments) or close (the article)")
		fs.StringVar(&f.surgeMinutes, "surge-minutes", "", "how long the surge guard stays on")
		fs.Var(&f.reasons, "reason", "a reason for not publishing (repeat; replaces the list)")
		fs.StringVar(&f.emailDecisions, "email-decisions", "", "true: email held comments' authors (confirmed addresses) the decision; false: not")
		fs.StringVar(&f.anonymise, "anonymise", "", "true: a reader's erasure keeps their published comments, anonymous; false: deletes them")
	case "rules set":
		fs.StringVar(&f.file, "file", "", "the rules, as JSON (- for standard input)")
	case "alert dismiss", "report dismiss", "rules show", "comment feature", "comment unfeature", "comment pin", "comment unpin":
	}
}

func runCommunity(ctx context.Context, group, sub string, args []string, stdout, stderr io.Writer) error {
	name := group + " " + sub
	fs := newFlags(name, stderr)
	f := &communityFlags{}
	f.dbo.migrate = true
	f.declare(fs, group, sub)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.site == "" {
		return usageError{name + " needs --site"}
	}
	wantArgs := map[string]int{"ban remove": 1, "alert dismiss": 1, "comment pin": 1, "comment unpin": 1, "report dismiss": -1, "comment feature": -1, "comment unfeature": -1}[name]
	switch {
	case wantArgs == 1 && fs.NArg() != 1:
		return usageError{name + " takes one id"}
	case wantArgs == -1 && fs.NArg() == 0:
		return usageError{name + " needs the ids of the comments"}
	case wantArgs == 0 && fs.NArg() > 0:
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if (group == "page" && sub != "list") && f.page == "" {
		return usageError{name + " needs --page (the article's address or page id)"}
	}
	st, err := openStore(ctx, f.dbo)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := newService(ctx, st, nil)
	if err != nil {
		return err
	}
	op := service.OperatorActor()
	now := time.Now()
	fail := func(err error) error { return cliError(err, f.site) }
	switch name {
	case "ban add":
		n := service.NewSanction{Kind: comment.SanctionKind(f.kind), Reason: f.reason, Message: f.message, RemoveComments: f.remove, FromComment: f.cmnt}
		given := 0
		for _, m := range []struct {
			v string
			k comment.MatchKind
		}{{f.email, comment.MatchEmail}, {f.domain, comment.MatchEmailDomain}, {f.ip, comment.MatchIP}, {f.identity, comment.MatchIdentity}} {
			if m.v != "" {
				n.Match, n.Value = m.k, m.v
				given++
			}
		}
		if f.cmnt != "" {
			given++
		}
		if given != 1 {
			return usageError{"ban add needs one of --email, --email-domain, --ip, --identity or --comment"}
		}
		if f.until != "" {
			if n.Until, err = time.Parse(time.RFC3339, f.until); err != nil {
				return usageError{"--until is a time such as 2026-06-01T00:00:00Z"}
			}
		}
		sn, err := svc.AddSanction(ctx, op, f.site, n)
		if err != nil {
			return fail(err)
		}
		if f.asJSON {
			return printJSON(stdout, admin.ToBanJSON(sn, now))
		}
		fmt.Fprintf(stdout, "%s: %s by %s %s", sn.ID, sn.Kind, sn.Match, sn.Value)
		if !sn.Until.IsZero() {
			fmt.Fprintf(stdout, " until %s", sn.Until.Format(time.RFC3339))
		}
		if sn.Removed > 0 {
			fmt.Fprintf(stdout, "; %d comments removed (ban remove --restore %s puts them back)", sn.Removed, sn.ID)
		}
		fmt.Fprintln(stdout)
		return nil
	case "ban list":
		list, err := svc.Sanctions(ctx, op, f.site, f.all)
		if err != nil {
			return fail(err)
		}
		if f.asJSON {
			out := make([]admin.BanJSON, len(list))
			for i, sn := range list {
				out[i] = admin.ToBanJSON(sn, now)
			}
			return printJSON(stdout, map[string]any{"bans": out})
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tBY\tVALUE\tUNTIL\tREASON\tACTOR\tSTATE")
		for _, sn := range list {
			until, state := "no end", "in force"
			if !sn.Until.IsZero() {
				until = sn.Until.Format(time.DateTime)
			}
			if !sn.Active(now) {
				state = "ended"
				if !sn.Lifted.IsZero() {
					state = "lifted by " + sn.LiftedBy
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sn.ID, sn.Kind, sn.Match, sn.Value, until, oneLine(sn.Reason, 30), sn.Actor, state)
		}
		return tw.Flush()
	case "ban remove":
		_, n, err := svc.LiftSanction(ctx, op, f.site, fs.Arg(0), f.restore)
		if errors.Is(err, comment.ErrNotFound) {
			return fmt.Errorf("site %q has no sanction %s", f.site, fs.Arg(0))
		}
		if errors.Is(err, comment.ErrConflict) {
			return fmt.Errorf("sanction %s was lifted already", fs.Arg(0))
		}
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%s: lifted; %d comments restored\n", fs.Arg(0), n)
		return nil
	case "page close", "page open", "page set":
		ch := service.PageChange{}
		closed := sub == "close"
		if sub != "set" {
			ch.Closed = &closed
		}
		if sub == "set" {
			switch f.closeAfter {
			case "":
			case "site":
				ch.FollowSite = true
			case "never":
				zero := time.Duration(0)
				ch.CloseAfter = &zero
			default:
				days, err := strconv.Atoi(f.closeAfter)
				if err != nil || days < 1 {
					return usageError{"--close-after is a number of days, never or site"}
				}
				d := time.Duration(days) * 24 * time.Hour
				ch.CloseAfter = &d
			}
			if f.premod != "" {
				b, err := strconv.ParseBool(f.premod)
				if err != nil {
					return usageError{"--premod is true or false"}
				}
				ch.Premod = &b
			}
			if f.newMessage.set {
				ch.Message = &f.newMessage.v
			}
			if f.pin != "" {
				ch.Pinned = &f.pin
			} else if f.unpin {
				empty := ""
				ch.Pinned = &empty
			}
			ch.EndSurge = f.endSurge
		}
		a, err := svc.SetPage(ctx, op, f.site, f.page, ch)
		if errors.Is(err, comment.ErrNotFound) {
			return fmt.Errorf("site %q has no article %q with comments", f.site, f.page)
		}
		if err != nil {
			return fail(err)
		}
		printArticle(stdout, a)
		return nil
	case "page list":
		res, err := svc.Articles(ctx, op, f.site, service.ArticleQuery{Order: f.order, Text: f.q, Cursor: f.cursor, Limit: f.limit})
		if err != nil {
			return fail(err)
		}
		if f.asJSON {
			out := make([]admin.PageJSON, len(res.Articles))
			for i, a := range res.Articles {
				out[i] = admin.ToPageJSON(a)
			}
			var next *string
			if res.Next != "" {
				next = &res.Next
			}
			return printJSON(stdout, map[string]any{"pages": out, "next": next})
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ARTICLE\tCOMMENTS\tHELD\tREPORTED\tLAST COMMENT\tSTATE\tADDRESS")
		for _, a := range res.Articles {
			last := "-"
			if !a.LastComment.IsZero() {
				last = a.LastComment.Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\n", oneLine(articleName(a), 40), a.Comments, a.Held, a.Reported, last, articleState(a), a.Thread.URL)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if res.Next != "" {
			fmt.Fprintf(stderr, "more: add --cursor %s\n", res.Next)
		}
		return nil
	case "report list":
		res, err := svc.Reported(ctx, op, f.site, f.cursor, 0)
		if err != nil {
			return fail(err)
		}
		if f.asJSON {
			type rj struct {
				Comment any            `json:"comment"`
				Count   int            `json:"count"`
				Reasons map[string]int `json:"reasons"`
				Texts   []string       `json:"texts"`
			}
			out := []rj{}
			for _, c := range res.Cards {
				r := rj{Comment: admin.CommentJSON(c.Card, nil, "en"), Count: c.Reports.Count, Reasons: map[string]int{}, Texts: c.Reports.Texts}
				for k, n := range c.Reports.Reasons {
					r.Reasons[string(k)] = n
				}
				out = append(out, r)
			}
			return printJSON(stdout, map[string]any{"comments": out})
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tREPORTS\tREASONS\tSTATUS\tAUTHOR\tTEXT")
		for _, c := range res.Cards {
			var reasons []string
			for _, r := range comment.ReportReasons {
				if n := c.Reports.Reasons[r]; n > 0 {
					reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
				}
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", c.Comment.ID, c.Reports.Count, strings.Join(reasons, ", "), c.Comment.Status, oneLine(c.Comment.Author.Name, 20), oneLine(c.Comment.Markdown, 50))
		}
		return tw.Flush()
	case "report dismiss":
		n, err := svc.DismissReports(ctx, op, f.site, fs.Args())
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%d reports dismissed\n", n)
		return nil
	case "community show", "community set":
		c, _, err := svc.CommunitySettings(ctx, op, f.site)
		if err != nil {
			return fail(err)
		}
		if sub == "set" {
			for _, v := range []struct {
				s  string
				to *int
				fl string
			}{{f.reportHide, &c.ReportHide, "report-hide"}, {f.surgeRate, &c.SurgeRate, "surge-rate"}} {
				if v.s != "" {
					if *v.to, err = strconv.Atoi(v.s); err != nil {
						return usageError{"--" + v.fl + " is a whole number"}
					}
				}
			}
			for _, v := range []struct {
				s  string
				to *time.Duration
				u  time.Duration
				fl string
			}{{f.closeDays, &c.CloseAfter, 24 * time.Hour, "close-after-days"}, {f.surgeMinutes, &c.SurgeFor, time.Minute, "surge-minutes"}} {
				if v.s != "" {
					n, err := strconv.Atoi(v.s)
					if err != nil {
						return usageError{"--" + v.fl + " is a whole number"}
					}
					*v.to = time.Duration(n) * v.u
				}
			}
			if f.newMessage.set {
				c.Message = f.newMessage.v
			}
			if f.surgeAction != "" {
				c.SurgeAction = f.surgeAction
			}
			if f.reasons.set {
				c.Reasons = f.reasons.v
			}
			if f.emailDecisions != "" {
				if c.EmailDecisions, err = strconv.ParseBool(f.emailDecisions); err != nil {
					return usageError{"--email-decisions is true or false"}
				}
			}
			if f.anonymise != "" {
				if c.Anonymise, err = strconv.ParseBool(f.anonymise); err != nil {
					return usageError{"--anonymise is true or false"}
				}
			}
			if err := svc.SetCommunitySettings(ctx, op, f.site, *c); err != nil {
				return fail(err)
			}
			if c, _, err = svc.CommunitySettings(ctx, op, f.site); err != nil {
				return err
			}
		}
		if f.asJSON || sub == "set" {
			return printJSON(stdout, admin.ToCommunityJSON(c))
		}
		j := admin.ToCommunityJSON(c)
		fmt.Fprintf(stdout, "hide after reports from:  %d readers (0: never)\nclose comments after:     %d days (0: never)\nsurge guard:              %d comments a minute (0: off), then %s for %d minutes\nmessage:                  %s\nreasons:                  %s\nemail authors decisions:  %t\nerasure:                  anonymise comments: %t\n",
			j.ReportHide, j.CloseAfterDays, j.SurgeRate, j.SurgeAction, j.SurgeMinutes, oneLine(j.Message, 60), strings.Join(j.Reasons, " | "), j.EmailDecisions, j.Anonymise)
		return nil
	case "rules show":
		_, r, err := svc.CommunitySettings(ctx, op, f.site)
		if err != nil {
			return fail(err)
		}
		return printJSON(stdout, admin.ToRulesJSON(r))
	case "rules set":
		var b []byte
		switch f.file {
		case "":
			return usageError{"rules set needs --file (- for standard input)"}
		case "-":
			b, err = io.ReadAll(io.LimitReader(os.Stdin, 8<<20))
		default:
			b, err = os.ReadFile(f.file)
		}
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var in admin.RulesJSON
		if err := dec.Decode(&in); err != nil {
			return usageError{fmt.Sprintf("rules %s: %v", f.file, err)}
		}
		if err := svc.SetSiteRules(ctx, op, f.site, comment.SiteRules(in)); err != nil {
			return fail(err)
		}
		_, r, err := svc.CommunitySettings(ctx, op, f.site)
		if err != nil {
			return err
		}
		return printJSON(stdout, admin.ToRulesJSON(r))
	case "alert list":
		list, err := svc.Alerts(ctx, op, f.site, f.all)
		if err != nil {
			return fail(err)
		}
		if f.asJSON {
			return printJSON(stdout, map[string]any{"alerts": list})
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tWHEN\tKIND\tARTICLE\tRATE/MIN\tTHRESHOLD\tACTION\tUNTIL\tDISMISSED")
		for _, a := range list {
			dismissed := "-"
			if !a.Dismissed.IsZero() {
				dismissed = a.DismissedBy
			}
			title := a.PageTitle
			if title == "" {
				title = a.PageURL
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", a.ID, a.Created.Format(time.DateTime), a.Kind, oneLine(title, 40), a.Rate, a.Threshold, a.Action, a.Until.Format(time.DateTime), dismissed)
		}
		return tw.Flush()
	case "alert dismiss":
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			return usageError{"an alert's id is a number (alert list prints it)"}
		}
		if err := svc.DismissAlert(ctx, op, f.site, id); err != nil {
			if errors.Is(err, comment.ErrNotFound) {
				return fmt.Errorf("site %q has no open alert %d", f.site, id)
			}
			return fail(err)
		}
		fmt.Fprintf(stdout, "alert %d dismissed\n", id)
		return nil
	case "comment feature", "comment unfeature":
		failed := 0
		for _, id := range fs.Args() {
			if _, err := svc.Feature(ctx, op, f.site, id, sub == "feature"); err != nil {
				fmt.Fprintln(stderr, "parley:", id+":", fail(err))
				failed++
				continue
			}
			fmt.Fprintf(stdout, "%s: %sd\n", id, sub)
		}
		if failed > 0 {
			return fmt.Errorf("%d of %d comments not changed", failed, fs.NArg())
		}
		return nil
	case "comment pin", "comment unpin":
		a, err := svc.Pin(ctx, op, f.site, fs.Arg(0), sub == "pin")
		if err != nil {
			return fail(err)
		}
		printArticle(stdout, a)
		return nil
	}
	return usageError{"unknown command " + name}
}

// runAuthor prints an author's history (and adds a note).
func runAuthor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("author", stderr)
	dbo := dbOptions{migrate: true}
	addDBFlags(fs, &dbo)
	site := fs.String("site", "", "site id")
	cmnt := fs.String("comment", "", "the author of this comment")
	key := fs.String("key", "", "or the author named identity:…, email:… or name:…")
	note := fs.String("note", "", "add this note on the author first")
	asJSON := fs.Bool("json", false, "print JSON, in the admin API's shape")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *site == "" || (*cmnt == "") == (*key == "") {
		return usageError{"author needs --site and one of --comment or --key"}
	}
	svc, closeStore, err := openService(ctx, dbo)
	if err != nil {
		return err
	}
	defer closeStore()
	op := service.OperatorActor()
	if *note != "" {
		if _, err := svc.AddNote(ctx, op, *site, *cmnt, *key, *note); err != nil {
			return cliError(err, *site)
		}
	}
	v, err := svc.Author(ctx, op, *site, *cmnt, *key)
	if err != nil {
		return cliError(err, *site)
	}
	if *asJSON {
		bans := make([]admin.BanJSON, len(v.Sanctions))
		for i, sn := range v.Sanctions {
			bans[i] = admin.ToBanJSON(sn, time.Now())
		}
		return printJSON(stdout, map[string]any{"key": v.Key, "name": v.Author.Name, "identity": v.Author.Identity, "email": v.Author.Email,
			"decisions": admin.AuditJSON(v.Decisions, ""), "bans": bans, "notes": v.Notes})
	}
	fmt.Fprintf(stdout, "%s (%s)\n", v.Author.Name, v.Key)
	if h := v.History; h != nil {
		fmt.Fprintf(stdout, "comments: %d approved, %d pending, %d spam, %d deleted; first seen %s\n", h.Counts[comment.StatusApproved], h.Counts[comment.StatusPending],
			h.Counts[comment.StatusSpam], h.Counts[comment.StatusDeleted], h.FirstSeen.Format(time.DateTime))
	}
	fmt.Fprintln(stdout, "\nsanctions:")
	for _, sn := range v.Sanctions {
		state := ""
		if !sn.Lifted.IsZero() {
			state = " (lifted by " + sn.LiftedBy + ")"
		}
		fmt.Fprintf(stdout, "  %s  %s by %s, %s: %s%s\n", sn.Created.Format(time.DateTime), sn.Kind, sn.Match, sn.Actor, oneLine(sn.Reason, 50), state)
	}
	fmt.Fprintln(stdout, "\ndecisions:")
	for _, e := range v.Decisions {
		fmt.Fprintf(stdout, "  %s  %s by %s (%s)\n", e.At.Format(time.DateTime), e.Action, e.ActorName, e.Target)
	}
	fmt.Fprintln(stdout, "\nnotes:")
	for _, n := range v.Notes {
		fmt.Fprintf(stdout, "  %s  %s: %s\n", n.Created.Format(time.DateTime), n.Actor, oneLine(n.Text, 80))
	}
	return nil
}

func articleName(a *service.ArticleView) string {
	if a.Thread.Title != "" {
		return a.Thread.Title
	}
	return a.Thread.URL
}

func articleState(a *service.ArticleView) string {
	var s []string
	switch {
	case a.AutoClosed:
		s = append(s, "closed by itself")
	case a.Closed:
		s = append(s, "closed")
	default:
		s = append(s, "open")
	}
	if a.Controls.Premod {
		s = append(s, "pre-moderated")
	}
	if a.Surge {
		s = append(s, "surge guard ("+a.Controls.SurgeAction+") until "+a.Controls.SurgeUntil.Format(time.DateTime))
	}
	return strings.Join(s, ", ")
}

func printArticle(w io.Writer, a *service.ArticleView) {
	fmt.Fprintf(w, "%s: %s; %d comments, %d held, %d reported\n", articleName(a), articleState(a), a.Comments, a.Held, a.Reported)
}
