package sqlstore

import (
	"context"
	"database/sql"
)

// SpamModel returns what a site's spam filter has learned.
func (s *Store) SpamModel(ctx context.Context, siteID string) ([]byte, error) {
	var b []byte
	err := s.d.Read.QueryRowContext(ctx, `SELECT model FROM spam_models WHERE site_id = $1`, siteID).Scan(&b)
	if err != nil {
		return nil, s.read(err)
	}
	return b, nil
}

// SaveSpamModel stores what a site's spam filter has learned.
func (s *Store) SaveSpamModel(ctx context.Context, siteID string, model []byte) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO spam_models (site_id, model, updated) VALUES ($1, $2, $3)
			ON CONFLICT (site_id) DO UPDATE SET model = excluded.model, updated = excluded.updated`, siteID, model, s.now().UnixNano())
		return err
	})
}
