package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"parley/internal/comment"
	"parley/internal/login"
	"parley/internal/mail"
	"parley/internal/notify"
	"parley/internal/outbox"
	"parley/internal/safehttp"
	"parley/internal/service"
	"parley/internal/store"
	"parley/internal/webhook"
)

// notifyFlags are serve's settings of emails and webhooks.
type notifyFlags struct {
	webhookAllow   string
	webhookTimeout time.Duration
	digest         time.Duration
	giveUp         time.Duration
	retryMin       time.Duration
	retryMax       time.Duration
	workers        int
}

func addNotifyFlags(fs *flag.FlagSet, f *notifyFlags) {
	addWebhookAllow(fs, &f.webhookAllow)
	fs.DurationVar(&f.webhookTimeout, "webhook-timeout", webhook.DefaultTimeout, "longest a webhook delivery may take")
	fs.DurationVar(&f.digest, "notify-digest", 15*time.Minute, "email a reader at most once per this about one site; replies arriving sooner go out together as a digest (0: one email per comment)")
	fs.DurationVar(&f.giveUp, "outbox-give-up", notify.DefaultGiveUp, "give an email or webhook up when it could not be sent for this long (the desk shows it)")
	fs.DurationVar(&f.retryMin, "outbox-retry", outbox.DefaultRetryMin, "first wait before a failed email or webhook is tried again (it doubles each time, with jitter)")
	fs.DurationVar(&f.retryMax, "outbox-retry-max", outbox.DefaultRetryMax, "longest wait between tries")
	fs.IntVar(&f.workers, "outbox-workers", outbox.DefaultWorkers, "emails and webhooks sent at once")
}

// addWebhookAllow defines --webhook-allow, checked as it is set.
func addWebhookAllow(fs *flag.FlagSet, v *string) {
	*v = ""
	fs.Var(checkedString{v, func(s string) error { _, err := safehttp.ParseHosts(s); return err }}, "webhook-allow",
		"`HOST,...` that webhooks may reach over plain http and on private or loopback addresses (default: none; https to public addresses only)")
}

// webhookPolicy reads --webhook-allow.
func webhookPolicy(allow string) (safehttp.Policy, error) {
	hosts, err := safehttp.ParseHosts(allow)
	if err != nil {
		return safehttp.Policy{}, usageError{"--webhook-allow: " + err.Error()}
	}
	return safehttp.Policy{Hosts: hosts}, nil
}

// notifyKey returns the key the links of emails are signed with,
// creating it on first use; every instance sharing the store gets it.
func notifyKey(ctx context.Context, st store.Store) ([]byte, error) {
	return st.Secret(ctx, "notify", func() []byte {
		b := make([]byte, 32)
		rand.Read(b)
		return b
	})
}

// newNotifications puts emails and webhooks together: the signed links,
// the notifier that decides who hears about what, and the outbox worker
// that sends it. mailer is nil without an SMTP configuration.
func newNotifications(ctx context.Context, st store.Store, log *slog.Logger, f notifyFlags, mailer mail.Mailer, publicURL string) (*service.NotifyOptions, *outbox.Worker, error) {
	policy, err := webhookPolicy(f.webhookAllow)
	if err != nil {
		return nil, nil, err
	}
	if f.giveUp < time.Minute {
		return nil, nil, usageError{"--outbox-give-up must be at least 1m"}
	}
	if f.retryMin <= 0 || f.retryMax < f.retryMin {
		return nil, nil, usageError{"--outbox-retry must be positive and at most --outbox-retry-max"}
	}
	if f.digest < 0 {
		return nil, nil, usageError{"--notify-digest must not be negative"}
	}
	key, err := notifyKey(ctx, st)
	if err != nil {
		return nil, nil, fmt.Errorf("notification key: %w", err)
	}
	links, err := notify.NewLinks(key, publicURL)
	if err != nil {
		return nil, nil, err
	}
	// Addresses proved by a log-in link may be told of their held
	// comments' fate, as confirmed subscribers may.
	verified, err := login.NewVerified(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	n, err := notify.New(notify.Config{Store: st, Links: links, Mailer: mailer,
		Hooks:       webhook.NewClient(webhook.Options{Policy: policy, Timeout: f.webhookTimeout}),
		DigestEvery: f.digest, GiveUp: f.giveUp, Logger: log, Verified: verified.Verified})
	if err != nil {
		return nil, nil, err
	}
	// Keep -1: the retention job prunes the outbox, on one instance.
	w, err := n.Worker(st, outbox.Config{Workers: f.workers, RetryMin: f.retryMin, RetryMax: f.retryMax, Logger: log, Keep: -1})
	if err != nil {
		return nil, nil, err
	}
	return &service.NotifyOptions{Notifier: n, Links: links, Webhooks: policy, Wake: w.Wake}, w, nil
}

// runWebhook manages sites' outgoing webhooks.
func runWebhook(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if _, err := subcommand("webhook", args); err != nil {
		return err
	}
	fs := newFlags("webhook "+args[0], stderr)
	dbo := dbOptions{migrate: true}
	addDBFlags(fs, &dbo)
	site := fs.String("site", "", "site id")
	asJSON := fs.Bool("json", false, "print JSON")
	open := func() (store.Store, *service.Service, error) {
		st, err := openStore(ctx, dbo)
		if err != nil {
			return nil, nil, err
		}
		svc, err := newService(ctx, st, nil)
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		return st, svc, nil
	}
	switch args[0] {
	case "add":
		u := fs.String("url", "", "the receiver's address: https (or http to a host --webhook-allow names)")
		var events stringList
		fs.Var(&events, "events", "events to send, comma-separated: "+strings.Join(service.WebhookEvents, ",")+" (default: all)")
		withEmail := fs.Bool("with-email", false, "put authors' email addresses in the payloads (off: no address ever leaves)")
		var allowed string
		allow := &allowed
		addWebhookAllow(fs, allow)
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if *site == "" || *u == "" {
			return usageError{"webhook add needs --site and --url"}
		}
		policy, err := webhookPolicy(*allow)
		if err != nil {
			return err
		}
		st, err := openStore(ctx, dbo)
		if err != nil {
			return err
		}
		defer st.Close()
		svc, err := newServiceWith(ctx, st, nil, defaultSpamConfig, service.Options{Notify: &service.NotifyOptions{Webhooks: policy}})
		if err != nil {
			return err
		}
		h, err := svc.AddWebhook(ctx, service.OperatorActor(), service.NewWebhook{SiteID: *site, URL: *u, Events: events, WithEmail: *withEmail})
		var ve *comment.ValidationError
		switch {
		case errors.Is(err, comment.ErrNotFound):
			return fmt.Errorf("there is no site %q", *site)
		case errors.As(err, &ve):
			return usageError{ve.Message}
		case err != nil:
			return err
		}
		fmt.Fprintf(stdout, "webhook %s added to site %q: %s (%s)\n", h.ID, h.SiteID, h.URL, strings.Join(h.Events, ","))
		fmt.Fprintln(stderr, "The last line is the webhook's signing secret (Standard Webhooks): give it to the receiver, which checks every delivery's webhook-signature with it. It is not shown again.")
		fmt.Fprintln(stdout, h.Secret)
		return nil
	case "list":
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		st, svc, err := open()
		if err != nil {
			return err
		}
		defer st.Close()
		var list []*store.Webhook
		if *site == "" {
			list, err = svc.AllWebhooks(ctx, service.OperatorActor())
		} else {
			list, err = svc.Webhooks(ctx, service.OperatorActor(), *site)
		}
		if err != nil {
			return err
		}
		if *asJSON {
			type row struct {
				ID        string   `json:"id"`
				Site      string   `json:"site"`
				URL       string   `json:"url"`
				Events    []string `json:"events"`
				WithEmail bool     `json:"with_email"`
				Created   string   `json:"created"`
			}
			out := []row{}
			for _, h := range list {
				out = append(out, row{h.ID, h.SiteID, h.URL, h.Events, h.WithEmail, h.Created.Format(time.RFC3339)})
			}
			return json.NewEncoder(stdout).Encode(out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSITE\tURL\tEVENTS\tEMAILS\tCREATED")
		for _, h := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", h.ID, h.SiteID, h.URL, strings.Join(h.Events, ","), h.WithEmail, h.Created.Format(time.RFC3339))
		}
		return tw.Flush()
	case "remove":
		if err := parse(fs, args[1:]); err != nil && !isExtraArgs(err) {
			return err
		}
		if *site == "" || fs.NArg() == 0 {
			return usageError{"webhook remove needs --site and a WEBHOOK_ID"}
		}
		st, svc, err := open()
		if err != nil {
			return err
		}
		defer st.Close()
		for _, id := range fs.Args() {
			if err := svc.RemoveWebhook(ctx, service.OperatorActor(), *site, id); errors.Is(err, comment.ErrNotFound) {
				return fmt.Errorf("site %q has no webhook %q", *site, id)
			} else if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "webhook %s removed\n", id)
		}
		return nil
	case "deliveries":
		hook := fs.String("webhook", "", "one webhook's deliveries (default: every email and webhook of the site)")
		state := fs.String("state", "", "pending, sent, failed or dropped")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if *site == "" {
			return usageError{"webhook deliveries needs --site"}
		}
		st, svc, err := open()
		if err != nil {
			return err
		}
		defer st.Close()
		list, _, err := svc.Deliveries(ctx, service.OperatorActor(), *site, *hook, *state, "")
		var ve *comment.ValidationError
		if errors.As(err, &ve) {
			return usageError{ve.Message}
		}
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tTO\tSTATE\tATTEMPTS\tSTATUS\tTOOK\tCREATED\tLAST ERROR")
		for _, m := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", m.ID, m.Kind, m.Target, m.State, m.Attempts, m.LastStatus, m.LastTook, m.Created.Format(time.RFC3339), m.LastError)
		}
		return tw.Flush()
	case "resend":
		if err := parse(fs, args[1:]); err != nil && !isExtraArgs(err) {
			return err
		}
		if *site == "" || fs.NArg() != 1 {
			return usageError{"webhook resend needs --site and one MESSAGE_ID (from webhook deliveries)"}
		}
		var id int64
		if _, err := fmt.Sscan(fs.Arg(0), &id); err != nil {
			return usageError{fmt.Sprintf("%q is not a message id", fs.Arg(0))}
		}
		st, err := openStore(ctx, dbo)
		if err != nil {
			return err
		}
		defer st.Close()
		opts, _, err := newNotifications(ctx, st, nil, defaultNotifyFlags(), nil, "")
		if err != nil {
			return err
		}
		svc, err := newServiceWith(ctx, st, nil, defaultSpamConfig, service.Options{Notify: opts})
		if err != nil {
			return err
		}
		m, err := svc.Redeliver(ctx, service.OperatorActor(), *site, id)
		if errors.Is(err, comment.ErrNotFound) {
			return fmt.Errorf("site %q has no webhook message %d", *site, id)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "message %d will be sent again as message %d (a running server sends it)\n", id, m.ID)
		return nil
	}
	return usageError{fmt.Sprintf("unknown webhook command %q (add, list, remove, deliveries or resend)", args[0])}
}

// defaultNotifyFlags are the serve flags' defaults, for commands that
// need the notifier without serving.
func defaultNotifyFlags() notifyFlags {
	var f notifyFlags
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addNotifyFlags(fs, &f)
	return f
}

// isExtraArgs reports whether parse refused positional arguments only.
func isExtraArgs(err error) bool {
	var ue usageError
	return errors.As(err, &ue) && strings.HasPrefix(ue.msg, "unexpected argument")
}
