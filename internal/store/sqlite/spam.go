package sqlite

import (
	"context"
	"database/sql"

	"parley/internal/comment"
)

// AuthorApproved reports whether the author has an approved comment on the site.
func (db *DB) AuthorApproved(ctx context.Context, siteID, email string) (bool, error) {
	var ok bool
	err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM comments WHERE site_id = ? AND author_email = ? AND status = 'approved')`, siteID, email).Scan(&ok)
	return ok, translate(err)
}

// IdentityApproved reports whether the logged-in reader has an approved
// comment on the site.
func (db *DB) IdentityApproved(ctx context.Context, siteID, identity string) (bool, error) {
	var ok bool
	err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM comments WHERE site_id = ? AND author_identity = ? AND author_identity <> '' AND status = 'approved')`, siteID, identity).Scan(&ok)
	return ok, translate(err)
}

// SetAPIKeyHash sets or removes the hash of a site's API key.
func (db *DB) SetAPIKeyHash(ctx context.Context, siteID, hash string) error {
	var v any
	if hash != "" {
		v = hash
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sites SET api_key_hash = ? WHERE id = ?`, v, siteID)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
}

// SiteByAPIKeyHash returns the site whose API key has this hash.
func (db *DB) SiteByAPIKeyHash(ctx context.Context, hash string) (*comment.Site, error) {
	return scanSite(db.read.QueryRowContext(ctx, `SELECT `+siteColumns+` FROM sites WHERE api_key_hash = ?`, hash))
}
