-- Pingbacks and trackbacks (from imports) are kept as their own kind of
-- comment, hidden from threads by default; '' is an ordinary comment.
ALTER TABLE comments ADD COLUMN kind TEXT NOT NULL DEFAULT '';
