-- How long (in seconds) authors may edit or delete their own comments.
ALTER TABLE sites ADD COLUMN edit_window INTEGER NOT NULL DEFAULT 900;
