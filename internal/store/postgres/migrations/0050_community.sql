-- Community controls: sanctions on readers, reader reports, a site's
-- community settings and rules, each article's controls, featured
-- comments, what readers are told about their held comments, notes on
-- authors, and alerts to staff. Kept in step with
-- sqlite/migrations/0050_community.sql.

CREATE TABLE sanctions (
	id        TEXT PRIMARY KEY,
	site_id   TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	kind      TEXT NOT NULL,
	match     TEXT NOT NULL,
	value     TEXT NOT NULL,
	reason    TEXT NOT NULL DEFAULT '',
	message   TEXT NOT NULL DEFAULT '',
	created   BIGINT NOT NULL,
	until     BIGINT NOT NULL DEFAULT 0,
	actor     TEXT NOT NULL DEFAULT '',
	audit_id  BIGINT NOT NULL DEFAULT 0,
	removed   INTEGER NOT NULL DEFAULT 0,
	lifted    BIGINT NOT NULL DEFAULT 0,
	lifted_by TEXT NOT NULL DEFAULT '',
	seen      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sanctions_site ON sanctions (site_id, created);
CREATE INDEX sanctions_match ON sanctions (site_id, match, value);

CREATE TABLE site_community (
	site_id  TEXT PRIMARY KEY REFERENCES sites(id) ON DELETE CASCADE,
	settings TEXT NOT NULL DEFAULT '',
	rules    TEXT NOT NULL DEFAULT '',
	version  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE reports (
	id          BIGSERIAL PRIMARY KEY,
	site_id     TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	comment_id  TEXT NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
	thread_id   TEXT NOT NULL,
	reporter    TEXT NOT NULL,
	reader      TEXT NOT NULL DEFAULT '',
	reason      TEXT NOT NULL,
	text        TEXT NOT NULL DEFAULT '',
	created     BIGINT NOT NULL,
	resolved    BIGINT NOT NULL DEFAULT 0,
	resolved_by TEXT NOT NULL DEFAULT '',
	UNIQUE (comment_id, reporter)
);
CREATE UNIQUE INDEX reports_reader ON reports (comment_id, reader) WHERE reader <> '';
CREATE INDEX reports_open ON reports (site_id, resolved, created, comment_id);
CREATE INDEX reports_thread ON reports (thread_id, resolved);

CREATE TABLE page_controls (
	thread_id    TEXT PRIMARY KEY REFERENCES threads(id) ON DELETE CASCADE,
	close_after  BIGINT,
	premod       BOOLEAN NOT NULL DEFAULT false,
	message      TEXT NOT NULL DEFAULT '',
	pinned       TEXT NOT NULL DEFAULT '',
	surge_until  BIGINT NOT NULL DEFAULT 0,
	surge_action TEXT NOT NULL DEFAULT ''
);

CREATE TABLE featured (
	comment_id TEXT PRIMARY KEY REFERENCES comments(id) ON DELETE CASCADE,
	thread_id  TEXT NOT NULL,
	created    BIGINT NOT NULL
);
CREATE INDEX featured_thread ON featured (thread_id);

CREATE TABLE reader_notices (
	id         BIGSERIAL PRIMARY KEY,
	site_id    TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	reader     TEXT NOT NULL,
	comment_id TEXT NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
	approved   BOOLEAN NOT NULL,
	reason     TEXT NOT NULL DEFAULT '',
	created    BIGINT NOT NULL,
	seen       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX reader_notices_reader ON reader_notices (reader, site_id, seen, id);

CREATE TABLE author_notes (
	id       BIGSERIAL PRIMARY KEY,
	site_id  TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	author   TEXT NOT NULL,
	text     TEXT NOT NULL,
	created  BIGINT NOT NULL,
	actor    TEXT NOT NULL
);
CREATE INDEX author_notes_author ON author_notes (site_id, author, id);

CREATE TABLE alerts (
	id           BIGSERIAL PRIMARY KEY,
	site_id      TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	kind         TEXT NOT NULL,
	thread_id    TEXT NOT NULL DEFAULT '',
	rate         INTEGER NOT NULL DEFAULT 0,
	threshold    INTEGER NOT NULL DEFAULT 0,
	action       TEXT NOT NULL DEFAULT '',
	until        BIGINT NOT NULL DEFAULT 0,
	created      BIGINT NOT NULL,
	dismissed    BIGINT NOT NULL DEFAULT 0,
	dismissed_by TEXT NOT NULL DEFAULT '',
	delivered    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX alerts_site ON alerts (site_id, dismissed, id);
CREATE INDEX alerts_delivery ON alerts (delivered, id);

CREATE INDEX audit_target ON audit_log (site_id, target);

-- The desk's article list, latest comment first (see the SQLite file).
ALTER TABLE threads ADD COLUMN last_comment BIGINT NOT NULL DEFAULT 0;
UPDATE threads SET last_comment = coalesce((SELECT max(created) FROM comments WHERE thread_id = threads.id), created);
CREATE INDEX threads_site_activity ON threads (site_id, last_comment, id);
CREATE INDEX threads_site_created ON threads (site_id, created, id);
CREATE FUNCTION threads_last_comment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE threads SET last_comment = NEW.created WHERE id = NEW.thread_id AND last_comment < NEW.created;
	RETURN NULL;
END $$;
CREATE TRIGGER threads_last_comment AFTER INSERT ON comments FOR EACH ROW EXECUTE FUNCTION threads_last_comment();
