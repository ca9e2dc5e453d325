-- Sites' API keys for the Akismet-compatible API, kept as SHA-256 hashes.
ALTER TABLE sites ADD COLUMN api_key_hash TEXT;
CREATE UNIQUE INDEX sites_api_key ON sites (api_key_hash) WHERE api_key_hash IS NOT NULL;
