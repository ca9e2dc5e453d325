package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"parley/internal/auth"
	"parley/internal/comment"
	"parley/internal/store"
)

const sessionColumns = `id, identity, provider, subject, name, email, email_verified, avatar_url, profile_url, site_id, created, expires`

// CreateSession stores a reader's session.
func (s *Store) CreateSession(ctx context.Context, ses *auth.Session) error {
	id := ses.Identity
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			ses.ID, id.Key(), id.Provider, id.Subject, id.Name, id.Email, id.EmailVerified, id.AvatarURL, id.ProfileURL,
			ses.SiteID, ses.Created.UnixNano(), ses.Expires.UnixNano())
		return err
	})
}

// Session returns a session, expired or not.
func (s *Store) Session(ctx context.Context, id string) (*auth.Session, error) {
	var ses auth.Session
	var key string
	var created, expires int64
	err := s.d.Read.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id).Scan(
		&ses.ID, &key, &ses.Identity.Provider, &ses.Identity.Subject, &ses.Identity.Name, &ses.Identity.Email, &ses.Identity.EmailVerified,
		&ses.Identity.AvatarURL, &ses.Identity.ProfileURL, &ses.SiteID, &created, &expires)
	if err != nil {
		return nil, s.read(err)
	}
	ses.Created = time.Unix(0, created).UTC()
	ses.Expires = time.Unix(0, expires).UTC()
	return &ses, nil
}

// DeleteSession removes one session, if it is there.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, id)
		return err
	})
}

// DeleteProviderSessions removes every session of one provider.
func (s *Store) DeleteProviderSessions(ctx context.Context, provider string) (int, error) {
	prefix := provider + ":"
	// substr, not LIKE: a provider id may hold LIKE's wildcards.
	return s.deleteSessions(ctx, `substr(identity, 1, $1) = $2`, len(prefix), prefix)
}

// DeleteSessions removes every session of an identity ("provider:subject").
func (s *Store) DeleteSessions(ctx context.Context, identity string) (int, error) {
	return s.deleteSessions(ctx, `identity = $1`, identity)
}

// deleteSessions removes the sessions a condition selects and counts them.
func (s *Store) deleteSessions(ctx context.Context, where string, args ...any) (int, error) {
	var n int64
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE `+where, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// UseOnce records key as used until expires. An expired record of the
// same key is replaced; a live one makes it return comment.ErrConflict.
func (s *Store) UseOnce(ctx context.Context, key string, expires time.Time) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO used_keys (key, expires) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET expires = excluded.expires WHERE used_keys.expires <= $3`,
			key, expires.UnixNano(), s.now().UnixNano())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return comment.ErrConflict
		}
		return nil
	})
}

// MarkEmailVerified records key as verified; marking it again keeps the
// first time, as auth.VerifiedEmailStore asks.
func (s *Store) MarkEmailVerified(ctx context.Context, key string, at time.Time) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO verified_emails (key, verified) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
			key, at.UnixNano())
		return err
	})
}

// EmailVerified reports whether key was ever marked verified.
func (s *Store) EmailVerified(ctx context.Context, key string) (bool, error) {
	var ok bool
	err := s.d.Read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM verified_emails WHERE key = $1)`, key).Scan(&ok)
	return ok, s.read(err)
}

// PruneAuth deletes expired sessions and used keys.
func (s *Store) PruneAuth(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM sessions WHERE expires < $1`, `DELETE FROM used_keys WHERE expires < $1`} {
			res, err := tx.ExecContext(ctx, q, before.UnixNano())
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return int(n), err
}

// Avatar returns a cached avatar.
func (s *Store) Avatar(ctx context.Context, key string) (*store.Avatar, error) {
	var a store.Avatar
	var updated int64
	err := s.d.Read.QueryRowContext(ctx, `SELECT key, content_type, data, updated FROM avatars WHERE key = $1`, key).Scan(
		&a.Key, &a.ContentType, &a.Data, &updated)
	if err != nil {
		return nil, s.read(err)
	}
	a.Updated = time.Unix(0, updated).UTC()
	return &a, nil
}

// SaveAvatar stores an avatar, replacing any under the same key.
func (s *Store) SaveAvatar(ctx context.Context, a *store.Avatar) error {
	if a.Updated.IsZero() {
		a.Updated = s.now().UTC()
	}
	data := a.Data
	if data == nil {
		data = []byte{} // the column is NOT NULL; an empty image is still an image row
	}
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO avatars (key, content_type, data, updated) VALUES ($1, $2, $3, $4)
			ON CONFLICT (key) DO UPDATE SET content_type = excluded.content_type, data = excluded.data, updated = excluded.updated`,
			a.Key, a.ContentType, data, a.Updated.UnixNano())
		return err
	})
}
