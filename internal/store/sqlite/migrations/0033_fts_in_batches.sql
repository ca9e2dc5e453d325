-- The search index is filled in batches, not by a trigger on every new
-- comment: in a batch of posts each comment has its own savepoint, and
-- FTS5 writes a segment at every savepoint, so the trigger made posting
-- about a fifth slower (and merged segments constantly). fts_progress
-- holds the last rowid indexed; see sqlite/fts.go. Edits and deletions of
-- indexed comments still keep the index in step at once.
DROP TRIGGER comments_fts_insert;
DROP TRIGGER comments_fts_delete;
DROP TRIGGER comments_fts_update;
CREATE TABLE fts_progress (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	indexed INTEGER NOT NULL
);
INSERT INTO fts_progress (id, indexed) VALUES (1, (SELECT coalesce(max(rowid), 0) FROM comments));
CREATE TRIGGER comments_fts_delete AFTER DELETE ON comments WHEN old.rowid <= (SELECT indexed FROM fts_progress) BEGIN
	INSERT INTO comments_fts (comments_fts, rowid, markdown, author_name) VALUES ('delete', old.rowid, old.markdown, old.author_name);
END;
CREATE TRIGGER comments_fts_update AFTER UPDATE OF markdown, author_name ON comments WHEN old.rowid <= (SELECT indexed FROM fts_progress) BEGIN
	INSERT INTO comments_fts (comments_fts, rowid, markdown, author_name) VALUES ('delete', old.rowid, old.markdown, old.author_name);
	INSERT INTO comments_fts (rowid, markdown, author_name) VALUES (new.rowid, new.markdown, new.author_name);
END;
