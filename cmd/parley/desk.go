package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"parley/internal/admin"
	"parley/internal/comment"
	"parley/internal/login"
	"parley/internal/ratelimit"
	"parley/internal/service"
	"parley/internal/store"
	"parley/internal/store/postgres"
)

// Log-in attempts to the desk: ten tries an account, then one every five
// minutes; thirty from one address, then one a minute. A person who
// mistypes is not slowed down; a script guessing passwords is.
var (
	deskAttemptsPerAccount = ratelimit.Limit{Burst: 10, Every: 5 * time.Minute}
	deskAttemptsPerClient  = ratelimit.Limit{Burst: 30, Every: time.Minute}
)

// attempts keeps the desk's log-in limits in the store's buckets: in
// memory for one instance, in PostgreSQL for several.
type attempts struct{ buckets ratelimit.Store }

func (a attempts) Take(ctx context.Context, key string, now time.Time) (bool, time.Duration, error) {
	l := deskAttemptsPerClient
	if len(key) > 8 && key[:8] == "account:" {
		l = deskAttemptsPerAccount
	}
	return a.buckets.Take(ctx, "desk-"+key, l, now)
}

// newDesk puts the moderation desk together.
// Staff may log in with the readers' providers (not email links) when
// Parley knows its public address, where the log-ins come back to.
func newDesk(svc *service.Service, st store.Store, logins *login.Login, publicURL string, log *slog.Logger, clientIP func(*http.Request) string) (*admin.Server, error) {
	var buckets ratelimit.Store = ratelimit.NewMemory(10_000)
	if pg, ok := st.(*postgres.DB); ok {
		buckets = pgBuckets{pg}
	}
	cfg := admin.Config{
		PublicURL: publicURL,
		Attempts:  attempts{buckets},
		ClientIP:  clientIP,
		AvatarURL: func(a comment.Author) string { return "/avatars/" + svc.AvatarFile(a) },
		Logger:    log,
	}
	if logins != nil {
		for _, p := range logins.StaffProviders() {
			cfg.Providers = append(cfg.Providers, admin.Provider{ID: p.ID, Name: p.Name})
		}
		cfg.StartProvider = func(w http.ResponseWriter, r *http.Request, id, lang string) (string, error) {
			return logins.BeginStaff(w, id, lang)
		}
	}
	return admin.New(svc, cfg)
}
