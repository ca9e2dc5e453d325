-- Fewer index entries written with every new comment: each post adds an
-- 'event' row to outbox (fanned out to notifications, then deleted) and
-- a row to events, and every index on those tables is a page more that
-- the post's commit writes. Event rows are never looked up by stream,
-- target or site (the message list and the streams leave them out), so
-- those indexes leave them out too; and old events are pruned by id
-- (ids grow with time), so their time needs no index.
-- Kept in step with sqlite/migrations/0080_lighter_posts.sql. Here the
-- new indexes are built before the old ones are dropped: a dropped index
-- locks its table against reads until the migration commits, and other
-- instances keep serving during a rolling upgrade.
CREATE INDEX outbox_stream_0080 ON outbox (stream, id) WHERE state = 'pending' AND stream <> '';
CREATE INDEX outbox_target_0080 ON outbox (target, id) WHERE kind <> 'event';
CREATE INDEX outbox_site_0080 ON outbox (site_id, kind, state, id) WHERE kind <> 'event';
DROP INDEX outbox_stream;
DROP INDEX outbox_target;
DROP INDEX outbox_site;
ALTER INDEX outbox_stream_0080 RENAME TO outbox_stream;
ALTER INDEX outbox_target_0080 RENAME TO outbox_target;
ALTER INDEX outbox_site_0080 RENAME TO outbox_site;
DROP INDEX events_created;
