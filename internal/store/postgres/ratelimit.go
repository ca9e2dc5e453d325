package postgres

import (
	"context"
	"database/sql"
	"time"
)

// TakeToken takes one token from the rate-limit bucket named key, shared
// by every instance: the bucket holds at most burst tokens and gains one
// every every. It reports whether a token was there and, if not, how long
// until one will be. The bucket's row is locked while it is updated, so
// concurrent instances cannot both spend the last token.
func (db *DB) TakeToken(ctx context.Context, key string, burst int, every time.Duration, now time.Time) (ok bool, retry time.Duration, err error) {
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO rate_buckets (key, tokens, updated) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`,
			key, float64(burst), now.UnixNano()); err != nil {
			return err
		}
		var tokens float64
		var updated int64
		if err := tx.QueryRowContext(ctx, `SELECT tokens, updated FROM rate_buckets WHERE key = $1 FOR UPDATE`, key).Scan(&tokens, &updated); err != nil {
			return err
		}
		if elapsed := now.UnixNano() - updated; elapsed > 0 && every > 0 {
			tokens = min(float64(burst), tokens+float64(elapsed)/float64(every))
			updated = now.UnixNano()
		}
		if tokens >= 1 {
			tokens--
			ok = true
		} else {
			retry = time.Duration((1 - tokens) * float64(every))
		}
		_, err := tx.ExecContext(ctx, `UPDATE rate_buckets SET tokens = $1, updated = $2 WHERE key = $3`, tokens, updated, key)
		return err
	})
	return ok, retry, err
}
