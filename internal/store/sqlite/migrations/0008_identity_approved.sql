-- First-time moderation recognises a logged-in reader by their log-in
-- (provider:subject), not by an email address their provider may not share.
CREATE INDEX comments_identity ON comments (site_id, author_identity, status) WHERE author_identity <> '';
