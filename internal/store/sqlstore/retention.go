package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// ReduceClientData reduces the client data of a site's comments created
// before t, batch comments per transaction so that posting never waits
// long behind it.
func (s *Store) ReduceClientData(ctx context.Context, siteID string, before time.Time, batch int) (int, error) {
	if batch <= 0 {
		batch = 1000
	}
	total := 0
	for {
		var n int64
		err := s.d.Write(ctx, func(tx *sql.Tx) error {
			// The condition repeats the partial index comments_client_data's
			// word for word, so that both databases read only that index.
			res, err := tx.ExecContext(ctx, `UPDATE comments SET ip_hash = ip_net, user_agent = ''
				WHERE id IN (SELECT id FROM comments WHERE site_id = $1 AND created < $2
					AND (ip_hash <> ip_net OR user_agent <> '') LIMIT $3)`, siteID, before.UnixNano(), batch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total += int(n)
		if n < int64(batch) || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}
