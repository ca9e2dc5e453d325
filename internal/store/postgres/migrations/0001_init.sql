-- Sites, their pages' threads, comments and likes. Kept column for column
-- in step with sqlite/migrations/0001_init.sql.
-- Times are Unix nanoseconds (UTC) so both stores round-trip them exactly.

CREATE TABLE sites (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	origins    TEXT NOT NULL,            -- JSON array of "scheme://host[:port]"
	max_depth  INTEGER NOT NULL DEFAULT 5,
	moderation TEXT NOT NULL DEFAULT 'none',
	created    BIGINT NOT NULL
);

CREATE TABLE threads (
	id      TEXT PRIMARY KEY,
	site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	key     TEXT NOT NULL,               -- canonical URL or explicit page id
	url     TEXT NOT NULL,
	title   TEXT NOT NULL DEFAULT '',
	closed  BOOLEAN NOT NULL DEFAULT false,
	created BIGINT NOT NULL,
	UNIQUE (site_id, key)
);

CREATE TABLE comments (
	id              TEXT PRIMARY KEY,
	site_id         TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	thread_id       TEXT NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
	parent_id       TEXT REFERENCES comments(id) DEFERRABLE INITIALLY IMMEDIATE, -- deferred while restoring a dump
	author_name     TEXT NOT NULL,
	author_email    TEXT NOT NULL DEFAULT '',
	author_website  TEXT NOT NULL DEFAULT '',
	author_identity TEXT NOT NULL DEFAULT '',
	markdown        TEXT NOT NULL,
	html            TEXT NOT NULL,
	status          TEXT NOT NULL,
	created         BIGINT NOT NULL,
	edited          BIGINT NOT NULL DEFAULT 0,
	likes           INTEGER NOT NULL DEFAULT 0,
	reader          TEXT NOT NULL DEFAULT '',
	ip_hash         TEXT NOT NULL DEFAULT '',
	user_agent      TEXT NOT NULL DEFAULT '',
	verdict_layer   TEXT NOT NULL DEFAULT '',
	verdict_score   DOUBLE PRECISION NOT NULL DEFAULT 0,
	verdict_reason  TEXT NOT NULL DEFAULT ''
);

-- A thread read touches only its own rows: cost grows with the thread,
-- not with the database.
CREATE INDEX comments_thread ON comments (thread_id, status, created);
CREATE INDEX comments_site_status ON comments (site_id, status, created);
CREATE INDEX comments_parent ON comments (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE likes (
	comment_id TEXT NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
	reader     TEXT NOT NULL,
	created    BIGINT NOT NULL,
	PRIMARY KEY (comment_id, reader)
);

-- Server secrets (cookie and token signing keys), shared by every
-- instance that uses this database.
CREATE TABLE secrets (
	name  TEXT PRIMARY KEY,
	value BYTEA NOT NULL
);
