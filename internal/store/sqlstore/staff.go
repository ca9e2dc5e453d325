package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
)

const accountColumns = `id, email, name, password_hash, identity, created, disabled`

func scanAccount(row interface{ Scan(...any) error }) (*staff.Account, error) {
	var a staff.Account
	var identity sql.NullString
	var created int64
	if err := row.Scan(&a.ID, &a.Email, &a.Name, &a.PasswordHash, &identity, &created, &a.Disabled); err != nil {
		return nil, err
	}
	a.Identity, a.Created = identity.String, time.Unix(0, created).UTC()
	return &a, nil
}

// member reads an account's grants to make a staff.Member.
func (s *Store) member(ctx context.Context, q querier, a *staff.Account) (*staff.Member, error) {
	rows, err := q.QueryContext(ctx, `SELECT site_id, role FROM staff_grants WHERE account_id = $1 ORDER BY site_id`, a.ID)
	if err != nil {
		return nil, s.read(err)
	}
	defer rows.Close()
	m := &staff.Member{Account: *a}
	for rows.Next() {
		g := staff.Grant{AccountID: a.ID}
		var role string
		if err := rows.Scan(&g.SiteID, &role); err != nil {
			return nil, s.read(err)
		}
		g.Role = staff.Role(role)
		m.Grants = append(m.Grants, g)
	}
	return m, s.read(rows.Err())
}

// querier is what a pool and a transaction share.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) accountBy(ctx context.Context, column, value string) (*staff.Member, error) {
	a, err := scanAccount(s.d.Read.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM staff_accounts WHERE `+column+` = $1`, value))
	if err != nil {
		return nil, s.read(err)
	}
	return s.member(ctx, s.d.Read, a)
}

// CreateAccount stores a new account with its grants.
func (s *Store) CreateAccount(ctx context.Context, a *staff.Account, grants []staff.Grant, audit *staff.AuditEntry) error {
	if a.Created.IsZero() {
		a.Created = s.now().UTC()
	}
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO staff_accounts (`+accountColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			a.ID, a.Email, a.Name, a.PasswordHash, nullable(a.Identity), a.Created.UnixNano(), a.Disabled); err != nil {
			return err
		}
		for _, g := range grants {
			if _, err := tx.ExecContext(ctx, `INSERT INTO staff_grants (account_id, site_id, role) VALUES ($1, $2, $3)`, a.ID, g.SiteID, string(g.Role)); err != nil {
				return err
			}
		}
		return s.insertAudit(ctx, tx, audit)
	})
}

// Account returns an account by id.
func (s *Store) Account(ctx context.Context, id string) (*staff.Member, error) {
	return s.accountBy(ctx, "id", id)
}

// AccountByEmail returns an account by its lower-case email.
func (s *Store) AccountByEmail(ctx context.Context, email string) (*staff.Member, error) {
	return s.accountBy(ctx, "email", email)
}

// AccountByIdentity returns the account linked to a log-in.
func (s *Store) AccountByIdentity(ctx context.Context, identity string) (*staff.Member, error) {
	if identity == "" {
		return nil, comment.ErrNotFound
	}
	return s.accountBy(ctx, "identity", identity)
}

// UpdateAccount replaces an account's name, password hash, identity and
// disabled flag; disabling ends its sessions.
func (s *Store) UpdateAccount(ctx context.Context, a *staff.Account, audit *staff.AuditEntry) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE staff_accounts SET name = $1, password_hash = $2, identity = $3, disabled = $4 WHERE id = $5`,
			a.Name, a.PasswordHash, nullable(a.Identity), a.Disabled, a.ID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		if a.Disabled {
			if _, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE account_id = $1`, a.ID); err != nil {
				return err
			}
		}
		return s.insertAudit(ctx, tx, audit)
	})
}

// Members lists a site's staff and every owner, or (siteID "") every
// account, ordered by email.
func (s *Store) Members(ctx context.Context, siteID string) ([]*staff.Member, error) {
	q := `SELECT ` + accountColumns + ` FROM staff_accounts ORDER BY email`
	args := []any{}
	if siteID != "" {
		q = `SELECT ` + accountColumns + ` FROM staff_accounts WHERE id IN
			(SELECT account_id FROM staff_grants WHERE site_id = $1 OR (site_id = '' AND role = 'owner')) ORDER BY email`
		args = append(args, siteID)
	}
	rows, err := s.d.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.read(err)
	}
	var accounts []*staff.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			rows.Close()
			return nil, s.read(err)
		}
		accounts = append(accounts, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.read(err)
	}
	out := make([]*staff.Member, len(accounts))
	for i, a := range accounts {
		if out[i], err = s.member(ctx, s.d.Read, a); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SetGrant gives (or with Role "" removes) an account's role on a site.
func (s *Store) SetGrant(ctx context.Context, g staff.Grant, audit *staff.AuditEntry) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM staff_accounts WHERE id = $1`, g.AccountID).Scan(&one); err != nil {
			return err
		}
		var err error
		if g.Role == "" {
			_, err = tx.ExecContext(ctx, `DELETE FROM staff_grants WHERE account_id = $1 AND site_id = $2`, g.AccountID, g.SiteID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO staff_grants (account_id, site_id, role) VALUES ($1, $2, $3)
				ON CONFLICT (account_id, site_id) DO UPDATE SET role = excluded.role`, g.AccountID, g.SiteID, string(g.Role))
		}
		if err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, audit)
	})
}

// CreateStaffSession stores a desk session.
func (s *Store) CreateStaffSession(ctx context.Context, sess *staff.Session) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO staff_sessions (hash, account_id, created, seen, user_agent) VALUES ($1, $2, $3, $4, $5)`,
			sess.Hash, sess.AccountID, sess.Created.UnixNano(), sess.Seen.UnixNano(), sess.UserAgent)
		return err
	})
}

const staffSessionColumns = `hash, account_id, created, seen, user_agent`

func scanStaffSession(row interface{ Scan(...any) error }) (*staff.Session, error) {
	var sess staff.Session
	var created, seen int64
	if err := row.Scan(&sess.Hash, &sess.AccountID, &created, &seen, &sess.UserAgent); err != nil {
		return nil, err
	}
	sess.Created, sess.Seen = time.Unix(0, created).UTC(), time.Unix(0, seen).UTC()
	return &sess, nil
}

// StaffSession returns a session by hash, with its account.
func (s *Store) StaffSession(ctx context.Context, hash string) (*staff.Session, *staff.Member, error) {
	sess, err := scanStaffSession(s.d.Read.QueryRowContext(ctx, `SELECT `+staffSessionColumns+` FROM staff_sessions WHERE hash = $1`, hash))
	if err != nil {
		return nil, nil, s.read(err)
	}
	m, err := s.Account(ctx, sess.AccountID)
	if err != nil {
		return nil, nil, err
	}
	return sess, m, nil
}

// TouchStaffSession records a session's use.
func (s *Store) TouchStaffSession(ctx context.Context, hash string, seen time.Time) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE staff_sessions SET seen = $1 WHERE hash = $2`, seen.UnixNano(), hash)
		return err
	})
}

// StaffSessions lists an account's sessions, newest first.
func (s *Store) StaffSessions(ctx context.Context, accountID string) ([]*staff.Session, error) {
	rows, err := s.d.Read.QueryContext(ctx, `SELECT `+staffSessionColumns+` FROM staff_sessions WHERE account_id = $1 ORDER BY created DESC`, accountID)
	if err != nil {
		return nil, s.read(err)
	}
	defer rows.Close()
	var out []*staff.Session
	for rows.Next() {
		sess, err := scanStaffSession(rows)
		if err != nil {
			return nil, s.read(err)
		}
		out = append(out, sess)
	}
	return out, s.read(rows.Err())
}

// DeleteStaffSessions ends one session of an account, or all of them.
func (s *Store) DeleteStaffSessions(ctx context.Context, accountID, hash string) (int, error) {
	var n int64
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		q, args := `DELETE FROM staff_sessions WHERE account_id = $1`, []any{accountID}
		if hash != "" {
			q, args = q+` AND hash = $2`, append(args, hash)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// PruneStaffSessions deletes sessions past their absolute or idle limit.
func (s *Store) PruneStaffSessions(ctx context.Context, created, seen time.Time) (int, error) {
	var n int64
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE created < $1 OR seen < $2`, created.UnixNano(), seen.UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

const tokenColumns = `id, site_id, name, role, hash, created, last_used`

func scanToken(row interface{ Scan(...any) error }) (*staff.Token, error) {
	var t staff.Token
	var role string
	var created, used int64
	if err := row.Scan(&t.ID, &t.SiteID, &t.Name, &role, &t.Hash, &created, &used); err != nil {
		return nil, err
	}
	t.Role, t.Created = staff.Role(role), time.Unix(0, created).UTC()
	if used != 0 {
		t.LastUsed = time.Unix(0, used).UTC()
	}
	return &t, nil
}

// CreateToken stores an API token.
func (s *Store) CreateToken(ctx context.Context, t *staff.Token, audit *staff.AuditEntry) error {
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, 0)`,
			t.ID, t.SiteID, t.Name, string(t.Role), t.Hash, t.Created.UnixNano()); err != nil {
			if s.d.IsForeignKey(err) {
				return comment.ErrNotFound
			}
			return err
		}
		return s.insertAudit(ctx, tx, audit)
	})
	return err
}

// TokenByHash returns the token with this hash.
func (s *Store) TokenByHash(ctx context.Context, hash string) (*staff.Token, error) {
	t, err := scanToken(s.d.Read.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = $1`, hash))
	return t, s.read(err)
}

// Tokens lists a site's tokens, oldest first.
func (s *Store) Tokens(ctx context.Context, siteID string) ([]*staff.Token, error) {
	rows, err := s.d.Read.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE site_id = $1 ORDER BY created, id`, siteID)
	if err != nil {
		return nil, s.read(err)
	}
	defer rows.Close()
	var out []*staff.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, s.read(err)
		}
		out = append(out, t)
	}
	return out, s.read(rows.Err())
}

// DeleteToken revokes a site's token.
func (s *Store) DeleteToken(ctx context.Context, siteID, id string, audit *staff.AuditEntry) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE site_id = $1 AND id = $2`, siteID, id)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, audit)
	})
}

// TouchToken records a token's use.
func (s *Store) TouchToken(ctx context.Context, id string, t time.Time) error {
	return s.d.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE api_tokens SET last_used = $1 WHERE id = $2`, t.UnixNano(), id)
		return err
	})
}

var errNoAudit = errors.New("sqlstore: a staff change needs its audit entry")
