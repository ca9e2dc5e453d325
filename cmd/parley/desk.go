package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"parley/internal/admin"
	"parley/internal/comment"
	"parley/internal/service"
	"parley/internal/spam"
	"parley/internal/store"
	"parley/internal/store/postgres"
)

// Log-in attempts to the desk: ten tries an account, then one every five
// minutes; thirty from one address, then one a minute. A person who
// mistypes is not slowed down; a script guessing passwords is.
var (
	deskAttemptsPerAccount = spam.Limit{Burst: 10, Every: 5 * time.Minute}
	deskAttemptsPerClient  = spam.Limit{Burst: 30, Every: time.Minute}
)

// attempts keeps the desk's log-in limits in the store's buckets: in
// memory for one instance, in PostgreSQL for several.
type attempts struct{ buckets spam.BucketStore }

func (a attempts) Take(ctx context.Context, key string, now time.Time) (bool, time.Duration, error) {
	l := deskAttemptsPerClient
	if len(key) > 8 && key[:8] == "account:" {
		l = deskAttemptsPerAccount
	}
	return a.buckets.Take(ctx, "desk-"+key, l, now)
}

// newDesk puts the moderation desk together.
func newDesk(svc *service.Service, st store.Store, publicURL string, log *slog.Logger, clientIP func(*http.Request) string) (*admin.Server, error) {
	var buckets spam.BucketStore = spam.NewMemoryBuckets(10_000)
	if pg, ok := st.(*postgres.DB); ok {
		buckets = pgBuckets{pg}
	}
	return admin.New(svc, admin.Config{
		PublicURL: publicURL,
		Attempts:  attempts{buckets},
		ClientIP:  clientIP,
		AvatarURL: func(a comment.Author) string { return "/avatars/" + svc.AvatarFile(a) },
		Logger:    log,
	})
}
