-- A short log of changes to visible comments, so open pages can be told
-- about them (live updates) and resume after a lost connection. Each
-- insert is also announced with NOTIFY on commit, to every instance.
CREATE TABLE events (
	id         BIGSERIAL PRIMARY KEY,
	site_id    TEXT NOT NULL,
	thread_id  TEXT NOT NULL,
	page_key   TEXT NOT NULL,
	comment_id TEXT NOT NULL,
	kind       TEXT NOT NULL,
	created    BIGINT NOT NULL
);
CREATE INDEX events_thread ON events (thread_id, id);
CREATE INDEX events_created ON events (created);
