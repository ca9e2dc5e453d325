-- What each site's spam filter learned from its moderators.
CREATE TABLE spam_models (
	site_id TEXT PRIMARY KEY REFERENCES sites(id) ON DELETE CASCADE,
	model   BLOB NOT NULL,
	updated INTEGER NOT NULL
);

-- "Hold comments from first-time commenters" asks whether an author has
-- an approved comment on the site already.
CREATE INDEX comments_author ON comments (site_id, author_email, status);
