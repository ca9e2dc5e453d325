-- The moderation desk: staff accounts and their roles, desk sessions,
-- sites' API tokens, the audit log, and what the queue filters on.

CREATE TABLE staff_accounts (
	id            TEXT PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE,     -- lower-case
	name          TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL DEFAULT '', -- Argon2id, PHC form; '' logs in through a provider only
	identity      TEXT UNIQUE,              -- "provider:subject" of a linked log-in, or NULL
	created       INTEGER NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0
);

-- A role per account and site; an owner's grant has site_id ''.
CREATE TABLE staff_grants (
	account_id TEXT NOT NULL REFERENCES staff_accounts(id) ON DELETE CASCADE,
	site_id    TEXT NOT NULL,
	role       TEXT NOT NULL,
	PRIMARY KEY (account_id, site_id)
) WITHOUT ROWID;
CREATE INDEX staff_grants_site ON staff_grants (site_id);

-- Desk sessions, by the SHA-256 of the cookie's value.
CREATE TABLE staff_sessions (
	hash       TEXT PRIMARY KEY,
	account_id TEXT NOT NULL REFERENCES staff_accounts(id) ON DELETE CASCADE,
	created    INTEGER NOT NULL,
	seen       INTEGER NOT NULL,
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
	created   INTEGER NOT NULL,
	last_used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_site ON api_tokens (site_id);

-- Every staff action: who, when, what, on what, before and after.
CREATE TABLE audit_log (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	site_id    TEXT NOT NULL DEFAULT '',
	at         INTEGER NOT NULL,
	actor_kind TEXT NOT NULL,
	actor_id   TEXT NOT NULL DEFAULT '',
	actor_name TEXT NOT NULL,
	action     TEXT NOT NULL,
	target     TEXT NOT NULL DEFAULT '',
	before     TEXT NOT NULL DEFAULT '',
	after      TEXT NOT NULL DEFAULT '',
	count      INTEGER NOT NULL DEFAULT 0,
	undone_by  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX audit_site ON audit_log (site_id, id);
CREATE INDEX audit_actor ON audit_log (site_id, actor_id, id);

-- The comments an audited decision changed, with the status each had:
-- what Undo restores, and each comment's history.
CREATE TABLE audit_comments (
	entry_id      INTEGER NOT NULL REFERENCES audit_log(id) ON DELETE CASCADE,
	comment_id    TEXT NOT NULL,
	before_status TEXT NOT NULL,
	PRIMARY KEY (entry_id, comment_id)
) WITHOUT ROWID;
CREATE INDEX audit_comments_comment ON audit_comments (comment_id, entry_id);

ALTER TABLE comments ADD COLUMN edited_by TEXT NOT NULL DEFAULT '';
ALTER TABLE comments ADD COLUMN staff INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sites ADD COLUMN hide_private INTEGER NOT NULL DEFAULT 0;

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

-- Full-text search of the text and the author's name, kept in step with
-- comments by triggers (an external-content FTS5 table: the text is not
-- stored twice).
CREATE VIRTUAL TABLE comments_fts USING fts5(markdown, author_name, content='comments', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
INSERT INTO comments_fts (rowid, markdown, author_name) SELECT rowid, markdown, author_name FROM comments;
CREATE TRIGGER comments_fts_insert AFTER INSERT ON comments BEGIN
	INSERT INTO comments_fts (rowid, markdown, author_name) VALUES (new.rowid, new.markdown, new.author_name);
END;
CREATE TRIGGER comments_fts_delete AFTER DELETE ON comments BEGIN
	INSERT INTO comments_fts (comments_fts, rowid, markdown, author_name) VALUES ('delete', old.rowid, old.markdown, old.author_name);
END;
CREATE TRIGGER comments_fts_update AFTER UPDATE OF markdown, author_name ON comments BEGIN
	INSERT INTO comments_fts (comments_fts, rowid, markdown, author_name) VALUES ('delete', old.rowid, old.markdown, old.author_name);
	INSERT INTO comments_fts (rowid, markdown, author_name) VALUES (new.rowid, new.markdown, new.author_name);
END;
