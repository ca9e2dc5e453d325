-- Erased readers, by a keyed hash of their address and of their log-in
-- (never the address or log-in itself): an import from another system
-- (a WordPress export after a Disqus one, say) gives the same comment
-- another id than erased_comments holds, so the import also skips
-- comments whose author is here. site_id '' means every site.
-- Kept in step with sqlite/migrations/0085_erased_authors.sql.
CREATE TABLE erased_authors (
	key     TEXT NOT NULL,
	site_id TEXT NOT NULL,
	erased  BIGINT NOT NULL,
	PRIMARY KEY (key, site_id)
);
