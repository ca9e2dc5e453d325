-- Two indexes of comments that the desk's (0030) now include as prefixes:
-- (site_id, author_email, status) is the start of comments_site_email,
-- (site_id, author_identity, status) of comments_site_identity. Every
-- comment written updates each index, so the copies only cost.
DROP INDEX comments_author;
DROP INDEX comments_identity;
