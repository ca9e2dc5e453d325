-- Retention of the client data of comments (see package retention).
-- Kept in step with postgres/migrations/0065_ip_retention.sql.

-- How long a site keeps its comments' address hashes and user agents,
-- in seconds; 0: the server's default (parley serve --ip-retention).
ALTER TABLE sites ADD COLUMN ip_retention INTEGER NOT NULL DEFAULT 0;

-- The keyed hash of the network a comment was posted from (IPv4 /24,
-- IPv6 /48): what replaces ip_hash when the retention period ends, so
-- that bans and the desk's "same address" still work, by range.
ALTER TABLE comments ADD COLUMN ip_net TEXT NOT NULL DEFAULT '';

-- The comments whose client data the retention job has still to reduce:
-- it empties as it works, so each run reads only what is due.
CREATE INDEX comments_client_data ON comments (site_id, created) WHERE ip_hash <> ip_net OR user_agent <> '';
