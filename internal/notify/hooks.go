package notify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"parley/internal/comment"
	"parley/internal/outbox"
	"parley/internal/safehttp"
	"parley/internal/store"
	"parley/internal/webhook"
)

// WebhookSender returns the outbox's sender of webhooks.
func (n *Notifier) WebhookSender() outbox.Sender { return hookSender{n} }

type hookSender struct{ n *Notifier }

func (s hookSender) Timeout() time.Duration {
	if s.n.c.Hooks == nil {
		return webhook.DefaultTimeout
	}
	return s.n.c.Hooks.Timeout()
}

// Send delivers one webhook message to its webhook's current address. A
// removed webhook's messages are dropped; an address the policy refuses,
// or a receiver answering 410 Gone, fails the message at once; any other
// failure is retried.
func (s hookSender) Send(ctx context.Context, head *store.Message) outbox.Result {
	n := s.n
	if n.c.Hooks == nil {
		return outbox.Result{Err: errors.New("webhooks are not delivered by this server"), Permanent: true}
	}
	h, err := n.c.Store.Webhook(ctx, head.Target)
	if errors.Is(err, comment.ErrNotFound) {
		return outbox.Result{Drop: true}
	}
	if err != nil {
		return outbox.Result{Err: err}
	}
	var p hookPayload
	if err := json.Unmarshal([]byte(head.Payload), &p); err != nil || p.ID == "" {
		return outbox.Result{Err: errors.New("webhook payload not understood"), Permanent: true}
	}
	resp, err := n.c.Hooks.Deliver(ctx, webhook.Delivery{URL: h.URL, Secret: h.Secret, ID: p.ID, Body: p.Body})
	res := outbox.Result{Status: resp.Status, Took: resp.Took}
	if err == nil {
		return res
	}
	res.Err, res.Detail = err, resp.Excerpt
	res.Permanent = errors.Is(err, safehttp.ErrNotAllowed) || errors.Is(err, webhook.ErrBadSecret) || resp.Status == http.StatusGone
	return res
}
