-- Notifications: the outbox of every email and webhook, readers'
-- subscriptions, sites' webhooks and staff members' alerts. Kept in step
-- with sqlite/migrations/0040_notify.sql.

-- The outbox. An "event" row is written in the transaction of the change
-- that causes it (a comment created, approved, marked spam, deleted or
-- edited); the fan-out turns it into "email" and "webhook" rows, each
-- with a key that makes it unique (so doing the fan-out twice adds
-- nothing). Messages of one stream (one recipient) go out in id order,
-- one at a time: only the stream's oldest pending message (its head) has
-- a real next_at, the others wait at 2^62.
CREATE TABLE outbox (
	id          BIGSERIAL PRIMARY KEY,
	key         TEXT NOT NULL UNIQUE,
	kind        TEXT NOT NULL,             -- event, email or webhook
	stream      TEXT NOT NULL DEFAULT '',  -- the recipient: "w:HOOK", "r:SITE:ADDRESSKEY", "c:…", "s:SITE:ACCOUNT"
	site_id     TEXT NOT NULL,
	target      TEXT NOT NULL DEFAULT '',  -- webhook, subscription or staff account id
	payload     TEXT NOT NULL,             -- JSON
	state       TEXT NOT NULL,             -- pending, sent, failed (given up) or dropped (no longer wanted)
	created     BIGINT NOT NULL,
	deadline    BIGINT NOT NULL,          -- given up when still pending after this
	next_at     BIGINT NOT NULL,
	lease_until BIGINT NOT NULL DEFAULT 0,
	lease_owner TEXT NOT NULL DEFAULT '',
	attempts    BIGINT NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	last_status BIGINT NOT NULL DEFAULT 0,
	last_ms     BIGINT NOT NULL DEFAULT 0,
	done_at     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (next_at, id) WHERE state = 'pending' AND kind <> 'event';
CREATE INDEX outbox_events ON outbox (id) WHERE state = 'pending' AND kind = 'event';
CREATE INDEX outbox_stream ON outbox (stream, id) WHERE state = 'pending';
CREATE INDEX outbox_target ON outbox (target, id);
CREATE INDEX outbox_site ON outbox (site_id, kind, state, id);
CREATE INDEX outbox_done ON outbox (done_at) WHERE state <> 'pending';

-- One row per stream: a lock that orders writes to the stream, and when
-- it was last sent to (for digests).
CREATE TABLE outbox_streams (
	stream    TEXT PRIMARY KEY,
	last_sent BIGINT NOT NULL DEFAULT 0
);

-- Leases on work only one instance may do at a time (the fan-out).
CREATE TABLE outbox_locks (
	name  TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	expires BIGINT NOT NULL
);

-- Readers' subscriptions to a thread: every new comment ("all") or the
-- replies to their own comments ("replies"). A guest's waits for
-- confirmation (confirmed 0); email_key is a keyed hash of the address,
-- which links carry instead of the address.
CREATE TABLE subscriptions (
	id        TEXT PRIMARY KEY,
	site_id   TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	thread_id TEXT NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
	email     TEXT NOT NULL,
	email_key TEXT NOT NULL,
	scope     TEXT NOT NULL,
	lang      TEXT NOT NULL DEFAULT '',
	created   BIGINT NOT NULL,
	confirmed BIGINT NOT NULL DEFAULT 0,
	UNIQUE (thread_id, email)
);
CREATE INDEX subscriptions_key ON subscriptions (email_key, site_id);

-- Sites' outgoing webhooks (Standard Webhooks).
CREATE TABLE webhooks (
	id         TEXT PRIMARY KEY,
	site_id    TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	url        TEXT NOT NULL,
	events     TEXT NOT NULL,            -- comma-separated
	secret     TEXT NOT NULL,            -- whsec_…
	with_email BOOLEAN NOT NULL DEFAULT false,
	created    BIGINT NOT NULL
);
CREATE INDEX webhooks_site ON webhooks (site_id);

-- Staff members' email alerts of held comments, per site: at most one
-- digest every "every" nanoseconds.
CREATE TABLE staff_alerts (
	account_id TEXT NOT NULL REFERENCES staff_accounts(id) ON DELETE CASCADE,
	site_id    TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	every      BIGINT NOT NULL,
	lang       TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (account_id, site_id)
);
CREATE INDEX staff_alerts_site ON staff_alerts (site_id);
