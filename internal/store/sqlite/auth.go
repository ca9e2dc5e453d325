package sqlite

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
func (db *DB) CreateSession(ctx context.Context, s *auth.Session) error {
	id := s.Identity
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ID, id.Key(), id.Provider, id.Subject, id.Name, id.Email, id.EmailVerified, id.AvatarURL, id.ProfileURL,
			s.SiteID, s.Created.UnixNano(), s.Expires.UnixNano())
		return err
	})
}

// Session returns a session, expired or not.
func (db *DB) Session(ctx context.Context, id string) (*auth.Session, error) {
	var s auth.Session
	var key string
	var created, expires int64
	err := db.read.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id).Scan(
		&s.ID, &key, &s.Identity.Provider, &s.Identity.Subject, &s.Identity.Name, &s.Identity.Email, &s.Identity.EmailVerified,
		&s.Identity.AvatarURL, &s.Identity.ProfileURL, &s.SiteID, &created, &expires)
	if err != nil {
		return nil, translate(err)
	}
	s.Created = time.Unix(0, created).UTC()
	s.Expires = time.Unix(0, expires).UTC()
	return &s, nil
}

// DeleteSession removes one session, if it is there.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id)
		return err
	})
}

// DeleteProviderSessions removes every session of one provider.
func (db *DB) DeleteProviderSessions(ctx context.Context, provider string) (int, error) {
	prefix := provider + ":"
	// substr, not LIKE: a provider id may hold LIKE's wildcards.
	return db.deleteSessions(ctx, `substr(identity, 1, ?) = ?`, len(prefix), prefix)
}

// DeleteSessions removes every session of an identity ("provider:subject").
func (db *DB) DeleteSessions(ctx context.Context, identity string) (int, error) {
	return db.deleteSessions(ctx, `identity = ?`, identity)
}

// deleteSessions removes the sessions a condition selects and counts them.
func (db *DB) deleteSessions(ctx context.Context, where string, args ...any) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
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
func (db *DB) UseOnce(ctx context.Context, key string, expires time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO used_keys (key, expires) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET expires = excluded.expires WHERE used_keys.expires <= ?`,
			key, expires.UnixNano(), db.now().UnixNano())
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
func (db *DB) MarkEmailVerified(ctx context.Context, key string, at time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO verified_emails (key, verified) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`,
			key, at.UnixNano())
		return err
	})
}

// EmailVerified reports whether key was ever marked verified.
func (db *DB) EmailVerified(ctx context.Context, key string) (bool, error) {
	var ok bool
	err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM verified_emails WHERE key = ?)`, key).Scan(&ok)
	return ok, translate(err)
}

// PruneAuth deletes expired sessions and used keys.
func (db *DB) PruneAuth(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM sessions WHERE expires < ?`, `DELETE FROM used_keys WHERE expires < ?`} {
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
func (db *DB) Avatar(ctx context.Context, key string) (*store.Avatar, error) {
	var a store.Avatar
	var updated int64
	err := db.read.QueryRowContext(ctx, `SELECT key, content_type, data, updated FROM avatars WHERE key = ?`, key).Scan(
		&a.Key, &a.ContentType, &a.Data, &updated)
	if err != nil {
		return nil, translate(err)
	}
	a.Updated = time.Unix(0, updated).UTC()
	return &a, nil
}

// SaveAvatar stores an avatar, replacing any under the same key.
func (db *DB) SaveAvatar(ctx context.Context, a *store.Avatar) error {
	if a.Updated.IsZero() {
		a.Updated = db.now().UTC()
	}
	data := a.Data
	if data == nil {
		data = []byte{} // the column is NOT NULL; an empty image is still an image row
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO avatars (key, content_type, data, updated) VALUES (?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET content_type = excluded.content_type, data = excluded.data, updated = excluded.updated`,
			a.Key, a.ContentType, data, a.Updated.UnixNano())
		return err
	})
}

var _ store.Store = (*DB)(nil)
