package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
)

const siteColumns = `id, name, origins, max_depth, moderation, created, edit_window, api_key_hash, guests, providers, sso_secret, hide_private, ip_retention`

// insertSite is the statement that adds one site, with siteValues.
const insertSite = `INSERT INTO sites (` + siteColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`

func siteValues(s *comment.Site) []any {
	return []any{s.ID, s.Name, originsJSON(s.Origins), s.MaxDepth, string(s.Moderation), s.Created.UnixNano(), int64(s.EditWindow / time.Second),
		nullable(s.APIKeyHash), string(guestPolicy(s.Guests)), providersJSON(s.Providers), s.SSOSecret, s.HidePrivate, int64(s.IPRetention / time.Second)}
}

// scanSite reads one row of siteColumns. Driver errors are not translated.
func scanSite(row interface{ Scan(...any) error }) (*comment.Site, error) {
	var s comment.Site
	var origins, moderation, guests string
	var created, window, retention int64
	var key, providers sql.NullString
	if err := row.Scan(&s.ID, &s.Name, &origins, &s.MaxDepth, &moderation, &created, &window, &key, &guests, &providers, &s.SSOSecret, &s.HidePrivate, &retention); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(origins), &s.Origins); err != nil {
		return nil, fmt.Errorf("site %q origins: %w", s.ID, err)
	}
	if providers.Valid {
		s.Providers = []string{} // "[]" means none, unlike NULL (every provider)
		if err := json.Unmarshal([]byte(providers.String), &s.Providers); err != nil {
			return nil, fmt.Errorf("site %q providers: %w", s.ID, err)
		}
	}
	s.Moderation = comment.Moderation(moderation)
	s.Created = time.Unix(0, created).UTC()
	s.EditWindow = time.Duration(window) * time.Second
	s.IPRetention = time.Duration(retention) * time.Second
	s.APIKeyHash = key.String
	s.Guests = guestPolicy(comment.GuestPolicy(guests))
	return &s, nil
}

// guestPolicy gives the default policy for "".
func guestPolicy(p comment.GuestPolicy) comment.GuestPolicy {
	if p == "" {
		return comment.GuestsNameEmail
	}
	return p
}

// providersJSON keeps nil (every provider) as NULL and an empty list
// (none) as "[]".
func providersJSON(providers []string) any {
	if providers == nil {
		return nil
	}
	b, _ := json.Marshal(providers)
	return string(b)
}

func originsJSON(origins []string) string {
	if origins == nil {
		origins = []string{}
	}
	b, _ := json.Marshal(origins)
	return string(b)
}

// CreateSite stores a new site.
func (s *Store) CreateSite(ctx context.Context, site *comment.Site, audit *staff.AuditEntry) error {
	if site.Created.IsZero() {
		site.Created = s.now().UTC()
	}
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insertSite, siteValues(site)...); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, audit)
	})
}

// UpdateSite replaces a site's name, origins and settings.
func (s *Store) UpdateSite(ctx context.Context, site *comment.Site, audit *staff.AuditEntry) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sites SET name = $1, origins = $2, max_depth = $3, moderation = $4, edit_window = $5,
			guests = $6, providers = $7, sso_secret = $8, hide_private = $9, ip_retention = $10 WHERE id = $11`,
			site.Name, originsJSON(site.Origins), site.MaxDepth, string(site.Moderation), int64(site.EditWindow/time.Second),
			string(guestPolicy(site.Guests)), providersJSON(site.Providers), site.SSOSecret, site.HidePrivate, int64(site.IPRetention/time.Second), site.ID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, audit)
	})
}

// Site returns one site.
func (s *Store) Site(ctx context.Context, id string) (*comment.Site, error) {
	site, err := scanSite(s.d.Read.QueryRowContext(ctx, `SELECT `+siteColumns+` FROM sites WHERE id = $1`, id))
	return site, s.read(err)
}

// Sites returns every site, ordered by id.
func (s *Store) Sites(ctx context.Context) ([]*comment.Site, error) {
	rows, err := s.d.Read.QueryContext(ctx, `SELECT `+siteColumns+` FROM sites ORDER BY id`)
	if err != nil {
		return nil, s.read(err)
	}
	defer rows.Close()
	var out []*comment.Site
	for rows.Next() {
		site, err := scanSite(rows)
		if err != nil {
			return nil, s.read(err)
		}
		out = append(out, site)
	}
	return out, s.read(rows.Err())
}

// SetAPIKeyHash sets or removes the hash of a site's API key.
func (s *Store) SetAPIKeyHash(ctx context.Context, siteID, hash string, audit *staff.AuditEntry) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sites SET api_key_hash = $1 WHERE id = $2`, nullable(hash), siteID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, audit)
	})
}

// SiteByAPIKeyHash returns the site whose API key has this hash.
func (s *Store) SiteByAPIKeyHash(ctx context.Context, hash string) (*comment.Site, error) {
	site, err := scanSite(s.d.Read.QueryRowContext(ctx, `SELECT `+siteColumns+` FROM sites WHERE api_key_hash = $1`, hash))
	return site, s.read(err)
}
