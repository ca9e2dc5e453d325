-- Community controls: sanctions on readers, reader reports, a site's
-- community settings and rules, each article's controls, featured
-- comments, what readers are told about their held comments, notes on
-- authors, and alerts to staff. Kept in step with
-- postgres/migrations/0050_community.sql.

-- Warnings, pre-moderation, suspensions and bans. value is normalised
-- (lower-case addresses, masked CIDR ranges, address hashes).
CREATE TABLE sanctions (
	id        TEXT PRIMARY KEY,
	site_id   TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	kind      TEXT NOT NULL,               -- warn | premod | suspend | ban
	match     TEXT NOT NULL,               -- identity | email | email_domain | ip | ip_hash
	value     TEXT NOT NULL,
	reason    TEXT NOT NULL DEFAULT '',    -- staff's note; readers never see it
	message   TEXT NOT NULL DEFAULT '',    -- a warning's words to the reader
	created   INTEGER NOT NULL,
	until     INTEGER NOT NULL DEFAULT 0,  -- 0: no end
	actor     TEXT NOT NULL DEFAULT '',
	audit_id  INTEGER NOT NULL DEFAULT 0,  -- the entry with the comments it removed
	removed   INTEGER NOT NULL DEFAULT 0,
	lifted    INTEGER NOT NULL DEFAULT 0,
	lifted_by TEXT NOT NULL DEFAULT '',
	seen      INTEGER NOT NULL DEFAULT 0   -- a warning shown to its reader
);
CREATE INDEX sanctions_site ON sanctions (site_id, created);
CREATE INDEX sanctions_match ON sanctions (site_id, match, value);

-- A site's community settings and rules (JSON), and a counter that
-- changes with every change to its sanctions or rules, so instances
-- know cheaply when to compile them again.
CREATE TABLE site_community (
	site_id  TEXT PRIMARY KEY REFERENCES sites(id) ON DELETE CASCADE,
	settings TEXT NOT NULL DEFAULT '',
	rules    TEXT NOT NULL DEFAULT '',
	version  INTEGER NOT NULL DEFAULT 0
);

-- Readers' reports: one per reporter (a log-in, or an address's network,
-- by keyed hash) and per reader token, for each comment.
CREATE TABLE reports (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	site_id     TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	comment_id  TEXT NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
	thread_id   TEXT NOT NULL,
	reporter    TEXT NOT NULL,
	reader      TEXT NOT NULL DEFAULT '',
	reason      TEXT NOT NULL,
	text        TEXT NOT NULL DEFAULT '',
	created     INTEGER NOT NULL,
	resolved    INTEGER NOT NULL DEFAULT 0,
	resolved_by TEXT NOT NULL DEFAULT '',
	UNIQUE (comment_id, reporter)
);
CREATE UNIQUE INDEX reports_reader ON reports (comment_id, reader) WHERE reader <> '';
CREATE INDEX reports_open ON reports (site_id, resolved, created, comment_id);
CREATE INDEX reports_thread ON reports (thread_id, resolved);

-- Each article's controls.
CREATE TABLE page_controls (
	thread_id    TEXT PRIMARY KEY REFERENCES threads(id) ON DELETE CASCADE,
	close_after  INTEGER,                  -- seconds; NULL: the site's setting
	premod       INTEGER NOT NULL DEFAULT 0,
	message      TEXT NOT NULL DEFAULT '',
	pinned       TEXT NOT NULL DEFAULT '',
	surge_until  INTEGER NOT NULL DEFAULT 0,
	surge_action TEXT NOT NULL DEFAULT ''
);

-- Featured comments.
CREATE TABLE featured (
	comment_id TEXT PRIMARY KEY REFERENCES comments(id) ON DELETE CASCADE,
	thread_id  TEXT NOT NULL,
	created    INTEGER NOT NULL
);
CREATE INDEX featured_thread ON featured (thread_id);

-- What a reader is told about a held comment of theirs once decided.
CREATE TABLE reader_notices (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	site_id    TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	reader     TEXT NOT NULL,
	comment_id TEXT NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
	approved   INTEGER NOT NULL,
	reason     TEXT NOT NULL DEFAULT '',
	created    INTEGER NOT NULL,
	seen       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX reader_notices_reader ON reader_notices (reader, site_id, seen, id);

-- Moderators' notes on authors (by store.AuthorKey).
CREATE TABLE author_notes (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	site_id  TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	author   TEXT NOT NULL,
	text     TEXT NOT NULL,
	created  INTEGER NOT NULL,
	actor    TEXT NOT NULL
);
CREATE INDEX author_notes_author ON author_notes (site_id, author, id);

-- Alerts to a site's staff (a surge of comments). delivered is when the
-- notifications outbox took it; 0: not yet.
CREATE TABLE alerts (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	site_id      TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	kind         TEXT NOT NULL,
	thread_id    TEXT NOT NULL DEFAULT '',
	rate         INTEGER NOT NULL DEFAULT 0,
	threshold    INTEGER NOT NULL DEFAULT 0,
	action       TEXT NOT NULL DEFAULT '',
	until        INTEGER NOT NULL DEFAULT 0,
	created      INTEGER NOT NULL,
	dismissed    INTEGER NOT NULL DEFAULT 0,
	dismissed_by TEXT NOT NULL DEFAULT '',
	delivered    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX alerts_site ON alerts (site_id, dismissed, id);
CREATE INDEX alerts_delivery ON alerts (delivered, id);

-- An author's history: the audit entries about one comment (edits,
-- replies, sanctions from its card).
CREATE INDEX audit_target ON audit_log (site_id, target);

-- The desk's article list, latest comment first: each thread keeps the
-- time of its latest comment, set by a trigger (imports too), and a
-- page of the list at 100,000 articles reads one page of an index.
ALTER TABLE threads ADD COLUMN last_comment INTEGER NOT NULL DEFAULT 0;
UPDATE threads SET last_comment = coalesce((SELECT max(created) FROM comments WHERE thread_id = threads.id), created);
CREATE INDEX threads_site_activity ON threads (site_id, last_comment, id);
CREATE INDEX threads_site_created ON threads (site_id, created, id);
CREATE TRIGGER threads_last_comment AFTER INSERT ON comments BEGIN
	UPDATE threads SET last_comment = new.created WHERE id = new.thread_id AND last_comment < new.created;
END;
