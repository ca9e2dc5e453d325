package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"parley/internal/service"
	"parley/internal/web"
)

// synopses are the first lines of each command's --help: how it is
// called and what it does. The flags follow, listed by the command's own
// flag set, so they cannot drift from what it accepts.
var synopses = map[string]string{
	"serve": `parley serve [flags]

Runs the comment server: the widget's API, the server-rendered thread,
log-in, and the demo article with --demo.`,
	"site add": `parley site add --id ID --name NAME --origin URL [--origin URL...] [flags]

Adds a site: the pages on its origins may show and post comments.`,
	"site set": `parley site set --id ID [--add-origin URL...] [--remove-origin URL...] [any flag of site add]

Changes a site's settings: only the flags given change. --add-origin and
--remove-origin change the list of origins; --origin replaces all of it
and prints what it replaced.`,
	"site list": `parley site list [--db DSN]

Lists the sites and their settings.`,
	"site key": `parley site key --id ID

Makes a new key for the site's Akismet-compatible API and prints it; the
old key stops working.`,
	"site sso-secret": `parley site sso-secret --id ID [--remove]

Makes a new secret for the site's own accounts (site SSO) and prints it;
the old secret, and the sessions it started, stop working.`,
	"comment list": `parley comment list --site ID [--status pending|approved|spam|deleted|all] [filters] [--json]

Lists and finds a site's comments (the moderation queue by default).`,
	"comment approve": `parley comment approve --site ID COMMENT_ID...

Publishes comments (the spam filter learns they are fine).`,
	"comment spam": `parley comment spam --site ID COMMENT_ID...

Moves comments to the spam folder (the spam filter learns from it).`,
	"comment delete": `parley comment delete --site ID COMMENT_ID...

Deletes comments.`,
	"comment pending": `parley comment pending --site ID COMMENT_ID...

Holds comments for moderation again.`,
	"comment show": `parley comment show --site ID COMMENT_ID [--json]

Shows one comment with everything moderators see.`,
	"comment ham": `parley comment ham --site ID COMMENT_ID...

Publishes comments the filter took for spam (it learns they are fine).`,
	"comment edit": `parley comment edit --site ID COMMENT_ID [--body-file FILE]

Replaces a comment's text, as a moderator (the text from FILE or standard
input); the audit log keeps the change.`,
	"admin add": `parley admin add --email E [--password-file F] [--name N] [--site ID --role admin|moderator]

Adds a staff member: a server owner without --site, else an admin or
moderator of the site. The password comes from the file or standard input.`,
	"admin password": `parley admin password --email E [--password-file F]

Sets a staff member's password (from the file or standard input).`,
	"admin list": `parley admin list [--site ID]

Lists the staff (of one site with --site).`,
	"token add": `parley token add --site ID --role admin|moderator --name NAME

Makes an admin API token for the site and prints it, once.`,
	"token list": `parley token list --site ID

Lists the site's admin API tokens (not their secrets).`,
	"token remove": `parley token remove --site ID TOKEN_ID

Revokes an admin API token.`,
	"audit": `parley audit --site ID [--actor ACCOUNT_ID] [--action ACTION] [--comment ID] [--limit N] [--json]

Prints the site's audit log of moderation and settings, newest first.`,
	"comment logout": `parley comment logout --site ID COMMENT_ID...

Ends every session, on every device and site, of the logged-in readers
who wrote the comments.`,
	"avatars": `parley avatars --site ID --gravatar URL [--workers 4]

Looks up the pictures of guests who commented before --gravatar was on.`,
	"import": `parley import --site ID --format FORMAT [flags] FILE

Imports another system's export (or restores a Parley export) into a
site; FILE may be - for standard input. Importing twice adds nothing.`,
	"export": `parley export --site ID [--format parley|wxr] [--out FILE]

Writes a site's complete backup (parley) or a WordPress file (wxr).`,
	"backup": `parley backup [--db DSN] FILE

Writes a consistent copy of a running SQLite database to FILE (mode 0600:
it holds log-in and SSO secrets).`,
	"migrate": `parley migrate [--db DSN]

Applies the database's schema migrations.`,
	"migrate-db": `parley migrate-db --from DSN --to DSN

Copies everything from one database into another, empty one (SQLite to
PostgreSQL or back), all or nothing.`,
	"spam train": `parley spam train --out FILE [--group file|folder] [--seed S] DATA...

Trains a spam classifier model on labelled data.`,
	"spam eval": `parley spam eval [--model FILE] [--learn K --seed S] [--json] DATA...

Scores labelled data with a model (the built-in one by default).`,
	"webhook add": `parley webhook add --site ID --url URL [--events comment.created,comment.approved,...] [--with-email]

Adds an outgoing webhook to a site and prints its signing secret (whsec_…,
Standard Webhooks) as the last line; it is not shown again.`,
	"webhook list": `parley webhook list [--site ID] [--json]

Lists the webhooks (of one site with --site), without their secrets.`,
	"webhook remove": `parley webhook remove --site ID WEBHOOK_ID...

Removes webhooks; their deliveries still waiting are dropped.`,
	"webhook deliveries": `parley webhook deliveries --site ID [--webhook ID] [--state pending|sent|failed|dropped]

Lists the site's emails and webhooks in the outbox (one webhook's with
--webhook), newest first: state, tries, answer, last error.`,
	"webhook resend": `parley webhook resend --site ID MESSAGE_ID

Sends a webhook again, with the same webhook-id and body; a running
server sends it.`,
	"version": `parley version

Prints Parley's version.`,
}

// groups are the commands that only name their subcommands.
var groups = map[string][]string{
	"site":    {"add", "set", "list", "key", "sso-secret"},
	"comment": {"list", "show", "approve", "spam", "ham", "delete", "pending", "edit", "logout"},
	"admin":   {"add", "password", "list"},
	"token":   {"add", "list", "remove"},
	"spam":    {"train", "eval"},
	"webhook": {"add", "list", "remove", "deliveries", "resend"},
}

// dsnHelp ends the usage of every command that opens a database.
const dsnHelp = `
DSN is a SQLite file path, sqlite:PATH (default parley.db) or a PostgreSQL
URL postgres://user:password@host:5432/db?sslmode=disable.
`

// helpRequest is what a command returns for -h, -help or --help: run
// prints its text to standard output and exits 0, having done nothing.
type helpRequest struct{ text string }

func (h helpRequest) Error() string { return "help requested" }

// subcommand checks a command group's first argument and returns it:
// help for -h or help, and a usage error naming the group's subcommands
// (groups) when it is missing or unknown.
func subcommand(group string, args []string) (string, error) {
	subs := strings.Join(groups[group], ", ")
	if len(args) == 0 {
		return "", usageError{fmt.Sprintf("%s needs a subcommand: %s", group, subs)}
	}
	if isHelp(args[0]) || args[0] == "help" {
		return "", groupHelp(group)
	}
	if !slices.Contains(groups[group], args[0]) {
		return "", usageError{fmt.Sprintf("unknown %s command %q (%s)", group, args[0], subs)}
	}
	return args[0], nil
}

// groupHelp is the usage of a command with subcommands.
func groupHelp(group string) helpRequest {
	var b strings.Builder
	b.WriteString("Usage:\n")
	for _, sub := range groups[group] {
		first, _, _ := strings.Cut(synopses[group+" "+sub], "\n")
		fmt.Fprintf(&b, "  %s\n", first)
	}
	fmt.Fprintf(&b, "\nRun parley %s COMMAND --help for a command's flags.\n", group)
	if group == "spam" {
		b.WriteString("\n" + spamData)
	}
	return helpRequest{b.String()}
}

// isHelp reports whether arg is a help flag.
func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// commandHelp is the usage of the command whose flag set is fs.
func commandHelp(fs *flag.FlagSet) helpRequest {
	name := strings.TrimPrefix(fs.Name(), "parley ")
	describeEnv(fs)
	var b strings.Builder
	b.WriteString("Usage:\n  ")
	b.WriteString(strings.ReplaceAll(synopses[name], "\n", "\n  "))
	b.WriteString("\n")
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		b.WriteString("\nFlags:\n")
		out := fs.Output()
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
	if fs.Lookup("db") != nil || fs.Lookup("from") != nil {
		b.WriteString(dsnHelp)
	}
	if strings.HasPrefix(name, "spam ") {
		b.WriteString("\n" + spamData)
	}
	return helpRequest{strings.ReplaceAll(b.String(), "\n  \n", "\n\n")}
}

// parseFlags parses a command's flags and then the environment variables
// of those not given (see envFlags). Positional arguments are left in
// fs.Args(); a help flag anywhere, even after them, asks for help.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return commandHelp(fs)
		}
		return usageError{fmt.Sprintf("%v (see %s --help)", err, fs.Name())}
	}
	if slices.ContainsFunc(fs.Args(), isHelp) {
		return commandHelp(fs)
	}
	return applyEnv(fs)
}

// envFlags are the flags an environment variable may set: flag
// "public-url" is PARLEY_PUBLIC_URL. A variable is read by the flag's own
// parser, so a value the flag would refuse stops the start too.
var envFlags = []string{"addr", "db", "public-url", "migrate", "log-format", "log-level", "spam-rules",
	"akismet-key", "akismet-blog", "login-config", "gravatar", "pg-max-conns", "pg-statement-timeout", "trusted-proxy",
	"webhook-allow", "webhook-timeout", "notify-digest", "outbox-give-up", "outbox-retry", "outbox-retry-max", "outbox-workers",
	"metrics-addr", "pprof", "ip-retention"}

// envName is the environment variable of a flag.
func envName(flagName string) string {
	if flagName == "trusted-proxy" {
		return "PARLEY_TRUSTED_PROXIES"
	}
	return "PARLEY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyEnv sets every flag of fs that has an environment variable, and was
// not given on the command line, from that variable when it is set.
func applyEnv(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, name := range envFlags {
		if fs.Lookup(name) == nil || given[name] {
			continue
		}
		env := envName(name)
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return usageError{fmt.Sprintf("environment variable %s=%q: %s", env, v, valueProblem(fs.Lookup(name), err))}
		}
	}
	return nil
}

// valueProblem says what a flag's value must be, where the flag package
// says only "parse error".
func valueProblem(f *flag.Flag, err error) string {
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case bool:
			return "must be true or false"
		case int, int64, uint, uint64:
			return "must be a whole number"
		case time.Duration:
			return "must be a duration such as 5s, 10m or 1h"
		}
	}
	return err.Error()
}

// describeEnv adds "(env PARLEY_X)" to the help of every flag an
// environment variable may set.
func describeEnv(fs *flag.FlagSet) {
	for _, name := range envFlags {
		if f := fs.Lookup(name); f != nil && !strings.Contains(f.Usage, "(env ") {
			f.Usage += " (env " + envName(name) + ")"
		}
	}
}

// quietFlags makes fs print nothing itself: errors reach the user once,
// through run, and help through helpRequest.
func quietFlags(fs *flag.FlagSet) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
}

// checkedString is a string flag whose value is checked when it is set,
// so a bad value in its environment variable is refused as the same
// value on the command line is, naming where it came from.
type checkedString struct {
	v     *string
	check func(string) error
}

func (c checkedString) String() string {
	if c.v == nil {
		return ""
	}
	return *c.v
}

func (c checkedString) Set(s string) error {
	if err := c.check(s); err != nil {
		return err
	}
	*c.v = s
	return nil
}

// checkedFlag defines a string flag whose every value passes check.
func checkedFlag(fs *flag.FlagSet, name, def, usage string, check func(string) error) *string {
	v := def
	fs.Var(checkedString{&v, check}, name, usage)
	return &v
}

// oneOf accepts only the given words.
func oneOf(words ...string) func(string) error {
	return func(s string) error {
		if !slices.Contains(words, s) {
			return fmt.Errorf("must be %s", strings.Join(words, " or "))
		}
		return nil
	}
}

// checkHostPort accepts a listening address, HOST:PORT.
func checkHostPort(s string) error {
	if _, _, err := net.SplitHostPort(s); err != nil {
		return errors.New("must be HOST:PORT, e.g. 127.0.0.1:8080")
	}
	return nil
}

// checkLogLevel accepts debug, info, warn or error.
func checkLogLevel(s string) error {
	var l slog.Level
	if l.UnmarshalText([]byte(s)) != nil {
		return errors.New("must be debug, info, warn or error")
	}
	return nil
}

// checkOrigin accepts "" or an origin such as https://comments.example.com.
func checkOrigin(s string) error {
	if s == "" {
		return nil
	}
	if _, err := service.NormalizeOrigin(s); err != nil {
		return errors.New("must be an origin such as https://comments.example.com")
	}
	return nil
}

// proxiesFlag is --trusted-proxy: repeatable, and each value may list
// several ranges (PARLEY_TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8").
type proxiesFlag struct{ p *web.Proxies }

func (f proxiesFlag) String() string {
	if f.p == nil {
		return ""
	}
	return f.p.String()
}

func (f proxiesFlag) Set(v string) error {
	add, err := web.ParseProxies(v)
	if err != nil {
		return err
	}
	if add.Len() == 0 {
		return errors.New("give an IP address or CIDR range")
	}
	for _, spec := range strings.Split(add.String(), ",") {
		f.p.Add(spec)
	}
	return nil
}
