-- A short log of changes to visible comments, so open pages can be told
-- about them (live updates) and resume after a lost connection.
CREATE TABLE events (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	site_id    TEXT NOT NULL,
	thread_id  TEXT NOT NULL,
	page_key   TEXT NOT NULL,
	comment_id TEXT NOT NULL,
	kind       TEXT NOT NULL,
	created    INTEGER NOT NULL
);
CREATE INDEX events_thread ON events (thread_id, id);
CREATE INDEX events_created ON events (created);
