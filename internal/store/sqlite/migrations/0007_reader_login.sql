-- Reader log-in. Each site chooses what guests may do, which log-in
-- providers it shows and the secret of its own accounts (site SSO).
ALTER TABLE sites ADD COLUMN guests TEXT NOT NULL DEFAULT 'name_email';
ALTER TABLE sites ADD COLUMN providers TEXT;  -- JSON array of provider ids; NULL: every provider
ALTER TABLE sites ADD COLUMN sso_secret TEXT NOT NULL DEFAULT '';

-- Logged-in readers. The id is the SHA-256 of the token's random part,
-- never the token. identity is "provider:subject", for "log out
-- everywhere". Sessions, used keys, verified emails and avatars are
-- runtime state: dumps leave them out.
CREATE TABLE sessions (
	id             TEXT PRIMARY KEY,
	identity       TEXT NOT NULL,
	provider       TEXT NOT NULL,
	subject        TEXT NOT NULL,
	name           TEXT NOT NULL DEFAULT '',
	email          TEXT NOT NULL DEFAULT '',
	email_verified INTEGER NOT NULL DEFAULT 0,
	avatar_url     TEXT NOT NULL DEFAULT '',
	profile_url    TEXT NOT NULL DEFAULT '',
	site_id        TEXT NOT NULL DEFAULT '',  -- may be empty; not a reference
	created        INTEGER NOT NULL,
	expires        INTEGER NOT NULL
);
CREATE INDEX sessions_identity ON sessions (identity);
CREATE INDEX sessions_expires ON sessions (expires);

-- Single-use values (a log-in's state, an email link), kept until they
-- expire so each is accepted once.
CREATE TABLE used_keys (
	key     TEXT PRIMARY KEY,
	expires INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX used_keys_expires ON used_keys (expires);

-- Email addresses confirmed through a link, by keyed hash.
CREATE TABLE verified_emails (
	key      TEXT PRIMARY KEY,
	verified INTEGER NOT NULL
) WITHOUT ROWID;

-- Readers' avatars, fetched once from their provider and served by Parley.
CREATE TABLE avatars (
	key          TEXT PRIMARY KEY,
	content_type TEXT NOT NULL,
	data         BLOB NOT NULL,
	updated      INTEGER NOT NULL
);
