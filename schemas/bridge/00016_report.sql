-- +goose NO TRANSACTION
-- +goose Up
-- The daily report (bridge run with report_dir): a day is claimed here in the transaction that writes its files,
-- so several instances write it once; an instance that fails while writing rolls its claim back for another.
CREATE TABLE IF NOT EXISTS bridge.report_day (
    day        date PRIMARY KEY,
    dir        text NOT NULL,
    written_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- bridge report counts the outbox by the time events were stored and published. Built concurrently, so that a
-- running bridge keeps distributing while they are created on a large outbox.
CREATE INDEX CONCURRENTLY IF NOT EXISTS outbox_created_idx ON bridge.outbox (created_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS outbox_published_idx ON bridge.outbox (published_at) WHERE published_at IS NOT NULL;
-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS bridge.outbox_published_idx;
DROP INDEX CONCURRENTLY IF EXISTS bridge.outbox_created_idx;
DROP TABLE IF EXISTS bridge.report_day;
