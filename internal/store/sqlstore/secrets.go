package sqlstore

import (
	"context"
	"database/sql"
	"errors"
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

// Secret returns the named server secret, creating it on first use.
func (s *Store) Secret(ctx context.Context, name string, gen func() []byte) ([]byte, error) {
	var v []byte
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// Instances starting together race here; the first value wins.
		if _, err := tx.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, gen()); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v)
	})
	return v, err
}
