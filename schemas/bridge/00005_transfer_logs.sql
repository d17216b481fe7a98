-- +goose Up
-- The download log (下载日志): one row per capture page that brought something (rows published or the watermark
-- moved) or failed. Empty polls and re-reads of rows already published but not yet settled write nothing, so a
-- steady-state bridge polling every second writes only when the upstream changed. No row content: table, row ids,
-- counts, times and error texts, which name tables, ids and addresses, never values.
CREATE TABLE bridge.download_log (
    seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name     text NOT NULL,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz NOT NULL,
    from_time      timestamptz, -- the durable watermark before the page; NULL: the beginning
    from_id        text,
    to_time        timestamptz, -- and after it
    to_id          text,
    rows_read      integer NOT NULL,
    rows_published integer NOT NULL,
    error          text
);
-- bridge logs reads by time, optionally per table; retention deletes by time.
CREATE INDEX download_log_started_idx ON bridge.download_log (started_at);
CREATE INDEX download_log_table_idx ON bridge.download_log (table_name, started_at);

-- The distribution log (分发日志): one row per publish batch and topic partition. A batch the broker acknowledged
-- is written in the outbox transaction that marks its events, so it is exactly as durable as the marks; a failed
-- send is written on its own (the outbox transaction rolls back) with partition and offsets NULL.
CREATE TABLE bridge.distribution_log (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at      timestamptz NOT NULL, -- the send's start, shared by every partition of one batch
    finished_at     timestamptz NOT NULL,
    unit_code       text NOT NULL,
    topic           text,
    kafka_partition integer,
    first_offset    bigint,
    last_offset     bigint,
    events          integer NOT NULL,
    first_seq       bigint NOT NULL, -- the batch's first outbox seq: the same on every retry of one batch
    error           text
);
CREATE INDEX distribution_log_started_idx ON bridge.distribution_log (started_at);
CREATE INDEX distribution_log_unit_idx ON bridge.distribution_log (unit_code, started_at);

-- +goose Down
DROP TABLE bridge.distribution_log;
DROP TABLE bridge.download_log;
