package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/internal/safehttp"
	"parley/internal/webhook"
	"parley/internal/webhook/webhooktest"
)

// TestSign checks the signature against the specification's own example
// (standard-webhooks, spec/standard-webhooks.md and its libraries' tests).
func TestSign(t *testing.T) {
	key, err := webhook.Key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := webhook.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,bm9ldHUK "+got)
	if err := webhook.Verify(key, h, []byte(`{"test": 2432232314}`), time.Unix(1614265330, 0)); err != nil {
		t.Errorf("Verify = %v", err)
	}
	if err := webhook.Verify(key, h, []byte(`{"test": 2432232315}`), time.Unix(1614265330, 0)); !errors.Is(err, webhook.ErrBadSignature) {
		t.Errorf("Verify of an altered body = %v", err)
	}
	if err := webhook.Verify(key, h, []byte(`{"test": 2432232314}`), time.Unix(1614265330, 0).Add(10*time.Minute)); !errors.Is(err, webhook.ErrBadSignature) {
		t.Errorf("Verify of an old delivery = %v", err)
	}
	s := webhook.NewSecret()
	if k, err := webhook.Key(s); err != nil || len(k) != 32 || !strings.HasPrefix(s, "whsec_") {
		t.Errorf("NewSecret = %q (%v)", s, err)
	}
	for _, bad := range []string{"", "whsec_", "abc", "whsec_!!!", "whsec_c2hvcnQ="} {
		if _, err := webhook.Key(bad); !errors.Is(err, webhook.ErrBadSecret) {
			t.Errorf("Key(%q) = %v", bad, err)
		}
	}
}

// TestDeliver_StandardWebhooksLibrary sends to a receiver that checks
// signatures with the published npm library: a right secret passes, a
// wrong one is refused with its reason kept as a short excerpt.
func TestDeliver_StandardWebhooksLibrary(t *testing.T) {
	secret := webhook.NewSecret()
	r := webhooktest.Start(t, secret)
	c := webhook.NewClient(webhook.Options{Policy: safehttp.Policy{Hosts: []string{"127.0.0.1"}}})
	ctx := context.Background()
	body := []byte(`{"type":"comment.created","timestamp":"2026-03-01T12:00:00Z","data":{"id":"c1","text":"مرحبا ✓"}}`)
	resp, err := c.Deliver(ctx, webhook.Delivery{URL: r.URL(), Secret: secret, ID: "msg_1", Body: body})
	if err != nil || resp.Status != http.StatusNoContent {
		t.Fatalf("Deliver = %+v, %v", resp, err)
	}
	resp, err = c.Deliver(ctx, webhook.Delivery{URL: r.URL(), Secret: webhook.NewSecret(), ID: "msg_2", Body: body})
	if !errors.Is(err, webhook.ErrStatus) || resp.Status != http.StatusBadRequest || !strings.Contains(resp.Excerpt, "signature not valid") || len(resp.Excerpt) > webhook.ExcerptLen {
		t.Fatalf("wrong secret: %+v, %v", resp, err)
	}
	got := r.Wait(2, 10*time.Second)
	if !got[0].OK || got[0].ID != "msg_1" || got[0].Type != "comment.created" || got[0].Text != "مرحبا ✓" || got[1].OK {
		t.Fatalf("receiver saw %+v", got)
	}

	// Without the operator's word, 127.0.0.1 is not reached at all.
	strict := webhook.NewClient(webhook.Options{})
	_, err = strict.Deliver(ctx, webhook.Delivery{URL: r.URL(), Secret: secret, ID: "msg_3", Body: body})
	if !errors.Is(err, safehttp.ErrNotAllowed) {
		t.Fatalf("to 127.0.0.1 without --webhook-allow: %v", err)
	}
	u, _ := url.Parse(r.URL())
	_, err = strict.Deliver(ctx, webhook.Delivery{URL: "https://localhost:" + u.Port() + "/", Secret: secret, ID: "msg_4", Body: body})
	if !errors.Is(err, safehttp.ErrNotAllowed) {
		t.Fatalf("to localhost without --webhook-allow: %v", err)
	}
	if n := len(r.Deliveries()); n != 2 {
		t.Fatalf("receiver got %d requests, want 2", n)
	}
}
