-- The moderation desk: staff accounts and their roles, desk sessions,
-- sites' API tokens, the audit log, and what the queue filters on. Kept
-- in step with sqlite/migrations/0030_desk.sql.

CREATE TABLE staff_accounts (
	id            TEXT PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE,     -- lower-case
	name          TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL DEFAULT '', -- Argon2id, PHC form; '' logs in through a provider only
	identity      TEXT UNIQUE,              -- "provider:subject" of a linked log-in, or NULL
	created       BIGINT NOT NULL,
	disabled      BOOLEAN NOT NULL DEFAULT false
);

-- A role per account and site; an owner's grant has site_id ''.
CREATE TABLE staff_grants (
	account_id TEXT NOT NULL REFERENCES staff_accounts(id) ON DELETE CASCADE,
	site_id    TEXT NOT NULL,
	role       TEXT NOT NULL,
	PRIMARY KEY (account_id, site_id)
);
CREATE INDEX staff_grants_site ON staff_grants (site_id);

-- Desk sessions, by the SHA-256 of the cookie's value.
CREATE TABLE staff_sessions (
	hash       TEXT PRIMARY KEY,
	account_id TEXT NOT NULL REFERENCES staff_accounts(id) ON DELETE CASCADE,
	created    BIGINT NOT NULL,
	seen       BIGINT NOT NULL,
	user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX staff_sessions_account ON staff_sessions (account_id);

-- Sites' API tokens, by the SHA-256 of the token.
CREATE TABLE api_tokens (
	id        TEXT PRIMARY KEY,
	site_id   TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	name      TEXT NOT NULL,
	role      TEXT NOT NULL,
	hash      TEXT NOT NULL UNIQUE,
	created   BIGINT NOT NULL,
	last_used BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_site ON api_tokens (site_id);

-- Every staff action: who, when, what, on what, before and after.
CREATE TABLE audit_log (
	id         BIGSERIAL PRIMARY KEY,
	site_id    TEXT NOT NULL DEFAULT '',
	at         BIGINT NOT NULL,
	actor_kind TEXT NOT NULL,
	actor_id   TEXT NOT NULL DEFAULT '',
	actor_name TEXT NOT NULL,
	action     TEXT NOT NULL,
	target     TEXT NOT NULL DEFAULT '',
	before     TEXT NOT NULL DEFAULT '',
	after      TEXT NOT NULL DEFAULT '',
	count      INTEGER NOT NULL DEFAULT 0,
	undone_by  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX audit_site ON audit_log (site_id, id);
CREATE INDEX audit_actor ON audit_log (site_id, actor_id, id);

-- The comments an audited decision changed, with the status each had:
-- what Undo restores, and each comment's history.
CREATE TABLE audit_comments (
	entry_id      BIGINT NOT NULL REFERENCES audit_log(id) ON DELETE CASCADE,
	comment_id    TEXT NOT NULL,
	before_status TEXT NOT NULL,
	PRIMARY KEY (entry_id, comment_id)
);
CREATE INDEX audit_comments_comment ON audit_comments (comment_id, entry_id);

ALTER TABLE comments ADD COLUMN edited_by TEXT NOT NULL DEFAULT '';
ALTER TABLE comments ADD COLUMN staff BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE sites ADD COLUMN hide_private BOOLEAN NOT NULL DEFAULT false;

-- The queue lists newest first, by (created, id): each filter's index
-- ends with both, so a page at 100,000 comments reads one page of rows
-- and sorts nothing. By view; by view and address, email, author's name
-- or log-in; and across views.
DROP INDEX comments_thread;
CREATE INDEX comments_thread ON comments (thread_id, status, created, id);
DROP INDEX comments_site_status;
CREATE INDEX comments_site_status ON comments (site_id, status, created, id);
CREATE INDEX comments_site_ip ON comments (site_id, ip_hash, status, created, id);
CREATE INDEX comments_site_email ON comments (site_id, author_email, status, created, id);
CREATE INDEX comments_site_name ON comments (site_id, lower(author_name), status, created, id);
CREATE INDEX comments_site_identity ON comments (site_id, author_identity, status, created, id) WHERE author_identity <> '';
CREATE INDEX comments_site_created ON comments (site_id, created, id);

-- Full-text search of the text and the author's name ('simple': no
-- stemming, so it works the same in every language).
CREATE INDEX comments_fts ON comments USING gin (to_tsvector('simple', markdown || ' ' || author_name));
