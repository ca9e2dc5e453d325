-- What each site's spam filter learned from its moderators.
CREATE TABLE spam_models (
	site_id TEXT PRIMARY KEY REFERENCES sites(id) ON DELETE CASCADE,
	model   BYTEA NOT NULL,
	updated BIGINT NOT NULL
);

-- Rate-limit token buckets shared by every instance. Keys are keyed
-- hashes; rows idle longer than their refill time are pruned.
CREATE UNLOGGED TABLE rate_buckets (
	key     TEXT PRIMARY KEY,
	tokens  DOUBLE PRECISION NOT NULL,
	updated BIGINT NOT NULL
);

-- "Hold comments from first-time commenters" asks whether an author has
-- an approved comment on the site already.
CREATE INDEX comments_author ON comments (site_id, author_email, status);
