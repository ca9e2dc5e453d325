-- What each site's spam filter learned from its moderators.
CREATE TABLE spam_models (
	site_id TEXT PRIMARY KEY REFERENCES sites(id) ON DELETE CASCADE,
	model   BLOB NOT NULL,
	updated INTEGER NOT NULL
);
