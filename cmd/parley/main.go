// Command parley runs the Parley comment server and its management
// commands. main only parses flags, opens the store and wires the parts.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"parley/internal/akismet"
	"parley/internal/comment"
	"parley/internal/gravatar"
	"parley/internal/httpapi"
	"parley/internal/login"
	"parley/internal/mail"
	"parley/internal/notify"
	"parley/internal/outbox"
	"parley/internal/ratelimit"
	"parley/internal/retention"
	"parley/internal/service"
	"parley/internal/spam"
	"parley/internal/store"
	"parley/internal/store/postgres"
	"parley/internal/store/sqlite"
	"parley/internal/web"
	"parley/internal/widget"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "parley:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a mistake in the command line; it exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `Parley, a self-hosted comment system.

Usage:
  parley serve [--addr HOST:PORT] [--db DSN] [--demo] [--public-url URL] [--migrate=true]
               [--log-format text|json] [--log-level debug|info|warn|error]
               [--login-config FILE] [--gravatar URL] [--trusted-proxy CIDR,...]
               [--rate-limit-ip 20/15s] [--rate-limit-email 6/1m] [--min-form-age 3s] [--spam-rules FILE]
               [--akismet-key KEY --akismet-blog URL] [--pg-max-conns 10] [--pg-statement-timeout 5s]
               [--webhook-allow HOST,...] [--webhook-timeout 10s] [--notify-digest 15m]
               [--outbox-give-up 72h] [--outbox-retry 5s] [--outbox-retry-max 30m] [--outbox-workers 16]
               [--metrics-addr HOST:PORT [--pprof]]   (Prometheus /metrics and Go's profiler on a private listener)
               [--ip-retention 720h]
  parley site add --id ID --name NAME --origin URL [--origin URL...] [--moderation none|all|first] [--max-depth N]
                  [--edit-window 15m] [--guests anonymous|name_email|login] [--providers all|none|ID,ID...]
                  [--ip-retention 720h|0]
  parley site set --id ID [any flag of site add]   (changes only the flags given)
  parley site sso-secret --id ID [--remove]         (a new secret for the site's own accounts)
  parley site list
  parley site key --id ID      (a new key for the Akismet-compatible API)
  parley comment list --site ID [--status pending|approved|spam|deleted|all] [--q TEXT] [--page URL] [--author A]
                     [--email E] [--ip IP] [--since 1h|24h|7d|TIME] [--until TIME] [--limit N] [--cursor C] [--json]
  parley comment show --site ID COMMENT_ID [--json]
  parley comment approve|spam|ham|delete|pending --site ID COMMENT_ID...
  parley comment edit --site ID COMMENT_ID [--body-file FILE]   (as a moderator; the text from FILE or stdin)
  parley comment logout --site ID COMMENT_ID...   (log the comments' authors out on every device and site)
  parley admin add --email E [--password-file F] [--name N] [--site ID --role admin|moderator]
                  (no --site: a server owner; no --password-file: the password from stdin)
  parley admin password --email E [--password-file F]   (set a staff member's password)
  parley admin list [--site ID]
  parley token add --site ID --role admin|moderator --name NAME   (prints an admin API token)
  parley token list --site ID
  parley token remove --site ID TOKEN_ID
  parley webhook add --site ID --url URL [--events comment.created,comment.approved,...] [--with-email]
                                          (prints the signing secret, whsec_…, as the last line)
  parley webhook list [--site ID] [--json]
  parley webhook remove --site ID WEBHOOK_ID
  parley webhook deliveries --site ID [--webhook ID] [--state pending|sent|failed|dropped]
  parley webhook resend --site ID MESSAGE_ID
  parley audit --site ID [--actor ACCOUNT_ID] [--action ACTION] [--comment ID] [--limit N] [--json]
  parley ban add --site ID (--email E | --email-domain D | --ip CIDR | --identity PROVIDER:SUBJECT | --comment ID)
                 [--kind ban|suspend|premod|warn] [--until RFC3339] [--reason TEXT] [--message TEXT] [--remove-comments]
  parley ban list --site ID [--all] [--json]
  parley ban remove --site ID [--restore] BAN_ID
  parley page close|open --site ID --page URL
  parley page set --site ID --page URL [--close-after DAYS|site|never] [--premod=BOOL] [--message TEXT] [--pin ID|--unpin]
  parley page list --site ID [--q TEXT] [--order activity|new] [--cursor C] [--json]
  parley comment feature|unfeature|pin|unpin --site ID COMMENT_ID...
  parley report list|dismiss --site ID [COMMENT_ID...]
  parley community show|set --site ID [--report-hide N] [--close-after-days N] [--surge-rate N] [--reason TEXT...]
  parley rules show|set --site ID [--file FILE]   (the site's own words, domains, addresses, link limits)
  parley author --site ID (--comment ID | --key KEY) [--note TEXT] [--json]   (history, sanctions, notes)
  parley alert list|dismiss --site ID [ALERT_ID]
  parley avatars --site ID --gravatar URL [--workers 4]   (pictures of guests who commented before --gravatar)
  parley import --site ID --format wxr|disqus|remark42|isso|commento|parley [--url-map FILE] [--rewrite OLD=NEW]
                [--keep-deleted] [--by-page-id] [--json] FILE
  parley export --site ID [--format parley|wxr] [--out FILE]
  parley privacy export (--email E | --identity ID) [--site ID] [--out FILE]   (all kept about a reader, JSON)
  parley privacy erase (--email E | --identity ID) [--site ID] [--anonymise]   (erase it)
  parley backup FILE           (a consistent copy of a running SQLite database, mode 0600)
  parley spam train --out FILE [--seed N] DATA...
  parley spam eval [--model FILE] [--learn K --seed S] [--json] DATA...
  parley migrate
  parley migrate-db --from DSN --to DSN
  parley version

Every command that opens a database takes --db DSN: a SQLite file path,
sqlite:PATH (default parley.db) or a PostgreSQL URL
postgres://user:password@host:5432/db?sslmode=disable, and --pg-max-conns
and --pg-statement-timeout for PostgreSQL.
Environment: PARLEY_ADDR, PARLEY_DB, PARLEY_PUBLIC_URL, PARLEY_MIGRATE, PARLEY_LOG_FORMAT,
PARLEY_LOG_LEVEL, PARLEY_LOGIN_CONFIG, PARLEY_GRAVATAR, PARLEY_TRUSTED_PROXIES, PARLEY_SPAM_RULES,
PARLEY_AKISMET_KEY, PARLEY_AKISMET_BLOG, PARLEY_PG_MAX_CONNS, PARLEY_PG_STATEMENT_TIMEOUT,
PARLEY_WEBHOOK_ALLOW, PARLEY_WEBHOOK_TIMEOUT, PARLEY_NOTIFY_DIGEST, PARLEY_OUTBOX_GIVE_UP, PARLEY_OUTBOX_RETRY,
PARLEY_OUTBOX_RETRY_MAX, PARLEY_OUTBOX_WORKERS, PARLEY_METRICS_ADDR, PARLEY_PPROF, PARLEY_IP_RETENTION: each sets
the flag of that name when the flag is not given, and is checked as strictly.
Run parley COMMAND --help for a command's flags.
`

// run runs one command; a command asked for help prints its usage to
// stdout instead, and does nothing else.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := runCommand(ctx, args, stdout, stderr)
	var h helpRequest
	if errors.As(err, &h) {
		fmt.Fprint(stdout, h.text)
		return nil
	}
	return err
}

func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	if ok, err := communityCommand(ctx, args, stdout, stderr); ok { // community.go
		return err
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "site":
		return runSite(ctx, args[1:], stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr)
	case "spam":
		return runSpam(ctx, args[1:], stdout, stderr)
	case "comment":
		return runComment(ctx, args[1:], stdout, stderr)
	case "import":
		return runImport(ctx, args[1:], stdout, stderr)
	case "export":
		return runExport(ctx, args[1:], stdout, stderr)
	case "backup":
		return runBackup(ctx, args[1:], stdout, stderr)
	case "avatars":
		return runAvatars(ctx, args[1:], stdout, stderr)
	case "admin":
		return runAdmin(ctx, args[1:], stdout, stderr)
	case "token":
		return runToken(ctx, args[1:], stdout, stderr)
	case "audit":
		return runAudit(ctx, args[1:], stdout, stderr)
	case "webhook":
		return runWebhook(ctx, args[1:], stdout, stderr)
	case "privacy":
		return runPrivacy(ctx, args[1:], stdout, stderr)
	case "migrate-db":
		return runMigrateDB(ctx, args[1:], stdout, stderr)
	case "version":
		if err := parse(newFlags("version", stderr), args[1:]); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "parley", version)
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

// newFlags returns a flag set that reports errors instead of exiting, and
// prints nothing itself (see parseFlags).
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("parley "+name, flag.ContinueOnError)
	quietFlags(fs)
	return fs
}

// parse parses a command's flags (and their environment variables) and
// refuses arguments after them.
func parse(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// dbOptions are the database settings every command takes.
type dbOptions struct {
	dsn              string
	migrate          bool
	maxConns         int
	statementTimeout time.Duration
	log              *slog.Logger
	serve            bool // the server, not a short-lived command
}

// addDBFlags registers --db and the PostgreSQL pool settings on fs.
func addDBFlags(fs *flag.FlagSet, o *dbOptions) {
	fs.StringVar(&o.dsn, "db", "parley.db", "database: SQLite file path, sqlite:PATH, or postgres://user@host/db")
	fs.IntVar(&o.maxConns, "pg-max-conns", 10, "PostgreSQL: connections in the pool")
	fs.DurationVar(&o.statementTimeout, "pg-statement-timeout", 5*time.Second, "PostgreSQL: longest a statement may run")
}

// isPostgres reports whether a DSN names a PostgreSQL database.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// openStore opens the database a DSN names.
func openStore(ctx context.Context, o dbOptions) (store.Store, error) {
	if isPostgres(o.dsn) {
		return postgres.Open(ctx, o.dsn, postgres.Options{Migrate: o.migrate, MaxConns: o.maxConns, StatementTimeout: o.statementTimeout, Logger: o.log})
	}
	return sqlite.Open(ctx, strings.TrimPrefix(o.dsn, "sqlite:"), sqlite.Options{Migrate: o.migrate, Command: !o.serve})
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	addr := checkedFlag(fs, "addr", "127.0.0.1:8080", "`HOST:PORT` to listen on", checkHostPort)
	var err error
	var dbo dbOptions
	addDBFlags(fs, &dbo)
	demo := fs.Bool("demo", false, "serve a demo article at / with the comment section of site \"demo\"")
	publicURL := checkedFlag(fs, "public-url", "", "`URL` readers reach Parley at, e.g. https://comments.example.com (default: from each request's Host)", checkOrigin)
	fs.BoolVar(&dbo.migrate, "migrate", true, "apply database migrations on start")
	logFormat := checkedFlag(fs, "log-format", "text", "log `format`: text or json", oneOf("text", "json"))
	logLevel := checkedFlag(fs, "log-level", "info", "log `level`: debug, info, warn or error", checkLogLevel)
	sc := defaultSpamConfig
	fs.Var(limitFlag{&sc.perIP}, "rate-limit-ip", "comments per client address: BURST/EVERY, or 0 for no limit")
	fs.Var(limitFlag{&sc.perEmail}, "rate-limit-email", "comments per author email: BURST/EVERY, or 0 for no limit")
	fs.StringVar(&sc.rulesFile, "spam-rules", "", "JSON file of spam rules: blocked words, domains, emails, IP ranges, link limits (see README)")
	fs.DurationVar(&sc.minFormAge, "min-form-age", spam.DefaultMinFormAge, "hold no-JavaScript form posts sent sooner than this after the form was shown (0: off)")
	fs.StringVar(&sc.akismetKey, "akismet-key", "", "Akismet API key: ask Akismet as one more spam layer (secret)")
	fs.StringVar(&sc.akismetBlog, "akismet-blog", "", "the site URL the Akismet key is registered for")
	loginFile := fs.String("login-config", "", "JSON file of log-in providers and the SMTP server for email links (see README)")
	var proxies web.Proxies
	fs.Var(proxiesFlag{&proxies}, "trusted-proxy", "`CIDR` or address of a reverse proxy or CDN in front of Parley: its X-Forwarded-For and X-Forwarded-Proto say who the reader is (repeatable, or comma-separated; default: none)")
	gravatarURL := fs.String("gravatar", "", "show guests' pictures from this Gravatar-compatible service, fetched by Parley, e.g. https://gravatar.com/avatar/ (default: identicons only)")
	var nf notifyFlags
	addNotifyFlags(fs, &nf)
	var of operatorFlags
	addOperatorFlags(fs, &of) // operator.go
	ipRetention := checkedFlag(fs, "ip-retention", "720h", "how long comments keep their address hash and user agent before both are reduced (sites may set their own: parley site set --ip-retention), between 1h and 17520h", checkRetention)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := of.check(); err != nil {
		return err
	}
	keepIPs, _ := time.ParseDuration(*ipRetention)
	var lc login.Config
	if *loginFile != "" {
		if lc, err = login.LoadFile(*loginFile); err != nil {
			return usageError{err.Error()}
		}
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	if lc.SMTP != nil && *publicURL == "" {
		return usageError{"log-in by email needs --public-url: the links in the emails point there"}
	}

	dbo.log, dbo.serve = log, true
	st, err := openStore(ctx, dbo)
	if err != nil {
		return err
	}
	defer st.Close()
	if sc.akismetKey != "" && sc.akismetBlog == "" {
		return usageError{"--akismet-key needs --akismet-blog, the site URL the key is registered for"}
	}
	var finder *gravatar.Finder
	var pictures service.Pictures // nil, not a nil *Finder, when off
	if *gravatarURL != "" {
		if finder, err = gravatar.New(gravatar.Config{URL: *gravatarURL, Store: st, Logger: log}); err != nil {
			return usageError{"--gravatar: " + strings.TrimPrefix(err.Error(), "gravatar: ")}
		}
		pictures = finder
	}
	// One mail server for every email: log-in links and the outbox.
	var mailer mail.Mailer
	if lc.SMTP != nil {
		m, err := mail.NewSMTP(*lc.SMTP)
		if err != nil {
			return usageError{err.Error()}
		}
		defer m.Close()
		mailer, lc.Mailer = m, m
	}
	// The demo needs the address it is served at (Demo ID's issuer, the
	// email links), so the listener comes first.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	defer ln.Close()
	bound := ln.Addr().String()
	linksURL := *publicURL
	var demoRoutes http.Handler
	if *demo {
		d, err := newDemo(bound, *publicURL, log, &lc)
		if err != nil {
			return err
		}
		demoRoutes = d.Handler()
		if mailer == nil {
			mailer = lc.Mailer
		}
		linksURL = lc.PublicURL
	}
	notifications, worker, err := newNotifications(ctx, st, log, nf, mailer, linksURL)
	if err != nil {
		return err
	}
	m := of.newMetrics() // nil without --metrics-addr
	opt := service.Options{Pictures: pictures, Notify: notifications, IPRetention: keepIPs}
	if m != nil {
		opt.Posted = m.Posted
	}
	svc, err := newServiceWith(ctx, st, log, sc, opt)
	if err != nil {
		return err
	}
	lc.PublicURL, lc.Logger = linksURL, log
	if pg, ok := st.(*postgres.DB); ok {
		lc.Buckets = pgBuckets{pg}
	}
	logins, err := login.New(ctx, svc, st, lc)
	if err != nil {
		return err
	}
	if *loginFile != "" {
		log.Info("log-in configured", slog.String("config", lc.String()))
	}
	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	go svc.Run(runCtx)
	// One instance at a time forgets what is kept only for a while.
	go retention.New(retention.Config{Store: st, IPRetention: keepIPs, OutboxKeep: outbox.DefaultKeep,
		EventKeep: service.EventRetention, Logger: log}).Run(runCtx)
	outboxDone := make(chan struct{})
	go func() { defer close(outboxDone); worker.Run(runCtx) }()
	defer func() {
		// Emails and webhooks under way finish (each within its timeout);
		// the rest wait in the outbox for the next start.
		stopRun()
		select {
		case <-outboxDone:
		case <-time.After(20 * time.Second):
		}
	}()
	if finder != nil {
		go finder.Run(runCtx)
		log.Info("guests' pictures are looked up", slog.String("service", *gravatarURL),
			slog.String("earlier_guests", "parley avatars --site ID --gravatar "+*gravatarURL))
	}
	assets, err := widget.New()
	if err != nil {
		return err
	}

	if *demo {
		if err := ensureDemoSite(ctx, svc, bound, *publicURL); err != nil {
			ln.Close()
			return err
		}
	}
	desk, err := newDesk(svc, st, logins, *publicURL, log, web.ClientIP) // behind trusted proxies, the forwarded client
	if err != nil {
		ln.Close()
		return err
	}
	api := httpapi.New(svc, assets, log, httpapi.Config{
		PublicURL: *publicURL, Demo: *demo, DemoSite: "demo", DemoRoutes: demoRoutes, AkismetUpstream: sc.akismetKey != "", OutboxKeep: outbox.DefaultKeep,
		// Any Akismet client (a WordPress site's) can use Parley's filter.
		Akismet:    akismet.New(svc, log),
		Login:      logins,
		Gravatar:   *gravatarURL,
		Proxies:    &proxies,
		Admin:      desk.Handler(),
		StaffLogin: desk.FinishProvider,
		Metrics:    m,
	})
	var op *operatorServer
	if m != nil {
		watch(m, st, api)
		if op, err = startOperator(of, m, log); err != nil {
			ln.Close()
			return err
		}
	}
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(api.StopStreams)
	shown := "http://" + displayAddr(bound)
	if *publicURL != "" {
		shown = *publicURL
	}
	log.Info("parley started", slog.String("addr", bound), slog.String("db", redactDSN(dbo.dsn)), slog.Bool("demo", *demo), slog.String("version", version),
		slog.String("trusted_proxies", proxies.String()))
	if *demo {
		fmt.Fprintf(stdout, "Parley is running. Open %s/ to see the demo article.\n", shown)
	} else {
		fmt.Fprintf(stdout, "Parley is running at %s\n", shown)
	}
	if op != nil {
		fmt.Fprintf(stdout, "Metrics at http://%s/metrics\n", op.addr)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go func() {
		// Start is over: give back what only it used (releaseStartPages).
		n, err := releaseStartPages()
		if err != nil {
			log.Warn("could not give back start-up memory", slog.String("err", err.Error()))
			return
		}
		log.Debug("gave back start-up memory", slog.Int("mapped_bytes", n))
	}()
	select {
	case err := <-errc:
		op.shutdown(context.Background())
		return err
	case err := <-op.failed():
		srv.Close()
		return fmt.Errorf("operator listener: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	op.shutdown(sctx)
	return srv.Shutdown(sctx)
}

// newService wires the service with the spam defence every command
// shares: serving judges new comments, moderating teaches the classifier.
func newService(ctx context.Context, st store.Store, log *slog.Logger) (*service.Service, error) {
	// The links' key, so that what the command writes (a restored
	// subscription) agrees with the server's links.
	var notifications *service.NotifyOptions
	if key, err := notifyKey(ctx, st); err == nil {
		if links, err := notify.NewLinks(key, ""); err == nil {
			notifications = &service.NotifyOptions{Links: links}
		}
	}
	return newServiceWith(ctx, st, log, defaultSpamConfig, service.Options{Notify: notifications})
}

// spamConfig is the spam defence's part of the configuration.
type spamConfig struct {
	akismetKey, akismetBlog string
	perIP, perEmail         ratelimit.Limit
	minFormAge              time.Duration
	rulesFile               string
}

// defaultSpamConfig is what commands other than serve use.
var defaultSpamConfig = spamConfig{perIP: spam.DefaultIPLimit, perEmail: spam.DefaultEmailLimit, minFormAge: spam.DefaultMinFormAge}

// limitFlag parses a rate limit written BURST/EVERY ("20/15s"); "0"
// turns the limit off.
type limitFlag struct{ l *ratelimit.Limit }

func (f limitFlag) String() string {
	if f.l == nil || f.l.Burst == 0 {
		return "0"
	}
	return fmt.Sprintf("%d/%s", f.l.Burst, f.l.Every)
}

func (f limitFlag) Set(v string) error {
	if v == "0" || v == "off" {
		*f.l = ratelimit.Limit{}
		return nil
	}
	b, e, ok := strings.Cut(v, "/")
	burst, err1 := strconv.Atoi(b)
	every, err2 := time.ParseDuration(e)
	if !ok || err1 != nil || err2 != nil || burst < 1 || every <= 0 {
		return fmt.Errorf("write a rate limit as BURST/EVERY, e.g. 20/15s (or 0 for none)")
	}
	*f.l = ratelimit.Limit{Burst: burst, Every: every}
	return nil
}

// newServiceWith wires the service with sc's spam defence and the log-in
// check of guests' addresses around opt (pictures, notifications, the
// metrics' hook, the retention period).
func newServiceWith(ctx context.Context, st store.Store, log *slog.Logger, sc spamConfig, opt service.Options) (*service.Service, error) {
	// Model left nil: the built-in one, read on the first comment.
	so := &service.SpamOptions{Buckets: ratelimit.NewMemory(100_000), PerIP: sc.perIP, PerEmail: sc.perEmail, MinFormAge: sc.minFormAge}
	if sc.rulesFile != "" {
		if err := loadSpamRules(sc.rulesFile, so); err != nil {
			return nil, err
		}
	}
	if sc.minFormAge == 0 {
		so.MinFormAge = -1 // off
	}
	if pg, ok := st.(*postgres.DB); ok {
		// Several instances share one database: rate limits must hold
		// across them, so the buckets live there too.
		so.Buckets = pgBuckets{pg}
	}
	if sc.akismetKey != "" {
		so.Akismet = &spam.AkismetChecker{Key: sc.akismetKey, Blog: sc.akismetBlog}
	}
	verified, err := login.NewVerified(ctx, st)
	if err != nil {
		return nil, err
	}
	opt.Logger, opt.Spam, opt.Verified, opt.VerifiedKey = log, so, verified.Verified, verified.Key
	return service.New(ctx, st, opt)
}

// spamRulesFile is the --spam-rules file.
type spamRulesFile struct {
	HoldLinks      int      `json:"hold_links"`
	SpamLinks      int      `json:"spam_links"`
	BlockedWords   []string `json:"blocked_words"`
	HoldWords      []string `json:"hold_words"`
	BlockedDomains []string `json:"blocked_domains"`
	BlockedEmails  []string `json:"blocked_emails"`
	BlockedIPs     []string `json:"blocked_ips"`
	// DiscardTrapped drops bots caught by the honeypot instead of keeping
	// them in the spam folder.
	DiscardTrapped bool `json:"discard_trapped"`
}

func loadSpamRules(path string, opt *service.SpamOptions) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f spamRulesFile
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("spam rules %s: %w", path, err)
	}
	opt.Rules = spam.Rules{HoldLinks: f.HoldLinks, SpamLinks: f.SpamLinks, BlockedWords: f.BlockedWords, HoldWords: f.HoldWords,
		BlockedDomains: f.BlockedDomains, BlockedEmails: f.BlockedEmails, BlockedIPs: f.BlockedIPs}
	opt.DiscardTrapped = f.DiscardTrapped
	// Check them now, so a typo in an IP range stops the start, not a post.
	if _, err := spam.NewRuleChecker(opt.Rules, nil); err != nil {
		return fmt.Errorf("spam rules %s: %w", path, err)
	}
	return nil
}

// pgBuckets keeps rate limits in PostgreSQL.
type pgBuckets struct{ db *postgres.DB }

func (b pgBuckets) Take(ctx context.Context, key string, l ratelimit.Limit, now time.Time) (bool, time.Duration, error) {
	return b.db.TakeToken(ctx, key, l.Burst, l.Every, now)
}

// displayAddr turns a listening address into one a browser can open.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// ensureDemoSite makes sure the demo site exists and accepts comments
// from the address the server listens on.
func ensureDemoSite(ctx context.Context, svc *service.Service, bound, publicURL string) error {
	origins := demoOrigins(bound, publicURL)
	site, err := svc.DeskSite(ctx, service.OperatorActor(), "demo")
	if errors.Is(err, comment.ErrNotFound) {
		return svc.CreateSite(ctx, service.OperatorActor(), &comment.Site{ID: "demo", Name: "The Riverton Ledger", Origins: origins, EditWindow: comment.DefaultEditWindow})
	}
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, o := range site.Origins {
		have[o] = true
	}
	changed := false
	for _, o := range origins {
		if n, err := service.NormalizeOrigin(o); err == nil && !have[n] {
			site.Origins = append(site.Origins, n)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return svc.UpdateSite(ctx, service.OperatorActor(), site)
}

// checkRetention checks --ip-retention: a duration from an hour to two
// years.
func checkRetention(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Hour || d > service.MaxIPRetention {
		return fmt.Errorf("write a duration from 1h to %s, e.g. 720h for 30 days", service.MaxIPRetention)
	}
	return nil
}

// redactDSN hides a password in a database URL before it is logged.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return dsn
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Sprintf("unknown log level %q", level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Sprintf("unknown log format %q (text or json)", format)}
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	var dbo dbOptions
	addDBFlags(fs, &dbo)
	if err := parse(fs, args); err != nil {
		return err
	}
	dbo.migrate = true
	st, err := openStore(ctx, dbo)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "database is up to date")
	return st.Close()
}

// editOrigins adds and removes origins from a site's list, in that order
// of the list, each written as an origin; removing one the site does not
// have, or the last one, is an error rather than a silent no-op.
func editOrigins(have, add, remove []string) ([]string, error) {
	out := slices.Clone(have)
	for _, o := range add {
		n, err := service.NormalizeOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("--add-origin: %v", err.(*comment.ValidationError).Message)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	for _, o := range remove {
		n, err := service.NormalizeOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("--remove-origin: %v", err.(*comment.ValidationError).Message)
		}
		i := slices.Index(out, n)
		if i < 0 {
			return nil, fmt.Errorf("--remove-origin %s: the site does not have that origin (it has %s)", n, strings.Join(out, " "))
		}
		out = slices.Delete(out, i, i+1)
	}
	if len(out) == 0 {
		return nil, errors.New("--remove-origin would leave the site with no origin: add another first")
	}
	return out, nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func runSite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if _, err := subcommand("site", args); err != nil {
		return err
	}
	fs := newFlags("site "+args[0], stderr)
	dbo := dbOptions{migrate: true}
	addDBFlags(fs, &dbo)
	switch args[0] {
	case "add", "set":
		id := fs.String("id", "", "site id, used in the embed code (letters, digits, - and _)")
		name := fs.String("name", "", "site name shown to readers")
		var origins, addOrigins, removeOrigins stringList
		fs.Var(&origins, "origin", "allowed origin, e.g. https://news.example (repeatable); with set, replaces every origin the site had")
		if args[0] == "set" {
			fs.Var(&addOrigins, "add-origin", "allow one more origin, keeping the others (repeatable)")
			fs.Var(&removeOrigins, "remove-origin", "stop allowing an origin, keeping the others (repeatable)")
		}
		depth := fs.Int("max-depth", comment.DefaultMaxDepth, "how deep replies nest")
		moderation := fs.String("moderation", "none", "hold comments for moderation: none, all or first")
		editWindow := fs.Duration("edit-window", comment.DefaultEditWindow, "how long authors may edit or delete their comments (0: never)")
		guests := fs.String("guests", "name_email", "readers who do not log in: anonymous (name and email optional), name_email (required) or login (must log in)")
		ipRetention := fs.Duration("ip-retention", 0, "how long the site's comments keep their address hash and user agent, 1h to 17520h (0: the server's --ip-retention)")
		providers := fs.String("providers", "all", "log-ins the site offers, in order: provider ids and email, comma-separated (all: every one the server has; none: no log-in)")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if *id == "" {
			return usageError{"site " + args[0] + " needs --id"}
		}
		svc, closeStore, err := openService(ctx, dbo)
		if err != nil {
			return err
		}
		defer closeStore()
		site := &comment.Site{ID: *id}
		if args[0] == "set" {
			if site, err = svc.DeskSite(ctx, service.OperatorActor(), *id); errors.Is(err, comment.ErrNotFound) {
				return fmt.Errorf("there is no site %q", *id)
			} else if err != nil {
				return err
			}
		}
		var bad error
		set := func(flagName string) bool {
			if args[0] == "add" {
				return true
			}
			given := false
			fs.Visit(func(f *flag.Flag) { given = given || f.Name == flagName })
			return given
		}
		if set("name") {
			site.Name = *name
		}
		replaced := ""
		if set("origin") {
			if (len(addOrigins) > 0 || len(removeOrigins) > 0) && args[0] == "set" {
				return usageError{"--origin replaces every origin: use it alone, or --add-origin and --remove-origin"}
			}
			if args[0] == "set" {
				replaced = strings.Join(site.Origins, " ")
			}
			site.Origins = origins
		}
		if args[0] == "set" {
			var err error
			if site.Origins, err = editOrigins(site.Origins, addOrigins, removeOrigins); err != nil {
				return usageError{err.Error()}
			}
		}
		if set("max-depth") {
			site.MaxDepth = *depth
		}
		if set("moderation") {
			site.Moderation = comment.Moderation(*moderation)
		}
		if set("edit-window") {
			site.EditWindow = *editWindow
		}
		if set("guests") {
			site.Guests, bad = comment.ParseGuestPolicy(*guests)
		}
		if set("providers") {
			site.Providers = parseProviders(*providers)
		}
		if set("ip-retention") {
			site.IPRetention = *ipRetention
		}
		if bad != nil {
			return usageError{bad.Error()}
		}
		if err := service.NormalizeSite(site); err != nil {
			return usageError{err.Error()}
		}
		if args[0] == "set" {
			if err := svc.UpdateSite(ctx, service.OperatorActor(), site); err != nil {
				return err
			}
			if replaced != "" {
				fmt.Fprintf(stdout, "origins of site %q replaced: was %s, now %s\n", site.ID, replaced, strings.Join(site.Origins, " "))
			} else if len(addOrigins)+len(removeOrigins) > 0 {
				fmt.Fprintf(stdout, "origins of site %q: %s\n", site.ID, strings.Join(site.Origins, " "))
			}
			fmt.Fprintf(stdout, "site %q updated (other running instances see it within %s)\n", site.ID, service.SiteCacheTTL)
			return nil
		}
		if err := svc.CreateSite(ctx, service.OperatorActor(), site); err != nil {
			if errors.Is(err, comment.ErrConflict) {
				return fmt.Errorf("a site with id %q already exists", *id)
			}
			return err
		}
		fmt.Fprintf(stdout, "site %q added\n", site.ID)
		return nil
	case "sso-secret":
		id := fs.String("id", "", "site id")
		remove := fs.Bool("remove", false, "remove the secret: the site's own accounts can no longer log in")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if *id == "" {
			return usageError{"site sso-secret needs --id"}
		}
		svc, closeStore, err := openService(ctx, dbo)
		if err != nil {
			return err
		}
		defer closeStore()
		secret, n, err := svc.SetSSOSecret(ctx, service.OperatorActor(), *id, *remove)
		if errors.Is(err, comment.ErrNotFound) {
			return fmt.Errorf("there is no site %q", *id)
		} else if err != nil {
			return err
		}
		if n > 0 {
			fmt.Fprintf(stderr, "%d session(s) of the site's own accounts ended; its readers log in again with the new secret.\n", n)
		}
		if *remove {
			fmt.Fprintf(stdout, "site %q has no SSO secret any more\n", *id)
			return nil
		}
		fmt.Fprintf(stdout, "%s\n", secret)
		fmt.Fprintf(stderr, "This is the new SSO secret of site %q: the site's server signs its readers' tokens with it (see README, \"Site SSO\"); any older secret no longer works. Keep it on the server, never in a page.\n", *id)
		return nil
	case "key":
		id := fs.String("id", "", "site id")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if *id == "" {
			return usageError{"site key needs --id"}
		}
		svc, closeStore, err := openService(ctx, dbo)
		if err != nil {
			return err
		}
		defer closeStore()
		key, err := svc.NewAPIKey(ctx, service.OperatorActor(), *id)
		if errors.Is(err, comment.ErrNotFound) {
			return fmt.Errorf("there is no site %q", *id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", key)
		fmt.Fprintf(stderr, "This is the new API key of site %q for Akismet clients; any older key no longer works. Only its hash is stored: keep it somewhere safe.\n", *id)
		return nil
	case "list":
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		st, err := openStore(ctx, dbo)
		if err != nil {
			return err
		}
		defer st.Close()
		sites, err := st.Sites(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tORIGINS\tMODERATION\tMAX DEPTH\tEDIT WINDOW\tGUESTS\tLOG-INS\tSSO\tIP RETENTION")
		for _, s := range sites {
			logins := "all"
			if s.Providers != nil {
				logins = strings.Join(s.Providers, ",")
				if logins == "" {
					logins = "none"
				}
			}
			sso := "no"
			if s.SSOSecret != "" {
				sso = "yes"
			}
			keep := "server's"
			if s.IPRetention > 0 {
				keep = s.IPRetention.String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Name, strings.Join(s.Origins, " "), s.Moderation, s.MaxDepth, s.EditWindow, s.Guests, logins, sso, keep)
		}
		return tw.Flush()
	}
	return usageError{fmt.Sprintf("unknown site command %q (add, set, list, key or sso-secret)", args[0])}
}

// parseProviders reads --providers: "all" is nil (every provider the
// server has), "none" an empty list.
func parseProviders(v string) []string {
	switch strings.TrimSpace(v) {
	case "all":
		return nil
	case "none", "":
		return []string{}
	}
	out := []string{}
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// openService opens the database a command names and the service over it,
// for commands that change data through the service's rules; close closes
// the store.
func openService(ctx context.Context, dbo dbOptions) (svc *service.Service, close func(), err error) {
	st, err := openStore(ctx, dbo)
	if err != nil {
		return nil, nil, err
	}
	if svc, err = newService(ctx, st, nil); err != nil {
		st.Close()
		return nil, nil, err
	}
	return svc, func() { st.Close() }, nil
}
