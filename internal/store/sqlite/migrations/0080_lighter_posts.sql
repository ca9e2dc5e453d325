-- Fewer index entries written with every new comment: each post adds an
-- 'event' row to outbox (fanned out to notifications, then deleted) and
-- a row to events, and every index on those tables is a page more that
-- the post's commit writes. Event rows are never looked up by stream,
-- target or site (the message list and the streams leave them out), so
-- those indexes leave them out too; and old events are pruned by id
-- (ids grow with time), so their time needs no index.
-- Kept in step with postgres/migrations/0080_lighter_posts.sql.
DROP INDEX outbox_stream;
CREATE INDEX outbox_stream ON outbox (stream, id) WHERE state = 'pending' AND stream <> '';
DROP INDEX outbox_target;
CREATE INDEX outbox_target ON outbox (target, id) WHERE kind <> 'event';
DROP INDEX outbox_site;
CREATE INDEX outbox_site ON outbox (site_id, kind, state, id) WHERE kind <> 'event';
DROP INDEX events_created;
