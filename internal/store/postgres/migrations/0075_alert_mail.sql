-- Emails about the community controls: surge alerts to staff (through
-- the outbox, whose event is written with the alert) and, when a site
-- asks for it, emails telling a held comment's author what became of it.
-- Kept in step with sqlite/migrations/0075_alert_mail.sql.

-- The language a held comment's author wrote in (the widget's or the
-- form's), so the email about the decision speaks it. Written only on
-- sites that email authors, for held comments with an address; deleted
-- with the comment, and pruned once the comment is decided.
CREATE TABLE held_langs (
	comment_id TEXT PRIMARY KEY REFERENCES comments(id) ON DELETE CASCADE,
	lang       TEXT NOT NULL,
	created    BIGINT NOT NULL
);
CREATE INDEX held_langs_created ON held_langs (created);

-- Addresses (by the keyed hash that links carry, never the address) that
-- asked a site to stop emailing them about their held comments.
CREATE TABLE decision_mail_stops (
	site_id   TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	email_key TEXT NOT NULL,
	created   BIGINT NOT NULL,
	PRIMARY KEY (site_id, email_key)
);
CREATE INDEX decision_mail_stops_key ON decision_mail_stops (email_key);
