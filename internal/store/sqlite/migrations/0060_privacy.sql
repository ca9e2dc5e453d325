-- Readers' erasure of their data (issue 13). Kept in step with
-- postgres/migrations/0060_privacy.sql.

-- Tombstones: the ids of comments a reader had erased, so that importing
-- an old export does not bring them back (the import skips and counts
-- them). An id is random and says nothing about its author.
CREATE TABLE erased_comments (
	id      TEXT PRIMARY KEY,
	site_id TEXT NOT NULL,
	erased  INTEGER NOT NULL
) WITHOUT ROWID;

-- Finding a reader's comments on every site by address or log-in.
CREATE INDEX comments_email_any ON comments (author_email) WHERE author_email <> '';
CREATE INDEX comments_identity_any ON comments (author_identity) WHERE author_identity <> '';
