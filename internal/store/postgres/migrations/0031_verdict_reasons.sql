-- The reasons of a comment's verdict, as the spam pipeline gave them:
-- a JSON array of {"code", "args"} the desk shows in each language.
ALTER TABLE comments ADD COLUMN verdict_reasons TEXT NOT NULL DEFAULT '';
