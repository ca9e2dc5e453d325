-- Posts carry an idempotency key (the Idempotency-Key header, the plain
-- form's hidden key field): a retry of a post that was stored finds its
-- comment here instead of storing it twice. Kept for a day, like the
-- change log.
CREATE TABLE post_keys (
	site_id    TEXT NOT NULL,
	key        TEXT NOT NULL,
	comment_id TEXT NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
	created    INTEGER NOT NULL,
	PRIMARY KEY (site_id, key)
);
CREATE INDEX post_keys_created ON post_keys (created);
CREATE INDEX post_keys_comment ON post_keys (comment_id);
